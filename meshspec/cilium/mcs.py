"""Cilium's MCS-API path and global namespaces, as pure functions over plain data. routing.py stays the
datapath: this module turns ServiceExports into the ServiceImport and the derived Service Cilium creates in
every importing cluster, and those derived Services are routed like any global Service.

Read from Cilium's sources (github.com/cilium/cilium, main as of the 1.20 line):

- pkg/clustermesh/namespace/namespace.go `IsGlobalNamespaceByObject`: a Namespace annotated
  `clustermesh.cilium.io/global` is global when the value, lower-cased, is "true" (so "", "invalid" and
  "false" all mean non-global, whatever the default); without the annotation the default applies, the
  hidden agent/operator flag `clustermesh-default-global-namespace` (namespace/config.go, default true).
  The namespace test table (namespace_test.go `TestIsGlobalNamespaceByObject`) is transcribed in
  tests/cilium/test_mcs.py.
- Only the export side checks it: clustermesh-apiserver's `DefaultClusterServiceConverter.Convert` and the
  EndpointSlice converter delete the record of a Service whose namespace is not global, and the MCS
  ServiceExport sync skips it; nothing on the receiving side looks at the namespace. So a global Service in
  a non-global namespace still uses the others' backends, it only publishes none of its own. (The issue
  said "is not exported/imported"; for global Services Cilium only stops the export. For MCS-API the
  ServiceImport of a non-global namespace is Ready=False "NamespaceNotGlobal", and a ServiceExport there
  is Valid=False with that reason: `mcsAPIServiceImportReconciler.Reconcile`.)
- pkg/clustermesh/mcsapi/serviceimport_controller.go: exports are ordered oldest ServiceExport first (ties
  by cluster name, `orderSvcExportByPriority`); ports are the union, keyed by port and protocol, the
  oldest export's name winning (`mergePorts`); IP families are the intersection, a cluster with none in
  common is skipped (`intersectIPFamilies`; the issue's "oldest wins" is wrong there); then type,
  sessionAffinity, sessionAffinityConfig, exported annotations and labels, internalTrafficPolicy and
  trafficDistribution take the oldest export's value (`checkConflictExport`). The first conflict found is
  set on every local ServiceExport as condition Conflict=True (Conflicted in the v1alpha1 API) with its
  reason. No ServiceImport is created where the namespace does not exist.
- pkg/clustermesh/mcsapi/service_controller.go: each ServiceImport gets a Service `derived-<hash>`
  (sha256 of "namespace/name", base32hex, first 10 characters, lower-cased) annotated
  `service.cilium.io/global: "true"` plus the exported annotations, with the import's ports and type, and
  the local Service's selector only when the local cluster exports it; so a cluster that only imports
  needs no Service of its own. DNS: `<name>.<namespace>.svc.clusterset.local` (docs, mcsapi page).
"""

from __future__ import annotations

import base64
from typing import Mapping, Sequence

from ..record import field, record, replace
from .annotations import GLOBAL, GLOBAL_NAMESPACE
from .routing import ClusterService, EndpointSlice, Port
from .versions import CiliumVersion

MCS_API_GROUP = "multicluster.x-k8s.io"
# The ServiceExport version each Cilium reads and whose CRD it installs (clustermesh.mcsapi.installCRDs):
# - 1.17-1.19 vendor sigs.k8s.io/mcs-api before its v1beta1 (mcs-api PR #133, merged after its v0.4.1);
#   pkg/clustermesh/mcsapi/crdinstall.go installs the v1alpha1 CRDs (mcsapiv1alpha1.ServiceExportVersionedName)
#   and the controllers read v1alpha1, the only version that CRD serves.
# - 1.20 adopts v1beta1 (cilium/cilium issue #45928, "MCS-API stable promotion": "we are adopting v1beta1 in
#   Cilium 1.20"): its ServiceExportResource constructor (pkg/k8s) and pkg/clustermesh/mcsapi/
#   endpointslice_mirror_controller.go read mcsapiv1beta1.ServiceExport, and the bundled vendor/sigs.k8s.io/mcs-api/config/crd/
#   multicluster.x-k8s.io_serviceexports.yaml (mcs-api v0.5.0) serves v1alpha1 and v1beta1, v1beta1 the
#   storage version (same schema, conversion None). So v1beta1 from 1.20, v1alpha1 before.
SERVICE_EXPORT_V1BETA1_FIRST = (1, 20)


def service_export_api_version(version: CiliumVersion) -> str:
    """The apiVersion of the ServiceExports meshspec renders for a mesh on `version`."""
    served = "v1beta1" if version.minor_version >= SERVICE_EXPORT_V1BETA1_FIRST else "v1alpha1"
    return f"{MCS_API_GROUP}/{served}"


