"""Cluster Mesh values by Cilium version (meshspec/cilium/chart.py cites the upgrade notes and chart code):
the peers' shape, MCS-API and the default global namespace with the key each version reads, the chart
schema of that version, and the warnings the release notes call for."""

import pytest

from meshspec.artifacts.cilium_values import cluster_values
from meshspec.cilium.chart import go_duration_seconds
from meshspec.cilium.helm import values_schema_errors
from meshspec.cilium.versions import parse_version

SMALL_MESH = """\
apiVersion: meshspec/v1alpha1
kind: Mesh
metadata:
  name: test
spec:
  cilium:
    version: "{version}"
{extra}  clusters:
    - name: cluster-a
      id: 1
      clustermesh: {{address: 172.18.0.2}}
    - name: cluster-b
      id: 2
      clustermesh: {{address: mesh-b.example.com, port: 443}}
"""
FEATURES = "    mcsapi: true\n    defaultGlobalNamespace: false\n"


def spec(version, extra=FEATURES):
    return SMALL_MESH.format(version=version, extra=extra)


def values_of(check, version, extra=FEATURES):
    mesh, diagnostics = check(spec(version, extra))
    assert mesh is not None, diagnostics
    return cluster_values(mesh, mesh.cluster("cluster-a")), diagnostics


def test_cilium_1_18_reads_a_peer_list_and_enable_mcsapi_support(check):
    values, _ = values_of(check, "1.18.5")
    mesh = values["clustermesh"]
    assert mesh["config"]["clusters"] == [{"name": "cluster-b", "address": "mesh-b.example.com", "port": 443}]
    assert mesh["enableMCSAPISupport"] is True
    assert "mcsapi" not in mesh and "defaultGlobalNamespace" not in mesh  # 1.18 reads neither
    assert "extraConfig" not in values  # 1.18 has no global namespaces: nothing to set
    assert values_schema_errors(values, parse_version("1.18.5")) == []


def test_cilium_1_19_reads_a_peer_map_the_mcsapi_block_and_the_global_namespace_flag(check):
    values, diagnostics = values_of(check, "1.19.4")
    assert diagnostics == []
    mesh = values["clustermesh"]
    assert mesh["config"]["clusters"] == {"cluster-b": {"enabled": True, "address": "mesh-b.example.com",
                                                        "port": 443}}
    assert mesh["mcsapi"] == {"enabled": True, "installCRDs": True, "corednsAutoConfigure": {"enabled": True}}
    assert "enableMCSAPISupport" not in mesh
    # the flag is hidden in 1.19 and has no Helm value: the chart copies extraConfig into cilium-config
    assert values["extraConfig"] == {"clustermesh-default-global-namespace": "false"}
    assert "defaultGlobalNamespace" not in mesh
    assert values_schema_errors(values, parse_version("1.19.4")) == []


def test_cilium_1_20_reads_the_default_global_namespace_helm_value(check):
    values, diagnostics = values_of(check, "1.20.1")
    assert diagnostics == []
    mesh = values["clustermesh"]
    assert mesh["mcsapi"]["enabled"] is True and "enableMCSAPISupport" not in mesh
    assert mesh["defaultGlobalNamespace"] is False
    assert "extraConfig" not in values
    assert values_schema_errors(values, parse_version("1.20.1")) == []


def test_cilium_defaults_render_no_feature_values(check):
    values, _ = values_of(check, "1.20.1", extra="    install: false\n")
    assert set(values["clustermesh"]) == {"useAPIServer", "maxConnectedClusters", "apiserver", "config"}
    assert "extraConfig" not in values


def test_a_spec_can_still_turn_off_coredns_auto_configuration(check):
    extra = FEATURES + "    values: {clustermesh: {mcsapi: {corednsAutoConfigure: {enabled: false}}}}\n"
    values, diagnostics = values_of(check, "1.19.4", extra)
    assert diagnostics == []
    assert values["clustermesh"]["mcsapi"] == {"enabled": True, "installCRDs": True,
                                               "corednsAutoConfigure": {"enabled": False}}


def test_1_18_warns_that_mcs_needs_crds_and_coredns_by_hand_and_has_no_global_namespaces(check):
    _, diagnostics = check(spec("1.18.5"))
    found = {(d.code, d.line) for d in diagnostics}
    assert found == {("mcs-manual-setup", 8), ("cilium-feature-version", 9)}
    assert all(d.severity == "warning" for d in diagnostics)
    [feature] = [d for d in diagnostics if d.code == "cilium-feature-version"]
    assert "Cilium 1.18 has no global namespaces" in feature.message


