"""`meshspec explain`: the routing engine run on the Services a spec renders.

Every cluster in a service's `backends` (default: every cluster where it
exists) is assumed to run ready pods, unless a failure scenario takes that
cluster down. The engine then says, per client cluster, which clusters serve
the traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping

from .cilium import CiliumVersion
from .model import Mesh, Service
from .render import render_service
from .routing import ClusterService, Endpoint, EndpointSlice, Port, route_service, serving_clusters


@dataclass(frozen=True)
class Down:
    """A failure scenario: `cluster` has no ready pods, for every service or for one namespace/name."""

    cluster: str
    service: str | None = None  # "namespace/name"

    def hits(self, cluster: str, service: Service) -> bool:
        return cluster == self.cluster and self.service in (None, service.key)


def spec_copies(service: Service, down: Iterable[Down] = ()) -> dict[str, ClusterService]:
    """Each cluster's copy of `service` as Cilium would see it after `meshspec render` and a rollout."""
    ports = tuple(_port(p) for p in service.spec.get("ports", ()))
    slice_ports = tuple(_target_port(p) for p in service.spec.get("ports", ()))
    families = tuple(service.spec.get("ipFamilies", ("IPv4",)))
    headless = service.spec.get("clusterIP") == "None" or service.spec.get("type") == "ExternalName"
    copies = {}
    for cluster, placement in service.placements.items():
        obj = render_service(service, placement)
        running = cluster in service.backends and not any(d.hits(cluster, service) for d in down)
        # One stand-in endpoint per family, addressed by the cluster's name so routes read back as clusters.
        slices = tuple(EndpointSlice(slice_ports, (Endpoint(cluster),), family) for family in families) \
            if running else ()
        copies[cluster] = ClusterService(service.namespace, service.name, obj["metadata"].get("annotations", {}),
                                         ports, headless, families, slices)
    return copies


def _port(spec_port: Mapping) -> Port:
    return Port(spec_port.get("name", ""), spec_port["port"], spec_port.get("protocol", "TCP"))


def _target_port(spec_port: Mapping) -> Port:
    # The EndpointSlice controller copies the Service port's name; a named targetPort resolves per pod,
    # so any number stands in for it here.
    target = spec_port.get("targetPort", spec_port["port"])
    return Port(spec_port.get("name", ""), target if isinstance(target, int) else spec_port["port"],
                spec_port.get("protocol", "TCP"))


def serving(mesh: Mesh, service: Service, version: CiliumVersion,
            down: Iterable[Down] = ()) -> dict[str, list[str] | None]:
    """Client cluster -> the clusters serving it (None where the Service does not exist)."""
    views = route_service(spec_copies(service, down), [c.name for c in mesh.clusters], version)
    return {cluster: serving_clusters(view) if view.exists else None for cluster, view in views.items()}


@dataclass(frozen=True)
class Explanation:
    service: Service
    normal: dict[str, list[str] | None]
    # failed cluster -> client cluster -> serving clusters, for each cluster running the service's pods
    failures: dict[str, dict[str, list[str] | None]]


def explain(mesh: Mesh, version: CiliumVersion, down: Iterable[Down] = ()) -> list[Explanation]:
    down = tuple(down)
    result = []
    for service in sorted(mesh.services, key=lambda s: (s.namespace, s.name)):
        failures = {cluster: serving(mesh, service, version, down + (Down(cluster),))
                    for cluster in service.backends if not any(d.hits(cluster, service) for d in down)}
        result.append(Explanation(service, serving(mesh, service, version, down), failures))
    return result
