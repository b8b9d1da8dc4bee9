"""Cilium's datapath for global Services, as one pure function over plain data.

Given every cluster's copy of a Service (annotations, ports, EndpointSlices),
`route_service` answers, for a client in each cluster: which backends get new
connections on each of that cluster's Service ports. The rules and their
sources are in ../shared/reference/cilium-semantics.md:

- section 1: annotations (cilium.read_flags);
- section 2: export (global and shared; ready-or-serving endpoints, which the
  receiver marks Active), receive (only a global local Service uses remote
  backends), ports matched by name, duplicate IPs (local wins);
- section 3: affinity selection, legacy (<=1.17) and statedb LB (>=1.18).

`explain`, `simulate`, `diff` and `verify` all call this; nothing else in
meshspec computes Cilium's behaviour.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

from .cilium import CiliumVersion, ServiceFlags, read_flags


@dataclass(frozen=True)
class Port:
    name: str  # "" when unnamed
    port: int
    protocol: str = "TCP"


@dataclass(frozen=True)
class Endpoint:
    address: str
    # Kubernetes' EndpointConditions with their defaults: ready and serving unknown mean ready.
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@dataclass(frozen=True)
class EndpointSlice:
    ports: tuple[Port, ...]  # port = the backend's own (target) port
    endpoints: tuple[Endpoint, ...]
    address_type: str = "IPv4"  # IPv4 | IPv6 | FQDN (FQDN slices are not load-balanced)


@dataclass(frozen=True)
class ClusterService:
    """One cluster's copy of a Service, with the EndpointSlices labelled for it in that cluster."""

    namespace: str
    name: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()  # port = the Service (frontend) port
    headless: bool = False  # clusterIP None or ExternalName: no frontend to load-balance
    families: tuple[str, ...] = ("IPv4",)
    slices: tuple[EndpointSlice, ...] = ()


@dataclass(frozen=True)
class Backend:
    cluster: str
    address: str
    port: int
    protocol: str
    port_name: str
    family: str
    active: bool  # False: terminating (kept for existing connections only)

    @property
    def endpoint(self) -> str:
        return f"[{self.address}]:{self.port}" if self.family == "IPv6" else f"{self.address}:{self.port}"


@dataclass(frozen=True)
class ObserverView:
    """What a client in one cluster gets from the Service."""

    exists: bool
    flags: ServiceFlags | None = None
    # "80/TCP" -> backends that receive new connections, sorted
    frontends: Mapping[str, tuple[Backend, ...]] = field(default_factory=dict)
    notes: tuple[str, ...] = ()


def frontend_key(port: Port) -> str:
    return f"{port.port}/{port.protocol}"


def local_backends(cluster: str, service: ClusterService) -> list[Backend]:
    """Endpoints as the owning cluster's agent sees them: ready -> Active, serving and terminating ->
    Terminating, neither -> not a backend."""
    return [
        Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, ep.ready)
        for s in service.slices if s.address_type != "FQDN"
        for ep in s.endpoints if ep.ready or (ep.serving and ep.terminating)
        for p in s.ports
    ]


def exported_backends(cluster: str, service: ClusterService, flags: ServiceFlags) -> list[Backend]:
    """What the cluster publishes to the mesh: nothing unless global and shared; otherwise every ready or
    serving endpoint, conditions dropped, so receivers mark them all Active (section 2, export side)."""
    if not (flags.is_global and flags.shared):
        return []
    return [
        Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, True)
        for s in service.slices if s.address_type != "FQDN"
        for ep in s.endpoints if ep.ready or ep.serving
        for p in s.ports
    ]


def matches(frontend: Port, backend: Backend, families: Sequence[str], version: CiliumVersion) -> bool:
    """Ports match by name, never by number (section 2, Ports)."""
    if backend.protocol != frontend.protocol or backend.family not in families:
        return False
    if version.statedb_lb:
        # writer.go matchesFrontend: the name check applies only when both sides are named.
        return not (frontend.name and backend.port_name) or frontend.name == backend.port_name
    # Legacy genCartesianProduct: the endpoint must carry the Service port's name ("" included).
    return frontend.name == backend.port_name


