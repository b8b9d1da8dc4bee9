"""MCS-API ServiceExports, global-namespace annotations and the EndpointSlice synchronization switch, from
the spec (spec/mcs.py decides where; cilium/mcs.py has Cilium's rules and their sources)."""

from __future__ import annotations

from typing import Any

from ..cilium.annotations import GLOBAL_NAMESPACE, SYNC_ENDPOINT_SLICES
from ..cilium.mcs import service_export_api_version
from ..cilium.versions import parse_version
from ..k8s.names import MANAGED_BY, MANAGED_BY_LABEL
from ..spec.mcs import exports_mcs, namespace_annotation, syncs_endpoint_slices
from ..spec.model import Mesh, Service

SERVICE_EXPORT = "ServiceExport"


def sync_annotation(service: Service) -> dict[str, str]:
    """service.cilium.io/global-sync-endpoint-slices as services[].syncEndpointSlices says; none when unset
    (Cilium's default: on for headless global Services)."""
    if service.sync_endpoint_slices is None:
        return {}
    return {SYNC_ENDPOINT_SLICES: "true" if service.sync_endpoint_slices else "false"}


def render_service_export(service: Service, api_version: str) -> dict[str, Any]:
    """The ServiceExport beside a Service: same name and namespace, in the API version the mesh's Cilium
    reads (cilium/mcs.py service_export_api_version). The derived Service of every importing cluster takes
    its annotations from spec.exportedAnnotations (serviceimport_controller.go), so the EndpointSlice
    switch goes there too."""
    obj: dict[str, Any] = {"apiVersion": api_version, "kind": SERVICE_EXPORT,
                           "metadata": {"name": service.name, "namespace": service.namespace,
                                        "labels": {MANAGED_BY_LABEL: MANAGED_BY}}}
    exported = sync_annotation(service)
    if exported:
        obj["spec"] = {"exportedAnnotations": exported}
    return obj


def service_exports(mesh: Mesh, cluster: str) -> list[dict[str, Any]]:
    """Every ServiceExport meshspec renders in `cluster`, in spec order."""
    exported = [s for s in mesh.services if exports_mcs(mesh, s, cluster)]
    if not exported:
        return []
    api_version = service_export_api_version(parse_version(mesh.cilium.version))
    return [render_service_export(s, api_version) for s in exported]


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
