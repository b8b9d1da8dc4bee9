"""Each cluster's Cilium Helm values, from the spec (cilium-semantics.md section 4, "Helm values"):
cluster.name/id, clustermesh.useAPIServer, the apiserver Service, clustermesh.config with every other
cluster as a peer, maxConnectedClusters, and certificates issued in-cluster by certgen from the shared
`cilium-ca` Secret, so no private key is ever rendered. The spec's own `values` go underneath, each
cluster's `clusters[].cilium.values` over them, and under both the values that switch on
spec.cilium.mcsapi and set spec.cilium.defaultGlobalNamespace, so a spec can still turn one of those off
(say, clustermesh.mcsapi.corednsAutoConfigure.enabled). What depends on the Cilium version (the peers'
shape, the MCS-API and global-namespace keys) is in cilium/chart.py.
"""

from __future__ import annotations

from typing import Any

from ..cilium.chart import feature_values, peers
from ..cilium.helm import deep_merge
from ..cilium.versions import parse_version
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
            "config": {"enabled": True, "clusters": peers([peer(mesh, other) for other in mesh.clusters
                                                           if other.name != cluster.name],
                                                          parse_version(settings.version))},
        },
    }


def cluster_values(mesh: Mesh, cluster: Cluster) -> dict[str, Any]:
    """The Helm values for one cluster: the version's feature values, spec.cilium.values over them, the
    cluster's own cilium.values deep-merged over those (as Helm merges `-f` files: mappings merge, anything
    else is replaced), and the generated values over all (validation guarantees they do not overlap),
    then what MCS-API and EndpointSlice sync need (artifacts/mcs.py)."""
    settings = mesh.cilium
    features = feature_values(parse_version(settings.version), settings.mcsapi, settings.default_global_namespace)
    merged = deep_merge(deep_merge(features, settings.values), cluster.cilium_values)
    return deep_merge(deep_merge(merged, generated_values(mesh, cluster)), mcs_values(mesh))
