"""`meshspec explain`: for every service of a spec, which clusters serve each client cluster, in normal
operation and when one cluster has no ready pods (spec/routes.py asks the engine)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from ..cilium.versions import CiliumVersion
from ..spec.model import Mesh, Service
from ..spec.routes import Down, SpecRouting


@dataclass(frozen=True)
class Explanation:
    service: Service
    normal: dict[str, list[str] | None]
    # cluster without ready pods -> the clients whose serving clusters change, and their new ones
    failures: dict[str, dict[str, list[str]]]


def explain(mesh: Mesh, version: CiliumVersion, down: Iterable[Down] = ()) -> list[Explanation]:
    down = tuple(down)
    result = []
    for service in sorted(mesh.services, key=lambda s: (s.namespace, s.name)):
        routing = SpecRouting(mesh, service, version, down)
        normal = routing.serving()
        sole = {client: served[0] for client, served in normal.items() if served and len(served) == 1}
        result.append(Explanation(service, normal, routing.failure_effects(sole)))
    return result