def namespace_is_global(annotations: Mapping[str, str] | None, default: bool) -> bool:
    """IsGlobalNamespaceByObject: the annotation, when present, decides ("true" in any case); else the
    default. `annotations` None means no Namespace object is known: the default applies."""
    if annotations is not None and GLOBAL_NAMESPACE in annotations:
        return annotations[GLOBAL_NAMESPACE].lower() == "true"
    return default


def without_export(service: ClusterService) -> ClusterService:
    """The Service as a non-global namespace leaves it: it publishes nothing (the export converters), and
    still uses remote backends if global."""
    return replace(service, exported=False)


def clusterset_name(namespace: str, name: str) -> str:
    return f"{name}.{namespace}.svc.clusterset.local"


def derived_name(namespace: str, name: str) -> str:
    """service_controller.go derivedName (taken from mcs-api's controllers/common.go)."""
    import hashlib  # here, not at import: hashlib's OpenSSL binding is 4-6 ms of every command's start-up

    digest = hashlib.sha256(f"{namespace}/{name}".encode()).digest()
    return "derived-" + base64.b32hexencode(digest).decode().rstrip("=").lower()[:10]


@record
class McsPort:
    """A port of a ServiceExport's Service, as MCSAPIServiceSpec carries it."""
    name: str
    port: int
    protocol: str = "TCP"
    app_protocol: str = ""


@record
class Export:
    """One cluster's ServiceExport with its Service, as MCSAPIServiceSpec carries it (types/
    mcsapiservicespec.go). `created` is the ServiceExport's creationTimestamp (RFC 3339, so it sorts)."""

    cluster: str
    created: str
    ports: tuple[McsPort, ...] = ()
    headless: bool = False
    session_affinity: str = "None"
    affinity_timeout: int | None = None
    families: tuple[str, ...] = ()
    annotations: Mapping[str, str] = field(default_factory=dict)  # spec.exportedAnnotations
    labels: Mapping[str, str] = field(default_factory=dict)  # spec.exportedLabels
    internal_traffic_policy: str = "Cluster"
    traffic_distribution: str = ""

    @property
    def type(self) -> str:
        return "Headless" if self.headless else "ClusterSetIP"


@record
class Conflict:
    """Why the exports of a Service do not agree, as the ServiceExport's Conflict condition says it."""
    reason: str  # PortConflict, IPFamilyConflict, TypeConflict, ...
    message: str


@record
class ServiceImport:
    """The ServiceImport Cilium creates in every cluster from a Service's exports."""
    namespace: str
    name: str
    ports: tuple[McsPort, ...]
    headless: bool
    session_affinity: str
    families: tuple[str, ...]  # () when every export predates IP families (Cilium <= 1.18)
    clusters: tuple[str, ...]  # the exporting clusters, oldest export first
    annotations: Mapping[str, str]
    conflict: Conflict | None = None

    @property
    def dns(self) -> str:
        return clusterset_name(self.namespace, self.name)


def order_exports(exports: Sequence[Export]) -> list[Export]:
    """orderSvcExportByPriority: oldest creationTimestamp first, ties by cluster name."""
    return sorted(exports, key=lambda e: (e.created, e.cluster))


def merge_ports(ordered: Sequence[Export]) -> tuple[tuple[McsPort, ...], Conflict | None]:
    """mergePorts: the union by (port, protocol); a port name the oldest export uses for another port is
    dropped; the first name or appProtocol that differs, or any export whose ports are not the union,
    is a PortConflict."""
    message = ""
    ports: list[tuple[McsPort, str]] = []
    by_name: dict[str, tuple[McsPort, str]] = {}
    for export in ordered:
        for port in export.ports:
            older = by_name.get(port.name)
            if older and (older[0].port, older[0].protocol) != (port.port, port.protocol):
                message = message or (f'Duplicated port name "{port.name}". Using port definition from oldest '
                                      f'service export in cluster "{older[1]}".')
                continue
            same = next((p for p in ports if (p[0].port, p[0].protocol) == (port.port, port.protocol)), None)
            if same is None:
                by_name[port.name] = (port, export.cluster)
                ports.append((port, export.cluster))
            elif not message:
                if port.name != same[0].name:
                    message = (f'Conflicting port name on {port.port}/{port.protocol}. Using the port name '
                               f'"{same[0].name}" from oldest service export in cluster "{same[1]}".')
                elif port.app_protocol != same[0].app_protocol:
                    message = (f'Conflicting appProtocol on {port.port}/{port.protocol}. Using the appProtocol '
                               f'"{same[0].app_protocol}" from oldest service export in cluster "{same[1]}".')
    merged = tuple(p for p, _ in ports)
    if not message:
        for export in ordered:
            if tuple(export.ports) != merged:
                message = (f'Ports from cluster "{export.cluster}" does not match ports of oldest service export '
                           f'in cluster "{ordered[0].cluster}".')
                break
    return merged, Conflict("PortConflict", message) if message else None


