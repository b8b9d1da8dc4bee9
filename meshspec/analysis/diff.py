"""`meshspec diff OLD NEW`: what a spec change does, for a reviewer and for a CI gate. Pure: two Meshes
in, a DiffReport out (formats/diff.py prints it).

- Objects: per cluster, the rendered files (artifacts/files.py) added, removed or changed, with a
  unified diff and the annotation changes called out.
- Traffic: per service and client cluster, the serving clusters before and after, in normal operation
  and when one cluster has no ready pods, all from the routing engine through `explain`.
- Risks: changes that can cut traffic or that Cilium cannot take in place; `--fail-on risk` gates on them.
"""

from __future__ import annotations

import dataclasses
import difflib
from dataclasses import dataclass
from typing import Any, Iterable, Mapping

import yaml

from ..artifacts.files import KUSTOMIZATION, render_files
from ..cilium import chart
from ..cilium.versions import parse_version
from ..spec.model import Mesh
from .explain import Explanation, explain
from .mcs_diff import mcs_risks

RESTART = "Cilium requires restarting every workload of a cluster whose name or ID changes"

# The clusters serving one client cluster, sorted; () when none does; None when the Service does not
# exist in that client cluster (or the cluster is not in the mesh).
Serving = tuple[str, ...] | None


# --- the report -------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Risk:
    code: str
    message: str
    service: str = ""  # namespace/name, when the risk is about one service
    clusters: tuple[str, ...] = ()


@dataclass(frozen=True)
class AnnotationChange:
    key: str
    before: str | None  # None: not set
    after: str | None


@dataclass(frozen=True)
class ObjectChange:
    cluster: str
    file: str  # as `meshspec render` names it: service.<namespace>.<name>.yaml, cilium-values.yaml
    change: str  # added | removed | changed
    diff: str  # unified diff of the rendered YAML
    annotations: tuple[AnnotationChange, ...] = ()


@dataclass(frozen=True)
class FailureChange:
    down: str  # the cluster with no ready pods
    before: Serving
    after: Serving


@dataclass(frozen=True)
class ClientChange:
    client: str
    before: Serving  # normal operation
    after: Serving
    failures: tuple[FailureChange, ...] = ()  # only the failovers that differ


@dataclass(frozen=True)
class ServiceTraffic:
    service: str
    before: Mapping[str, Serving]  # every client cluster, normal operation
    after: Mapping[str, Serving]
    clients: tuple[ClientChange, ...]  # only the clients for which something differs


@dataclass(frozen=True)
class SettingChange:
    where: str  # "mesh" or a cluster name
    setting: str
    before: Any  # None: absent (an added cluster has id None before)
    after: Any


@dataclass(frozen=True)
class DiffReport:
    old: str
    new: str
    old_clusters: tuple[str, ...]
    new_clusters: tuple[str, ...]
    settings: tuple[SettingChange, ...]
    objects: tuple[ObjectChange, ...]
    traffic: tuple[ServiceTraffic, ...]
    risks: tuple[Risk, ...]

    @property
    def changed(self) -> bool:
        return bool(self.settings or self.objects or self.traffic or self.risks)

    @property
    def changed_clusters(self) -> list[str]:
        return list(dict.fromkeys(o.cluster for o in self.objects))


# --- comparison ------------------------------------------------------------------------------------

def compare(old: Mesh, new: Mesh, old_label: str = "OLD", new_label: str = "NEW") -> DiffReport:
    old_names, new_names = tuple(c.name for c in old.clusters), tuple(c.name for c in new.clusters)
    clusters = _union(new_names, old_names)
    before = {_route_key(e): e for e in explain(old, parse_version(old.cilium.version))}
    after = {_route_key(e): e for e in explain(new, parse_version(new.cilium.version))}
    traffic = []
    for key in sorted(set(before) | set(after), key=lambda k: tuple(k.split("/"))):
        service = service_traffic(key, Routes.of(before.get(key), clusters), Routes.of(after.get(key), clusters))
        if service.clients:
            traffic.append(service)
    renamed = renamed_clusters(old, new)
    risks = cluster_risks(old, new, renamed) + version_risks(old, new) + removal_risks(old, new, renamed) + \
        mcs_risks(old, new, renamed, Risk) + \
        [risk for t in traffic for risk in traffic_risks(t)]
    return DiffReport(old_label, new_label, old_names, new_names, setting_changes(old, new),
                      object_changes(render_files(old), render_files(new), clusters), tuple(traffic), tuple(risks))


