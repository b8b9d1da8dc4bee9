"""The Cilium chart's Cluster Mesh values by version: which keys a minor release reads, the shape of its
peer list, how MCS-API and the default global namespace are switched on, and what its release notes
say goes wrong. artifacts/cilium_values.py renders from it and cilium/helm.py checks with it.

Sources (Cilium's own, read for this module; cilium-semantics.md sections 8 and 9 summarise them):
- "1.19 Upgrade Notes" (Documentation/operations/upgrade.rst, 1.19 branch): `clustermesh.enableMCSAPISupport`
  "deprecated in favor of clustermesh.mcsapi.enabled and will be removed in Cilium 1.20"; Cilium "now
  installs and manages MCS-API CRDs by default" (`clustermesh.mcsapi.installCRDs`); `clustermesh.config.clusters`
  "now support a new format based on a dict in addition to the previous list format"; `authMode` defaults
  to `migration`, which needs the `clustermesh-remote-users` ConfigMap when `useAPIServer=true` and
  `config.enabled=false`; `policy-default-local-cluster` "is now enabled by default in Cilium v1.19".
- the same guide, "Preparing for a policy-default-local-cluster change": "Cilium 1.18 introduced a new
  option called policy-default-local-cluster" (Helm `clustermesh.policyDefaultLocalCluster`).
- the chart's templates/clustermesh-config/_helpers.tpl, "clustermesh-clusters": a map is ranged by name,
  each entry's `name` set from its key and any entry with `enabled: false` left out; a list is used as is.
- docs "Multi-Cluster Services API" (1.19.4): `--set clustermesh.mcsapi.enabled=true`, and
  `clustermesh.mcsapi.corednsAutoConfigure.enabled` to configure CoreDNS (CoreDNS 1.12.2 or later).
- pkg/clustermesh/namespace/config.go: the agent flag `clustermesh-default-global-namespace`, default
  true, hidden (`MarkHidden`); PR #43918 (merged in February 2026, after the 1.19 branch) exposes it as
  the Helm value `clustermesh.defaultGlobalNamespace` (chart reference: "Defaults to true"). The chart
  copies `extraConfig` into the `cilium-config` ConfigMap, where the agent, operator and
  clustermesh-apiserver read their flags, so on 1.19 the flag is set there.
- KVStoreMesh: `clustermesh.apiserver.kvstoremesh.enabled` deprecated in 1.18 (#39785); its removal, after
  which it is always on, is merged for 1.21 (#48439).
The issue that asked for this (meshspec #14) says the Helm key `clustermesh.defaultGlobalNamespace` "was
proposed later"; it is in 1.20 (above), so 1.20 gets the Helm key and 1.19 the flag.
"""

from __future__ import annotations

import copy
import re
from typing import Any, Iterator, Mapping

from ..record import record
from .versions import CiliumVersion

Minor = tuple[int, int]
# The bundled schema (data/cilium-values.schema.json) is the 1.20.0-dev chart's, at commit 0079af0.
SCHEMA_MINOR: Minor = (1, 20)
SCHEMA_NAME = "the 1.20.0-dev chart schema bundled with meshspec"

MCS_FIRST: Minor = (1, 17)  # MCS-API "since 1.17" (beta), with clustermesh.enableMCSAPISupport (#45928)
MCS_BLOCK_FIRST: Minor = (1, 19)  # clustermesh.mcsapi.* (#40506)
PEER_MAP_FIRST: Minor = (1, 19)  # clustermesh.config.clusters as a dict keyed by cluster name (#40857)
GLOBAL_NAMESPACE_FIRST: Minor = (1, 19)  # the clustermesh.cilium.io/global Namespace annotation (#42905)
GLOBAL_NAMESPACE_HELM_FIRST: Minor = (1, 20)  # clustermesh.defaultGlobalNamespace (#43918)
POLICY_LOCAL_DEFAULT_FIRST: Minor = (1, 19)  # policyDefaultLocalCluster defaults to true
KVSTOREMESH_DEPRECATED: Minor = (1, 18)  # #39785
GLOBAL_NAMESPACE_FLAG = "clustermesh-default-global-namespace"


