"""What a spec says about global namespaces, MCS-API exports and EndpointSlice synchronization, as Cilium
will read it once the spec is rendered (cilium/mcs.py has Cilium's rules and their sources).

- A namespace's `clustermesh.cilium.io/global` annotation: spec.namespaces.global says it outright; else,
  with spec.cilium.defaultGlobalNamespace false, every namespace holding a global or MCS-exported Service
  gets "true", so that turning the default off does not silently stop its exports.
- A ServiceExport goes beside a service with `mcs: true` in every cluster that shares it (the
  placement's `shared`, true by default), unless its namespace is not global: Cilium would mark it
  Valid=False NamespaceNotGlobal and export nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..cilium.routing import ClusterService
from ..k8s.names import BUILTIN_NAMESPACES
from .model import Mesh, Service

# cilium/mcs.py is imported where a spec needs it (an MCS service, a namespace that is not global): most
# specs need neither, and validate's start-up does not pay for its classes (tests/test_architecture.py).
if TYPE_CHECKING:
    from ..cilium.mcs import Export, ServiceImport


def holds_exports(mesh: Mesh, namespace: str) -> bool:
    """A global Service (in some cluster) or an MCS export lives in `namespace`."""
    return any(s.namespace == namespace and (s.mcs or any(p.is_global for p in s.placements.values()))
               for s in mesh.services)


def renders_namespace(mesh: Mesh, namespace: str) -> bool:
    """meshspec renders (and Pulumi deploys) this Namespace object (artifacts/manifests.py mesh_namespaces)."""
    return mesh.create_namespaces and namespace not in BUILTIN_NAMESPACES


def namespace_annotation(mesh: Mesh, namespace: str) -> str | None:
    """The clustermesh.cilium.io/global value meshspec wants on the Namespace; None: no annotation."""
    if namespace in mesh.global_namespaces:
        return "true" if mesh.global_namespaces[namespace] else "false"
    if not mesh.cilium.default_global_namespace and holds_exports(mesh, namespace):
        return "true"
    return None


def namespace_is_global(mesh: Mesh, namespace: str) -> bool:
    """As Cilium reads it after a rollout (IsGlobalNamespaceByObject). spec.namespaces.global is taken as
    the cluster's truth even where meshspec does not render the Namespace (it says what its annotation is);
    the annotation meshspec adds for defaultGlobalNamespace: false counts only where it renders it."""
    if namespace in mesh.global_namespaces:
        return mesh.global_namespaces[namespace]
    if namespace_annotation(mesh, namespace) == "true" and renders_namespace(mesh, namespace):
        return True
    return mesh.cilium.default_global_namespace


def exports_mcs(mesh: Mesh, service: Service, cluster: str) -> bool:
    """A ServiceExport goes beside this cluster's copy."""
    placement = service.placements.get(cluster)
    return bool(service.mcs and placement is not None and placement.shared
                and namespace_is_global(mesh, service.namespace))


def export_clusters(mesh: Mesh, service: Service) -> list[str]:
    return [c for c in service.placements if exports_mcs(mesh, service, c)]


def syncs_endpoint_slices(service: Service) -> bool:
    """EndpointSlice synchronization is on for this Service somewhere: the field, else Cilium's default
    (headless global Services; pkg/clustermesh/endpointslicesync)."""
    if not any(p.is_global for p in service.placements.values()) and not service.mcs:
        return False
    return service.headless if service.sync_endpoint_slices is None else service.sync_endpoint_slices


def namespace_rule(mesh: Mesh, service: Service, copies: dict[str, ClusterService]) -> dict[str, ClusterService]:
    """`copies` as Cilium exports them: nothing from a namespace that is not global."""
    if namespace_is_global(mesh, service.namespace):
        return copies
    from ..cilium.mcs import without_export

    return {cluster: without_export(copy) for cluster, copy in copies.items()}


def namespace_clusters(mesh: Mesh, namespace: str) -> list[str]:
    """The clusters where the namespace exists after a rollout: every one for a built-in namespace, else
    those where the spec places a Service of it."""
    if namespace in BUILTIN_NAMESPACES:
        return [c.name for c in mesh.clusters]
    used = {c for s in mesh.services if s.namespace == namespace for c in s.placements}
    return [c.name for c in mesh.clusters if c.name in used]


def spec_export(service: Service, cluster: str) -> Export:
    """The MCSAPIServiceSpec of one cluster's copy. The spec renders the same Service everywhere and every
    ServiceExport in the same rollout, so no export is older: ties go by cluster name, as in Cilium."""
    from ..cilium.mcs import Export, McsPort

    spec = service.spec
    timeout = ((spec.get("sessionAffinityConfig") or {}).get("clientIP") or {}).get("timeoutSeconds")
    return Export(
        cluster=cluster, created="",
        ports=tuple(McsPort(p.get("name") or "", p["port"], p.get("protocol") or "TCP", p.get("appProtocol") or "")
                    for p in spec.get("ports") or ()),
        headless=service.headless, session_affinity=spec.get("sessionAffinity") or "None",
        affinity_timeout=timeout, families=tuple(spec.get("ipFamilies") or ()),
        internal_traffic_policy=spec.get("internalTrafficPolicy") or "Cluster",
        traffic_distribution=spec.get("trafficDistribution") or "")


def mcs_copies(mesh: Mesh, service: Service, copies: dict[str, ClusterService]
               ) -> tuple[ServiceImport | None, dict[str, ClusterService]]:
    """The ServiceImport of an `mcs: true` service and the derived Service of every cluster where its
    namespace exists; `copies` are the Services as routes.spec_copies builds them."""
    from ..cilium.mcs import derived_copies, service_import

    exporters = export_clusters(mesh, service)
    imported = service_import(service.namespace, service.name, [spec_export(service, c) for c in exporters])
    if imported is None:
        return None, {}
    derived = derived_copies(imported, {c: copies[c] for c in exporters},
                             namespace_clusters(mesh, service.namespace))
    return imported, derived