def _route_key(e: Explanation) -> str:
    """A service's own routes, and its MCS-API clusterset routes apart from them."""
    return f"{e.service.key} via {e.via}" if e.via else e.service.key


@dataclass(frozen=True)
class Routes:
    """One service on one side of the diff, from explain(): each client's serving clusters in normal
    operation, and per cluster running its pods, the clients whose serving clusters change beyond
    losing that cluster when it has no ready pods (their failover)."""

    normal: Mapping[str, Serving]
    failovers: Mapping[str, Mapping[str, Serving]] = dataclasses.field(default_factory=dict)

    @classmethod
    def of(cls, e: Explanation | None, clients: Iterable[str]) -> Routes:
        """None: the service does not exist on this side."""
        if e is None:
            return cls(dict.fromkeys(clients))
        return cls({c: _serving(e.normal.get(c)) for c in clients},
                      {down: {c: _serving(s) for c, s in changed.items()} for down, changed in e.failures.items()})

    def under(self, down: str, client: str) -> Serving:
        """The client's serving clusters when `down` has no ready pods. A client explain() does not list
        keeps the rest of its serving clusters (the contract of SpecRouting.failure_effects)."""
        listed = self.failovers.get(down, {})
        if client in listed:
            return listed[client]
        serving = self.normal[client]
        return None if serving is None else tuple(c for c in serving if c != down)


def service_traffic(key: str, before: Routes, after: Routes) -> ServiceTraffic:
    downs = _union(after.failovers, before.failovers)
    rows = []
    for client, was in before.normal.items():
        now = after.normal[client]
        failures: tuple[FailureChange, ...] = ()
        if was is not None and now is not None:  # a Service added or removed here says it all
            # Only failovers that change: losing a cluster the normal column already shows is not news.
            failures = tuple(FailureChange(d, b, a) for d in downs
                             if client in before.failovers.get(d, {}) or client in after.failovers.get(d, {})
                             if (b := before.under(d, client)) != (a := after.under(d, client)))
        if was != now or failures:
            rows.append(ClientChange(client, was, now, failures))
    return ServiceTraffic(key, dict(before.normal), dict(after.normal), tuple(rows))


def traffic_risks(t: ServiceTraffic) -> list[Risk]:
    risks = []
    for row in t.clients:
        if row.before and row.after == ():
            risks.append(Risk("no-backends", f"{row.client} loses every backend of {t.service}: served by "
                              f"{names(row.before)} before this change, by no cluster after it.",
                              t.service, (row.client,)))
        elif row.after:  # an empty `after` is the risk above; a removed Service is service-removed
            # A client left with nothing is always a listed failover, so row.failures has every such case.
            lost = [f for f in row.failures if f.before and f.after == ()]
            if lost:
                when = "; or when ".join(f"{f.down} has no ready pods (before this change: {names(f.before)})"
                                         for f in lost)
                risks.append(Risk("failover-lost", f"{row.client} is left with no backend of {t.service} when "
                                  f"{when}.", t.service, (row.client,)))
    return risks


def renamed_clusters(old: Mesh, new: Mesh) -> dict[str, str]:
    """Old name -> new name, for a cluster that left under one name while one with its ID arrived."""
    old_names, new_names = {c.name for c in old.clusters}, {c.name for c in new.clusters}
    new_by_id = {c.id: c.name for c in new.clusters}
    return {c.name: new_by_id[c.id] for c in old.clusters
            if c.name not in new_names and c.id in new_by_id and new_by_id[c.id] not in old_names}