@record
class Key:
    """A Cluster Mesh value that not every minor release reads."""

    path: tuple[str, ...]
    first: Minor | None  # the first minor that reads it; None: older than meshspec models
    last: Minor | None  # the last minor that reads it; None: still read
    schema: Mapping[str, Any]  # its JSON schema, for versions whose chart has it and the bundled one lacks
    why: str  # said when the spec's version does not read it

    def read_by(self, minor: Minor) -> bool:
        return (self.first is None or minor >= self.first) and (self.last is None or minor <= self.last)


KEYS = (
    Key(("clustermesh", "enableMCSAPISupport"), MCS_FIRST, (1, 19), {"type": "boolean"},
        "Cilium 1.20 removed it (deprecated in 1.19 for clustermesh.mcsapi.enabled); set spec.cilium.mcsapi: true"),
    Key(("clustermesh", "mcsapi"), MCS_BLOCK_FIRST, None, {"type": "object"},
        "clustermesh.mcsapi.* is new in Cilium 1.19 (before: clustermesh.enableMCSAPISupport); set "
        "spec.cilium.mcsapi: true"),
    Key(("clustermesh", "policyDefaultLocalCluster"), (1, 18), None, {"type": "boolean"},
        "Cilium 1.18 introduced policy-default-local-cluster"),
    Key(("clustermesh", "defaultGlobalNamespace"), GLOBAL_NAMESPACE_HELM_FIRST, None, {"type": "boolean"},
        "the Helm value is new in Cilium 1.20 (#43918); set spec.cilium.defaultGlobalNamespace"),
)


def minor(version: CiliumVersion) -> Minor:
    return version.minor_version


def unread_key(path: tuple, version: CiliumVersion) -> Key | None:
    """The versioned key at or above `path` that `version` does not read, if any."""
    for key in KEYS:
        if path[:len(key.path)] == key.path and not key.read_by(minor(version)):
            return key
    return None


def schema_for(bundled: Mapping[str, Any], version: CiliumVersion) -> dict[str, Any]:
    """The bundled chart schema adjusted to what `version`'s chart reads: the versioned keys it lacks are
    removed, those it has and the bundled one lacks are added, and before 1.19 the peers are a list."""
    schema = copy.deepcopy(dict(bundled))
    for key in KEYS:
        parent = _node(schema, key.path[:-1])
        if parent is None:
            continue
        properties = parent.setdefault("properties", {})
        if key.read_by(minor(version)):
            properties.setdefault(key.path[-1], dict(key.schema))
        else:
            properties.pop(key.path[-1], None)
    clusters = _node(schema, ("clustermesh", "config", "clusters"))
    if clusters is not None and minor(version) < PEER_MAP_FIRST:
        clusters["type"] = "array"
    return schema


def schema_used(version: CiliumVersion) -> str:
    """Which schema the values were checked against, for messages: the bundled one, or it adjusted."""
    if minor(version) == SCHEMA_MINOR:
        return SCHEMA_NAME
    return (f"{SCHEMA_NAME}, adjusted to Cilium {version.major}.{version.minor}'s Cluster Mesh keys (no schema "
            f"of that chart is bundled)")


def _node(schema: dict[str, Any], path: tuple[str, ...]) -> dict[str, Any] | None:
    node = schema
    for part in path:
        node = (node.get("properties") or {}).get(part)
        if not isinstance(node, dict):
            return None
    return node


# --- what meshspec renders per version ---------------------------------------------------------------

def peers(entries: list[dict[str, Any]], version: CiliumVersion) -> list[dict[str, Any]] | dict[str, Any]:
    """`clustermesh.config.clusters` in the shape `version` reads: a list before 1.19, else the map keyed
    by cluster name that 1.19 recommends (each entry `enabled: true`, its name taken from the key)."""
    if minor(version) < PEER_MAP_FIRST:
        return entries
    return {entry["name"]: {"enabled": True, **{k: v for k, v in entry.items() if k != "name"}}
            for entry in entries}


