"""One test per validation rule, asserting the code, the location and what the message tells the user."""

import pytest

from tests.support.specs import VALID_SPEC


def found(diagnostics):
    return [(d.severity, d.code, d.line, d.column) for d in diagnostics]


def only(diagnostics, code):
    return [d for d in diagnostics if d.code == code]


def test_valid_spec_builds_the_mesh(check):
    mesh, diagnostics = check(VALID_SPEC)
    assert diagnostics == []
    assert [c.name for c in mesh.clusters] == ["cluster-a", "cluster-b"]
    assert mesh.clusters[0].context == "cluster-a"  # context defaults to the cluster's name
    [web] = mesh.services
    assert list(web.placements) == ["cluster-a", "cluster-b"]


def test_example_mesh_is_valid():
    from meshspec.spec.check import check_file

    mesh, diagnostics = check_file("examples/mesh.yaml")
    assert diagnostics == [] and mesh is not None


def test_unknown_key_suggests_the_closest(check):
    mesh, diagnostics = check(VALID_SPEC.replace("      namespace: default", "      namespace: default\n      sharde: false"))
    assert mesh is None
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("unknown-key", 14, 7)
    assert "unknown key 'sharde'; did you mean 'shared'?" in d.message
    assert d.path == "spec.services[0].sharde"


@pytest.mark.parametrize("field, value, expected", [
    ("shared", '"yes"', "'shared' must be a boolean (true or false, unquoted), not the string 'yes'"),
    ("global", "1", "'global' must be a boolean (true or false, unquoted), not the number 1"),
    ("affinity", "nearest", "'affinity' is 'nearest'; allowed values are local, remote, none"),
])
def test_placement_fields_take_only_their_types(check, field, value, expected):
    _, diagnostics = check(VALID_SPEC.replace("      namespace: default", f"      namespace: default\n      {field}: {value}"))
    [d] = diagnostics
    assert expected in d.message
    assert (d.line, d.column) == (14, 9 + len(field))


def test_cluster_id_must_not_be_a_boolean(check):
    _, diagnostics = check(VALID_SPEC.replace("id: 2", "id: true"))
    assert [(d.code, d.line) for d in diagnostics] == [("wrong-type", 10)]


def test_wrong_api_version_and_kind(check):
    _, diagnostics = check(VALID_SPEC.replace("meshspec/v1alpha1", "meshspec/v2").replace("kind: Mesh", "kind: Cluster"))
    assert found(diagnostics) == [("error", "api-version", 1, 13), ("error", "kind", 2, 7)]


def test_missing_required_keys_are_named(check):
    _, diagnostics = check("apiVersion: meshspec/v1alpha1\nkind: Mesh\n")
    assert sorted(d.message for d in diagnostics) == ["missing required key 'metadata'.", "missing required key 'spec'."]


def test_every_problem_is_reported_not_only_the_first(check):
    text = VALID_SPEC.replace("id: 2", "id: 300").replace("name: cluster-b", "name: Cluster_B") \
        .replace("      namespace: default", "      namespace: default\n      shared: 1")
    _, diagnostics = check(text)
    assert {d.code for d in diagnostics} == {"cluster-id", "cluster-name", "wrong-type"}


def test_duplicate_key_is_an_error(check):
    mesh, diagnostics = check(VALID_SPEC.replace("      id: 1", "      id: 1\n      id: 3"))
    assert mesh is None
    assert found(diagnostics) == [("error", "duplicate-key", 9, 7)]


@pytest.mark.parametrize("name, fragment", [
    ("a" * 33, "is 33 characters; Cilium allows at most 32"),
    ("Cluster-A", "must be lowercase letters, digits and '-'"),
    ("-a", "must be lowercase letters"),
    ("arn:aws:eks:cluster", "must be lowercase letters"),
    ("default", "'default' is reserved"),
    ("''", "must not be empty"),
])
def test_cluster_name_follows_ciliums_rules(check, name, fragment):
    _, diagnostics = check(VALID_SPEC.replace("name: cluster-b", f"name: {name}"))
    [d] = only(diagnostics, "cluster-name")
    assert fragment in d.message
    assert (d.line, d.column) == (9, 13)


def test_cluster_name_at_32_characters_is_fine(check):
    mesh, _ = check(VALID_SPEC.replace("name: cluster-b", "name: " + "b" * 32))
    assert mesh is not None


def test_duplicate_cluster_name(check):
    _, diagnostics = check(VALID_SPEC.replace("name: cluster-b", "name: cluster-a"))
    [d] = only(diagnostics, "duplicate-cluster")
    assert d.line == 9 and "already used at line 7" in d.message


@pytest.mark.parametrize("cid, ok", [(0, False), (3, True), (255, True), (256, False), (-1, False)])
def test_cluster_id_range(check, cid, ok):
    mesh, diagnostics = check(VALID_SPEC.replace("id: 2", f"id: {cid}"))
    assert (mesh is not None) == ok
    if not ok:
        [d] = diagnostics
        assert d.code == "cluster-id" and "out of range 1..255" in d.message