def cluster_risks(old: Mesh, new: Mesh, renamed: Mapping[str, str]) -> list[Risk]:
    risks = []
    new_ids = {c.name: c.id for c in new.clusters}
    for c in old.clusters:
        if c.name in renamed:
            risks.append(Risk("cluster-renamed", f"cluster {c.name} (id {c.id}) is renamed {renamed[c.name]}: "
                              f"{RESTART}.", clusters=(c.name, renamed[c.name])))
        elif c.name in new_ids and new_ids[c.name] != c.id:
            risks.append(Risk("cluster-id-changed", f"cluster {c.name} changes id {c.id} -> {new_ids[c.name]}: "
                              f"{RESTART}.", clusters=(c.name,)))
    was, now = old.cilium.max_connected_clusters, new.cilium.max_connected_clusters
    if was != now:
        risks.append(Risk("max-connected-clusters", f"maxConnectedClusters changes {was} -> {now}: Cilium cannot "
                          "change it after installation, and every cluster of a mesh must use the same value; "
                          "each cluster has to be reinstalled."))
    return risks


# What a Cilium version change does to routing (cilium/versions.py: the known behaviours and bugs).
_ROUTING = (
    ("statedb_lb", "the load balancer and its affinity code are replaced (1.18's statedb load balancer, "
                   "cilium-semantics.md section 3): fallback between local and remote backends changes"),
    ("invalid_affinity_drops_remote", "an affinity value other than local or remote (the documented \"none\" "
                                      "included) drops every remote backend on 1.18-1.19 (#46623)"),
    ("multiport_shared_target_bug", "Service ports that share one target port lose remote backends before "
                                    "1.18.10 and 1.19.4 (#45109)"),
)


def version_risks(old: Mesh, new: Mesh) -> list[Risk]:
    """A Cilium version change that changes routing, the shape of the Helm values meshspec renders, or a
    Cluster Mesh default (cilium/chart.py cites the upgrade notes)."""
    was, now = parse_version(old.cilium.version), parse_version(new.cilium.version)
    reasons = [what for attribute, what in _ROUTING if getattr(was, attribute) != getattr(now, attribute)]
    low, high = sorted((was.minor_version, now.minor_version))

    def crosses(first: tuple[int, int]) -> bool:
        return low < first <= high

    if new.cilium.managed and crosses(chart.PEER_MAP_FIRST):
        reasons.append("clustermesh.config.clusters is rendered as a list before 1.19 and as a map keyed by "
                       "cluster name from 1.19")
    if new.cilium.managed and new.cilium.mcsapi and crosses(chart.MCS_BLOCK_FIRST):
        reasons.append("MCS-API moves from clustermesh.enableMCSAPISupport to clustermesh.mcsapi.enabled (1.19), "
                       "which also installs the MCS-API CRDs and configures CoreDNS")
    if crosses(chart.POLICY_LOCAL_DEFAULT_FIRST) and "policyDefaultLocalCluster" not in \
            (new.cilium.values.get("clustermesh") or {}):
        reasons.append("policy-default-local-cluster turns on by default in 1.19: network policies that select "
                       "endpoints without io.cilium.k8s.policy.cluster stop matching other clusters' endpoints "
                       "(find them with `cilium clustermesh inspect-policy-default-local-cluster "
                       "--all-namespaces`, or set clustermesh.policyDefaultLocalCluster in spec.cilium.values)")
    if high[1] - low[1] > 1 and high[0] == low[0]:
        reasons.append("Cilium tests upgrades and rollbacks only between consecutive minor releases")
    if not reasons:
        return []
    return [Risk("cilium-version-changed", f"Cilium changes {was} -> {now}: "
                 + "; ".join(reasons) + ".")]


def removal_risks(old: Mesh, new: Mesh, renamed: Mapping[str, str]) -> list[Risk]:
    kept = {s.key: s for s in new.services}
    risks = []
    for service in sorted(old.services, key=lambda s: (s.namespace, s.name)):
        now = kept.get(service.key)
        gone = tuple(c for c in service.placements if now is None or renamed.get(c, c) not in now.placements)
        if gone:
            risks.append(Risk("service-removed", f"{service.key} no longer exists in {', '.join(gone)}, where it "
                              "did: clients there cannot reach it any more, and deploying deletes it.",
                              service.key, gone))
    return risks


