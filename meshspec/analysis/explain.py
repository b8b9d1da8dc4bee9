"""`meshspec explain`: for every service of a spec, which clusters serve each client cluster, in normal
operation and when one cluster has no ready pods (spec/routes.py asks the engine)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Iterable

from ..cilium.mcs import derived_name
from ..cilium.versions import CiliumVersion
from ..spec.mcs import export_clusters, mcs_copies, namespace_is_global
from ..spec.model import Mesh, Placement, Service
from ..spec.routes import Down, SpecRouting, routing_key, spec_copies


@dataclass(frozen=True)
class Explanation:
    service: Service
    normal: dict[str, list[str] | None]
    # cluster without ready pods -> the clients whose serving clusters change, and their new ones
    failures: dict[str, dict[str, list[str]]]
    via: str = ""  # "": the Service's own name; else the MCS-API clusterset name the routes are for
    notes: tuple[str, ...] = ()


def explain(mesh: Mesh, version: CiliumVersion, down: Iterable[Down] = ()) -> list[Explanation]:
    down = tuple(down)
    result = []
    # Services alike in everything routing reads (spec/routes.py routing_key) are routed once: a fleet's
    # services mostly share a few port shapes and placements.
    routed: dict[tuple, Explanation] = {}
    for service in sorted(mesh.services, key=lambda s: (s.namespace, s.name)):
        key = routing_key(mesh, service, down)
        twin = routed.get(key)
        if twin is None:
            explained = routed[key] = _explain(SpecRouting(mesh, service, version, down), service,
                                               notes=_namespace_notes(mesh, service))
        else:  # its own dicts, so no two explanations share one
            explained = Explanation(service, dict(twin.normal), {f: dict(c) for f, c in twin.failures.items()},
                                    notes=_namespace_notes(mesh, service))
        result.append(explained)
        if service.mcs:
            result += _explain_mcs(mesh, service, version, down)
    return result


def _explain(routing: SpecRouting, service: Service, via: str = "", notes: tuple[str, ...] = ()) -> Explanation:
    normal = routing.serving()
    sole = {client: served[0] for client, served in normal.items() if served and len(served) == 1}
    return Explanation(service, normal, routing.failure_effects(sole), via, notes)


def _namespace_notes(mesh: Mesh, service: Service) -> tuple[str, ...]:
    if namespace_is_global(mesh, service.namespace) or not (
            service.mcs or any(p.is_global for p in service.placements.values())):
        return ()
    return (f"namespace {service.namespace} is not global (clustermesh.cilium.io/global), so no cluster exports "
            "its endpoints; each still uses the others' (Cilium checks the namespace on export only)",)


def _explain_mcs(mesh: Mesh, service: Service, version: CiliumVersion, down: tuple[Down, ...]) -> list[Explanation]:
    """The MCS-API path: the derived Service every cluster with the namespace gets (cilium/mcs.py), which
    needs no Service of its own there."""
    imported, derived = mcs_copies(mesh, service, spec_copies(service))
    if imported is None:
        return []
    exporters = export_clusters(mesh, service)
    # The derived Service is global wherever it exists, and has local endpoints only where the cluster exports.
    as_service = replace(service, placements={c: Placement(True, c in exporters, "none") for c in derived},
                         annotations=dict(imported.annotations),
                         backends=tuple(c for c in service.backends if c in exporters))
    notes = (f"MCS-API: ServiceExport in {', '.join(exporters)}; ServiceImport and derived Service "
             f"{derived_name(service.namespace, service.name)} in {', '.join(derived)}",)
    if imported.conflict:
        notes += (f"ServiceExport conflict ({imported.conflict.reason}): {imported.conflict.message}",)
    return [_explain(SpecRouting(mesh, as_service, version, down, copies=derived), as_service, imported.dns, notes)]
