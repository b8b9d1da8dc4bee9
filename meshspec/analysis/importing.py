"""`meshspec import`: what runs in the clusters -> a mesh spec that reproduces it. Pure: adapters/live.py
(or analysis/state.py, for a dump folder) reads the objects, and this turns them into a spec document.

- clusters: name and id from each cluster's cilium-config (`cluster-name`, `cluster-id`; Cilium's Helm chart,
  install/kubernetes/cilium/templates/cilium-configmap.yaml), pod CIDRs from `cluster-pool-ipv4-cidr` and
  `cluster-pool-ipv6-cidr` (space-separated lists, written by the chart only in cluster-pool IPAM mode). What
  cannot be read is guessed, with a warning naming the guess.
- services: those carrying service.cilium.io/global or its io.cilium/global-service alias in any cluster
  (every Service of the namespaces asked for, with all_services), each cluster's global/shared/affinity as
  Cilium reads them (cilium/annotations.py read_flags: case, aliases), expressed as spec.defaults, the
  service's own fields and the fewest per-cluster overrides, and `clusters:` where the Service is missing
  from some cluster.
- the ServiceSpec without what the API server sets: clusterIP(s), ipFamilies, allocated nodePorts and
  healthCheckNodePort, and every field equal to its default (SetDefaults_Service, pkg/apis/core/v1/
  defaults.go: type ClusterIP, sessionAffinity None and ClientIP's 10800 s, protocol TCP, targetPort =
  port, externalTrafficPolicy and internalTrafficPolicy Cluster, allocateLoadBalancerNodePorts true; the
  registry's ipFamilyPolicy SingleStack). A nodePort is the user's when kubectl's last-applied-configuration
  sets it, or when every copy (two at least) has the same one: the allocator picks at random, so equal
  numbers in every cluster were fixed on purpose.
- labels and annotations that differ per cluster: the keys every copy has, with the majority's value, on
  the Service, the rest in services[].overrides.<cluster>.labels / .annotations (merged over those).
- where copies differ in a way the spec cannot express (the ServiceSpec, Cilium's annotations), one warning
  per difference names the cluster and the field, and the majority copy is used (a tie goes to the
  earliest cluster, in the order given).

The output validates (spec/check.py): a Service the spec cannot hold is left out with a warning.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import re
from collections import Counter
from operator import itemgetter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Mapping, Sequence

import yaml

from ..cilium.annotations import AFFINITY_KEYS, GLOBAL_KEYS, OWNED, PREFIX, SHARED_KEYS, read_flags
from ..cilium.versions import image_version
from ..diagnostics import Diagnostic
from ..k8s.names import CLUSTER_NAME_MAX, MANAGED_BY_LABEL, cluster_name_problem, is_dns1123_label
from ..k8s.observed import Obj, object_key
from ..rules import severity
from ..spec.model import API_VERSION, DEFAULT_MAX_CONNECTED_CLUSTERS, DEFAULT_PLACEMENT, KIND

HEADER = "# Written by meshspec import"  # the first line of every file import writes: how it knows its own
LAST_APPLIED = "kubectl.kubernetes.io/last-applied-configuration"
DROPPED_ANNOTATION_PREFIXES = ("pulumi.com/",)  # the deploying tool's own (skipAwait, autonamed)
DEFAULT_CLIENT_IP_TIMEOUT = 10800  # v1.DefaultClientIPServiceAffinitySeconds
FLAGS = ("global", "shared", "affinity")


@dataclass(frozen=True)
class ClusterRead:
    """What was read from one cluster: through a kubeconfig context, or from a dump folder."""

    source: str  # the context, or the dump's cluster folder name
    services: tuple[Obj, ...]
    cilium_config: Obj | None = None  # the cilium-config ConfigMap; None when not readable
    cilium_config_error: str | None = None  # why not
    cilium_image: str | None = None  # the `cilium` DaemonSet's agent image (its tag: the version it runs)


@dataclass(frozen=True)
class ImportWarning:
    code: str  # from rules.RULES
    cluster: str  # the cluster's name in the spec ("" for the whole mesh)
    subject: str  # namespace/name of a Service, or cilium-config
    message: str

    @property
    def severity(self) -> str:
        return severity(self.code)

    def text(self) -> str:
        where = ": ".join(part for part in (self.cluster, self.subject) if part)
        return f"{where}: {self.severity}: {self.message} [{self.code}]"


@dataclass
class Imported:
    document: dict[str, Any]
    warnings: list[ImportWarning] = field(default_factory=list)
    diagnostics: list[Diagnostic] = field(default_factory=list)  # what validate says of the document
    body: str = ""  # the document as YAML, as validated

    def text(self, origin: str) -> str:
        """The spec as YAML, the same bytes for the same input, under a header saying where it came from."""
        return header(origin) + (self.body or to_yaml(self.document))


def header(origin: str) -> str:
    return (f"{HEADER} from {origin}.\n"
            "# Review it, then render or deploy it: README, \"Take over a running mesh\".\n")


_Dumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)  # libyaml's emitter when there: the same bytes, faster


def to_yaml(document: Mapping[str, Any]) -> str:
    # Key order is the document's (apiVersion, kind, metadata, spec; name first in a service): built sorted.
    return yaml.dump(dict(document), Dumper=_Dumper, sort_keys=False, default_flow_style=False, allow_unicode=True,
                     width=120)


# --- the whole import ---------------------------------------------------------------------------------

def import_mesh(reads: Sequence[ClusterRead], *, name: str = "imported", namespaces: Sequence[str] = (),
                all_services: bool = False) -> Imported:
    """The spec of what `reads` hold, in their order. `namespaces` limits the Services imported (none:
    every namespace); all_services imports every Service there, not only the global ones."""
    warnings: list[ImportWarning] = []
    clusters = _clusters(reads, warnings)
    names = [c["name"] for c in clusters]
    copies: dict[tuple[str, str], dict[str, Obj]] = {}
    for cluster, read in zip(names, reads):
        for obj in read.services:
            key = _key(obj)
            if key is None or (namespaces and key[0] not in namespaces):
                continue
            if key in copies and cluster in copies[key]:
                continue  # a dump with the same Service twice: state.py reports it; the first one counts
            copies.setdefault(key, {})[cluster] = obj
    selected = {key: by_cluster for key, by_cluster in sorted(copies.items())
                if key != ("default", "kubernetes")  # the API server's own Service, never a global one
                and (all_services or any(carries_global(o) for o in by_cluster.values()))}
    services = [_service(key, by_cluster, names, warnings) for key, by_cluster in selected.items()]
    version = _cilium_version(reads, names, warnings)
    imported = Imported(_document(name, clusters, services, version), warnings)
    _drop_invalid(imported)
    return imported


def _cilium_version(reads: Sequence[ClusterRead], names: Sequence[str], warnings: list[ImportWarning]) -> str | None:
    """The Cilium version the clusters run, from their agent images' tags: the spec's cilium.version, so that
    explain and validate model the release that runs. Clusters on other releases are a warning each (the
    majority's is taken); None when no image was read or tagged."""
    running = {}
    for cluster, read in zip(names, reads):
        version = image_version(read.cilium_image) if read.cilium_image else None
        if version is not None:
            running[cluster] = version
    if not running:
        return None
    chosen = running[majority({c: str(v) for c, v in running.items()}, list(running))]
    for cluster, version in running.items():
        if version.minor_version != chosen.minor_version:  # another patch release routes the same (verify agrees)
            warnings.append(ImportWarning("import-differs", cluster, "cilium", f"runs Cilium {version}, most "
                                          f"clusters {chosen}: the spec says {chosen} (spec.cilium.version), and "
                                          "verify reports this cluster until its Cilium minor release matches"))
    return str(chosen)


def _document(name: str, clusters: list[dict], services: list[dict], version: str | None = None) -> dict[str, Any]:
    defaults = _defaults(services)
    for service in services:
        _placement(service, defaults)
    spec: dict[str, Any] = {}
    if any(defaults[f] != DEFAULT_PLACEMENT[f] for f in FLAGS):
        spec["defaults"] = {f: defaults[f] for f in FLAGS if defaults[f] != DEFAULT_PLACEMENT[f]}
    if version is not None:
        spec["cilium"] = {"version": version}
    spec["clusters"] = clusters
    spec["services"] = [_entry(s) for s in services]
    return {"apiVersion": API_VERSION, "kind": KIND, "metadata": {"name": name}, "spec": spec}


def _key(obj: Any) -> tuple[str, str] | None:
    if not isinstance(obj, dict) or not isinstance(obj.get("metadata"), dict):
        return None
    namespace, name = object_key(obj)
    return (namespace, name) if isinstance(namespace, str) and isinstance(name, str) and name else None


def _meta(obj: Obj, what: str) -> dict[str, str]:
    value = obj["metadata"].get(what)
    return {k: v for k, v in value.items() if isinstance(k, str) and isinstance(v, str)} \
        if isinstance(value, dict) else {}


def carries_global(obj: Any) -> bool:
    """The Service carries service.cilium.io/global or its alias, whatever the value."""
    return _key(obj) is not None and any(key in _meta(obj, "annotations") for key in GLOBAL_KEYS)


# --- clusters -------------------------------------------------------------------------------------------

def _clusters(reads: Sequence[ClusterRead], warnings: list[ImportWarning]) -> list[dict[str, Any]]:
    """name, id, context and podCIDRs of each cluster; names and ids unique, guessed where unreadable."""
    found = [_config_data(read) for read in reads]
    names: list[str] = []
    for read, data in zip(reads, found):
        name = data.get("cluster-name")
        why = _why_not(read, "cluster-name", name, cluster_name_problem(name) if isinstance(name, str) else
                       f"{name!r} is not a string")
        if not why and name in names:
            why = f"cluster-name {name!r} is also the name of {reads[names.index(name)].source}'s cluster"
        if why:
            name = _unique(_name_from(read.source, len(names) + 1), names)
            warnings.append(ImportWarning("import-guessed", name, "cilium-config",
                                          f"{why}: the cluster is named {name!r} after {read.source!r}; check "
                                          "it against the cluster's Cilium cluster.name"))
        names.append(name)
    ids: list[int | None] = []
    whys: list[str | None] = []
    for read, data in zip(reads, found):
        text = data.get("cluster-id")
        number = int(text) if isinstance(text, str) and text.isdigit() else None
        valid = number is not None and 1 <= number <= DEFAULT_MAX_CONNECTED_CLUSTERS
        why = _why_not(read, "cluster-id", text,
                       None if valid else f"{text!r} is not a cluster ID of 1 to {DEFAULT_MAX_CONNECTED_CLUSTERS}")
        if not why and number in ids:
            why = f"cluster-id {number} is also the id of {names[ids.index(number)]}"
        ids.append(None if why else number)
        whys.append(why)
    taken = {i for i in ids if i is not None}
    for index, why in enumerate(whys):
        if why:
            guess = next(i for i in range(1, 2 * DEFAULT_MAX_CONNECTED_CLUSTERS + 2) if i not in taken)
            taken.add(guess)
            ids[index] = guess
            warnings.append(ImportWarning("import-guessed", names[index], "cilium-config",
                                          f"{why}: id {guess} is guessed (the smallest free one); check it "
                                          "against the cluster's Cilium cluster.id"))
    clusters = []
    seen: list[tuple[str, Any]] = []
    for read, data, name, number in zip(reads, found, names, ids):
        cluster: dict[str, Any] = {"name": name, "id": number, "context": read.source}
        cidrs = _pod_cidrs(data, name, seen, warnings)
        if cidrs:
            cluster["podCIDRs"] = cidrs
        clusters.append(cluster)
    return clusters


def _config_data(read: ClusterRead) -> dict[str, Any]:
    config = read.cilium_config
    data = config.get("data") if isinstance(config, dict) else None
    return data if isinstance(data, dict) else {}


def _why_not(read: ClusterRead, key: str, value: Any, problem: str | None) -> str | None:
    if read.cilium_config is None:
        return f"cilium-config is not readable ({read.cilium_config_error or 'not found'})"
    if value is None:
        return f"cilium-config has no {key}"
    return f"cilium-config's {key}: {problem}" if problem else None


def _name_from(source: str, ordinal: int) -> str:
    """A valid cluster name from a context or folder name: lower-cased, other characters as '-'."""
    name = re.sub(r"[^a-z0-9-]+", "-", source.lower())[-CLUSTER_NAME_MAX:].strip("-")
    return name if name and cluster_name_problem(name) is None else f"cluster-{ordinal}"


def _unique(name: str, taken: list[str]) -> str:
    candidate, n = name, 2
    while candidate in taken:
        suffix = f"-{n}"
        candidate, n = name[:CLUSTER_NAME_MAX - len(suffix)].rstrip("-") + suffix, n + 1
    return candidate


def _pod_cidrs(data: Mapping[str, Any], cluster: str, seen: list[tuple[str, Any]],
               warnings: list[ImportWarning]) -> list[str]:
    """cluster-pool-ipv4-cidr and -ipv6-cidr (space-separated; the chart joins clusterPoolIPv4PodCIDRList
    with " "), when they are CIDRs that overlap no earlier cluster's."""
    out = []
    for key in ("cluster-pool-ipv4-cidr", "cluster-pool-ipv6-cidr"):
        text = data.get(key)
        for item in text.replace(",", " ").split() if isinstance(text, str) else ():
            try:
                network = ipaddress.ip_network(item, strict=True)
            except ValueError:
                warnings.append(ImportWarning("import-skipped", cluster, "cilium-config",
                                              f"{key} {item!r} is not a CIDR; podCIDRs leaves it out"))
                continue
            clash = next((other for other, net in seen if net.version == network.version
                          and net.overlaps(network)), None)
            if clash is not None:
                warnings.append(ImportWarning(
                    "import-skipped", cluster, "cilium-config",
                    f"{key} {item} overlaps {clash}'s pod CIDRs, which Cluster Mesh does not allow; podCIDRs "
                    "leaves it out"))
                continue
            seen.append((cluster, network))
            out.append(str(network))
    return out


# --- services -------------------------------------------------------------------------------------------

def _service(key: tuple[str, str], by_cluster: dict[str, Obj], order: list[str],
             warnings: list[ImportWarning]) -> dict[str, Any]:
    """One Service from its copies: placement flags per cluster, metadata and ServiceSpec."""
    namespace, name = key
    subject = f"{namespace}/{name}"
    present = [c for c in order if c in by_cluster]

    def report(code: str, cluster: str, message: str) -> None:
        warnings.append(ImportWarning(code, cluster, subject, message))

    flags = {c: _flags(by_cluster[c], c, report) for c in present}
    specs = {c: normalized_spec(by_cluster[c].get("spec")) for c in present}
    chosen = majority(specs, present)
    for cluster in (c for c in present if specs[c] != specs[chosen]):
        for path, actual, expected in differences(specs[chosen], specs[cluster], "spec"):
            report("import-differs", cluster, _differs(path, actual, expected, chosen, specs))
    spec = _node_ports(specs[chosen], [by_cluster[c] for c in present])
    metadata = {what: choose_metadata(what, {c: _kept(what, _meta(by_cluster[c], what)) for c in present},
                                      present, report) for what in ("labels", "annotations")}
    return {"name": name, "namespace": namespace, "present": present, "flags": flags,
            "every": present == order, "metadata": metadata, "spec": spec}


def _differs(path: str, actual: Any, expected: Any, chosen: str, specs: Mapping[str, Any]) -> str:
    agree = [c for c, s in specs.items() if s == specs[chosen]]
    return (f"{path} is {_show(actual)} here but {_show(expected)} in {', '.join(agree)}; the spec renders one "
            "ServiceSpec for every cluster, and takes the majority's")


def _flags(obj: Obj, cluster: str, report: Callable[[str, str, str], None]) -> dict[str, Any]:
    """global, shared, affinity as Cilium reads this copy's annotations; shared and affinity only when
    global (Cilium ignores them otherwise: cilium-semantics.md section 1). An annotation the spec does not
    write back as it is gets a warning."""
    annotations = _meta(obj, "annotations")
    read = read_flags(annotations)
    for key in GLOBAL_KEYS + SHARED_KEYS + AFFINITY_KEYS:
        value = annotations.get(key)
        why = None if value is None else _rewritten(key, value.lower(), read.is_global)
        if why:
            report("import-skipped", cluster, f"annotation {key}: {value!r} is not imported as it is: {why}")
    aliases = [key for key in (GLOBAL_KEYS[1], SHARED_KEYS[1], AFFINITY_KEYS[1]) if key in annotations]
    if aliases:
        report("import-alias", cluster, f"{', '.join(aliases)}: imported as what the spec renders, "
               "service.cilium.io/; once deployed, remove the legacy keys (`kubectl annotate service NAME "
               f"{aliases[0]}-`): an apply leaves what another field manager set, and verify reports it")
    if not read.is_global:
        return {"global": False}
    return {"global": True, "shared": read.shared, "affinity": read.affinity}


def _rewritten(key: str, value: str, is_global: bool) -> str | None:
    """Why the spec renders this (lower-cased) value of a Cilium key otherwise, as Cilium reads it; None when
    it renders it the same (or leaves out a default Cilium assumes anyway)."""
    if key in GLOBAL_KEYS:
        return None if value == "true" else "Cilium reads it as not global, which the spec renders as no annotation"
    if not is_global:
        return "Cilium ignores it on a Service that is not global, which the spec renders as no annotation"
    if key in SHARED_KEYS:
        return None if value in ("true", "false") else 'Cilium reads it as shared false, which the spec renders as "false"'
    return None if value in ("local", "remote") else \
        "Cilium reads it as affinity none, which the spec renders as no annotation"


def _kept(what: str, values: dict[str, str]) -> dict[str, str]:
    """Labels and annotations the spec may hold: not Cilium's global/shared/affinity (the flags say them),
    not meshspec's managed-by label (render adds it), not kubectl's last-applied-configuration nor the
    deploying tool's own."""
    if what == "labels":
        return {k: v for k, v in sorted(values.items()) if k != MANAGED_BY_LABEL}
    return {k: v for k, v in sorted(values.items())
            if k not in OWNED and k != LAST_APPLIED and not k.startswith(DROPPED_ANNOTATION_PREFIXES)}


def choose_metadata(what: str, copies: Mapping[str, dict[str, str]], present: list[str],
                    report: Callable[[str, str, str], None]) -> tuple[dict[str, str], dict[str, dict[str, str]]]:
    """The labels (or annotations) of the Service, and per cluster the ones its override adds or changes
    (services[].overrides.<cluster>.labels / .annotations, merged over the service's own): the service holds
    each key every copy has, with the value most copies have; an override holds the rest. An override may
    not hold Cilium's annotations (service.cilium.io/*), so those are one set for every cluster: the
    majority's, with a warning per key that differs elsewhere."""
    cilium = {c: {k: v for k, v in copies[c].items() if k.startswith(PREFIX)} for c in present}
    chosen = majority(cilium, present)
    base = dict(cilium[chosen])
    for cluster in (c for c in present if cilium[c] != base):
        for key in sorted(set(base) | set(cilium[cluster])):
            if base.get(key) != cilium[cluster].get(key):
                report("import-differs", cluster, f"{what[:-1]} {key} is {_show(cilium[cluster].get(key))} here but "
                       f"{_show(base.get(key))} in {chosen}; Cilium's annotations cannot differ per cluster in the "
                       "spec, which takes the majority's")
    rest = {c: {k: v for k, v in copies[c].items() if not k.startswith(PREFIX)} for c in present}
    common = set.intersection(*(set(rest[c]) for c in present)) if present else set()
    for key in sorted(common):
        values = [rest[c][key] for c in present]
        base[key] = _preferred(values, values[:1])
    per_cluster = {c: {k: v for k, v in rest[c].items() if base.get(k) != v} for c in present}
    return dict(sorted(base.items())), {c: extra for c, extra in per_cluster.items() if extra}


def majority(copies: Mapping[str, Any], order: Sequence[str]) -> str:
    """The cluster whose copy most clusters share; a tie goes to the earliest in `order`."""
    # The copies are built with sorted keys (normalized_spec, _kept), so equal copies have equal reprs,
    # whatever YAML put in them (dates, integer keys).
    canonical = {c: repr(copies[c]) for c in order}
    counts = Counter(canonical.values())
    best = max(counts.values())
    return next(c for c in order if counts[canonical[c]] == best)


# --- the ServiceSpec ------------------------------------------------------------------------------------

_SERVER_SET = ("clusterIPs", "ipFamilies", "healthCheckNodePort")
_first = itemgetter(0)


def normalized_spec(spec: Any) -> dict[str, Any]:
    """A live ServiceSpec without what the API server sets or defaults, keys sorted; nodePorts dropped
    (_node_ports puts back those the user fixed)."""
    if not isinstance(spec, dict):
        return {}
    out = {k: v for k, v in _items(spec) if k not in _SERVER_SET and not _empty(v)}
    kind = out.get("type", "ClusterIP")
    if out.get("clusterIP") != "None":  # headless is the user's choice; an address is allocated
        out.pop("clusterIP", None)
    for key, default in (("type", "ClusterIP"), ("sessionAffinity", "None"), ("ipFamilyPolicy", "SingleStack"),
                         ("externalTrafficPolicy", "Cluster"), ("internalTrafficPolicy", "Cluster"),
                         ("publishNotReadyAddresses", False)):
        if out.get(key) == default:
            del out[key]
    if kind == "LoadBalancer" and out.get("allocateLoadBalancerNodePorts") is True:
        del out["allocateLoadBalancerNodePorts"]
    if out.get("sessionAffinityConfig") == {"clientIP": {"timeoutSeconds": DEFAULT_CLIENT_IP_TIMEOUT}}:
        del out["sessionAffinityConfig"]
    if isinstance(out.get("ports"), list):
        out["ports"] = [_normalized_port(p) for p in out["ports"]]
    return _sorted(out)


def _normalized_port(port: Any) -> Any:
    if not isinstance(port, dict):
        return port
    out = {k: v for k, v in _items(port) if k != "nodePort" and not _empty(v)}
    if out.get("protocol") == "TCP":
        del out["protocol"]
    if "targetPort" in out and out["targetPort"] == out.get("port") and type(out["targetPort"]) is int:
        del out["targetPort"]
    return out


def _node_ports(spec: dict[str, Any], copies: list[Obj]) -> dict[str, Any]:
    """`spec` with the nodePorts (and healthCheckNodePort) the user fixed put back: those kubectl's last-
    applied-configuration of a copy sets, or those equal in every copy when there are two at least."""
    spec = copy.deepcopy(spec)  # the copies' normalized specs stay as they were compared
    if spec.get("type") not in ("NodePort", "LoadBalancer"):
        return spec
    live = [c.get("spec") if isinstance(c.get("spec"), dict) else {} for c in copies]
    applied = [_last_applied(c) for c in copies]
    for port in spec.get("ports") or ():
        if not isinstance(port, dict):
            continue
        numbers = [_node_port_of(s, port) for s in live]
        fixed = [n for a in applied if (n := _node_port_of(a, port)) is not None]
        if fixed:
            port["nodePort"] = fixed[0]
        elif len(numbers) >= 2 and numbers[0] is not None and all(n == numbers[0] for n in numbers):
            port["nodePort"] = numbers[0]
    if spec.get("externalTrafficPolicy") == "Local" and spec.get("type") == "LoadBalancer":
        numbers = [s.get("healthCheckNodePort") for s in live]
        fixed = [a.get("healthCheckNodePort") for a in applied if isinstance(a.get("healthCheckNodePort"), int)]
        if fixed:
            spec["healthCheckNodePort"] = fixed[0]
        elif len(numbers) >= 2 and isinstance(numbers[0], int) and all(n == numbers[0] for n in numbers):
            spec["healthCheckNodePort"] = numbers[0]
    return _sorted(spec)


def _node_port_of(spec: Mapping[str, Any], port: Mapping[str, Any]) -> int | None:
    """The nodePort of `spec`'s port matching `port` (number, protocol, name)."""
    for item in spec.get("ports") or () if isinstance(spec.get("ports"), list) else ():
        if isinstance(item, dict) and item.get("port") == port.get("port") and \
                (item.get("protocol") or "TCP") == (port.get("protocol") or "TCP") and \
                (item.get("name") or "") == (port.get("name") or ""):
            number = item.get("nodePort")
            return number if isinstance(number, int) and not isinstance(number, bool) and number > 0 else None
    return None


def _last_applied(obj: Obj) -> dict[str, Any]:
    """The spec kubectl apply last sent ({} when not applied with kubectl, or unreadable)."""
    try:
        spec = json.loads(_meta(obj, "annotations").get(LAST_APPLIED, "{}")).get("spec")
    except (ValueError, AttributeError):
        return {}
    return spec if isinstance(spec, dict) else {}


def _empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def _items(value: dict) -> list[tuple[Any, Any]]:
    """Sorted by key, whatever YAML made the keys (a dump may hold an integer key beside strings)."""
    try:
        return sorted(value.items(), key=_first)
    except TypeError:
        return sorted(value.items(), key=lambda kv: (str(kv[0]), type(kv[0]).__name__))


def _sorted(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in _items(value)}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def differences(expected: Any, actual: Any, path: str) -> Iterable[tuple[str, Any, Any]]:
    """(path, actual, expected) for every field where `actual` differs from `expected`."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        for key in sorted(set(expected) | set(actual), key=str):
            yield from differences(expected.get(key), actual.get(key), _join(path, key))
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (exp, act) in enumerate(zip(expected, actual)):
            yield from differences(exp, act, f"{path}[{i}]")
    elif expected != actual or type(expected) is not type(actual):
        yield path, actual, expected


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if any(ch in str(key) for ch in "./") else f"{path}.{key}"


def _show(value: Any) -> str:
    if value is None:
        return "absent"
    try:
        return json.dumps(_sorted(value), default=str)
    except (TypeError, ValueError):  # a key JSON has no form for
        return repr(value)


# --- placement: defaults, the service's own fields, the fewest overrides -------------------------------

def _preferred(values: list[Any], prefer: Sequence[Any]) -> Any:
    """The most common of `values`; among equals the first of `prefer`, then the smallest."""
    counts = Counter(values)
    best = max(counts.values())
    tied = [v for v in counts if counts[v] == best]
    return next((p for p in prefer if p in tied), min(tied, key=str))


def _cared(service: dict, flag: str) -> dict[str, Any]:
    """The clusters whose value of `flag` Cilium reads: every one for global, the global ones otherwise."""
    return {c: f[flag] for c, f in service["flags"].items() if flag in f}


def _defaults(services: list[dict]) -> dict[str, Any]:
    """spec.defaults: per flag, the value most copies have (Cilium's default among equals)."""
    out = {}
    for flag in FLAGS:
        values = [v for s in services for v in _cared(s, flag).values()]
        out[flag] = _preferred(values, [DEFAULT_PLACEMENT[flag]]) if values else DEFAULT_PLACEMENT[flag]
    return out


def _placement(service: dict, defaults: Mapping[str, Any]) -> None:
    """The service's own flags (where its majority differs from the defaults) and the overrides of the
    clusters that differ from that: the fewest keys that resolve (defaults < service < override) to what
    each cluster's copy says."""
    own: dict[str, Any] = {}
    overrides: dict[str, dict[str, Any]] = {}
    for flag in FLAGS:
        cared = _cared(service, flag)
        if not cared:
            continue
        value = _preferred(list(cared.values()), [defaults[flag], DEFAULT_PLACEMENT[flag]])
        if value != defaults[flag]:
            own[flag] = value
        for cluster, actual in cared.items():
            if actual != value:
                overrides.setdefault(cluster, {})[flag] = actual
    service["own"] = own
    for what in ("labels", "annotations"):
        for cluster, extra in service["metadata"][what][1].items():
            overrides.setdefault(cluster, {})[what] = extra
    keys = (*FLAGS, "labels", "annotations")
    service["overrides"] = {c: {k: overrides[c][k] for k in keys if k in overrides[c]}
                            for c in service["present"] if c in overrides}


def _entry(service: dict) -> dict[str, Any]:
    entry: dict[str, Any] = {"name": service["name"], "namespace": service["namespace"]}
    entry.update(service["own"])
    if not service["every"]:
        entry["clusters"] = list(service["present"])
    if service["overrides"]:
        entry["overrides"] = service["overrides"]
    for what in ("labels", "annotations"):
        if service["metadata"][what][0]:
            entry[what] = service["metadata"][what][0]
    entry["spec"] = service["spec"]
    return entry


# --- what validate refuses ------------------------------------------------------------------------------

_SERVICE_PATH = re.compile(r"^spec\.services\[(\d+)\]")


def _drop_invalid(imported: Imported) -> None:
    """Leave out, with a warning, each Service the spec cannot hold as read (validate finds an error in
    it: a ServiceSpec the API server's rules refuse, say, from a hand-edited dump)."""
    from ..spec.check import check_bytes

    while True:  # each pass drops every Service with an error; errors outside services stop it
        imported.body = to_yaml(imported.document)
        _, diagnostics = check_bytes(imported.body.encode("utf-8"), "import")
        imported.diagnostics = diagnostics
        bad: dict[int, str] = {}
        for d in diagnostics:
            match = _SERVICE_PATH.match(d.path)
            if d.is_error and match:
                bad.setdefault(int(match.group(1)), f"{d.message} [{d.code}]")
        if not bad:
            return
        services = imported.document["spec"]["services"]
        for index, why in sorted(bad.items()):
            service = services[index]
            imported.warnings.append(ImportWarning(
                "import-skipped", "", f"{service['namespace']}/{service['name']}",
                f"not imported: the spec cannot hold it as read ({why})"))
        imported.document["spec"]["services"] = [s for i, s in enumerate(services) if i not in bad]


def is_valid_mesh_name(name: str) -> bool:
    return is_dns1123_label(name)
