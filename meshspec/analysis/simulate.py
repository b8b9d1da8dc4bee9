"""`meshspec simulate`: the routing engine on an observed state (analysis/state.py reads it)."""

from __future__ import annotations

from typing import Mapping, Sequence

from ..cilium.routing import ObserverView, route_service
from ..cilium.versions import CiliumVersion
from .state import State

Routes = list[tuple[str, str, Mapping[str, ObserverView]]]  # (namespace, name, {observer cluster: view})


def simulate(state: State, observers: Sequence[str], version: CiliumVersion) -> Routes:
    """What clients in each observer cluster get, for every Service of the state."""
    return [(ns, name, route_service(copies, observers, version)) for (ns, name), copies in state.services.items()]
