"""Routing checks in `meshspec validate`: one warning per traffic problem, located in the spec."""

from tests.support.specs import VALID_SPEC

ROUTING_CODES = {"global-without-effect", "no-cluster-shares", "remote-affinity-without-remote",
                 "single-cluster-failure", "cilium-bug", "headless-global"}


def routing(diagnostics):
    return [(d.code, d.line, d.column) for d in diagnostics if d.code in ROUTING_CODES]


def with_service_fields(fields: str, spec=VALID_SPEC) -> str:
    return spec.replace("      namespace: default\n", "      namespace: default\n" + fields)


def test_valid_two_cluster_global_service_has_no_routing_warning(check):
    _, diagnostics = check(VALID_SPEC)
    assert routing(diagnostics) == []


def test_example_mesh_has_no_routing_warning():
    from meshspec.spec.check import check_file

    _, diagnostics = check_file("examples/mesh.yaml")
    assert diagnostics == []


def test_global_service_in_one_cluster_has_no_effect(check):
    mesh, diagnostics = check(with_service_fields("      global: true\n      clusters: [cluster-a]\n"))
    assert mesh is not None
    assert routing(diagnostics) == [("global-without-effect", 14, 7)]
    assert "global has no effect" in diagnostics[0].message


def test_global_where_the_only_other_cluster_runs_no_pods(check):
    _, diagnostics = check(with_service_fields("      backends: [cluster-a]\n"))
    codes = [c for c, _, _ in routing(diagnostics)]
    # global matters (b's clients reach a's pods), but b's clients depend on a alone
    assert codes == ["single-cluster-failure"]


def test_every_cluster_shared_false(check):
    _, diagnostics = check(with_service_fields("      shared: false\n"))
    assert routing(diagnostics) == [("no-cluster-shares", 14, 7)]
    assert "every cluster sets shared: false" in diagnostics[0].message


def test_remote_affinity_without_a_sharing_remote(check):
    text = with_service_fields("      overrides:\n        cluster-a: {affinity: remote}\n        cluster-b: {shared: false}\n")
    _, diagnostics = check(text)
    assert ("remote-affinity-without-remote", 15, 21) in routing(diagnostics)


def test_client_that_loses_everything_when_one_cluster_fails(check):
    _, diagnostics = check(with_service_fields("      backends: [cluster-b]\n"))
    [d] = [d for d in diagnostics if d.code == "single-cluster-failure"]
    assert (d.line, d.column) == (14, 7)  # at 'backends'
    assert d.message == "clients of default/web in cluster-a lose every backend when cluster-b has no ready pods."


def test_multiport_bug_on_affected_versions(check):
    spec = VALID_SPEC.replace("          - port: 80", "          - {name: http, port: 80, targetPort: 8080}\n"
                              "          - {name: alt, port: 81, targetPort: 8080}")
    on_1_18 = spec.replace("spec:\n  clusters:", "spec:\n  cilium: {version: 1.18.9}\n  clusters:")
    _, diagnostics = check(on_1_18)
    assert [c for c, _, _ in routing(diagnostics)] == ["cilium-bug"]
    assert "cilium#45109" in [d for d in diagnostics if d.code == "cilium-bug"][0].message
    _, diagnostics = check(on_1_18.replace("1.18.9", "1.18.10"))
    assert routing(diagnostics) == []


def test_affinity_none_on_118_is_safe_because_meshspec_omits_the_annotation(check):
    # #46623 blackholes only an explicit affinity annotation other than local/remote; render never writes one
    spec = with_service_fields("      affinity: none\n").replace("spec:\n  clusters:", "spec:\n  cilium: {version: 1.18.3}\n  clusters:")
    mesh, diagnostics = check(spec)
    assert routing(diagnostics) == []
    assert mesh.cilium.version == "1.18.3"