def test_cluster_id_above_255_hints_at_max_connected_clusters(check):
    _, diagnostics = check(VALID_SPEC.replace("id: 2", "id: 300"))
    assert "maxConnectedClusters: 511" in diagnostics[0].message


def test_cluster_id_up_to_511_with_max_connected_clusters(check):
    text = VALID_SPEC.replace("id: 2", "id: 511").replace(
        "spec:\n  clusters:", "spec:\n  cilium:\n    clustermesh:\n      maxConnectedClusters: 511\n  clusters:") \
        .replace("      id: 1\n", "      id: 1\n      clustermesh: {address: 172.18.0.2}\n") \
        .replace("      id: 511\n", "      id: 511\n      clustermesh: {address: 172.18.0.3}\n")
    mesh, diagnostics = check(text)
    assert diagnostics == [] and mesh.cilium.max_connected_clusters == 511


def test_duplicate_cluster_id(check):
    _, diagnostics = check(VALID_SPEC.replace("id: 2", "id: 1"))
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("duplicate-cluster-id", 10, 11)
    assert "already used by cluster 'cluster-a'" in d.message


def test_two_clusters_with_one_context_is_an_error(check):
    _, diagnostics = check(VALID_SPEC.replace("id: 1", "id: 1\n      context: kind-x")
                           .replace("id: 2", "id: 2\n      context: kind-x"))
    [d] = diagnostics
    assert (d.code, d.severity, d.line, d.column) == ("duplicate-context", "error", 12, 16)
    assert "cluster 'cluster-b' reaches kubeconfig context 'kind-x', as cluster 'cluster-a' does" in d.message


def test_a_context_equal_to_another_clusters_default_context_is_an_error(check):
    _, diagnostics = check(VALID_SPEC.replace("id: 2", "id: 2\n      context: cluster-a"))
    assert [d.code for d in diagnostics] == ["duplicate-context"]


@pytest.mark.parametrize("a, b", [
    ("10.0.0.0/16", "10.0.128.0/17"),
    ("10.0.0.0/8", "10.200.0.0/16"),
    ("fd00::/48", "fd00:0:0:1::/64"),
])
def test_overlapping_pod_cidrs(check, a, b):
    text = VALID_SPEC.replace("      id: 1", f"      id: 1\n      podCIDRs: [{a}]").replace(
        "      id: 2", f"      id: 2\n      podCIDRs: [192.168.0.0/24, {b}]")
    _, diagnostics = check(text)
    [d] = diagnostics
    assert d.code == "pod-cidr-overlap" and d.line == 12
    assert f"overlaps {a} of cluster 'cluster-a' (line 9)" in d.message


def test_disjoint_pod_cidrs_and_mixed_families_are_fine(check):
    text = VALID_SPEC.replace("      id: 1", "      id: 1\n      podCIDRs: [10.1.0.0/16, fd00:1::/64]").replace(
        "      id: 2", "      id: 2\n      podCIDRs: [10.2.0.0/16, fd00:2::/64]")
    mesh, diagnostics = check(text)
    assert diagnostics == [] and mesh.clusters[1].pod_cidrs == ("10.2.0.0/16", "fd00:2::/64")


def test_pod_cidr_with_host_bits_is_an_error(check):
    _, diagnostics = check(VALID_SPEC.replace("      id: 1", "      id: 1\n      podCIDRs: [10.1.0.1/16]"))
    [d] = diagnostics
    assert d.code == "pod-cidr" and "has host bits set" in d.message


