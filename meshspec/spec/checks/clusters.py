"""Cilium's Cluster Mesh rules for clusters: names, IDs and pod CIDRs."""

from __future__ import annotations

import ipaddress
from typing import Any

from ...diagnostics import Path
from ...k8s.names import cluster_name_problem
from ..model import DEFAULT_MAX_CONNECTED_CLUSTERS
from . import Checker, as_list, get_in

def max_connected_clusters(spec: dict) -> int:
    value = get_in(spec, "cilium", "clustermesh", "maxConnectedClusters")
    return value if value in (255, 511) else DEFAULT_MAX_CONNECTED_CLUSTERS


def check_clusters(c: Checker, clusters: list[tuple[int, dict]], max_id: int) -> list[str]:
    """Cilium's Cluster Mesh rules for names, IDs and pod CIDRs; returns the cluster names."""
    names: dict[str, int] = {}
    ids: dict[int, int] = {}
    contexts: dict[str, int] = {}
    for i, cluster in clusters:
        at = ("spec", "clusters", i)
        name = cluster.get("name")
        context = cluster.get("context", name)  # build_mesh's default
        if isinstance(context, str) and isinstance(name, str):
            if context in contexts and clusters_name(clusters, contexts[context]) != name:
                where = ("context",) if "context" in cluster else ("name",)
                c.report("duplicate-context", at + where, f"cluster {name!r} reaches kubeconfig context {context!r}, "
                         f"as cluster {clusters_name(clusters, contexts[context])!r} does (line "
                         f"{c.line_of(('spec', 'clusters', contexts[context]))}): both would be applied to one "
                         "cluster.")
            contexts.setdefault(context, i)
        if isinstance(name, str):
            _check_cluster_name(c, at + ("name",), name)
            if name in names:
                c.report("duplicate-cluster", at + ("name",), f"cluster name {name!r} is already used at line "
                         f"{c.line_of(('spec', 'clusters', names[name], 'name'))}; cluster names must be unique.")
            names.setdefault(name, i)
        cid = cluster.get("id")
        if isinstance(cid, int) and not isinstance(cid, bool):
            if not 1 <= cid <= max_id:
                hint = " (set spec.cilium.clustermesh.maxConnectedClusters: 511 for IDs up to 511)" \
                    if max_id == 255 and 255 < cid <= 511 else ""
                c.report("cluster-id", at + ("id",), f"cluster id {cid} is out of range 1..{max_id}{hint}; "
                         "Cilium rejects 0 (unset) and IDs above maxConnectedClusters.")
            elif cid in ids:
                c.report("duplicate-cluster-id", at + ("id",), f"cluster id {cid} is already used by cluster "
                         f"{clusters_name(clusters, ids[cid])!r}; Cilium refuses a peer whose ID is taken.")
            ids.setdefault(cid, i)
    check_pod_cidrs(c, clusters)
    return list(names)


def clusters_name(clusters: list[tuple[int, dict]], index: int) -> str:
    return dict(clusters)[index].get("name", f"#{index}")


def _check_cluster_name(c: Checker, at: Path, name: str) -> None:
    problem = cluster_name_problem(name)
    if problem:
        c.report("cluster-name", at, problem)


def check_pod_cidrs(c: Checker, clusters: list[tuple[int, dict]]) -> None:
    """Pod CIDRs must not overlap across clusters (cilium-semantics.md section 4, Network)."""
    parsed: list[tuple[Path, str, Any]] = []
    for i, cluster in clusters:
        for j, text in enumerate(as_list(cluster.get("podCIDRs"))):
            at = ("spec", "clusters", i, "podCIDRs", j)
            if not isinstance(text, str):
                continue
            try:
                network = ipaddress.ip_network(text, strict=True)
            except ValueError as exc:
                c.report("pod-cidr", at, f"{text!r} is not a CIDR: {exc}.")
                continue
            parsed.append((at, str(cluster.get("name", i)), network))
    for a, (at_a, name_a, net_a) in enumerate(parsed):
        for at_b, name_b, net_b in parsed[a + 1:]:
            if name_a != name_b and net_a.version == net_b.version and net_a.overlaps(net_b):
                c.report("pod-cidr-overlap", at_b, f"pod CIDR {net_b} overlaps {net_a} of cluster {name_a!r} "
                         f"(line {c.line_of(at_a)}); Cluster Mesh needs non-overlapping pod CIDRs.")
