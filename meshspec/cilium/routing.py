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

import bisect
from typing import Any, Iterable, Iterator, Mapping, Sequence

from ..record import field, record, replace
from .annotations import OWNED, ServiceFlags, read_flags
from .versions import CiliumVersion


@record(compiled=True)
class Port:
    """A Service or EndpointSlice port."""
    name: str  # "" when unnamed
    port: int
    protocol: str = "TCP"


@record(compiled=True)
class Endpoint:
    """One EndpointSlice endpoint: its address and its conditions."""
    address: str
    # Kubernetes' EndpointConditions with their defaults: ready and serving unknown mean ready.
    ready: bool = True
    serving: bool = True
    terminating: bool = False


@record(compiled=True)
class EndpointSlice:
    """An EndpointSlice of one Service in one cluster: its ports, endpoints and address type."""
    ports: tuple[Port, ...]  # port = the backend's own (target) port
    endpoints: tuple[Endpoint, ...]
    address_type: str = "IPv4"  # IPv4 | IPv6 | FQDN (FQDN slices are not load-balanced)


@record(compiled=True)
class ClusterService:
    """One cluster's copy of a Service, with the EndpointSlices labelled for it in that cluster."""

    namespace: str
    name: str
    annotations: Mapping[str, str] = field(default_factory=dict)
    ports: tuple[Port, ...] = ()  # port = the Service (frontend) port
    headless: bool = False  # clusterIP None or ExternalName: no frontend to load-balance
    families: tuple[str, ...] = ("IPv4",)
    slices: tuple[EndpointSlice, ...] = ()
    # False: Cilium publishes none of its endpoints though it is global and shared, because its namespace
    # is not global (cilium/mcs.py, pkg/clustermesh/namespace); it still uses the others'.
    exported: bool = True


class _Endpoint:
    """Backend.endpoint, formatted on first use and then kept in the instance (a non-data descriptor, so the
    stored value shadows it): functools.cached_property takes a lock per first access, and simulate formats
    millions at scale."""

    def __get__(self, b: "Backend | None", owner: type | None = None) -> Any:
        if b is None:
            return self
        value = b.__dict__["endpoint"] = f"[{b.address}]:{b.port}" if b.family == "IPv6" else f"{b.address}:{b.port}"
        return value


@record(compiled=True)
class Backend:
    """One backend Cilium load-balances a frontend to: an endpoint's address and port in a cluster."""
    cluster: str
    address: str
    port: int
    protocol: str
    port_name: str
    family: str
    active: bool  # False: terminating (kept for existing connections only)

    endpoint = _Endpoint()  # "address:port", "[address]:port" for IPv6; not a field