def test_mcsapi_before_1_17_is_not_rendered_and_says_so(check):
    values, diagnostics = values_of(check, "1.16", extra="    mcsapi: true\n")
    assert [(d.code, d.line, d.column) for d in diagnostics] == [("cilium-feature-version", 8, 13)]
    assert "Cilium 1.16 has no MCS-API support" in diagnostics[0].message
    assert "enableMCSAPISupport" not in values["clustermesh"] and "mcsapi" not in values["clustermesh"]


@pytest.mark.parametrize("version, extra, code, fragment", [
    ("1.20.1", "clustermesh: {enableMCSAPISupport: true}", "values-unknown-key",
     "Cilium 1.20 does not read 'clustermesh.enableMCSAPISupport'"),
    ("1.19.4", "clustermesh: {enableMCSAPISupport: true}", "values-deprecated", "1.20 removes it"),
    ("1.18.5", "clustermesh: {mcsapi: {enabled: true}}", "values-unknown-key", "new in Cilium 1.19"),
    ("1.19.4", "clustermesh: {defaultGlobalNamespace: false}", "values-unknown-key", "new in Cilium 1.20"),
    ("1.17", "clustermesh: {policyDefaultLocalCluster: true}", "values-unknown-key", "1.18 introduced"),
    ("1.18.5", "clustermesh: {apiserver: {kvstoremesh: {enabled: false}}}", "values-deprecated",
     "deprecated since 1.18"),
    ("1.20.1", "clustermesh: {cacheTTL: 0s}", "cache-ttl", "never revoked"),
    ("1.20.1", "clustermesh: {cacheTTL: '10'}", "cache-ttl", "not a Go duration"),
    ("1.18.5", "clustermesh: {config: {clusters2: {}}}", "values-unknown-key", "did you mean 'clusters'?"),
])
def test_values_are_checked_for_the_specs_cilium_version(check, version, extra, code, fragment):
    _, diagnostics = check(spec(version, f"    values:\n      {extra}\n"))
    [d] = [d for d in diagnostics if d.code == code]
    assert fragment in d.message
    assert d.line == 9  # FILE:LINE:COL of the offending key inside spec.cilium.values


def test_a_valid_cache_ttl_and_the_same_key_in_its_version_are_fine(check):
    for version, extra in (("1.20.1", "clustermesh: {cacheTTL: 10m}"),
                           ("1.18.5", "clustermesh: {enableMCSAPISupport: true}"),
                           ("1.20.1", "clustermesh: {defaultGlobalNamespace: true}")):
        _, diagnostics = check(spec(version, f"    values:\n      {extra}\n"))
        assert diagnostics == [], (version, extra)


def test_the_schema_message_says_which_schema_was_used(check):
    _, diagnostics = check(spec("1.18.5", "    values:\n      clustermesh: {config: {clusters: {a: {}}}}\n"))
    [d] = [d for d in diagnostics if d.code == "values-schema"]
    assert "adjusted to Cilium 1.18" in d.message and "1.20.0-dev chart schema" in d.message
    _, diagnostics = check(spec("1.20.1", "    values:\n      hubble: {enabled: 'yes'}\n"))
    [d] = [d for d in diagnostics if d.code == "values-schema"]
    assert "(the 1.20.0-dev chart schema bundled with meshspec)" in d.message


def test_1_19_values_never_hit_the_authmode_migration_hang():
    """1.19 upgrade notes: authMode migration needs the clustermesh-remote-users ConfigMap when
    useAPIServer=true and config.enabled=false; meshspec always renders config.enabled: true (and
    spec.cilium.values may not change it: values-conflict), so the chart creates that ConfigMap."""
    from meshspec.cilium.helm import GENERATED
    assert ("clustermesh", "config", "enabled") in GENERATED


@pytest.mark.parametrize("text, seconds", [("0", 0), ("0s", 0), ("10m", 600), ("1h30m", 5400), ("1.5s", 1.5),
                                           ("10", None), ("", None), ("m", None), ("10 m", None)])
def test_go_durations(text, seconds):
    assert go_duration_seconds(text) == seconds
