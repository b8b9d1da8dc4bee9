"""`meshspec explain`: the engine on the spec's rendered Services, as JSON and as a reviewer's table."""

import json

import pytest

from meshspec.cilium.versions import parse_version
from meshspec.cli import main
from meshspec.analysis.explain import explain
from meshspec.spec.routes import Down, serving
from meshspec.spec.check import check_file


@pytest.fixture
def example():
    mesh, _ = check_file("examples/mesh.yaml")
    return mesh


def by_key(mesh, key):
    return next(s for s in mesh.services if s.key == key)


def test_guide_example_shared_false_consumes_but_does_not_publish(example):
    result = serving(example, by_key(example, "default/myapp-service"), parse_version("1.20"))
    assert result == {"cluster-a": ["cluster-a", "cluster-b", "cluster-c"],
                      "cluster-b": ["cluster-b", "cluster-c"], "cluster-c": ["cluster-b", "cluster-c"]}


def test_local_affinity_stays_local_and_fails_over(example):
    checkout = by_key(example, "shop/checkout")
    v = parse_version("1.20")
    assert serving(example, checkout, v)["cluster-a"] == ["cluster-a"]
    assert serving(example, checkout, v, [Down("cluster-a")])["cluster-a"] == ["cluster-b", "cluster-c"]


def test_service_absent_from_a_cluster_is_not_reachable_there(example):
    result = serving(example, by_key(example, "shop/inventory"), parse_version("1.20"))
    assert result["cluster-a"] is None
    assert result["cluster-c"] == ["cluster-b"]  # affinity remote


def test_down_for_one_service_only(example):
    v = parse_version("1.20")
    down = [Down("cluster-b", "shop/inventory")]
    assert serving(example, by_key(example, "shop/inventory"), v, down)["cluster-c"] == ["cluster-c"]
    assert serving(example, by_key(example, "default/myapp-service"), v, down)["cluster-c"] == ["cluster-b", "cluster-c"]


def test_failures_cover_each_cluster_running_pods(example):
    [inventory] = [e for e in explain(example, parse_version("1.20")) if e.service.name == "inventory"]
    assert set(inventory.failures) == {"cluster-b", "cluster-c"}
    assert inventory.failures["cluster-b"]["cluster-c"] == ["cluster-c"]  # remote gone: local fallback