def test_unknown_cluster_in_service_clusters(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      clusters: [cluster-a, cluster-bb]")
    _, diagnostics = check(text)
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("unknown-cluster", 14, 29)
    assert "did you mean 'cluster-b'?" in d.message


def test_unknown_cluster_in_overrides_points_at_the_key(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      overrides:\n        zzz: {shared: false}")
    _, diagnostics = check(text)
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("unknown-cluster", 15, 9)
    assert "known clusters: cluster-a, cluster-b" in d.message


def test_override_for_a_cluster_outside_the_service_is_a_warning(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      clusters: [cluster-a]\n"
                              "      overrides:\n        cluster-b: {shared: false}")
    mesh, diagnostics = check(text)
    assert mesh is not None
    assert found(diagnostics) == [("warning", "global-without-effect", 14, 7), ("warning", "unused-override", 16, 9)]


def test_empty_cluster_list_is_an_error(check):
    _, diagnostics = check(VALID_SPEC.replace("      namespace: default", "      namespace: default\n      clusters: []"))
    assert [d.code for d in diagnostics] == ["no-clusters"]


def test_same_service_twice(check):
    text = VALID_SPEC + "    - name: web\n      spec: {ports: [{port: 81}]}\n"
    _, diagnostics = check(text)
    [d] = diagnostics
    assert (d.code, d.line) == ("duplicate-service", 18)
    assert "default/web is already defined at line 12" in d.message


@pytest.mark.parametrize("field, value, fragment", [
    ("name", "Web", "DNS-1035"),
    ("name", "1web", "DNS-1035"),
    ("name", "a" * 64, "DNS-1035"),
    ("namespace", "my_ns", "DNS-1123"),
])
def test_names_follow_kubernetes_rules(check, field, value, fragment):
    text = VALID_SPEC.replace("    - name: web", "    - name: web" if field != "name" else f"    - name: {value}")
    if field == "namespace":
        text = text.replace("namespace: default", f"namespace: {value}")
    _, diagnostics = check(text)
    [d] = only(diagnostics, "invalid-name")
    assert fragment in d.message


def test_shared_and_affinity_on_a_non_global_service_are_warnings(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      global: false\n"
                              "      shared: false\n      affinity: local")
    mesh, diagnostics = check(text)
    assert mesh is not None
    assert found(diagnostics) == [("warning", "ignored-field", 15, 7), ("warning", "ignored-field", 16, 7)]
    assert "the Service is not global, and Cilium ignores" in diagnostics[0].message


def test_override_that_turns_global_off_makes_service_fields_inert_there(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      affinity: local\n"
                              "      overrides:\n        cluster-b: {global: false}")
    mesh, diagnostics = check(text)
    [d] = only(diagnostics, "ignored-field")
    assert "not global in 'cluster-b'" in d.message
    assert mesh.services[0].placements["cluster-a"].affinity == "local"


def test_cilium_annotations_cannot_be_written_by_hand(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      annotations:\n"
                              "        service.cilium.io/global: \"true\"\n        io.cilium/shared-service: \"false\"")
    _, diagnostics = check(text)
    assert [(d.code, d.line) for d in diagnostics] == [("reserved-annotation", 15), ("reserved-annotation", 16)]


def test_label_values_must_be_strings(check):
    _, diagnostics = check(VALID_SPEC.replace("      namespace: default", "      namespace: default\n      labels: {tier: 1}"))
    [d] = diagnostics
    assert d.code == "wrong-type" and "'tier' must be a string, not the number 1" in d.message


def test_invalid_label_key_and_value(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      labels:\n"
                              "        bad key: x\n        ok: not valid!")
    _, diagnostics = check(text)
    assert [d.code for d in diagnostics] == ["label-key", "label-value"]


def test_managed_by_label_is_reserved(check):
    text = VALID_SPEC.replace("      namespace: default", "      namespace: default\n      labels:\n"
                              "        app.kubernetes.io/managed-by: helm")
    _, diagnostics = check(text)
    assert [d.code for d in diagnostics] == ["reserved-label"]


def test_service_spec_is_checked_against_the_kubernetes_schema(check):
    text = VALID_SPEC.replace("          - port: 80", "          - port: http\n            targetport: 80\n"
                              "        sessionAfinity: ClientIP")
    _, diagnostics = check(text)
    assert [(d.code, d.line, d.column) for d in diagnostics] == [
        ("kubernetes-schema", 17, 19), ("kubernetes-schema", 18, 13), ("kubernetes-schema", 19, 9)]
    assert "'port' must be an integer, not 'http'" in diagnostics[0].message
    assert "did you mean 'targetPort'?" in diagnostics[1].message
    assert "did you mean 'sessionAffinity'?" in diagnostics[2].message


def test_several_ports_need_names(check):
    text = VALID_SPEC.replace("          - port: 80", "          - port: 80\n          - port: 443")
    _, diagnostics = check(text)
    assert [(d.code, d.line) for d in diagnostics] == [("kubernetes-schema", 17), ("kubernetes-schema", 18)]
    assert "every port needs a 'name'" in diagnostics[0].message


def test_kubernetes_api_rules_beyond_the_schema(check):
    text = VALID_SPEC.replace("          - port: 80", "          - {name: http, port: 80}\n          - {name: http, port: 80}\n"
                              "          - {name: Bad_Name, port: 70000}").replace("        selector", "        type: LoadBalancr\n        selector")
    _, diagnostics = check(text)
    messages = " | ".join(d.message for d in diagnostics)
    assert "did you mean 'LoadBalancer'?" in messages
    assert "port name 'http' is already used by ports[0]" in messages
    assert "port 80/TCP is already used by ports[0]" in messages
    assert "port 70000 is out of range" in messages
    assert "port name 'Bad_Name' must be" in messages


def test_service_without_ports_is_an_error_unless_headless(check):
    _, diagnostics = check(VALID_SPEC.replace("        ports:\n          - port: 80\n", "        clusterIP: None\n"))
    assert [d.code for d in diagnostics] == ["headless-global"]
    _, diagnostics = check(VALID_SPEC.replace("        ports:\n          - port: 80\n", "        type: ClusterIP\n"))
    assert [d.code for d in diagnostics] == ["kubernetes-schema"]


def test_diagnostics_are_sorted_by_position(check):
    text = VALID_SPEC.replace("id: 2", "id: 0").replace("name: cluster-a", "name: A")
    _, diagnostics = check(text)
    assert [d.line for d in diagnostics] == sorted(d.line for d in diagnostics)
