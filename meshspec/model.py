"""The typed mesh model, built from a spec that has passed validation.

A `Placement` is what one cluster's copy of a Service says to Cilium: is it
global, does it share its endpoints, which affinity. It is resolved from three
layers: spec.defaults < the service's own fields < the service's per-cluster
override.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

API_VERSION = "meshspec/v1alpha1"
KIND = "Mesh"
AFFINITIES = ("local", "remote", "none")
DEFAULT_PLACEMENT = {"global": True, "shared": True, "affinity": "none"}
DEFAULT_MAX_CONNECTED_CLUSTERS = 255
DEFAULT_CILIUM_VERSION = "1.20.1"


@dataclass(frozen=True)
class Placement:
    is_global: bool
    shared: bool
    affinity: str  # one of AFFINITIES


@dataclass(frozen=True)
class Cluster:
    name: str
    id: int
    context: str
    pod_cidrs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Service:
    name: str
    namespace: str
    spec: Mapping[str, Any]
    # cluster name -> placement, in the mesh's cluster order; only clusters where the Service exists
    placements: Mapping[str, Placement]
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # Clusters that run the Service's pods. Nothing is rendered from it: it tells explain and the
    # routing checks where traffic can land.
    backends: tuple[str, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"


@dataclass(frozen=True)
class Mesh:
    name: str
    clusters: tuple[Cluster, ...]
    services: tuple[Service, ...]
    cilium_version: str = DEFAULT_CILIUM_VERSION
    max_connected_clusters: int = DEFAULT_MAX_CONNECTED_CLUSTERS

    def cluster(self, name: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)


def resolve_placement(*layers: Mapping[str, Any]) -> Placement:
    """Later layers override earlier ones; DEFAULT_PLACEMENT is always the first."""
    merged = dict(DEFAULT_PLACEMENT)
    for layer in layers:
        merged.update({k: layer[k] for k in DEFAULT_PLACEMENT if k in layer})
    return Placement(is_global=merged["global"], shared=merged["shared"], affinity=merged["affinity"])


def build_mesh(data: Mapping[str, Any]) -> Mesh:
    """A validated spec document -> Mesh. Assumes validate() found no errors."""
    spec = data["spec"]
    clusters = tuple(
        Cluster(name=c["name"], id=c["id"], context=c.get("context", c["name"]),
                pod_cidrs=tuple(c.get("podCIDRs", ())))
        for c in spec["clusters"]
    )
    all_names = [c.name for c in clusters]
    defaults = spec.get("defaults", {})
    services = tuple(_build_service(s, defaults, all_names) for s in spec.get("services", ()))
    cilium = spec.get("cilium", {})
    return Mesh(
        name=data["metadata"]["name"],
        clusters=clusters,
        services=services,
        cilium_version=str(cilium.get("version", DEFAULT_CILIUM_VERSION)),
        max_connected_clusters=cilium.get("clustermesh", {}).get("maxConnectedClusters",
                                                                 DEFAULT_MAX_CONNECTED_CLUSTERS),
    )


def _build_service(svc: Mapping[str, Any], defaults: Mapping[str, Any], all_clusters: list[str]) -> Service:
    wanted = set(svc.get("clusters", all_clusters))
    overrides = svc.get("overrides", {})
    shared_placement = resolve_placement(defaults, svc)  # every cluster without an override
    placements = {
        name: resolve_placement(defaults, svc, overrides[name]) if name in overrides else shared_placement
        for name in all_clusters if name in wanted
    }
    return Service(
        name=svc["name"],
        namespace=svc.get("namespace", "default"),
        spec=svc["spec"],
        placements=placements,
        labels=svc.get("labels", {}),
        annotations=svc.get("annotations", {}),
        backends=_in_order(placements, svc.get("backends", placements)),
    )


def _in_order(ordered, wanted) -> tuple[str, ...]:
    wanted = set(wanted)
    return tuple(name for name in ordered if name in wanted)