@record
class Route:
    """One frontend (Service port) as a client in `observer` sees it: which of its local backends and
    which clusters' exported backends Cilium selects. Remote groups are shared between observers (the
    clusters in `skip`, the observer's own export and clusters without pods, are left out); backends
    are materialized only when asked, so a mesh-wide question costs O(clusters), not O(backends)."""

    observer: str
    local: tuple[Backend, ...]
    remote: Mapping[str, tuple[Backend, ...]]  # cluster -> its exported backends matching this frontend
    senders: tuple[str, ...]  # the clusters in `remote` with any backend, sorted
    skip: frozenset[str]
    use_local: bool
    use_remote: bool
    active_only: bool  # new connections go to Active backends only
    remote_count: int  # how many clusters' exported backends are selected
    # `remote`'s backends deduplicated and sorted once for every observer (None: `backends` sorts them itself)
    exports: "Exports | None" = field(default=None, compare=False, repr=False)

    def _local_selected(self) -> list[Backend]:
        if not self.use_local:
            return []
        return [b for b in self.local if b.active or not self.active_only]

    def remote_clusters(self) -> list[str]:
        return _remote_clusters(self.senders, self.skip) if self.use_remote else []

    @property
    def clusters(self) -> list[str]:
        """The clusters whose backends receive new connections, sorted."""
        clusters = self.remote_clusters()  # sorted, and never the observer (it is in skip)
        if self._local_selected():
            bisect.insort(clusters, self.observer)
        return clusters

    @property
    def backends(self) -> tuple[Backend, ...]:
        """Every selected backend once, sorted by (endpoint, cluster)."""
        whole = self._whole_export()
        if whole is not None:
            return whole
        local = self._local_selected()
        local_ips = {b.address for b in self.local}
        if self.use_remote and self.exports is not None:
            cut = self.exports.without(self.skip, local_ips)
            if cut is not None:  # the shared sorted list, minus skipped clusters; local ones merged in
                mine = _unique_sorted(local)
                at = bisect.bisect(cut, _order(mine[0]), key=_order) if mine else 0
                if at == len(cut) or not mine or _order(mine[-1]) < _order(cut[at]):
                    cut[at:at] = mine  # usually they all sort into the gap the observer's own export left
                else:
                    for b in mine:
                        bisect.insort(cut, b, key=_order)
                return tuple(cut)
        # Duplicate IPs: the local backend wins (section 2, receive side).
        remote = [b for c in self.remote_clusters() for b in self.remote[c] if b.address not in local_ips]
        return _unique_sorted(local + remote)

    def backend_runs(self) -> list[tuple[Sequence[Backend], int, int]]:
        """`backends` as runs (sequence, start, end) whose slices, one after the other, are `backends`. The
        sorted exports every observer shares are passed as they are, not copied, so a caller that encodes
        them once per frontend (simulate's JSON) pays O(clusters) per observer, not O(backends)."""
        whole = self._whole_export()
        if whole is not None:
            return [(whole, 0, len(whole))]
        if self.use_remote and self.exports is not None:
            ranges = self.exports.kept(self.skip, {b.address for b in self.local})
            if ranges is not None:
                runs = _merge_runs(self.exports.merged, ranges, _unique_sorted(self._local_selected()))
                if runs is not None:
                    return runs
        backends = self.backends
        return [(backends, 0, len(backends))]

    def _whole_export(self) -> tuple[Backend, ...] | None:
        """The shared sorted exports as they are, when they are exactly this observer's backends: no cluster
        down, local and remote both used, the selected local backends are the very ones the observer exports
        (or it has none), and no other cluster exports one of its addresses (the local one would win there).
        Every client of a global, shared Service with affinity none is this case; None otherwise."""
        if len(self.skip) != 1 or not (self.use_local and self.use_remote) or self.exports is None:
            return None
        mine = self.remote.get(self.observer, ())
        selected = tuple([b for b in self.local if b.active]) if self.active_only else self.local
        if selected != mine:  # compares the very objects first: a ready endpoint is one Backend on both sides
            return None
        merged = self.exports.merged
        # Now every local backend is one the observer exports, so another exporter of its address is the only
        # way the local-wins rule could cut `merged`.
        twice = self.exports.exported_twice
        if twice and any(b.address in twice for b in self.local):
            return None
        return merged


def _merge_runs(merged: tuple[Backend, ...], ranges: list[tuple[int, int]], mine: tuple[Backend, ...]
                ) -> list[tuple[Sequence[Backend], int, int]] | None:
    """The kept `ranges` of `merged` with `mine` sorted in, as runs; None unless `mine` falls into one gap
    (it usually does: the gap the observer's own export left). No key repeats: `mine` is the observer's,
    whose export is cut."""
    runs: list[tuple[Sequence[Backend], int, int]] = []
    if not mine:
        return [(merged, a, z) for a, z in ranges]
    at = bisect.bisect(merged, _order(mine[0]), key=_order)
    last = _order(mine[-1])
    placed = False
    for a, z in ranges:
        if not placed and z > at:
            split = max(a, at)
            if _order(merged[split]) < last:
                return None
            if split > a:
                runs.append((merged, a, split))
            runs.append((mine, 0, len(mine)))
            placed = True
            a = split
        runs.append((merged, a, z))
    if not placed:
        runs.append((mine, 0, len(mine)))
    return runs


_NO_REMOTE: tuple[dict, tuple, None] = ({}, (), None)


def _remote_clusters(senders: Sequence[str], skip: frozenset[str]) -> list[str]:
    """`senders` without the clusters in `skip`, in order."""
    if len(skip) > 4:
        return [c for c in senders if c not in skip]
    # `skip` is the observer and the clusters down: copy and remove, in C, rather than test each sender
    # (explain asks this of every client of every service).
    kept = list(senders)
    for c in skip:
        if c in kept:
            kept.remove(c)
    return kept