def feature_values(version: CiliumVersion, mcsapi: bool, default_global_namespace: bool) -> dict[str, Any]:
    """The values that switch on MCS-API and set the default global namespace, with the keys `version`
    reads; {} for Cilium's defaults (and for a version without the feature: validate warns)."""
    clustermesh: dict[str, Any] = {}
    values: dict[str, Any] = {}
    if mcsapi and minor(version) >= MCS_BLOCK_FIRST:
        clustermesh["mcsapi"] = {"enabled": True, "installCRDs": True, "corednsAutoConfigure": {"enabled": True}}
    elif mcsapi and minor(version) >= MCS_FIRST:
        clustermesh["enableMCSAPISupport"] = True
    if not default_global_namespace and minor(version) >= GLOBAL_NAMESPACE_HELM_FIRST:
        clustermesh["defaultGlobalNamespace"] = False
    elif not default_global_namespace and minor(version) >= GLOBAL_NAMESPACE_FIRST:
        values["extraConfig"] = {GLOBAL_NAMESPACE_FLAG: "false"}
    if clustermesh:
        values["clustermesh"] = clustermesh
    return values


# --- what the release notes say goes wrong ---------------------------------------------------------

Finding = tuple[tuple, str, str]  # (path inside values, code, message)
_MCS_OLD_KEY = ("clustermesh", "enableMCSAPISupport")
_KVSTOREMESH = ("clustermesh", "apiserver", "kvstoremesh", "enabled")
_CACHE_TTL = ("clustermesh", "cacheTTL")


def version_findings(values: Mapping[str, Any], version: CiliumVersion) -> Iterator[Finding]:
    """Warnings on the spec's extra values for `version`, each with the version and the consequence."""
    mesh = values.get("clustermesh") if isinstance(values.get("clustermesh"), Mapping) else {}
    v = f"{version.major}.{version.minor}"
    if minor(version) == (1, 19) and "enableMCSAPISupport" in mesh:
        yield (_MCS_OLD_KEY, "values-deprecated", "Cilium 1.19 deprecates clustermesh.enableMCSAPISupport and "
               "1.20 removes it, so MCS-API would turn off on upgrade; set spec.cilium.mcsapi: true instead.")
    apiserver = mesh.get("apiserver") if isinstance(mesh.get("apiserver"), Mapping) else {}
    kvstoremesh = apiserver.get("kvstoremesh")
    if minor(version) >= KVSTOREMESH_DEPRECATED and isinstance(kvstoremesh, Mapping) and "enabled" in kvstoremesh:
        off = kvstoremesh["enabled"] is False
        yield (_KVSTOREMESH, "values-deprecated", f"Cilium {v}: clustermesh.apiserver.kvstoremesh.enabled is "
               "deprecated since 1.18 (#39785) and KVStoreMesh becomes always on (its removal is merged for 1.21, "
               "#48439)" + ("; with it off, every agent connects to every remote cluster's etcd, and a later "
                            "upgrade turns it back on." if off else "; remove the value."))
    ttl = mesh.get("cacheTTL")
    if isinstance(ttl, str) or (isinstance(ttl, int) and not isinstance(ttl, bool)):
        seconds = go_duration_seconds(str(ttl))
        if seconds is None:
            yield (_CACHE_TTL, "cache-ttl", f"cacheTTL {ttl!r} is not a Go duration (such as 10m or 1h30m); "
                                            "Cilium's agents would not start with it.")
        elif seconds == 0:
            yield (_CACHE_TTL, "cache-ttl", f"cacheTTL {ttl!r} means the cache of a remote cluster is never "
                                            "revoked: when a cluster dies, its backends stay in every other "
                                            "cluster's load balancer for good (Cilium's default); set a duration "
                                            "such as 10m to drop them.")


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def go_duration_seconds(text: str) -> float | None:
    """Seconds in a Go duration (time.ParseDuration: "0", or numbers with units such as 1h30m); None when
    it does not parse."""
    if text in ("0", "+0", "-0"):
        return 0.0
    body = text.lstrip("+-")
    parts = re.findall(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)", body)
    if not body or "".join(n + u for n, u in parts) != body:
        return None
    return sum(float(n) * _UNITS[u] for n, u in parts)
