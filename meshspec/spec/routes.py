"""The routing engine on the Services a spec renders: each cluster's copy of a Service as Cilium would see
it after `meshspec render` and a rollout, with a ready stand-in endpoint in every cluster that runs its
pods, unless a failure scenario (`Down`) takes that cluster down.

explain, diff and the routing checks all ask the engine through here.
"""

from __future__ import annotations

from typing import Iterable, Mapping, Sequence

from ..cilium.annotations import OWNED
from ..cilium.routing import ClusterService, Endpoint, EndpointSlice, Port, ServiceRouting
from ..cilium.versions import CiliumVersion
from ..record import record
from .mcs import namespace_is_global, namespace_rule
from .model import Mesh, Service


@record
class Down:
    """A failure scenario: `cluster` has no ready pods, for every service or for one namespace/name."""

    cluster: str
    service: str | None = None  # "namespace/name"

    def hits(self, cluster: str, service: Service) -> bool:
        return cluster == self.cluster and self.service in (None, service.key)


def spec_copies(service: Service) -> dict[str, ClusterService]:
    """Each cluster's copy of `service` as Cilium would see it after `meshspec render` and a rollout, with
    one ready stand-in endpoint (addressed by the cluster's name) in each cluster that runs its pods."""
    # A null field is an absent one to the API server (JSON null into a Go slice or string).
    spec_ports = service.spec.get("ports") or ()
    ports = tuple(_port(p) for p in spec_ports)
    slice_ports = tuple(_target_port(p) for p in spec_ports)
    families = tuple(service.spec.get("ipFamilies") or ("IPv4",))
    # One annotations dict per distinct placement, keyed by its fields (a tuple of builtins hashes in C, the
    # Placement dataclass in Python, once per cluster of every service); its own for a cluster whose override
    # adds annotations.
    annotations: dict[tuple, dict[str, str]] = {}
    backends = set(service.backends)
    namespace, name, headless, own_annotations = service.namespace, service.name, service.headless, \
        service.cluster_annotations  # read once, not per cluster (headless is a property)
    copies = {}
    for cluster, placement in service.placements.items():
        key = (placement.is_global, placement.shared, placement.affinity)
        merged = annotations.get(key)
        if merged is None:
            merged = annotations[key] = {**service.annotations, **placement.annotations()}
        if cluster in backends:
            stand_in = (Endpoint(cluster),)
            slices = tuple([EndpointSlice(slice_ports, stand_in, family) for family in families])
        else:
            slices = ()
        own = {**service.annotations_in(cluster), **placement.annotations()} \
            if cluster in own_annotations else merged
        copies[cluster] = ClusterService(namespace, name, own, ports, headless, families, slices)
    return copies


def _port(spec_port: Mapping) -> Port:
    return Port(spec_port.get("name") or "", spec_port["port"], spec_port.get("protocol") or "TCP")


def _target_port(spec_port: Mapping) -> Port:
    # The EndpointSlice controller copies the Service port's name; a named targetPort resolves per pod,
    # so any number stands in for it here.
    target = spec_port.get("targetPort") or spec_port["port"]  # 0 and "" default to the port, too
    return Port(spec_port.get("name") or "", target if isinstance(target, int) else spec_port["port"],
                spec_port.get("protocol") or "TCP")


def routing_key(mesh: Mesh, service: Service, down: Iterable[Down] = ()) -> tuple:
    """Everything SpecRouting(mesh, service, version, down) reads of the service, as builtins: services with
    equal keys are routed alike (explain routes one of them; tests/analysis/test_explain.py holds this on
    random meshes). Its name and namespace are not in it, only whether the namespace is global and which
    clusters are down for it."""
    ports = tuple((p.get("name") or "", p["port"], p.get("protocol") or "TCP", p.get("targetPort"))
                  for p in service.spec.get("ports") or ())
    flags_of = [(c, p.is_global, p.shared, p.affinity) for c, p in service.placements.items()]
    own = tuple((c, tuple(map(service.annotations_in(c).get, OWNED))) for c in service.cluster_annotations)
    return (ports, tuple(service.spec.get("ipFamilies") or ()), service.headless, tuple(flags_of),
            tuple(map(service.annotations.get, OWNED)), own, tuple(service.backends),
            namespace_is_global(mesh, service.namespace), _gone(service, down))


def _gone(service: Service, down: Iterable[Down]) -> frozenset[str]:
    """The clusters without ready pods for `service` in the failure scenarios `down`."""
    return frozenset(d.cluster for d in down if d.hits(d.cluster, service))


class SpecRouting:
    """The engine on one service of a spec; `down` clusters have no ready pods for it."""

    def __init__(self, mesh: Mesh, service: Service, version: CiliumVersion, down: Iterable[Down] = (),
                 copies: Mapping[str, ClusterService] | None = None):
        self.clusters = [c.name for c in mesh.clusters]
        self.service = service
        # `copies`: other Services to route, such as MCS-API's derived ones (spec/mcs.py)
        self.routing = ServiceRouting(namespace_rule(mesh, service, spec_copies(service)) if copies is None
                                      else copies, version)
        self.gone = _gone(service, down)

    def serving(self, clients: Sequence[str] | None = None, also_gone: str | None = None) -> dict[str, list[str] | None]:
        """Client cluster -> the clusters serving it (None where the Service does not exist)."""
        gone = self.gone | {also_gone} if also_gone else self.gone
        return {c: self.routing.serving(c, gone) for c in (self.clusters if clients is None else clients)}

    def sole_servers(self) -> dict[str, str]:
        """Client cluster -> its only serving cluster, for the clients that have exactly one. Counts first,
        so a mesh where everyone has many servers costs O(clusters), not O(clusters^2)."""
        sole = {}
        for client in self.clusters:
            server = self.routing.sole_server(client, self.gone)
            if server is not None:
                sole[client] = server
        return sole

    def failure_effects(self, sole: Mapping[str, str]) -> dict[str, dict[str, list[str]]]:
        """For each cluster running the service's pods: the clients whose serving clusters change beyond
        losing that cluster, and what they get instead ([] = nothing).

        Cilium selects local, remote or both, all or nothing per side, so when a serving cluster goes
        away a client keeps its other serving clusters, unless that cluster was its only one (`sole`):
        only those clients are simulated again (tests/analysis/test_explain.py checks this against full
        recomputation)."""
        clients_of: dict[str, list[str]] = {}
        for client, server in sole.items():
            clients_of.setdefault(server, []).append(client)
        return {failed: self.serving(clients_of[failed], failed) if failed in clients_of else {}
                for failed in self.service.backends if failed not in self.gone}


def serving(mesh: Mesh, service: Service, version: CiliumVersion,
            down: Iterable[Down] = ()) -> dict[str, list[str] | None]:
    return SpecRouting(mesh, service, version, down).serving()
