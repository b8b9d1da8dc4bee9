"""Cilium Cluster Mesh setup from the spec: the Helm values each cluster gets, and checks on the extra
values a spec adds.

The values follow the chart's keys (cilium-semantics.md section 4, "Helm values") and what
`cilium clustermesh enable/connect` sets: cluster.name/id, clustermesh.useAPIServer, the apiserver
Service, clustermesh.config with every other cluster as a peer, maxConnectedClusters, and certificates
issued in-cluster by certgen from the shared `cilium-ca` Secret (tls.auto.method cronJob, which runs
certgen with --ca-reuse-secret), so no private key is ever rendered.
"""

from __future__ import annotations

import difflib
import functools
import ipaddress
import json
import pathlib
from typing import Any, Iterator, Mapping

from .model import Cluster, Mesh

SCHEMA_FILE = pathlib.Path(__file__).parent / "data" / "cilium-values.schema.json"
CILIUM_HELM_REPO = "https://helm.cilium.io/"
CA_SECRET = "cilium-ca"  # certgen reads ca.crt and ca.key from this Secret in Cilium's namespace

# Values meshspec generates; a spec's `values` may not set them (nor anything inside them).
GENERATED = (
    ("cluster", "name"), ("cluster", "id"),
    ("clustermesh", "useAPIServer"), ("clustermesh", "maxConnectedClusters"),
    ("clustermesh", "apiserver", "service", "type"), ("clustermesh", "apiserver", "service", "nodePort"),
    ("clustermesh", "apiserver", "tls", "auto", "enabled"), ("clustermesh", "apiserver", "tls", "auto", "method"),
    ("clustermesh", "config", "enabled"), ("clustermesh", "config", "clusters"),
)
def _source(generated: tuple) -> str:
    """Where in the spec a generated value comes from, for the conflict message."""
    if generated[0] == "cluster":
        return "spec.clusters[].name and id"
    return {"useAPIServer": "meshspec: always true", "tls": "meshspec: certgen with the shared cilium-ca Secret",
            "maxConnectedClusters": "spec.cilium.clustermesh.maxConnectedClusters",
            "config": "spec.clusters[].clustermesh"}.get(generated[1 if generated[1] != "apiserver" else 2],
                                                         "spec.cilium.clustermesh.apiserver")


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
    return deep_merge(mesh.cilium.values, generated_values(mesh, cluster))


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


# --- checks on a spec's extra `values` --------------------------------------------------------------

Finding = tuple[tuple, str, str, bool]  # (path inside values, code, message, at_key)


def check_values(values: Mapping[str, Any]) -> Iterator[Finding]:
    """Conflicts with generated keys, private keys, keys the chart does not know, and schema types."""
    yield from _conflicts(values)
    yield from _private_keys(values, ())
    yield from _unknown_keys(values, _schema(), ())
    yield from _schema_errors(values)


def _conflicts(values: Mapping[str, Any]) -> Iterator[Finding]:
    """A path that sets a generated value, sets something inside one, or replaces a mapping that holds one."""
    reported: list[tuple] = []
    for path, node in _paths(values, ()):
        if any(path[:len(r)] == r for r in reported):
            continue
        for generated in GENERATED:
            inside = path[:len(generated)] == generated
            replaces = generated[:len(path)] == path and not isinstance(node, Mapping)
            if inside or replaces:
                reported.append(path)
                yield (path, "values-conflict", f"'{'.'.join(map(str, path))}' is generated by meshspec (from "
                       f"{_source(generated)}); remove it from spec.cilium.values.", True)
                break


def _paths(node: Any, path: tuple) -> Iterator[tuple[tuple, Any]]:
    if path:
        yield path, node
    if isinstance(node, Mapping):
        for key, value in node.items():
            yield from _paths(value, path + (key,))


def _private_keys(node: Any, path: tuple) -> Iterator[Finding]:
    if not isinstance(node, Mapping):
        return
    for key, value in node.items():
        here = path + (key,)
        if key == "key" and "tls" in path and value:
            yield (here, "secret-in-values", "a private key would land in rendered files and Helm release "
                   "values; keep it in the cilium-ca Secret instead (see README, 'A shared CA').", True)
        yield from _private_keys(value, here)


def _unknown_keys(node: Any, schema: Mapping[str, Any], path: tuple) -> Iterator[Finding]:
    """The chart's schema does not forbid extra keys, but Helm ignores them silently: a typo would."""
    properties = schema.get("properties")
    if not isinstance(node, Mapping) or properties is None:
        return  # not a mapping, or a free-form object (annotations, resources...)
    for key, value in node.items():
        if key not in properties:
            hint = difflib.get_close_matches(str(key), list(properties), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            yield (path + (key,), "values-unknown-key",
                   f"the Cilium chart has no value '{'.'.join(map(str, path + (key,)))}'{suggestion}", True)
        else:
            yield from _unknown_keys(value, properties[key], path + (key,))


def _schema_errors(values: Mapping[str, Any]) -> Iterator[Finding]:
    import jsonschema  # only specs with extra Cilium values pay for this import

    for error in jsonschema.Draft7Validator(_schema()).iter_errors(values):
        yield tuple(error.absolute_path), "values-schema", f"Cilium chart schema: {error.message}", False


@functools.lru_cache(maxsize=None)
def _schema() -> dict[str, Any]:
    return json.loads(SCHEMA_FILE.read_text())


def values_schema_errors(values: Mapping[str, Any]) -> list[str]:
    """Every problem the chart's schema (and its key list) finds in complete values; [] when valid."""
    found = list(_unknown_keys(values, _schema(), ())) + list(_schema_errors(values))
    return [message for _, _, message, _ in found]


def is_ip(text: str | None) -> bool:
    try:
        ipaddress.ip_address(text or "")
        return True
    except ValueError:
        return False