def _serving_list(observer: str, senders: Sequence[str], skip: frozenset[str], local_selected: bool,
                  use_remote: bool) -> list[str]:
    """The clusters serving a frontend's client: the senders it uses and, when its own backends are
    selected, itself; sorted."""
    clusters = _remote_clusters(senders, skip) if use_remote else []
    if local_selected:
        bisect.insort(clusters, observer)  # the remote ones are sorted and never the observer
    return clusters


def _union(lists: Iterable[list[str]]) -> list[str]:
    """Sorted lists merged into one, sorted; the one list itself when there is one, or when all are equal."""
    found: list[str] | None = None
    merged: set[str] | None = None
    for clusters in lists:
        if found is None:
            found = clusters
        elif merged is not None or clusters != found:
            merged = (merged or set(found)).union(clusters)
    return sorted(merged) if merged is not None else found if found is not None else []


def _any_selected(local: Sequence[Backend], active_only: bool) -> bool:
    return any(b.active or not active_only for b in local)


# A Route's fields after `observer`: local, remote, senders, skip, use_local, use_remote, active_only,
# remote_count, exports (a plain tuple: ServiceRouting builds one per client and frontend).
_RouteFields = tuple


class Exports:
    """One frontend's exported backends from every sending cluster, deduplicated and sorted once, on first
    use. Each observer's remote backends are this list without the clusters it skips: a cut, not a new sort
    (at 100 clusters, re-sorting per observer was a third of `simulate`)."""

    def __init__(self, groups: Mapping[str, tuple[Backend, ...]], senders: Sequence[str]):
        self._groups, self._senders = groups, senders
        self._merged: tuple[Backend, ...] | None = None
        self.exported_twice: set[str] = set()  # addresses more than one sender exports, once `merged` is built

    def _prepare(self) -> tuple[Backend, ...]:
        merged = self._merged = _unique_sorted(b for c in self._senders for b in self._groups[c])
        first: dict[str, int] = {}
        count: dict[str, int] = {}
        for i, b in enumerate(merged):
            first.setdefault(b.cluster, i)
            count[b.cluster] = count.get(b.cluster, 0) + 1
        # cluster -> its backends' range in `merged`, None when other clusters' backends sort in between
        self._spans = {c: (i, i + count[c]) if all(b.cluster == c for b in merged[i:i + count[c]]) else None
                       for c, i in first.items()}
        self._owners: dict[str, set[str]] = {}  # address -> the clusters exporting it (before deduplication)
        for c in self._senders:
            for b in self._groups[c]:
                self._owners.setdefault(b.address, set()).add(c)
        self.exported_twice = {ip for ip, owners in self._owners.items() if len(owners) > 1}
        return merged

    @property
    def merged(self) -> tuple[Backend, ...]:
        """Every sender's backends, deduplicated and sorted by (endpoint, cluster)."""
        return self._merged if self._merged is not None else self._prepare()

    def kept(self, skip: frozenset[str], local_ips: set[str]) -> list[tuple[int, int]] | None:
        """The index ranges of `merged` left once the clusters in `skip` are cut, in order; None when a kept
        cluster exports one of `local_ips` (the local backend wins there) or a cut cluster's backends are
        not contiguous in `merged`."""
        merged = self.merged
        for ip in local_ips:
            owners = self._owners.get(ip)
            if owners and not owners <= skip:
                return None
        cuts = []
        for c in skip:
            if c in self._spans:
                span = self._spans[c]
                if span is None:
                    return None
                cuts.append(span)
        ranges, start = [], 0
        for a, z in sorted(cuts):
            if a > start:
                ranges.append((start, a))
            start = z
        if start < len(merged):
            ranges.append((start, len(merged)))
        return ranges

    def without(self, skip: frozenset[str], local_ips: set[str]) -> list[Backend] | None:
        """`merged` without the clusters in `skip`; None when a kept cluster exports one of `local_ips`
        (the local backend wins there, and the caller filters)."""
        ranges = self.kept(skip, local_ips)
        if ranges is None:
            if any(self._owners.get(ip, set()) - skip for ip in local_ips):
                return None
            return [b for b in self.merged if b.cluster not in skip]
        out: list[Backend] = []
        for a, z in ranges:
            out += self.merged[a:z]
        return out


