"""services[].overrides.<cluster>.labels and .annotations: the service-level rules, located in the override,
and no Cilium annotation; nothing of the ServiceSpec may differ per cluster."""

import pytest

from tests.support.specs import VALID_SPEC


def with_override(body: str, cluster: str = "cluster-a") -> str:
    """VALID_SPEC with `overrides: {cluster: ...}` on its service, `body` indented under the cluster (line 16)."""
    lines = "".join(f"          {line}\n" for line in body.splitlines())
    return VALID_SPEC.replace("      namespace: default\n",
                              f"      namespace: default\n      overrides:\n        {cluster}:\n{lines}")


def located(diagnostics):
    return [(d.severity, d.code, d.line, d.column, d.path) for d in diagnostics]


def test_override_labels_and_annotations_are_valid_and_reach_the_model(check):
    mesh, diagnostics = check(with_override("labels: {cloud: aws}\nannotations:\n"
                                            "  service.beta.kubernetes.io/aws-load-balancer-type: external"))
    assert diagnostics == []
    [web] = mesh.services
    assert web.cluster_labels == {"cluster-a": {"cloud": "aws"}}
    assert web.labels_in("cluster-a") == {"cloud": "aws"} and web.labels_in("cluster-b") == {}
    assert web.annotations_in("cluster-a") == {"service.beta.kubernetes.io/aws-load-balancer-type": "external"}
    assert web.annotations_in("cluster-b") == {}


def test_override_label_key_and_value_follow_kubernetes_rules_at_the_override(check):
    _, diagnostics = check(with_override("labels:\n  bad key: x\n  ok: not valid!"))
    assert located(diagnostics) == [
        ("error", "label-key", 17, 13, "spec.services[0].overrides.cluster-a.labels.bad key"),
        ("error", "label-value", 18, 17, "spec.services[0].overrides.cluster-a.labels.ok")]


def test_override_label_values_must_be_strings(check):
    _, diagnostics = check(with_override("labels: {tier: 1}"))
    [d] = diagnostics
    assert (d.code, d.line) == ("wrong-type", 16)
    assert "'tier' must be a string, not the number 1" in d.message


def test_the_managed_by_label_is_reserved_in_an_override_too(check):
    _, diagnostics = check(with_override("labels: {app.kubernetes.io/managed-by: helm}"))
    assert [(d.code, d.line) for d in diagnostics] == [("reserved-label", 16)]


def test_override_annotation_key_must_be_a_kubernetes_key(check):
    _, diagnostics = check(with_override("annotations: {-bad/key: x}"))
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("annotation-key", 16, 25)
    assert "not a valid Kubernetes key" in d.message


@pytest.mark.parametrize("key", ["service.cilium.io/global", "io.cilium/global-service", "service.cilium.io/shared",
                                 "io.cilium/shared-service", "io.cilium/service-affinity"])
def test_an_override_may_not_write_the_annotations_its_fields_derive(check, key):
    _, diagnostics = check(with_override(f'annotations: {{{key}: "false"}}'))
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("reserved-annotation", 16, 25)
    assert "derived from overrides.cluster-a.global, shared and affinity; set those instead" in d.message


@pytest.mark.parametrize("key", ["service.cilium.io/lb-algorithm", "service.cilium.io/forwarding-mode",
                                 "service.cilium.io/no-such-key"])
def test_no_cilium_annotation_may_differ_per_cluster(check, key):
    mesh, diagnostics = check(with_override(f"annotations: {{{key}: x}}"))
    assert mesh is None
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("override-cilium-annotation", 16, 25)
    assert "may not differ per cluster" in d.message and "global, shared and affinity" in d.message
    assert "overrides.cluster-a's fields" in d.message


def test_the_same_cilium_annotation_at_service_level_is_fine(check):
    text = VALID_SPEC.replace("      namespace: default\n", "      namespace: default\n"
                              "      annotations: {service.cilium.io/lb-algorithm: maglev}\n")
    _, diagnostics = check(text)
    assert diagnostics == []


def test_other_io_cilium_annotations_may_differ_per_cluster(check):
    # Only the global/shared/affinity aliases are Cilium's placement; LB-IPAM addresses are per cluster.
    _, diagnostics = check(with_override('annotations: {io.cilium/lb-ipam-ips: "10.0.0.10"}'))
    assert diagnostics == []


def test_each_clusters_merged_annotations_must_fit_in_256_kib(check):
    big = "x" * (200 * 1024)
    text = with_override(f"annotations: {{example.com/b: {big}}}").replace(
        "      namespace: default\n", f"      namespace: default\n      annotations: {{example.com/a: {big}}}\n")
    _, diagnostics = check(text)
    [d] = diagnostics
    assert (d.code, d.line, d.path) == ("annotation-size", 17, "spec.services[0].overrides.cluster-a.annotations")
    assert "in cluster-a" in d.message


@pytest.mark.parametrize("key", ["spec", "ports", "selector", "type"])
def test_an_override_holds_no_service_spec_and_the_message_says_why(check, key):
    _, diagnostics = check(with_override(f"{key}: {{}}"))
    [d] = diagnostics
    assert (d.code, d.line, d.column) == ("unknown-key", 16, 11)
    assert f"unknown key '{key}'; only affinity, annotations, global, labels, shared may be set here" in d.message
    assert "the same in every cluster" in d.message and "by port name and protocol" in d.message


def test_a_typo_in_an_override_still_gets_a_did_you_mean(check):
    _, diagnostics = check(with_override("annotatons: {}"))
    [d] = diagnostics
    assert "did you mean 'annotations'?" in d.message


def test_labels_for_a_cluster_outside_the_service_are_an_unused_override(check):
    text = with_override("labels: {cloud: gcp}", cluster="cluster-b").replace(
        "      namespace: default\n", "      namespace: default\n      clusters: [cluster-a]\n")
    mesh, diagnostics = check(text)
    assert "unused-override" in [d.code for d in diagnostics]
    assert mesh.services[0].cluster_labels == {}
