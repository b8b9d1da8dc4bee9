"""Render of MCS-API ServiceExports, global-namespace annotations and EndpointSlice sync (artifacts/mcs.py)."""

import pytest
import yaml

from meshspec.artifacts.cilium_values import cluster_values
from meshspec.artifacts.files import render_files
from meshspec.spec.check import check_bytes
from tests.support.mcs_specs import mcs_spec

SYNC = "service.cilium.io/global-sync-endpoint-slices"


def mesh_of(raw: bytes):
    mesh, diagnostics = check_bytes(raw, "mesh.yaml")
    assert mesh is not None, diagnostics
    return mesh


def body(files, cluster, name):
    return yaml.safe_load(files[cluster][name].decode())


def test_a_service_export_beside_the_service_in_every_cluster_that_shares_it():
    files = render_files(mesh_of(mcs_spec()))
    export = body(files, "cluster-a", "serviceexport.shop.checkout.yaml")
    assert export == {"apiVersion": "multicluster.x-k8s.io/v1beta1", "kind": "ServiceExport",  # 1.20, the default
                      "metadata": {"name": "checkout", "namespace": "shop",
                                   "labels": {"app.kubernetes.io/managed-by": "meshspec"}}}
    assert "serviceexport.shop.checkout.yaml" not in files["cluster-b"]  # shared: false there
    assert "serviceexport.shop.checkout.yaml" not in files["cluster-c"]  # no Service there
    assert "serviceexport.shop.checkout.yaml" in body(files, "cluster-a", "kustomization.yaml")["resources"]


@pytest.mark.parametrize("version, api_version", [
    ("1.17", "multicluster.x-k8s.io/v1alpha1"), ("1.18.4", "multicluster.x-k8s.io/v1alpha1"),
    ("1.19.4", "multicluster.x-k8s.io/v1alpha1"), ("1.20", "multicluster.x-k8s.io/v1beta1"),
    ("1.20.1", "multicluster.x-k8s.io/v1beta1")])
def test_service_export_api_version_is_the_one_the_specs_cilium_installs_and_reads(version, api_version):
    """1.17-1.19 install the v1alpha1-only mcs-api CRDs (pkg/clustermesh/mcsapi/crdinstall.go); 1.20 reads
    v1beta1 (cilium/cilium#45928), which its bundled mcs-api v0.5.0 CRD serves as the storage version."""
    files = render_files(mesh_of(mcs_spec(cilium={"mcsapi": True, "version": version})))
    assert body(files, "cluster-a", "serviceexport.shop.checkout.yaml")["apiVersion"] == api_version


def test_defaults_mcs_exports_every_service_and_a_non_global_namespace_none():
    files = render_files(mesh_of(mcs_spec(defaults={"mcs": True})))
    assert "serviceexport.shop.db.yaml" in files["cluster-a"]  # mcs exports without global
    # batch is marked non-global: Cilium would mark the export Valid=False NamespaceNotGlobal
    assert not any(name.startswith("serviceexport.batch.") for name in files["cluster-a"])


def test_default_global_namespace_false_annotates_namespaces_that_hold_global_services():
    """pkg/clustermesh/namespace IsGlobalNamespaceByObject: with the default false only an annotated
    namespace exports; a namespace the spec marks is rendered as it says."""
    files = render_files(mesh_of(mcs_spec()))
    annotations = body(files, "cluster-a", "namespace.shop.yaml")["metadata"]["annotations"]
    assert annotations["clustermesh.cilium.io/global"] == "true"
    batch = body(files, "cluster-a", "namespace.batch.yaml")["metadata"]["annotations"]
    assert batch["clustermesh.cilium.io/global"] == "false"


def test_default_true_renders_no_namespace_annotation_but_for_marked_ones():
    files = render_files(mesh_of(mcs_spec(cilium={"mcsapi": True}, namespaces={})))
    annotations = body(files, "cluster-a", "namespace.shop.yaml")["metadata"]["annotations"]
    assert "clustermesh.cilium.io/global" not in annotations


def test_sync_endpoint_slices_renders_the_annotation_and_the_mesh_wide_switch():
    mesh = mesh_of(mcs_spec(services={"checkout": {"syncEndpointSlices": True}}))
    files = render_files(mesh)
    service = body(files, "cluster-a", "service.shop.checkout.yaml")
    assert service["metadata"]["annotations"][SYNC] == "true"
    # the derived Services of importing clusters take their annotations from exportedAnnotations
    export = body(files, "cluster-a", "serviceexport.shop.checkout.yaml")
    assert export["spec"] == {"exportedAnnotations": {SYNC: "true"}}
    assert cluster_values(mesh, mesh.clusters[0])["clustermesh"]["enableEndpointSliceSynchronization"] is True


def test_no_switch_when_no_service_syncs():
    mesh = mesh_of(mcs_spec())  # db is headless but not global: Cilium syncs nothing for it
    assert "enableEndpointSliceSynchronization" not in cluster_values(mesh, mesh.clusters[0])["clustermesh"]


def test_a_headless_global_service_turns_the_switch_on_by_cilium_default():
    mesh = mesh_of(mcs_spec(services={"db": {"global": True}}))
    assert cluster_values(mesh, mesh.clusters[0])["clustermesh"]["enableEndpointSliceSynchronization"] is True
    files = render_files(mesh)
    assert SYNC not in body(files, "cluster-a", "service.shop.db.yaml")["metadata"]["annotations"]


def test_sync_false_opts_a_headless_service_out():
    mesh = mesh_of(mcs_spec(services={"db": {"global": True, "syncEndpointSlices": False}}))
    files = render_files(mesh)
    assert body(files, "cluster-a", "service.shop.db.yaml")["metadata"]["annotations"][SYNC] == "false"
    assert "enableEndpointSliceSynchronization" not in cluster_values(mesh, mesh.clusters[0])["clustermesh"]