# Model fields -> how the spec writes them.
_CILIUM_SETTINGS = {"managed": "cilium (Cluster Mesh set up by meshspec)", "version": "cilium.version",
                    "namespace": "cilium.namespace", "install": "cilium.install",
                    "service_type": "cilium.clustermesh.apiserver.serviceType",
                    "node_port": "cilium.clustermesh.apiserver.nodePort",
                    "max_connected_clusters": "cilium.clustermesh.maxConnectedClusters", "values": "cilium.values",
                    "mcsapi": "cilium.mcsapi", "default_global_namespace": "cilium.defaultGlobalNamespace"}
_CLUSTER_SETTINGS = {"id": "id", "context": "context", "pod_cidrs": "podCIDRs", "mesh_address": "clustermesh.address",
                     "mesh_port": "clustermesh.port", "cilium_values": "cilium.values"}


def setting_changes(old: Mesh, new: Mesh) -> tuple[SettingChange, ...]:
    """Mesh and cluster settings that differ, including those no rendered file shows (contexts)."""
    changes = [SettingChange("mesh", "metadata.name", old.name, new.name)]
    changes += [SettingChange("mesh", name, getattr(old.cilium, field), getattr(new.cilium, field))
                for field, name in _CILIUM_SETTINGS.items()]
    was, now = {c.name: c for c in old.clusters}, {c.name: c for c in new.clusters}
    for cluster in _union(now, was):
        a, b = was.get(cluster), now.get(cluster)
        if a is None or b is None:  # added or removed
            changes.append(SettingChange(cluster, "id", a.id if a else None, b.id if b else None))
            continue
        changes += [SettingChange(cluster, name, getattr(a, field), getattr(b, field))
                    for field, name in _CLUSTER_SETTINGS.items()]
    return tuple(c for c in changes if c.before != c.after)


def object_changes(old_files: Mapping[str, Mapping[str, bytes]], new_files: Mapping[str, Mapping[str, bytes]],
                   clusters: Iterable[str]) -> tuple[ObjectChange, ...]:
    result = []
    for cluster in clusters:
        was, now = old_files.get(cluster, {}), new_files.get(cluster, {})
        # The kustomization lists the other files, so it changes exactly when one is added or removed.
        for name in sorted((set(was) | set(now)) - {KUSTOMIZATION}):
            a, b = was.get(name), now.get(name)
            if a == b:
                continue
            change = "added" if a is None else "removed" if b is None else "changed"
            annotations = annotation_changes(a, b) if a is not None and b is not None else ()
            result.append(ObjectChange(cluster, name, change, unified_diff(cluster, name, a, b), annotations))
    return tuple(result)


def unified_diff(cluster: str, name: str, before: bytes | None, after: bytes | None) -> str:
    a = before.decode().splitlines(keepends=True) if before is not None else []
    b = after.decode().splitlines(keepends=True) if after is not None else []
    return "".join(difflib.unified_diff(a, b, f"a/{cluster}/{name}" if before is not None else "/dev/null",
                                        f"b/{cluster}/{name}" if after is not None else "/dev/null"))


def annotation_changes(before: bytes, after: bytes) -> tuple[AnnotationChange, ...]:
    def annotations(content: bytes) -> dict:
        metadata = (yaml.safe_load(content) or {}).get("metadata")
        return (metadata.get("annotations") or {}) if isinstance(metadata, dict) else {}

    a, b = annotations(before), annotations(after)
    return tuple(AnnotationChange(k, a.get(k), b.get(k)) for k in sorted(set(a) | set(b)) if a.get(k) != b.get(k))


def _serving(value: list[str] | None) -> Serving:
    return None if value is None else tuple(value)


def _union(*groups: Iterable[str]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(x for group in groups for x in group))


def names(serving: Serving) -> str:
    """Serving clusters in a sentence: 'a, b', 'NO BACKENDS' or 'no Service'."""
    return "no Service" if serving is None else ", ".join(serving) or "NO BACKENDS"
