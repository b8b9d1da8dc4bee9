"""simulate's model of global namespaces and MCS-API on an observed state (cilium/mcs.py has Cilium's
rules and their sources): Services of a namespace annotated non-global export nothing, and each
ServiceExport feeds the ServiceImport and the derived Service of every cluster with the namespace,
unless the dump already holds that derived Service (then it is routed as observed)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from ..cilium.routing import ClusterService
from ..k8s.objects import MetaObject
from .state import State

# cilium/mcs.py is imported when a dump has Namespaces or ServiceExports: simulate's start-up on one
# without them does not pay for it (tests/test_architecture.py).
if TYPE_CHECKING:
    from ..cilium.mcs import Export

Copies = Mapping[str, ClusterService]


def namespace_global(state: State, cluster: str, namespace: str, default: bool = True) -> bool:
    """As the cluster's Cilium reads it; a dump without that Namespace object takes the default."""
    from ..cilium.mcs import namespace_is_global

    namespaces = state.objects.get("Namespace", {}).get(cluster)
    obj = namespaces.get(("", namespace)) if namespaces else None
    return namespace_is_global(None if obj is None else obj.annotations, default)


def with_namespace_rule(state: State, namespace: str, copies: Copies, default: bool = True) -> Copies:
    if not state.objects.get("Namespace") and default:
        return copies  # nothing says otherwise: every namespace is global (Cilium's default)
    from ..cilium.mcs import without_export

    changed = {c: copy if namespace_global(state, c, namespace, default) else without_export(copy)
               for c, copy in copies.items()}
    return copies if all(changed[c] is copies[c] for c in copies) else changed


def _export(cluster: str, export: MetaObject, service: ClusterService) -> Export:
    """MCSAPIServiceSpec from what a dump keeps of the Service (ports, type, families): session affinity and
    traffic policies are not in the routing model, so their conflicts show only in Cilium's own condition."""
    from ..cilium.mcs import Export, McsPort

    return Export(cluster, export.created, tuple(McsPort(p.name, p.port, p.protocol) for p in service.ports),
                  service.headless, families=service.families, annotations=dict(export.exported_annotations),
                  labels=dict(export.exported_labels))


def mcs_services(state: State, default: bool = True) -> list[tuple[tuple[str, str], dict[str, ClusterService]]]:
    """((namespace, derived name), {cluster: derived Service}) for every exported Service whose derived
    Service the dump does not hold. A ServiceExport counts where its Service exists, is not ExternalName
    (CheckLocalSvcValidForExport) and its namespace is global (Reconcile)."""
    if not state.objects.get("ServiceExport"):
        return []
    from ..cilium.mcs import derived_copies, derived_name, service_import

    exports: dict[tuple[str, str], list[Export]] = {}
    own: dict[tuple[str, str], dict[str, ClusterService]] = {}
    for cluster, objects in sorted(state.objects.get("ServiceExport", {}).items()):
        for key, export in objects.items():
            service = state.services.get(key, {}).get(cluster)
            if service is None or not namespace_global(state, cluster, key[0], default):
                continue
            exports.setdefault(key, []).append(_export(cluster, export, service))
            own.setdefault(key, {})[cluster] = service
    found = []
    for (namespace, name), group in sorted(exports.items()):
        derived = (namespace, derived_name(namespace, name))
        if derived in state.services:
            continue  # observed: routed like any Service
        imported = service_import(namespace, name, group)
        known = state.objects.get("Namespace", {})
        importers = [c for c in state.clusters if c not in known or ("", namespace) in known[c]]
        copies = derived_copies(imported, own[namespace, name], importers)
        found.append((derived, dict(with_namespace_rule(state, namespace, copies, default))))
    return found
