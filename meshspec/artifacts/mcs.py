"""MCS-API ServiceExports, global-namespace annotations and the EndpointSlice synchronization switch, from
the spec (spec/mcs.py decides where; cilium/mcs.py has Cilium's rules and their sources)."""

from __future__ import annotations

from typing import Any

from ..cilium.annotations import GLOBAL_NAMESPACE, SYNC_ENDPOINT_SLICES
from ..k8s.names import MANAGED_BY, MANAGED_BY_LABEL
from ..spec.mcs import exports_mcs, namespace_annotation, syncs_endpoint_slices
from ..spec.model import Mesh, Service

# The MCS-API group every Cilium with MCS-API support serves (1.17+, pkg/clustermesh/mcsapi; the CRDs come
# from sigs.k8s.io/mcs-api). Cilium 1.20's controllers read v1beta1, which the same CRDs serve.
SERVICE_EXPORT_API = "multicluster.x-k8s.io/v1alpha1"
SERVICE_EXPORT = "ServiceExport"


def sync_annotation(service: Service) -> dict[str, str]:
    """service.cilium.io/global-sync-endpoint-slices as services[].syncEndpointSlices says; none when unset
    (Cilium's default: on for headless global Services)."""
    if service.sync_endpoint_slices is None:
        return {}
    return {SYNC_ENDPOINT_SLICES: "true" if service.sync_endpoint_slices else "false"}


def render_service_export(service: Service) -> dict[str, Any]:
    """The ServiceExport beside a Service: same name and namespace. The derived Service of every importing
    cluster takes its annotations from spec.exportedAnnotations (serviceimport_controller.go), so the
    EndpointSlice switch goes there too."""
    obj: dict[str, Any] = {"apiVersion": SERVICE_EXPORT_API, "kind": SERVICE_EXPORT,
                           "metadata": {"name": service.name, "namespace": service.namespace,
                                        "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}
    exported = sync_annotation(service)
    if exported:
        obj["spec"] = {"exportedAnnotations": exported}
    return obj


def service_exports(mesh: Mesh, cluster: str) -> list[dict[str, Any]]:
    """Every ServiceExport meshspec renders in `cluster`, in spec order."""
    return [render_service_export(s) for s in mesh.services if exports_mcs(mesh, s, cluster)]


def namespace_annotations(mesh: Mesh, namespace: str) -> dict[str, str]:
    value = namespace_annotation(mesh, namespace)
    return {} if value is None else {GLOBAL_NAMESPACE: value}


def mcs_values(mesh: Mesh) -> dict[str, Any]:
    """The Helm values this part of the spec needs, the same in every cluster: EndpointSlice
    synchronization once any Service syncs (Documentation/network/clustermesh: the per-Service annotation
    does nothing without clustermesh.enableEndpointSliceSynchronization)."""
    if any(syncs_endpoint_slices(s) for s in mesh.services):
        return {"clustermesh": {"enableEndpointSliceSynchronization": True}}
    return {}