@record
class ObserverView:
    """What a client in one cluster gets from the Service."""

    exists: bool
    flags: ServiceFlags | None = None
    frontends: Mapping[str, Route] = field(default_factory=dict)  # "80/TCP" -> Route
    notes: tuple[str, ...] = ()
    # Only when asked for (route_service(..., left_out=True)): per frontend, every endpoint it does not reach.
    left_out: Mapping[str, tuple["LeftOut", ...]] = field(default_factory=dict)


def frontend_key(port: Port) -> str:
    return f"{port.port}/{port.protocol}"


def local_backends(cluster: str, service: ClusterService) -> list[Backend]:
    """Endpoints as the owning cluster's agent sees them: ready -> Active, serving and terminating ->
    Terminating, neither -> not a backend."""
    return _backends(cluster, service, False)[0]


def exported_backends(cluster: str, service: ClusterService, flags: ServiceFlags) -> list[Backend]:
    """What the cluster publishes to the mesh: nothing unless global and shared; otherwise every ready or
    serving endpoint, conditions dropped, so receivers mark them all Active (section 2, export side)."""
    return _backends(cluster, service, flags.is_global and flags.shared and service.exported)[1]


def _backends(cluster: str, service: ClusterService, export: bool) -> tuple[list[Backend], list[Backend]]:
    """local_backends and (when `export`) exported_backends in one pass. A ready endpoint is the same
    Active backend on both sides, so both lists hold the one object (and its endpoint text, formatted once)."""
    local: list[Backend] = []
    exported: list[Backend] = []
    for s in service.slices:
        if s.address_type == "FQDN":
            continue
        for ep in s.endpoints:
            kept = ep.ready or (ep.serving and ep.terminating)
            shared = export and (ep.ready or ep.serving)
            if not (kept or shared):
                continue
            for p in s.ports:
                if ep.ready:
                    b = Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, True)
                    local.append(b)
                    if shared:
                        exported.append(b)
                    continue
                if kept:
                    local.append(Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, False))
                if shared:
                    exported.append(Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, True))
    return local, exported


def matching(frontend: Port, backends: Sequence[Backend], families: Sequence[str],
             version: CiliumVersion) -> tuple[Backend, ...]:
    """The backends that pair with a frontend. Ports match by name, never by number (section 2, Ports)."""
    protocol, name = frontend.protocol, frontend.name
    if version.statedb_lb:
        # writer.go matchesFrontend: the name check applies only when both sides are named.
        return tuple([b for b in backends if b.protocol == protocol and b.family in families
                      and (not name or not b.port_name or name == b.port_name)])
    # Legacy genCartesianProduct: the endpoint must carry the Service port's name ("" included).
    return tuple([b for b in backends if b.protocol == protocol and b.family in families and name == b.port_name])


def matches(frontend: Port, backend: Backend, families: Sequence[str], version: CiliumVersion) -> bool:
    return bool(matching(frontend, (backend,), families, version))


def decide(flags: ServiceFlags, local: Sequence[Backend], remote_any: bool,
           version: CiliumVersion) -> tuple[bool, bool, bool]:
    """Section 3, the one place affinity is decided: (use local, use remote, Active backends only).
    `local` are the observer's matching backends; every remote backend arrives Active (section 2)."""
    local_active = any(b.active for b in local)
    if version.statedb_lb:  # pkg/clustermesh/loadbalancer/selectbackends.go; healthy = Active or Terminating
        if not flags.is_global:
            return True, False, True
        if flags.unmatched_affinity is not None and version.invalid_affinity_drops_remote:
            return True, False, True  # #46623: neither "local" nor "remote" matched: remote backends dropped
        if flags.affinity == "local":  # remote only with no Active local backend; terminating ones don't count
            return True, not local_active and remote_any, True
        if flags.affinity == "remote":  # local only with no healthy remote backend
            return not remote_any and bool(local), True, True
        return True, True, True
    # Legacy service_cache.go + service.go: preferred backends exclusively while one is Active; otherwise
    # every Active backend; with none Active at all, the Terminating ones.
    if flags.affinity == "local" and local_active:
        return True, False, True
    if flags.affinity == "remote" and remote_any:
        return False, True, True
    return True, True, local_active or remote_any


