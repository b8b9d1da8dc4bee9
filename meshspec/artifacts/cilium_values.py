"""Each cluster's Cilium Helm values, from the spec (cilium-semantics.md section 4, "Helm values"):
cluster.name/id, clustermesh.useAPIServer, the apiserver Service, clustermesh.config with every other
cluster as a peer, maxConnectedClusters, and certificates issued in-cluster by certgen from the shared
`cilium-ca` Secret, so no private key is ever rendered. The spec's own `values` go underneath.
"""

from __future__ import annotations

from typing import Any

from ..cilium.helm import deep_merge
from ..k8s.names import is_ip
from ..spec.model import Cluster, Mesh
from .mcs import mcs_values


def peer(mesh: Mesh, cluster: Cluster) -> dict[str, Any]:
    """How the other clusters reach `cluster`. An IP goes in `ips` (resolved through host aliases, as
    `cilium clustermesh connect` does), a DNS name in `address`."""
    entry: dict[str, Any] = {"name": cluster.name}
    if is_ip(cluster.mesh_address):
        entry["ips"] = [cluster.mesh_address]
    else:
        entry["address"] = cluster.mesh_address
    entry["port"] = mesh.cilium.peer_port(cluster)
    return entry


def generated_values(mesh: Mesh, cluster: Cluster) -> dict[str, Any]:
    settings = mesh.cilium
    service: dict[str, Any] = {"type": settings.service_type}
    if settings.service_type == "NodePort":
        service["nodePort"] = settings.node_port
    return {
        "cluster": {"name": cluster.name, "id": cluster.id},
        "clustermesh": {
            "useAPIServer": True,
            "maxConnectedClusters": settings.max_connected_clusters,
            "apiserver": {"service": service, "tls": {"auto": {"enabled": True, "method": "cronJob"}}},
            "config": {"enabled": True, "clusters": [peer(mesh, other) for other in mesh.clusters
                                                     if other.name != cluster.name]},
        },
    }


def cluster_values(mesh: Mesh, cluster: Cluster) -> dict[str, Any]:
    """The Helm values for one cluster: the spec's extra values with the generated ones merged over them
    (validation guarantees they do not overlap)."""
    return deep_merge(deep_merge(mesh.cilium.values, generated_values(mesh, cluster)), mcs_values(mesh))
