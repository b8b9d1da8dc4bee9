"""Validation of a mesh spec: structure (schema.py), then the rules Cilium and
Kubernetes enforce, each reported at the key or value the user wrote.

Rules look only at well-typed parts of the document, so one pass reports every
problem even when the structure is partly wrong.
"""

from __future__ import annotations

import difflib
import ipaddress
import re
from dataclasses import dataclass, field
from typing import Any

from . import kubeschema
from .cilium import VersionError, parse_version
from .clustermesh import check_values, is_ip
from .diagnostics import Diagnostic, Path, has_errors, unique_sorted
from .lint import routing_findings
from .load import Document, LoadError, decode, load_file, load_spec_text
from .model import (API_VERSION, DEFAULT_MAX_CONNECTED_CLUSTERS, KIND, Mesh, Placement, Service, build_mesh,
                    manages_clustermesh, resolve_placement)
from .render import MANAGED_BY, MANAGED_BY_LABEL, render_service
from .schema import check_structure

# Cilium's cluster-name rule (pkg/clustermesh/types/types.go; cilium-semantics.md section 4).
CLUSTER_NAME = re.compile(r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$")
CLUSTER_NAME_MAX = 32
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
_QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
_LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
_DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
# Annotations Cilium reads for global services, new keys and legacy aliases
# (pkg/annotation/k8s.go; cilium-semantics.md section 1). meshspec owns them.
CILIUM_OWNED_ANNOTATIONS = ("service.cilium.io/", "io.cilium/global-service", "io.cilium/shared-service",
                            "io.cilium/service-affinity")


@dataclass
class Checker:
    """Collects diagnostics for one document."""

    doc: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def error(self, code: str, path: Path, message: str, at_key: bool = False) -> None:
        self.diagnostics.append(self.doc.diagnostic("error", code, path, message, at_key))

    def warning(self, code: str, path: Path, message: str, at_key: bool = False) -> None:
        self.diagnostics.append(self.doc.diagnostic("warning", code, path, message, at_key))

    def line_of(self, path: Path) -> int:
        return self.doc.position(path).line


def check_file(file: str) -> tuple[Mesh | None, list[Diagnostic]]:
    """Load and validate a spec file. The Mesh is None when there are errors."""
    try:
        doc = load_file(file)
    except LoadError as exc:
        return None, [exc.diagnostic]
    return check_document(doc)


def check_bytes(raw: bytes, label: str) -> tuple[Mesh | None, list[Diagnostic]]:
    """check_file for a spec that is not in a file (`git show`), named `label` in diagnostics."""
    try:
        doc = load_spec_text(decode(raw, label), label)
    except LoadError as exc:
        return None, [exc.diagnostic]
    return check_document(doc)


def check_document(doc: Document) -> tuple[Mesh | None, list[Diagnostic]]:
    checker = Checker(doc, list(doc.problems))
    checker.diagnostics.extend(check_structure(doc.data, doc.diagnostic))
    check_rules(checker, doc.data)
    if has_errors(checker.diagnostics):
        return None, unique_sorted(checker.diagnostics)
    mesh = build_mesh(doc.data)
    check_routing(checker, mesh)
    return mesh, unique_sorted(checker.diagnostics)


def check_routing(c: Checker, mesh: Mesh) -> None:
    """Warnings on what traffic will do, each at the most specific place the user wrote."""
    for finding in routing_findings(mesh, parse_version(mesh.cilium.version)):
        path = next((p for p in finding.paths if p in c.doc.value_positions), finding.paths[-1])
        c.warning(finding.code, path, finding.message, at_key=True)


def check_rules(c: Checker, data: dict) -> None:
    if isinstance(data.get("apiVersion"), str) and data["apiVersion"] != API_VERSION:
        c.error("api-version", ("apiVersion",), f"apiVersion is {data['apiVersion']!r}; this meshspec reads "
                f"{API_VERSION!r}.")
    if isinstance(data.get("kind"), str) and data["kind"] != KIND:
        c.error("kind", ("kind",), f"kind is {data['kind']!r}; a mesh spec has kind {KIND!r}.")
    name = _get(data, "metadata", "name")
    if isinstance(name, str) and not _DNS1123_SUBDOMAIN.match(name):
        c.error("invalid-name", ("metadata", "name"), f"mesh name {name!r} must be lowercase letters, digits, "
                "'-' or '.', starting and ending with a letter or digit.")
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    version = _get(spec, "cilium", "version")
    if isinstance(version, str):
        try:
            parse_version(version)
        except VersionError as exc:
            c.error("cilium-version", ("spec", "cilium", "version"), f"{exc}.")
    clusters = _dicts(spec.get("clusters"))
    cluster_names = check_clusters(c, clusters, _max_connected_clusters(spec))
    check_cilium(c, spec, clusters)
    for i, service in _dicts(spec.get("services")):
        check_service(c, ("spec", "services", i), service, cluster_names, _dict(spec.get("defaults")))
    check_duplicate_services(c, _dicts(spec.get("services")))


def _max_connected_clusters(spec: dict) -> int:
    value = _get(spec, "cilium", "clustermesh", "maxConnectedClusters")
    return value if value in (255, 511) else DEFAULT_MAX_CONNECTED_CLUSTERS


# --- clusters -----------------------------------------------------------------------------------

def check_clusters(c: Checker, clusters: list[tuple[int, dict]], max_id: int) -> list[str]:
    """Cilium's Cluster Mesh rules for names, IDs and pod CIDRs; returns the cluster names."""
    names: dict[str, int] = {}
    ids: dict[int, int] = {}
    for i, cluster in clusters:
        at = ("spec", "clusters", i)
        name = cluster.get("name")
        if isinstance(name, str):
            check_cluster_name(c, at + ("name",), name)
            if name in names:
                c.error("duplicate-cluster", at + ("name",), f"cluster name {name!r} is already used at line "
                        f"{c.line_of(('spec', 'clusters', names[name], 'name'))}; cluster names must be unique.")
            names.setdefault(name, i)
        cid = cluster.get("id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            if not 1 <= cid <= max_id:
                hint = " (set spec.cilium.clustermesh.maxConnectedClusters: 511 for IDs up to 511)" \
                    if max_id == 255 and 255 < cid <= 511 else ""
                c.error("cluster-id", at + ("id",), f"cluster id {cid} is out of range 1..{max_id}{hint}; "
                        "Cilium rejects 0 (unset) and IDs above maxConnectedClusters.")
            elif cid in ids:
                c.error("duplicate-cluster-id", at + ("id",), f"cluster id {cid} is already used by cluster "
                        f"{clusters_name(clusters, ids[cid])!r}; Cilium refuses a peer whose ID is taken.")
            ids.setdefault(cid, i)
    check_pod_cidrs(c, clusters)
    return list(names)


def clusters_name(clusters: list[tuple[int, dict]], index: int) -> str:
    return dict(clusters)[index].get("name", f"#{index}")


def check_cluster_name(c: Checker, at: Path, name: str) -> None:
    if not name:
        c.error("cluster-name", at, "cluster name must not be empty.")
    elif len(name) > CLUSTER_NAME_MAX:
        c.error("cluster-name", at, f"cluster name {name!r} is {len(name)} characters; Cilium allows at most "
                f"{CLUSTER_NAME_MAX}.")
    elif not CLUSTER_NAME.match(name):
        c.error("cluster-name", at, f"cluster name {name!r} must be lowercase letters, digits and '-', starting and "
                "ending with a letter or digit (Cilium's rule).")
    elif name == "default":
        c.error("cluster-name", at, "cluster name 'default' is reserved: Cilium forbids it once Cluster Mesh is on.")


def check_pod_cidrs(c: Checker, clusters: list[tuple[int, dict]]) -> None:
    """Pod CIDRs must not overlap across clusters (cilium-semantics.md section 4, Network)."""
    parsed: list[tuple[Path, str, Any]] = []
    for i, cluster in clusters:
        for j, text in enumerate(_list(cluster.get("podCIDRs"))):
            at = ("spec", "clusters", i, "podCIDRs", j)
            if not isinstance(text, str):
                continue
            try:
                network = ipaddress.ip_network(text, strict=True)
            except ValueError as exc:
                c.error("pod-cidr", at, f"{text!r} is not a CIDR: {exc}.")
                continue
            parsed.append((at, str(cluster.get("name", i)), network))
    for a, (at_a, name_a, net_a) in enumerate(parsed):
        for at_b, name_b, net_b in parsed[a + 1:]:
            if name_a != name_b and net_a.version == net_b.version and net_a.overlaps(net_b):
                c.error("pod-cidr-overlap", at_b, f"pod CIDR {net_b} overlaps {net_a} of cluster {name_a!r} "
                        f"(line {c.line_of(at_a)}); Cluster Mesh needs non-overlapping pod CIDRs.")


# --- Cluster Mesh setup (spec.cilium, clusters[].clustermesh) ------------------------------------------

NODE_PORT_RANGE = (30000, 32767)  # Kubernetes' default --service-node-port-range


def check_cilium(c: Checker, spec: dict, clusters: list[tuple[int, dict]]) -> None:
    cilium = spec.get("cilium")
    if not isinstance(cilium, dict) or not manages_clustermesh(cilium):
        for i, cluster in clusters:
            if "clustermesh" in cluster:
                c.warning("ignored-field", ("spec", "clusters", i, "clustermesh"), "clustermesh has no effect: "
                          "meshspec sets up Cluster Mesh only when spec.cilium has more than a version.",
                          at_key=True)
        return
    namespace = cilium.get("namespace")
    if isinstance(namespace, str) and not (DNS1123_LABEL.match(namespace) and len(namespace) <= 63):
        c.error("invalid-name", ("spec", "cilium", "namespace"), f"namespace {namespace!r} must be a DNS-1123 label.")
    node_port = _get(cilium, "clustermesh", "apiserver", "nodePort")
    if _is_int(node_port) and not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
        c.error("node-port", ("spec", "cilium", "clustermesh", "apiserver", "nodePort"),
                f"nodePort {node_port} is outside Kubernetes' NodePort range {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}.")
    service_type = _get(cilium, "clustermesh", "apiserver", "serviceType") or "NodePort"
    for i, cluster in clusters:
        check_mesh_endpoint(c, ("spec", "clusters", i), cluster, service_type, len(clusters) > 1)
    values = cilium.get("values")
    if isinstance(values, dict):
        for path, code, message, at_key in check_values(values):
            c.error(code, ("spec", "cilium", "values") + path, message, at_key)


_WHERE_PEERS_CONNECT = {
    "NodePort": "the IP or DNS name of one of its nodes (the clustermesh-apiserver is a NodePort there)",
    "LoadBalancer": "the IP or DNS name of its clustermesh-apiserver load balancer",
    "ClusterIP": "the clustermesh-apiserver's ClusterIP, routable from the other clusters",
}


def check_mesh_endpoint(c: Checker, at: Path, cluster: dict, service_type: str, has_peers: bool) -> None:
    endpoint = cluster.get("clustermesh")
    address = _get(endpoint, "address")
    if address is None and has_peers and isinstance(cluster.get("name"), str):
        c.error("peer-address", at + ("name",), f"cluster {cluster['name']!r} needs clustermesh.address so its "
                f"peers can reach it: {_WHERE_PEERS_CONNECT.get(service_type, 'its clustermesh-apiserver')}.")
    if isinstance(address, str) and not _is_ip_or_hostname(address):
        c.error("peer-address", at + ("clustermesh", "address"), f"{address!r} is neither an IP address nor a DNS "
                "name (write the host only: no scheme, no port).")
    port = _get(endpoint, "port")
    if _is_int(port) and not 1 <= port <= 65535:
        c.error("peer-port", at + ("clustermesh", "port"), f"port {port} is out of range 1-65535.")


def _is_ip_or_hostname(text: str) -> bool:
    return is_ip(text) or (len(text) <= 253 and bool(_DNS1123_SUBDOMAIN.match(text.lower())))


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# --- services -----------------------------------------------------------------------------------

def check_service(c: Checker, at: Path, svc: dict, clusters: list[str], defaults: dict) -> None:
    name, namespace = svc.get("name"), svc.get("namespace", "default")
    if isinstance(name, str) and not (DNS1035_LABEL.match(name) and len(name) <= 63):
        c.error("invalid-name", at + ("name",), f"service name {name!r} must be a DNS-1035 label: at most 63 "
                "lowercase letters, digits or '-', starting with a letter and ending with a letter or digit.")
    if isinstance(namespace, str) and not (DNS1123_LABEL.match(namespace) and len(namespace) <= 63):
        c.error("invalid-name", at + ("namespace",), f"namespace {namespace!r} must be a DNS-1123 label: at most "
                "63 lowercase letters, digits or '-', starting and ending with a letter or digit.")
    where = check_service_clusters(c, at, svc, clusters)
    check_backends(c, at, svc, clusters, where)
    check_overrides(c, at, svc, clusters, where)
    check_metadata_maps(c, at, svc)
    check_ignored_fields(c, at, svc, defaults, where)
    check_kubernetes_service(c, at, svc)


def check_service_clusters(c: Checker, at: Path, svc: dict, clusters: list[str]) -> list[str]:
    """Check services[].clusters; returns the known clusters where the Service exists."""
    listed = svc.get("clusters")
    if not isinstance(listed, list):
        return clusters
    if not listed:
        c.error("no-clusters", at + ("clusters",), "'clusters' is empty, so this Service exists nowhere; "
                "list at least one cluster or remove the key to mean every cluster.")
    seen: set[str] = set()
    for j, name in enumerate(listed):
        if not isinstance(name, str):
            continue
        if name in seen:
            c.error("duplicate-cluster", at + ("clusters", j), f"cluster {name!r} is listed twice.")
        elif name not in clusters:
            c.error("unknown-cluster", at + ("clusters", j), _unknown_cluster(name, clusters))
        seen.add(name)
    return [n for n in clusters if n in seen]


def check_backends(c: Checker, at: Path, svc: dict, clusters: list[str], where: list[str]) -> None:
    """backends: clusters running the pods; Cilium exports endpoints only through the Service, so each
    must be a cluster where the Service exists."""
    for j, name in enumerate(_list(svc.get("backends"))):
        if not isinstance(name, str):
            continue
        if name not in clusters:
            c.error("unknown-cluster", at + ("backends", j), _unknown_cluster(name, clusters))
        elif name not in where:
            c.error("backend-without-service", at + ("backends", j), f"{name!r} runs pods but the Service does "
                    "not exist there (see 'clusters'), so Cilium cannot export them; add it to 'clusters'.")


def check_overrides(c: Checker, at: Path, svc: dict, clusters: list[str], where: list[str]) -> None:
    for name in _dict(svc.get("overrides")):
        key_at = at + ("overrides", name)
        if name not in clusters:
            c.error("unknown-cluster", key_at, _unknown_cluster(name, clusters), at_key=True)
        elif name not in where:
            c.warning("unused-override", key_at, f"override for {name!r} has no effect: the Service does not "
                      "exist in that cluster (see 'clusters').", at_key=True)


def _unknown_cluster(name: str, clusters: list[str]) -> str:
    hint = difflib.get_close_matches(name, clusters, n=1)
    known = f"did you mean {hint[0]!r}?" if hint else f"known clusters: {', '.join(clusters) or 'none'}."
    return f"unknown cluster {name!r}; {known}"


def check_metadata_maps(c: Checker, at: Path, svc: dict) -> None:
    """Label and annotation keys/values as the API server accepts them; meshspec's own keys are reserved."""
    for key, value in _dict(svc.get("labels")).items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        path = at + ("labels", key)
        _check_qualified_name(c, path, key, "label")
        if key == MANAGED_BY_LABEL and value != MANAGED_BY:
            c.error("reserved-label", path, f"label {key!r} is set by meshspec to {MANAGED_BY!r}; remove it.",
                    at_key=True)
        if len(value) > 63 or not _LABEL_VALUE.match(value):
            c.error("label-value", path, f"label value {value!r} must be at most 63 letters, digits, '-', '_' or "
                    "'.', starting and ending with a letter or digit.")
    for key in _dict(svc.get("annotations")):
        if not isinstance(key, str):
            continue
        path = at + ("annotations", key)
        _check_qualified_name(c, path, key, "annotation")
        if key.startswith(CILIUM_OWNED_ANNOTATIONS):
            c.error("reserved-annotation", path, f"annotation {key!r} is derived from the global, shared and "
                    "affinity fields; set those instead.", at_key=True)


def _check_qualified_name(c: Checker, path: Path, key: str, what: str) -> None:
    prefix, _, name = key.rpartition("/")
    if (prefix and (len(prefix) > 253 or not _DNS1123_SUBDOMAIN.match(prefix))) \
            or len(name) > 63 or not _QUALIFIED_NAME.match(name):
        c.error(f"{what}-key", path, f"{what} key {key!r} is not a valid Kubernetes key: an optional DNS prefix "
                "and '/', then at most 63 letters, digits, '-', '_' or '.'.", at_key=True)


def check_ignored_fields(c: Checker, at: Path, svc: dict, defaults: dict, where: list[str]) -> None:
    """shared/affinity where the Service is not global: Cilium ignores them
    (cilium-semantics.md section 1: "Ignored unless global is set")."""
    overrides = _dict(svc.get("overrides"))
    base = (_placement_fields(defaults), _placement_fields(svc))
    inert_in: dict[Path, list[str]] = {}
    for cluster in where:
        override = _dict(overrides.get(cluster))
        if resolve_placement(*base, _placement_fields(override)).is_global:
            continue
        for key, inert in (("shared", True), ("affinity", "none")):
            source, path = (override, at + ("overrides", cluster, key)) if key in override else (svc, at + (key,))
            if key in source and source[key] != inert:
                inert_in.setdefault(path, []).append(cluster)
    for path, clusters in inert_in.items():
        value = _get(svc, *path[len(at):])
        scope = "the Service is not global" if clusters == where and len(path) == len(at) + 1 \
            else f"the Service is not global in {', '.join(map(repr, clusters))}"
        c.warning("ignored-field", path, f"'{path[-1]}: {_yaml(value)}' has no effect: {scope}, and Cilium "
                  "ignores shared and affinity there.", at_key=True)


def _placement_fields(layer: dict) -> dict:
    """Only well-typed placement fields, so a wrong type reported elsewhere cannot crash this rule."""
    kinds = {"global": bool, "shared": bool, "affinity": str}
    return {k: v for k, v in layer.items() if k in kinds and isinstance(v, kinds[k])}


def check_kubernetes_service(c: Checker, at: Path, svc: dict) -> None:
    """The Service as rendered must be one the Kubernetes API accepts."""
    if not isinstance(svc.get("spec"), dict) or not isinstance(svc.get("name"), str):
        return
    obj = render_service(_loose_service(svc), Placement(True, True, "none"))
    for path, message, at_key in kubeschema.check_service(obj):
        if path[:1] == ("spec",):  # metadata is checked by the rules above, with friendlier messages
            c.error("kubernetes-schema", at + path, message, at_key)


def _loose_service(svc: dict) -> Service:
    return Service(name=svc["name"], namespace=str(svc.get("namespace", "default")), spec=svc["spec"],
                   placements={}, labels=_dict(svc.get("labels")), annotations=_dict(svc.get("annotations")))


def check_duplicate_services(c: Checker, services: list[tuple[int, dict]]) -> None:
    seen: dict[tuple, int] = {}
    for i, svc in services:
        key = (svc.get("namespace", "default"), svc.get("name"))
        if not all(isinstance(k, str) for k in key):
            continue
        if key in seen:
            c.error("duplicate-service", ("spec", "services", i, "name"), f"service {key[0]}/{key[1]} is already "
                    f"defined at line {c.line_of(('spec', 'services', seen[key], 'name'))}; merge the two entries.")
        seen.setdefault(key, i)


# --- small helpers over loosely typed data ---------------------------------------------------------

def _get(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list:
    return value if isinstance(value, list) else []


def _dicts(value: Any) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(_list(value)) if isinstance(item, dict)]


def _yaml(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)