class ServiceRouting:
    """One Service across the mesh, prepared once: flags, local and exported backends per cluster.
    `view` answers for one client cluster, optionally with some clusters' pods gone (failure analysis)."""

    def __init__(self, copies: Mapping[str, ClusterService], version: CiliumVersion):
        self.copies = copies
        self.version = version
        # read_flags reads only the OWNED keys: copies whose values there agree (nearly all, whether rendered
        # from one spec or read from every cluster's dump) share one reading.
        read: dict[tuple, ServiceFlags] = {}
        self.flags = {}
        for c, svc in copies.items():
            key = tuple(map(svc.annotations.get, OWNED))
            flags = read.get(key)
            self.flags[c] = flags if flags is not None else read.setdefault(key, read_flags(svc.annotations))
        self._notes_of: dict[str, tuple[str, ...]] = {}  # observer -> its flags' notes
        self.local = {}
        self.exports = {}
        for c, svc in copies.items():
            flags = self.flags[c]
            local, exported = _backends(c, svc, flags.is_global and flags.shared and svc.exported)
            self.local[c] = tuple(local)
            if exported:
                self.exports[c] = exported
        self._matched: dict[tuple, tuple[dict[str, tuple[Backend, ...]], tuple[str, ...], Exports]] = {}
        self._keys: dict[int, str] = {}  # id(port) -> frontend_key(port); the ports live in self.copies
        self._shared_target_bug = version.multiport_shared_target_bug  # a property: read once, not per view
        # (port, families, id(flags), local backends' signature, exports to it) -> (local selected, remote used)
        self._served: dict[tuple, tuple[bool, bool]] = {}

    def _remote(self, port: Port, families: tuple[str, ...]
                ) -> tuple[dict[str, tuple[Backend, ...]], tuple[str, ...], Exports | None]:
        """Exported backends matching a frontend, by cluster, the clusters with any (sorted), and those
        backends sorted once (when an observer first lists them)."""
        key = (port.name, port.port, port.protocol, families)  # builtins hash in C; a dataclass in Python
        if key not in self._matched:
            groups = {c: matching(port, bs, families, self.version) for c, bs in self.exports.items()}
            senders = tuple(sorted(c for c, g in groups.items() if g))
            self._matched[key] = (groups, senders, Exports(groups, senders))
        return self._matched[key]

    def _frontends(self, service: ClusterService, observer: str, gone: frozenset[str]
                   ) -> list[tuple[Port, _RouteFields]]:
        """Each frontend of the observer's copy with what Cilium decides for it, as the fields of its Route
        after `observer`: the one place `view`, `serving` and `sole_server` share. Headless: no frontends,
        no datapath load-balancing (section 2)."""
        if service.headless:
            return []
        local = () if observer in gone else self.local[observer]
        skip = gone | {observer}
        return [(port, self._frontend(port, service.families, observer, local, skip, gone)) for port in service.ports]

    def _frontend(self, port: Port, families: tuple[str, ...], observer: str, local: Sequence[Backend],
                  skip: frozenset[str], gone: frozenset[str]) -> _RouteFields:
        flags = self.flags[observer]
        ours = matching(port, local, families, self.version) if local else ()
        # The local Service must itself be global to use remote backends (section 2, receive side).
        theirs, senders, exports = self._remote(port, families) if flags.is_global else _NO_REMOTE
        remote_count = len(senders) - (sum(1 for c in skip if c in theirs and theirs[c]) if gone else
                                       bool(theirs.get(observer)))
        return (ours, theirs, senders, skip, *decide(flags, ours, remote_count > 0, self.version), remote_count,
                exports)

    def view(self, observer: str, gone: frozenset[str] = frozenset()) -> ObserverView:
        service = self.copies.get(observer)
        if service is None:
            # No local Service: no ClusterIP, no DNS name, nothing to reach (section 2, receive side).
            return ObserverView(exists=False)
        frontends = {}
        for port, fields in self._frontends(service, observer, gone):
            key = self._keys.get(id(port))
            if key is None:
                key = self._keys[id(port)] = frontend_key(port)
            frontends[key] = Route(observer, *fields)
        notes = self._notes_of.get(observer)
        if notes is None:
            notes = self._notes_of[observer] = tuple(_notes(self.flags[observer], self.version))
        if self._shared_target_bug:
            notes += tuple(self._shared_target_notes(frontends))
        return ObserverView(True, self.flags[observer], frontends, notes)

    def serving(self, observer: str, gone: frozenset[str] = frozenset()) -> list[str] | None:
        """serving_clusters(view(observer, gone)), None where the Service does not exist, without building
        the view: explain and validate's routing checks ask it of every client of every service. With no
        cluster down, clients alike in what decides a frontend (their flags, their local backends' ports,
        families and conditions, and whether they export to it themselves) share one decision."""
        service = self.copies.get(observer)
        if service is None:
            return None
        if gone or service.headless:
            return _union(self._serving_clusters(observer, fields) for _, fields in
                          self._frontends(service, observer, gone))
        flags, families, found = self.flags[observer], service.families, []
        skip = frozenset((observer,))
        # What of the local backends the port rule and decide() read
        signature = tuple([(b.protocol, b.family, b.port_name, b.active) for b in self.local[observer]])
        for port in service.ports:
            theirs, senders, _ = self._remote(port, families) if flags.is_global else _NO_REMOTE
            sends = bool(theirs.get(observer))
            key = (port.name, port.port, port.protocol, families, id(flags), signature, sends)
            decided = self._served.get(key)
            if decided is None:
                ours, _, _, _, use_local, use_remote, active_only, _, _ = self._frontend(
                    port, families, observer, self.local[observer], skip, gone)
                decided = self._served[key] = (use_local and _any_selected(ours, active_only), use_remote)
            found.append(_serving_list(observer, senders, skip, *decided))
        return found[0] if len(found) == 1 else _union(found)

    def _serving_clusters(self, observer: str, fields: _RouteFields) -> list[str]:
        ours, _, senders, skip, use_local, use_remote, active_only, _, _ = fields
        return _serving_list(observer, senders, skip, use_local and _any_selected(ours, active_only), use_remote)

    def sole_server(self, observer: str, gone: frozenset[str] = frozenset()) -> str | None:
        """The observer's only serving cluster, None unless it has exactly one. Counts first, so a mesh
        where everyone has many servers costs O(1) per client, not O(clusters)."""
        service = self.copies.get(observer)
        if service is None:
            return None
        for _, (ours, _, _, _, use_local, use_remote, active_only, remote_count, _) in \
                self._frontends(service, observer, gone):
            if bool(use_local and _any_selected(ours, active_only)) + (remote_count if use_remote else 0) > 1:
                return None
        served = self.serving(observer, gone)
        return served[0] if served and len(served) == 1 else None

    def _shared_target_notes(self, frontends: Mapping[str, Route]) -> Iterator[str]:
        """#45109 (section 2, Ports): on 1.18.0-1.18.9 and 1.19.0-1.19.3, remote backends of Service ports
        that share one target port overwrite each other, so only one of those frontends keeps them, and
        which one depends on map order. The engine cannot know which, so it lists them all and says so."""
        if not self.version.multiport_shared_target_bug:
            return
        users: dict[tuple, set[str]] = {}
        for key, route in frontends.items():
            for cluster in route.remote_clusters():
                for b in route.remote[cluster]:
                    users.setdefault((cluster, b.address, b.port, b.protocol), set()).add(key)
        clashes = sorted({tuple(sorted(keys)) for keys in users.values() if len(keys) > 1})
        for keys in clashes:
            yield (f"frontends {', '.join(keys)} share remote backends on one target port: Cilium {self.version} "
                   "keeps them for only one of these frontends, which one depends on map order (cilium#45109)")