def select(flags: ServiceFlags, local: list[Backend], remote: list[Backend], version: CiliumVersion) -> list[Backend]:
    """The backends that receive new connections (section 3)."""
    if version.statedb_lb:
        chosen = _select_lb(flags, local, remote, version)
        return [b for b in chosen if b.active]  # the datapath sends new flows only to Active backends
    return _select_legacy(flags, local, remote)


def _select_lb(flags: ServiceFlags, local: list[Backend], remote: list[Backend],
               version: CiliumVersion) -> list[Backend]:
    """pkg/clustermesh/loadbalancer/selectbackends.go. Healthy = Active or Terminating."""
    if not flags.is_global:
        return local
    if flags.unmatched_affinity is not None and version.invalid_affinity_drops_remote:
        return local  # #46623: neither "local" nor "remote" matched, and every remote backend was dropped
    if flags.affinity == "local":
        active_local = any(b.active for b in local)
        return local + (remote if not active_local and remote else [])
    if flags.affinity == "remote":
        return remote + (local if not remote and local else [])
    return local + remote


def _select_legacy(flags: ServiceFlags, local: list[Backend], remote: list[Backend]) -> list[Backend]:
    """service_cache.go + service.go: preferred backends exclusively while one is Active; otherwise every
    Active backend; with none Active, the Terminating ones."""
    candidates = local + remote
    preferred = local if flags.affinity == "local" else remote if flags.affinity == "remote" else []
    preferred_active = [b for b in preferred if b.active]
    if flags.is_global and preferred_active:
        return preferred_active
    return [b for b in candidates if b.active] or candidates


def route_service(copies: Mapping[str, ClusterService], clusters: Sequence[str],
                  version: CiliumVersion) -> dict[str, ObserverView]:
    """For every cluster in `clusters`, what its clients get from this Service. `copies` holds the
    clusters where the Service exists."""
    flags = {c: read_flags(svc.annotations) for c, svc in copies.items()}
    exports = {c: exported_backends(c, svc, flags[c]) for c, svc in copies.items()}
    all_exported = [b for c in copies for b in exports[c]]
    views = {}
    for observer in clusters:
        service = copies.get(observer)
        if service is None:
            # No local Service: no ClusterIP, no DNS name, nothing to reach (section 2, receive side).
            views[observer] = ObserverView(exists=False)
            continue
        mine = flags[observer]
        local = local_backends(observer, service)
        remote = [b for b in all_exported if b.cluster != observer] if mine.is_global else []
        views[observer] = ObserverView(True, mine, _frontends(service, mine, local, remote, version),
                                       tuple(_notes(mine, version)))
    return views


def _frontends(service: ClusterService, flags: ServiceFlags, local: list[Backend], remote: list[Backend],
               version: CiliumVersion) -> dict[str, tuple[Backend, ...]]:
    if service.headless:
        return {}  # headless: no frontends, no datapath load-balancing (section 2, Headless services)
    local_ips = {b.address for b in local}
    remote = [b for b in remote if b.address not in local_ips]  # duplicate IPs: the local backend wins
    out = {}
    for port in service.ports:
        mine = [b for b in local if matches(port, b, service.families, version)]
        theirs = [b for b in remote if matches(port, b, service.families, version)]
        out[frontend_key(port)] = _unique_sorted(select(flags, mine, theirs, version))
    return out


def _unique_sorted(backends: Iterable[Backend]) -> tuple[Backend, ...]:
    unique = {(b.cluster, b.endpoint): b for b in backends}
    return tuple(sorted(unique.values(), key=lambda b: (b.endpoint, b.cluster)))


def _notes(flags: ServiceFlags, version: CiliumVersion) -> Iterable[str]:
    if flags.unmatched_affinity is not None:
        if flags.is_global and version.invalid_affinity_drops_remote:
            yield (f"affinity {flags.unmatched_affinity!r} is neither local nor remote: Cilium {version} drops "
                   "every remote backend (cilium#46623)")
        elif flags.unmatched_affinity.lower() not in ("none", ""):
            yield f"affinity {flags.unmatched_affinity!r} is not recognised; Cilium treats it as none"


def serving_clusters(view: ObserverView) -> list[str]:
    """The clusters whose backends receive this observer's new connections, on any port."""
    return sorted({b.cluster for backends in view.frontends.values() for b in backends})
