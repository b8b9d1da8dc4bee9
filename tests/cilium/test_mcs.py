"""Cilium's MCS-API path and global namespaces (cilium/mcs.py). Test names name the Cilium test they
transcribe: pkg/clustermesh/namespace/namespace_test.go and
pkg/clustermesh/mcsapi/serviceimport_controller_test.go (github.com/cilium/cilium)."""

import pytest

from meshspec.cilium.annotations import syncs_endpoint_slices
from meshspec.cilium.mcs import (Export, McsPort, derived_copies, derived_name, namespace_is_global,
                                 service_import, without_export)
from meshspec.cilium.routing import ClusterService, Endpoint, EndpointSlice, Port, route_service, serving_clusters
from meshspec.cilium.versions import parse_version

V120 = parse_version("1.20")
OLDER, NOW = "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"
NS = "clustermesh.cilium.io/global"


# --- namespace_test.go TestIsGlobalNamespaceByObject, case by case ----------------------------------------

@pytest.mark.parametrize("default, annotations, expected", [
    pytest.param(False, {NS: "true"}, True, id="annotation true with default false"),
    pytest.param(True, {NS: "false"}, False, id="annotation false with default true"),
    pytest.param(False, {NS: "TRUE"}, True, id="annotation true uppercase"),
    pytest.param(False, {NS: "TrUe"}, True, id="annotation mixed case"),
    pytest.param(True, {}, True, id="no annotation with default true"),
    pytest.param(False, {}, False, id="no annotation with default false"),
    pytest.param(True, {NS: "invalid"}, False, id="annotation with invalid value"),
    pytest.param(True, {NS: ""}, False, id="annotation empty string with default true"),
    pytest.param(True, {NS: "true"}, True, id="annotation true with default true"),
    pytest.param(False, {NS: "false"}, False, id="annotation false with default false"),
])
def test_namespace_test_go_TestIsGlobalNamespaceByObject(default, annotations, expected):
    assert namespace_is_global(annotations, default) is expected


def _copy(cluster, ip, **kw):
    return ClusterService("shop", "web", {"service.cilium.io/global": "true"}, (Port("http", 80),),
                          slices=(EndpointSlice((Port("http", 8080),), (Endpoint(ip),)),), **kw)


def test_service_sync_go_a_global_service_in_a_non_global_namespace_exports_nothing_but_still_imports():
    """clustermesh-apiserver service_sync.go DefaultClusterServiceConverter.Convert deletes the record of a
    Service whose namespace is not global; the receiving side never checks the namespace."""
    copies = {"a": without_export(_copy("a", "10.1.0.1")), "b": _copy("b", "10.2.0.1")}
    views = route_service(copies, ["a", "b"], V120)
    assert serving_clusters(views["a"]) == ["a", "b"]  # a still uses b's endpoints
    assert serving_clusters(views["b"]) == ["b"]  # but publishes none of its own


def test_service_sync_go_left_out_names_the_namespace():
    copies = {"a": _copy("a", "10.1.0.1"), "b": without_export(_copy("b", "10.2.0.1"))}
    views = route_service(copies, ["a"], V120, left_out=True)
    (lo,) = views["a"].left_out["80/TCP"]
    assert lo.cluster == "b" and "namespace in b is not global" in lo.reason


# --- serviceimport_controller_test.go Test_mcsServiceImport_Reconcile ----------------------------------------

def _export(cluster, created, ports=(), **kw):
    return Export(cluster, created, tuple(McsPort(*p) if isinstance(p, tuple) else p for p in ports), **kw)


def test_serviceimport_controller_test_service_import_creation_with_local_only():
    imported = service_import("default", "local-only", [_export("local", NOW, [("", 8000)])])
    assert imported.ports == (McsPort("", 8000),) and not imported.headless
    assert imported.clusters == ("local",) and imported.conflict is None


def test_serviceimport_controller_test_basic_service_import_sync():
    exported = {"service.cilium.io/global-sync-endpoint-slices": "true"}
    local = _export("local", NOW, [("named", 80), ("", 4242)], annotations=exported, labels={"my-label": "test"})
    remote = _export("remote", OLDER, [("named", 80), ("", 4242)], annotations=exported,
                     labels={"my-label": "test"})
    imported = service_import("default", "basic", [local, remote])
    assert set(imported.ports) == {McsPort("", 4242), McsPort("named", 80)}
    assert imported.clusters == ("remote", "local")  # oldest export first
    assert imported.conflict is None
    # EndpointSliceObjects Present: the exported annotation turns sync on (getEndpointSliceObjectsStatus)
    assert syncs_endpoint_slices(imported.annotations, imported.headless)