def route_service(copies: Mapping[str, ClusterService], clusters: Sequence[str],
                  version: CiliumVersion, left_out: bool = False) -> dict[str, ObserverView]:
    """For every cluster in `clusters`, what its clients get from this Service. `copies` holds the
    clusters where the Service exists. With `left_out`, each view also lists, per frontend, every endpoint
    new connections do not reach and why (simulate --left-out; it costs a pass over every endpoint)."""
    routing = ServiceRouting(copies, version)
    views = {observer: routing.view(observer) for observer in clusters}
    if left_out:
        views = {observer: replace(view, left_out=explain_left_out(routing, observer, view)) if view.exists else view
                 for observer, view in views.items()}
    return views


@record
class LeftOut:
    """An endpoint that a frontend's new connections do not reach, and the rule that leaves it out."""

    endpoint: str  # as Backend.endpoint: "address:port"
    cluster: str
    reason: str


def explain_left_out(routing: ServiceRouting, observer: str, view: ObserverView) -> dict[str, tuple[LeftOut, ...]]:
    """Per frontend of `view`, every endpoint of every cluster's copy that the route does not select, with
    the first rule of view()/decide() that excludes it, in the order they apply (sections 2 and 3). An
    endpoint whose slice port belongs to another frontend of the Service is that frontend's, not left out."""
    service = routing.copies[observer]
    result = {}
    for port in () if service.headless else service.ports:
        key = frontend_key(port)
        route = view.frontends[key]
        chosen = {(b.cluster, b.address, b.port) for b in route.backends}
        local_ips = {b.address for b in route.local}
        found = []
        for cluster, copy in routing.copies.items():
            for s in copy.slices:
                for ep in s.endpoints:
                    for p in s.ports:
                        if (cluster, ep.address, p.port) in chosen:
                            continue
                        b = Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, ep.ready)
                        reason = _why_left_out(routing, observer, view, route, port, b, ep, local_ips)
                        if reason:
                            found.append(LeftOut(b.endpoint, cluster, reason))
        result[key] = tuple(sorted(set(found), key=lambda lo: (lo.endpoint, lo.cluster)))
    return result


