"""simulate on dumps with Namespaces, ServiceExports and ServiceImports (analysis/mcs_state.py)."""

import json

import yaml

from meshspec.cli import main
from meshspec.cilium.mcs import derived_name


def service(ns, name, port_name="http", annotations=None):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"namespace": ns, "name": name, "annotations": annotations or {}},
            "spec": {"clusterIP": "10.96.0.10", "ports": [{"name": port_name, "port": 80, "targetPort": 8080}]}}


def endpoints(ns, name, ip, port_name="http"):
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
            "metadata": {"namespace": ns, "name": f"{name}-x", "labels": {"kubernetes.io/service-name": name}},
            "ports": [{"name": port_name, "port": 8080, "protocol": "TCP"}],
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}]}


def export(ns, name, created):
    return {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
            "metadata": {"namespace": ns, "name": name, "creationTimestamp": created}}


def namespace(name, global_=None):
    meta = {"name": name}
    if global_ is not None:
        meta["annotations"] = {"clustermesh.cilium.io/global": global_}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": meta}


def write(root, cluster, *objects):
    folder = root / cluster
    folder.mkdir()
    (folder / "dump.yaml").write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": list(objects)}))


def simulate(capsys, root):
    assert main(["simulate", str(root), "--format", "json"]) == 0
    return {(s["namespace"], s["name"]): s["observers"] for s in json.loads(capsys.readouterr().out)["services"]}


def backends(observer):
    return sorted(b for f in observer["frontends"].values() for b in f["backends"])


def test_an_importing_cluster_without_a_service_reaches_the_exporters_through_the_derived_service(tmp_path, capsys):
    """serviceimport_controller_test.go "Service import creation with remote-only": b only has the namespace;
    service_controller.go gives it the derived Service, global, with a's endpoints."""
    write(tmp_path, "cluster-a", namespace("shop"), service("shop", "web"), endpoints("shop", "web", "10.1.0.1"),
          export("shop", "web", "2026-01-01T00:00:00Z"))
    write(tmp_path, "cluster-b", namespace("shop"))
    routes = simulate(capsys, tmp_path)
    derived = routes["shop", derived_name("shop", "web")]
    assert derived["cluster-b"]["exists"] and derived["cluster-b"]["global"]
    assert backends(derived["cluster-b"]) == ["10.1.0.1:8080"]
    assert routes["shop", "web"]["cluster-b"] == {"exists": False}  # the plain Service is not there


def test_no_service_import_where_the_namespace_does_not_exist(tmp_path, capsys):
    """serviceimport_controller_test.go "Service import creation with unknown ns"."""
    write(tmp_path, "cluster-a", namespace("shop"), service("shop", "web"), endpoints("shop", "web", "10.1.0.1"),
          export("shop", "web", "2026-01-01T00:00:00Z"))
    write(tmp_path, "cluster-b", namespace("other"))
    derived = simulate(capsys, tmp_path)["shop", derived_name("shop", "web")]
    assert derived["cluster-b"] == {"exists": False}


def test_a_service_export_in_a_non_global_namespace_exports_nothing(tmp_path, capsys):
    """serviceimport_controller_test.go "ServiceExport in non-global namespace": Valid=False NamespaceNotGlobal."""
    write(tmp_path, "cluster-a", namespace("shop", "false"), service("shop", "web"),
          endpoints("shop", "web", "10.1.0.1"), export("shop", "web", "2026-01-01T00:00:00Z"))
    write(tmp_path, "cluster-b", namespace("shop"))
    assert ("shop", derived_name("shop", "web")) not in simulate(capsys, tmp_path)


def test_a_global_service_in_a_namespace_annotated_false_publishes_nothing_but_consumes(tmp_path, capsys):
    """namespace.go IsGlobalNamespaceByObject + service_sync.go: the export side only."""
    annotated = {"service.cilium.io/global": "true"}
    write(tmp_path, "cluster-a", namespace("shop", "false"), service("shop", "web", annotations=annotated),
          endpoints("shop", "web", "10.1.0.1"))
    write(tmp_path, "cluster-b", namespace("shop"), service("shop", "web", annotations=annotated),
          endpoints("shop", "web", "10.2.0.1"))
    routes = simulate(capsys, tmp_path)["shop", "web"]
    assert backends(routes["cluster-a"]) == ["10.1.0.1:8080", "10.2.0.1:8080"]
    assert backends(routes["cluster-b"]) == ["10.2.0.1:8080"]


def test_the_oldest_export_names_the_port_and_a_newer_name_reaches_no_frontend(tmp_path, capsys):
    """mergePorts: a's export is older, so the import's port is "http"; b's endpoints are named "web"."""
    write(tmp_path, "cluster-a", service("shop", "web"), endpoints("shop", "web", "10.1.0.1"),
          export("shop", "web", "2026-01-01T00:00:00Z"))
    write(tmp_path, "cluster-b", service("shop", "web", "web"), endpoints("shop", "web", "10.2.0.1", "web"),
          export("shop", "web", "2026-02-01T00:00:00Z"))
    write(tmp_path, "cluster-c", namespace("shop"))
    derived = simulate(capsys, tmp_path)["shop", derived_name("shop", "web")]
    assert backends(derived["cluster-c"]) == ["10.1.0.1:8080"]


def test_an_observed_derived_service_is_routed_as_observed(tmp_path, capsys):
    name = derived_name("shop", "web")
    write(tmp_path, "cluster-a", service("shop", "web"), endpoints("shop", "web", "10.1.0.1"),
          export("shop", "web", "2026-01-01T00:00:00Z"),
          service("shop", name, annotations={"service.cilium.io/global": "true"}))
    routes = simulate(capsys, tmp_path)
    assert backends(routes["shop", name]["cluster-a"]) == []  # as dumped: no slices of its own