def intersect_families(ordered: Sequence[Export]) -> tuple[tuple[str, ...], Conflict | None]:
    """intersectIPFamilies: exports without families (Cilium 1.18 or older) are skipped; a cluster with
    no family in common is skipped and named in an IPFamilyConflict."""
    known = [e for e in ordered if e.families]
    if not known:
        return (), None
    families = tuple(known[0].families)
    conflicting = ""
    for export in known[1:]:
        common = tuple(f for f in families if f in export.families)
        if not common:
            conflicting = conflicting or export.cluster
            continue
        families = common
    if conflicting:
        return families, Conflict("IPFamilyConflict",
                                  f"IPFamilies conflict. Cluster '{conflicting}' has no IPFamilies in common.")
    return families, None


_FIELDS = (  # checkConflictExport, in its order
    ("type", "TypeConflict", lambda e: e.type),
    ("sessionAffinity", "SessionAffinityConflict", lambda e: e.session_affinity),
    ("sessionAffinityConfig.clientIP", "SessionAffinityConfigConflict",
     lambda e: "" if e.affinity_timeout is None else str(e.affinity_timeout)),
    ("annotations", "AnnotationsConflict", lambda e: sorted(e.annotations.items())),
    ("labels", "LabelsConflict", lambda e: sorted(e.labels.items())),
    ("internalTrafficPolicy", "InternalTrafficPolicyConflict", lambda e: e.internal_traffic_policy),
    ("trafficDistribution", "TrafficDistributionConflict", lambda e: e.traffic_distribution),
)


def check_conflict(ordered: Sequence[Export]) -> Conflict | None:
    """checkConflictExport: the first export that disagrees with the oldest on a field, in field order per
    export; the message counts every cluster that disagrees on that field."""
    oldest = ordered[0]
    for i, export in enumerate(ordered[1:]):
        for name, reason, get in _FIELDS:
            if get(export) == get(oldest):
                continue
            count = 1 + sum(1 for other in ordered[i + 2:] if get(other) != get(oldest))
            return Conflict(reason, f"Conflicting {name}. {count}/{len(ordered)} clusters disagree. Using "
                                    f"{get(oldest)!r} from oldest service export in cluster {oldest.cluster!r}.")
    return None


def service_import(namespace: str, name: str, exports: Sequence[Export]) -> ServiceImport | None:
    """The ServiceImport every cluster (with the namespace) builds from the same exports; None without any."""
    if not exports:
        return None
    ordered = order_exports(exports)
    ports, conflict = merge_ports(ordered)
    families, families_conflict = intersect_families(ordered)
    conflict = conflict or families_conflict or check_conflict(ordered)
    oldest = ordered[0]
    return ServiceImport(namespace, name, ports, oldest.headless, oldest.session_affinity, families,
                         tuple(e.cluster for e in ordered), dict(oldest.annotations), conflict)


def derived_service(imported: ServiceImport, local: ClusterService | None) -> ClusterService:
    """The `derived-<hash>` Service of one importing cluster (service_controller.go): global, the import's
    ports, type and families, and the local Service's endpoints only when this cluster exports it
    (`local` is then its exported Service). Its EndpointSlices keep their port names, so a cluster whose
    port name lost a conflict reaches no frontend (routing.matches pairs by name)."""
    annotations = {**imported.annotations, GLOBAL: "true"}
    slices: tuple[EndpointSlice, ...] = local.slices if local is not None else ()
    return ClusterService(
        namespace=imported.namespace, name=derived_name(imported.namespace, imported.name),
        annotations=annotations, ports=tuple(Port(p.name, p.port, p.protocol) for p in imported.ports),
        headless=imported.headless, families=imported.families or ("IPv4",), slices=slices)


def derived_copies(imported: ServiceImport, exported: Mapping[str, ClusterService],
                   importers: Sequence[str]) -> dict[str, ClusterService]:
    """{cluster: its derived Service} for every cluster in `importers`, those where the namespace exists
    (a ServiceImport, and so a derived Service, is made there even when the namespace is not global: it is
    then Ready=False, and the derived Service still receives remote backends); `exported` holds each
    exporting cluster's own Service."""
    return {cluster: derived_service(imported, exported.get(cluster)) for cluster in importers}