def test_serviceimport_controller_test_conflict_type_the_oldest_export_wins():
    local = _export("local", NOW)
    remote = _export("remote", OLDER, headless=True)
    imported = service_import("default", "conflict-type", [local, remote])
    assert imported.headless  # remote's Headless is older
    assert imported.conflict.reason == "TypeConflict"


def test_serviceimport_controller_test_check_conflict_removal():
    local, remote = _export("local", OLDER), _export("remote", NOW, headless=True)
    assert service_import("default", "conflict-type-remove", [local, remote]).conflict.reason == "TypeConflict"
    fixed = _export("remote", NOW)
    imported = service_import("default", "conflict-type-remove", [local, fixed])
    assert not imported.headless and imported.conflict is None


def test_serviceimport_controller_test_conflict_port_name():
    imported = service_import("default", "conflict-port-name",
                              [_export("local", NOW, [("", 4242)]), _export("remote", OLDER, [("remote", 4242)])])
    assert imported.ports == (McsPort("remote", 4242),)  # the oldest export's name
    assert imported.conflict.reason == "PortConflict"


def test_serviceimport_controller_test_conflict_port_appprotocol():
    imported = service_import("default", "conflict-port-appprotocol",
                              [_export("local", NOW, [("", 4242)]),
                               _export("remote", OLDER, [McsPort("", 4242, "TCP", "something-else")])])
    assert imported.ports[0].app_protocol == "something-else"
    assert imported.conflict.reason == "PortConflict"


def test_serviceimport_controller_test_conflict_duplicated_port_name():
    imported = service_import("default", "conflict-duplicated-port-name",
                              [_export("local", NOW, [("myport", 4242)]), _export("remote", OLDER, [("myport", 4243)])])
    assert imported.ports == (McsPort("myport", 4243),)  # the newer port of the same name is dropped
    assert imported.conflict.reason == "PortConflict"


@pytest.mark.parametrize("local_ports, remote_ports", [
    pytest.param([("myport1", 4242)], [("myport1", 4242), ("myport2", 4243)], id="conflict-port-union-1"),
    pytest.param([("myport1", 4242), ("myport2", 4243)], [("myport1", 4242)], id="conflict-port-union-2"),
])
def test_serviceimport_controller_test_conflict_port_union(local_ports, remote_ports):
    imported = service_import("default", "union", [_export("local", NOW, local_ports),
                                                   _export("remote", OLDER, remote_ports)])
    assert set(imported.ports) == {McsPort("myport1", 4242), McsPort("myport2", 4243)}
    assert imported.conflict.reason == "PortConflict"  # one export lacks a port of the union


@pytest.mark.parametrize("local, remote, reason", [
    pytest.param({}, {"session_affinity": "ClientIP"}, "SessionAffinityConflict", id="conflict-session-affinity"),
    pytest.param({"session_affinity": "ClientIP", "affinity_timeout": 4242},
                 {"session_affinity": "ClientIP", "affinity_timeout": 42}, "SessionAffinityConfigConflict",
                 id="conflict-session-affinity-config"),
    pytest.param({"annotations": {"service.cilium.io/global-sync-endpoint-slices": "true"}},
                 {"annotations": {"service.cilium.io/global-sync-endpoint-slices": "true",
                                  "service.cilium.io/lb-l7": "true"}}, "AnnotationsConflict",
                 id="conflict-annotations"),
    pytest.param({"labels": {"my-label": "test"}}, {"labels": {"my-label": "test", "my-label2": "test"}},
                 "LabelsConflict", id="conflict-labels"),
    pytest.param({"internal_traffic_policy": "Local"}, {}, "InternalTrafficPolicyConflict",
                 id="conflict-internal-traffic-policy"),
    pytest.param({"traffic_distribution": "PreferClose"}, {}, "TrafficDistributionConflict",
                 id="conflict-traffic-distribution"),
])
def test_serviceimport_controller_test_conflicts_take_the_oldest_export(local, remote, reason):
    imported = service_import("default", "svc", [_export("local", NOW, **local), _export("remote", OLDER, **remote)])
    assert imported.conflict.reason == reason
    assert "oldest service export in cluster 'remote'" in imported.conflict.message