def test_unsupported_cilium_version_is_an_error(check):
    _, diagnostics = check(VALID_SPEC.replace("spec:\n  clusters:", "spec:\n  cilium: {version: '1.12'}\n  clusters:"))
    assert [d.code for d in diagnostics] == ["cilium-version"]


def test_single_failure_shortcut_agrees_with_the_engine():
    """With 3+ exporters lint skips the failure analysis; on 300 random 4-cluster services the full
    analysis must then find nothing either."""
    import random

    from meshspec.cilium.versions import parse_version
    from meshspec.spec.routes import SpecRouting
    from meshspec.spec.checks.routing import _exporters
    from meshspec.spec.model import Cluster, Mesh, Placement, Service

    rng = random.Random(11)
    clusters = ["a", "b", "c", "d"]
    for _ in range(300):
        placements = {c: Placement(rng.random() < 0.9, rng.random() < 0.8, rng.choice(["local", "remote", "none"]))
                      for c in clusters}
        service = Service("web", "default", {"ports": [{"name": "http", "port": 80}]}, placements,
                          backends=tuple(c for c in clusters if rng.random() < 0.8))
        if len(_exporters(service)) < 3:
            continue
        mesh = Mesh("m", tuple(Cluster(c, i + 1, c) for i, c in enumerate(clusters)), (service,))
        routing = SpecRouting(mesh, service, parse_version("1.20"))
        assert not {c: s for c, s in routing.sole_servers().items() if s != c}


# --- clients with no backend at all: an error unless allowNoBackends says it is meant ---------------

def errors(diagnostics):
    return [(d.code, d.line, d.column, d.message) for d in diagnostics if d.is_error]


def test_a_cluster_without_pods_where_no_other_cluster_shares_is_an_error(check):
    mesh, diagnostics = check(with_service_fields("      backends: [cluster-a]\n      overrides:\n"
                                                  "        cluster-a: {shared: false}\n"))
    assert mesh is None
    assert errors(diagnostics) == [(
        "no-backends", 14, 7, "clients of default/web in cluster-b have no backend: no pods run there and no "
        "other cluster shares endpoints with it. Run pods there or share them from another cluster; if that is "
        "meant, add cluster-b to allowNoBackends.")]


def test_a_local_only_service_without_pods_in_a_cluster_is_an_error(check):
    mesh, diagnostics = check(with_service_fields("      global: false\n      backends: [cluster-b]\n"))
    assert [(code, line) for code, line, _, _ in errors(diagnostics)] == [("no-backends", 15)]
    assert "in cluster-a have no backend" in errors(diagnostics)[0][3]


def test_allow_no_backends_says_it_is_meant(check):
    mesh, diagnostics = check(with_service_fields("      global: false\n      backends: [cluster-b]\n"
                                                  "      allowNoBackends: [cluster-a]\n"))
    assert mesh is not None and diagnostics == []
    assert mesh.services[0].allow_no_backends == ("cluster-a",)


def test_allow_no_backends_where_clients_have_backends_is_a_warning(check):
    mesh, diagnostics = check(with_service_fields("      backends: [cluster-b]\n      allowNoBackends: [cluster-a]\n"))
    assert mesh is not None
    [warning] = [d for d in diagnostics if d.code == "ignored-field"]
    assert (warning.line, warning.column) == (15, 25)
    assert warning.message == ("allowNoBackends lists cluster-a, but its clients of default/web have backends "
                               "(cluster-b); remove it.")


def test_allow_no_backends_names_known_clusters_where_the_service_exists(check):
    _, diagnostics = check(with_service_fields("      clusters: [cluster-b]\n      allowNoBackends: [cluster-x, cluster-a]\n"))
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("unknown-cluster", 15, 25), ("ignored-field", 15, 36)]


def test_headless_services_are_left_to_headless_global(check):
    _, diagnostics = check(with_service_fields("      backends: [cluster-a]\n      shared: false\n")
                           .replace("        selector: {app: web}\n", "        clusterIP: None\n        selector: {app: web}\n"))
    assert not errors(diagnostics)