def test_json_contract(example, capsys):
    assert main(["explain", "examples/mesh.yaml", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert [(s["namespace"], s["name"]) for s in data["services"]] == [
        ("default", "myapp-service"), ("monitoring", "metrics"), ("shop", "checkout"), ("shop", "inventory")]
    inventory = data["services"][3]["observers"]
    assert inventory == {"cluster-a": {"exists": False},
                         "cluster-b": {"exists": True, "backends": ["cluster-b", "cluster-c"]},
                         "cluster-c": {"exists": True, "backends": ["cluster-b"]}}


def test_text_table_reads_at_a_glance(capsys):
    assert main(["explain", "examples/mesh.yaml", "--down", "cluster-b:shop/inventory"]) == 0
    out = capsys.readouterr().out
    block = out.split("\n\n")[3]
    assert block.splitlines() == [
        "shop/inventory  (cluster-b: global; cluster-c: global, prefers remote; absent from cluster-a)",
        "  client \\ serving  cluster-a  cluster-b  cluster-c",
        "  cluster-a         -          -          -",
        "  cluster-b         .          .          x",
        "  cluster-c         .          .          x",
        "  if cluster-c has no ready pods: cluster-b -> NO BACKENDS; cluster-c -> NO BACKENDS",
    ]
    assert "x = serves this client's new connections" in out


@pytest.mark.parametrize("down, fragment", [
    ("cluster-z", "unknown cluster 'cluster-z'"),
    ("cluster-a:shop/nope", "no service 'shop/nope'"),
])
def test_bad_down_is_a_usage_error(down, fragment, capsys):
    assert main(["explain", "examples/mesh.yaml", "--down", down]) == 2
    assert fragment in capsys.readouterr().err


def test_invalid_spec_exits_1(spec_file, capsys):
    assert main(["explain", spec_file("apiVersion: x\n")]) == 1
    assert "error" in capsys.readouterr().err


def random_service(rng, clusters):
    from meshspec.spec.model import Placement, Service

    present = [c for c in clusters if rng.random() < 0.8] or clusters[:1]
    placements = {c: Placement(rng.random() < 0.85, rng.random() < 0.7, rng.choice(["local", "remote", "none"]))
                  for c in present}
    backends = tuple(c for c in present if rng.random() < 0.7)
    return Service("web", "default", {"ports": [{"name": "http", "port": 80}]}, placements, backends=backends)


@pytest.mark.parametrize("version", ["1.17", "1.20"])
def test_failure_pruning_matches_full_recomputation(version):
    """failure_effects simulates only clients whose sole server failed; every other client must keep
    exactly its other serving clusters. Checked on 400 random services."""
    import random

    from meshspec.spec.routes import SpecRouting
    from meshspec.spec.model import Cluster, Mesh

    rng = random.Random(7)
    clusters = ["a", "b", "c", "d"]
    v = parse_version(version)
    for _ in range(400):
        service = random_service(rng, clusters)
        mesh = Mesh("m", tuple(Cluster(c, i + 1, c) for i, c in enumerate(clusters)), (service,))
        routing = SpecRouting(mesh, service, v)
        normal = routing.serving()
        sole = {c: s[0] for c, s in normal.items() if s and len(s) == 1}
        assert routing.sole_servers() == sole
        effects = routing.failure_effects(sole)
        for failed in service.backends:
            full = routing.serving(also_gone=failed)
            for client, served in full.items():
                expected = effects[failed].get(client, None if normal[client] is None
                                               else [c for c in normal[client] if c != failed])
                assert served == expected, (service, failed, client)


def test_per_cluster_labels_and_annotations_reach_each_copy_and_leave_routing_to_the_placement(capsys):
    from meshspec.spec.check import check_file
    from meshspec.spec.routes import spec_copies

    mesh, _ = check_file("examples/mixed-cloud.yaml")
    copies = spec_copies(mesh.services[0])
    assert copies["aws-east"].annotations["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert "service.beta.kubernetes.io/aws-load-balancer-type" not in copies["gke-west"].annotations
    # explain shows no labels or annotations but Cilium's unmodelled ones, which an override cannot set:
    # its table is the placement's (onprem: shared false).
    assert main(["explain", "examples/mixed-cloud.yaml"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[:5] == [
        "shop/web  (aws-east: global, prefers local; gke-west: global, prefers local; onprem: global, not shared, "
        "prefers local)",
        "  client \\ serving  aws-east  gke-west  onprem",
        "  aws-east          x         .         .",
        "  gke-west          .         x         .",
        "  onprem            .         .         x"]
    assert "not modelled" not in out and "load-balancer" not in out


@pytest.mark.parametrize("version", ["1.17", "1.20"])
def test_services_routed_once_for_their_twins_explain_as_if_each_were_routed(version):
    """explain routes one service per routing_key and copies the result to services alike: on random meshes
    of services drawn from a few shapes, each nudged in one thing routing reads (a target port, the IP
    families, headless, one cluster's flags, its backends or their order, a Cilium annotation, a global or
    non-global namespace, a failure scenario naming it, no ports), every explanation must equal routing it
    alone. (Target ports and IP families are in the key too, though a spec's copies all share them.)"""
    import random

    from meshspec.analysis.explain import _explain, _namespace_notes
    from meshspec.spec.model import Cluster, Mesh, Placement, Service
    from meshspec.spec.routes import SpecRouting

    rng = random.Random(11)
    clusters = ["a", "b", "c", "d", "e"]
    v = parse_version(version)

    def nudged(i, base):
        spec, placements, backends = dict(base.spec), dict(base.placements), base.backends
        annotations, namespace = {}, rng.choice(["default", "default", "apps"])
        kind = rng.randrange(9)
        if kind == 0:
            spec["ports"] = [{"name": "http", "port": 80, "targetPort": rng.choice([8080, "web", 0])}]
        elif kind == 1:
            spec["ipFamilies"] = rng.choice([["IPv6"], ["IPv4", "IPv6"]])
        elif kind == 2:
            spec["clusterIP"] = "None"
        elif kind == 3 and placements:
            c = rng.choice(list(placements))
            placements[c] = Placement(rng.random() < 0.5, rng.random() < 0.5, rng.choice(["local", "remote", "none"]))
        elif kind == 4:
            backends = tuple(rng.sample(clusters, rng.randint(0, len(clusters))))
        elif kind == 5:
            backends = tuple(reversed(backends))
        elif kind == 6:
            annotations = {"service.cilium.io/shared": "false"}
        elif kind == 7:
            spec["ports"] = []  # no frontend: nobody is served
        return Service(f"web-{i}", namespace, spec, placements, annotations=annotations, backends=backends)

    for _ in range(20):
        shapes = [random_service(rng, clusters) for _ in range(3)]
        services = tuple(nudged(i, rng.choice(shapes)) if rng.random() < 0.5
                         else Service(f"web-{i}", "default", *(lambda s: (s.spec, s.placements))(rng.choice(shapes)),
                                      backends=rng.choice(shapes).backends) for i in range(40))
        mesh = Mesh("m", tuple(Cluster(c, i + 1, c) for i, c in enumerate(clusters)), services,
                    global_namespaces={"apps": False})
        down = (Down(rng.choice(clusters), f"default/web-{rng.randrange(40)}"),)
        explained = {e.service.key: e for e in explain(mesh, v, down)}
        for service in services:
            alone = _explain(SpecRouting(mesh, service, v, down), service, notes=_namespace_notes(mesh, service))
            got = explained[service.key]
            assert (got.normal, got.failures, got.notes) == (alone.normal, alone.failures, alone.notes), service.key
            assert list(got.failures) == list(alone.failures)
