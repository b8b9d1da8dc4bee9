"""`meshspec simulate`: the routing engine on an observed state (analysis/state.py reads it)."""

from __future__ import annotations

from typing import Collection, Iterator, Mapping, Sequence

from ..cilium.annotations import read_flags
from ..cilium.routing import ClusterService, ObserverView, route_service
from ..cilium.versions import CiliumVersion, image_version
from .mcs_state import mcs_services, with_namespace_rule
from .state import State

RoutedService = tuple[str, str, Mapping[str, ObserverView]]  # (namespace, name, {observer cluster: view})
Routes = list[RoutedService]
Selected = list[tuple[tuple[str, str], Mapping[str, ClusterService]]]  # ((namespace, name), {cluster: copy})


def simulate(state: State, observers: Sequence[str], version: CiliumVersion, *,
             namespaces: Collection[str] = (), global_only: bool = False) -> Routes:
    """What clients in each observer cluster get, for every Service of the state, or only those in
    `namespaces` (when given) and, with `global_only`, only those global in some cluster. Filtering
    picks Services; it never changes what the engine sees of one (every cluster's copy is routed)."""
    return list(routed(selected(state, namespaces, global_only), observers, version))


def selected(state: State, namespaces: Collection[str] = (), global_only: bool = False) -> Selected:
    """The Services of the state that the filters keep, in the state's order, as Cilium exports them (not
    from a non-global namespace), then the MCS-API derived Services the dump's ServiceExports make
    (analysis/mcs_state.py)."""
    found = [(key, with_namespace_rule(state, key[0], copies)) for key, copies in state.services.items()
             if (not namespaces or key[0] in namespaces) and (not global_only or is_global_anywhere(copies))]
    return found + [(key, copies) for key, copies in mcs_services(state) if not namespaces or key[0] in namespaces]


def routed(services: Selected, observers: Sequence[str], version: CiliumVersion,
           left_out: bool = False, versions: Mapping[str, CiliumVersion] | None = None) -> Iterator[RoutedService]:
    """Each Service routed when it is asked for, so a caller that prints as it goes holds one at a time;
    with `left_out`, every view also says which endpoints it does not reach, and why. `versions` gives
    observer clusters that run another Cilium than `version` (their clients see what that version's
    datapath does, as verify routes them: analysis/verify.py)."""
    groups: dict[CiliumVersion, list[str]] = {}
    for observer in observers:
        groups.setdefault((versions or {}).get(observer, version), []).append(observer)
    for (ns, name), copies in services:
        if len(groups) == 1:
            [(running, group)] = groups.items()
            yield ns, name, route_service(copies, group, running, left_out)
            continue
        views: dict[str, ObserverView] = {}
        for running, group in groups.items():
            views.update(route_service(copies, group, running, left_out))
        yield ns, name, {observer: views[observer] for observer in observers}


def running_versions(state: State) -> dict[str, CiliumVersion]:
    """Each cluster's Cilium version, from the tag of its dumped cilium DaemonSet image; clusters without
    one, or whose tag is no version meshspec models, are left out."""
    found = {cluster: image_version(image) for cluster, image in state.cilium_images.items()}
    return {cluster: version for cluster, version in found.items() if version is not None}


def is_global_anywhere(copies: Mapping[str, ClusterService]) -> bool:
    """A Service Cilium treats as global in at least one cluster: service.cilium.io/global (or its legacy
    alias) read as Cilium reads it (cilium-semantics.md section 1). A copy that is not global still takes
    part, as a local Service, where another is."""
    return any(read_flags(copy.annotations).is_global for copy in copies.values())