def _why_left_out(routing: ServiceRouting, observer: str, view: ObserverView, route: Route, port: Port,
                  b: Backend, ep: Endpoint, local_ips: set[str]) -> str | None:
    service, flags, version = routing.copies[observer], view.flags, routing.version
    local = b.cluster == observer
    if not local:
        if not flags.is_global:
            return f"the Service in {observer} is not global, so it uses only its own endpoints"
        theirs = routing.flags[b.cluster]
        if not theirs.is_global:
            return f"the Service in {b.cluster} is not global, so {b.cluster} exports nothing"
        if not theirs.shared:
            return f"{b.cluster} does not share its endpoints (service.cilium.io/shared: false)"
        if not routing.copies[b.cluster].exported:
            return f"the namespace in {b.cluster} is not global (clustermesh.cilium.io/global), so it exports nothing"
    if b.family == "FQDN":
        return "an FQDN endpoint: Cilium load-balances IP endpoints only"
    if not matches(port, b, service.families, version):
        if any(matches(other, b, service.families, version) for other in service.ports if other != port):
            return None  # another frontend's backend
        if b.family not in service.families:
            return f"an {b.family} endpoint; the Service in {observer} is {'/'.join(service.families)}"
        return (f"its port {b.port_name or '(unnamed)'}/{b.protocol} matches no port of the Service in {observer} "
                "(Cilium pairs them by name)")
    if local:
        if not (ep.ready or (ep.serving and ep.terminating)):
            return "not ready"
        if not route.use_local:
            return "affinity remote: local endpoints are used only while no remote one is healthy"
        if route.active_only and not b.active:
            return "terminating: it keeps its connections, new ones go to ready endpoints"
        return None
    if not (ep.ready or ep.serving):
        return f"not ready in {b.cluster}, so not exported"
    if b.address in local_ips:
        return "the same IP as an endpoint of the local cluster, which wins"
    if not route.use_remote:
        if flags.unmatched_affinity is not None and version.invalid_affinity_drops_remote:
            return (f"affinity {flags.unmatched_affinity!r} on Cilium {version} drops every remote endpoint "
                    "(cilium#46623)")
        if flags.affinity == "local":
            return "affinity local: remote endpoints are used only while no local one is ready"
    return None


def _order(b: Backend) -> tuple[str, str]:
    return b.endpoint, b.cluster


def _unique_sorted(backends: Iterable[Backend]) -> tuple[Backend, ...]:
    unique = {(b.cluster, b.endpoint): b for b in backends}
    return tuple(sorted(unique.values(), key=_order))


def _notes(flags: ServiceFlags, version: CiliumVersion) -> Iterable[str]:
    if flags.unmatched_affinity is not None:
        if flags.is_global and version.invalid_affinity_drops_remote:
            yield (f"affinity {flags.unmatched_affinity!r} is neither local nor remote: Cilium {version} drops "
                   "every remote backend (cilium#46623)")
        elif flags.unmatched_affinity.lower() not in ("none", ""):
            yield f"affinity {flags.unmatched_affinity!r} is not recognised; Cilium treats it as none"


def serving_clusters(view: ObserverView) -> list[str]:
    """The clusters whose backends receive this observer's new connections, on any port."""
    if len(view.frontends) == 1:
        return next(iter(view.frontends.values())).clusters
    return sorted({c for route in view.frontends.values() for c in route.clusters})