def test_serviceimport_controller_go_ip_families_are_intersected_not_taken_from_the_oldest():
    """intersectIPFamilies: the issue said the oldest export wins; Cilium intersects, skipping exports
    without families (Cilium <= 1.18) and a cluster with none in common (IPFamilyConflict)."""
    both = _export("a", OLDER, families=("IPv4", "IPv6"))
    v6 = _export("b", NOW, families=("IPv6",))
    legacy = _export("c", NOW)
    assert service_import("default", "s", [both, v6, legacy]).families == ("IPv6",)
    v4 = _export("d", "2026-01-03T00:00:00Z", families=("IPv4",))
    imported = service_import("default", "s", [both, v6, v4])
    assert imported.families == ("IPv6",) and imported.conflict.reason == "IPFamilyConflict"
    assert "'d'" in imported.conflict.message


def test_serviceimport_controller_go_equal_timestamps_order_by_cluster_name():
    imported = service_import("default", "s", [_export("b", NOW, [("x", 80)]), _export("a", NOW, [("y", 80)])])
    assert imported.clusters == ("a", "b") and imported.ports == (McsPort("y", 80),)


def test_service_controller_go_derived_name_is_the_mcs_api_hash():
    # sha256("default/port-filter"), base32hex, 10 characters: the derived Service name in Cilium's
    # pkg/clustermesh/mcsapi/testdata/endpointslice-mirror-port-filter.txtar
    assert derived_name("default", "port-filter") == "derived-rot6lodnc8"


def test_service_controller_go_an_importing_cluster_needs_no_service_of_its_own():
    """The derived Service exists in every cluster with the namespace, global, with the import's ports;
    only exporting clusters give it endpoints. So a cluster with no Service reaches the exporters."""
    exported = {"a": ClusterService("shop", "web", {}, (Port("http", 80),),
                                    slices=(EndpointSlice((Port("http", 8080),), (Endpoint("10.1.0.1"),)),))}
    imported = service_import("shop", "web", [_export("a", OLDER, [("http", 80)])])
    derived = derived_copies(imported, exported, ["a", "b"])
    assert derived["b"].annotations["service.cilium.io/global"] == "true" and derived["b"].slices == ()
    assert derived["b"].name == derived_name("shop", "web")
    views = route_service(derived, ["a", "b"], V120)
    assert serving_clusters(views["b"]) == ["a"]
    assert [b.endpoint for b in views["b"].frontends["80/TCP"].backends] == ["10.1.0.1:8080"]
    assert imported.dns == "web.shop.svc.clusterset.local"


def test_service_controller_go_a_port_name_that_lost_the_conflict_reaches_no_frontend():
    """The oldest export names port 80 "http"; b's endpoints carry "web", so on the statedb load balancer
    (both named) the derived frontend does not pair them (writer.go matchesFrontend, by name)."""
    def own(cluster, ip, name):
        return ClusterService("shop", "web", {}, (Port(name, 80),),
                              slices=(EndpointSlice((Port(name, 8080),), (Endpoint(ip),)),))
    imported = service_import("shop", "web", [_export("a", OLDER, [("http", 80)]), _export("b", NOW, [("web", 80)])])
    assert imported.conflict.reason == "PortConflict"
    derived = derived_copies(imported, {"a": own("a", "10.1.0.1", "http"), "b": own("b", "10.2.0.1", "web")},
                             ["a", "b", "c"])
    views = route_service(derived, ["c"], V120)
    assert [b.endpoint for b in views["c"].frontends["80/TCP"].backends] == ["10.1.0.1:8080"]


@pytest.mark.parametrize("annotations, headless, on", [
    ({}, True, True), ({}, False, False), ({"service.cilium.io/global-sync-endpoint-slices": "false"}, True, False),
    ({"service.cilium.io/global-sync-endpoint-slices": "TRUE"}, False, True),
])
def test_endpointslicesync_headless_services_sync_by_default_and_the_annotation_opts_out(annotations, headless, on):
    """pkg/clustermesh/endpointslicesync tests "Create headless service with endpointslice opt-out and global
    service"; mcsapi getEndpointSliceObjectsStatus reads it the same way."""
    assert syncs_endpoint_slices(annotations, headless) is on
