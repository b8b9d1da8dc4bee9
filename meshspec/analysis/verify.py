"""`meshspec verify`: the live clusters against the spec. Pure: adapters/live.py reads the clusters,
and this compares what it observed with the spec:

- missing: a Service the spec places in a cluster is not there;
- stale: a Service labelled app.kubernetes.io/managed-by=meshspec that the spec no longer places there;
- annotation, label and spec drift from the rendered object, each cluster's own labels and annotations
  (with its override's) included; a label or annotation that another cluster's override sets counts on
  every copy, so a copy carrying it where its cluster does not get it is drift. Only what the spec renders is compared,
  with the API server's defaults applied to the rendered side (type ClusterIP, sessionAffinity None,
  port protocol TCP, targetPort = port), so fields that the API server or controllers set (clusterIP(s),
  allocated nodePorts, ipFamilies, internalTrafficPolicy, status, metadata, kubectl's and Pulumi's
  annotations) never count. The exception is Cilium's own annotations: meshspec owns them, so one the
  spec does not render is drift;
- parity: the Service's ports (name, port, protocol) differ between the clusters that serve it;
- cilium-config's cluster-name and cluster-id differ from the spec (when readable), and, when the spec
  manages Cluster Mesh, the clustermesh-apiserver Service is missing or of another type;
- cilium-version-mismatch: the `cilium` DaemonSet's image runs another Cilium minor release than
  spec.cilium.version says; the routing engine then models each client cluster with the version it runs,
  and a version with a known routing bug is named in the cluster's notes;
- no-backends: on the observed state, the routing engine gives a client cluster no backend.
"""

from __future__ import annotations

import copy
import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator, Mapping, Sequence

from ..artifacts.manifests import render_cluster
from ..artifacts.mcs import service_exports
from ..cilium.annotations import OWNED
from ..cilium.routing import route_service
from ..cilium.versions import CiliumVersion, image_version, known_bugs, parse_version
from ..k8s.names import MANAGED_BY, MANAGED_BY_LABEL
from ..k8s.objects import cluster_service
from ..k8s.observed import Obj, Observed, Result, Unreachable, object_key
from ..spec.model import Cluster, Mesh, Service
from .mcs_verify import export_problems
from .mcs_verify import namespace_problems as mcs_namespace_problems

APISERVER_SERVICE = "clustermesh-apiserver"
_ABSENT = object()


@dataclass(frozen=True)
class Problem:
    cluster: str
    kind: str  # missing | missing-namespace | stale | annotation-drift | label-drift | spec-drift | parity | cilium-config
    #            | clustermesh-apiserver | cilium-version-mismatch | no-backends | missing-serviceexport
    #            | serviceexport-conflict | serviceexport-invalid
    namespace: str
    name: str
    field: str  # where in the object, e.g. spec.ports[0].port; "" for the whole object
    expected: Any  # None: should not be there
    actual: Any  # None: is not there
    message: str


@dataclass
class VerifyReport:
    results: dict[str, Result]  # the clusters checked, in spec order
    problems: list[Problem] = field(default_factory=list)
    notes: dict[str, list[str]] = field(default_factory=dict)  # cluster -> what could not be checked
    cilium_version: str = ""
    routes: list[tuple[str, str, dict]] = field(default_factory=list)  # (namespace, name, {observer: view})
    # cluster -> the Cilium version its `cilium` DaemonSet runs, where it was read
    cluster_versions: dict[str, CiliumVersion] = field(default_factory=dict)

    @property
    def unreachable(self) -> list[Unreachable]:
        return [r for r in self.results.values() if isinstance(r, Unreachable)]

    @property
    def ok(self) -> bool:
        return not (self.problems or self.unreachable)


def verify(mesh: Mesh, results: Mapping[str, Result]) -> VerifyReport:
    """Compare what the clusters in `results` (cluster name -> Result) serve with the spec."""
    report = VerifyReport(dict(results))
    observed = {c: r for c, r in results.items() if isinstance(r, Observed)}
    for name, live in observed.items():
        cluster = mesh.cluster(name)
        report.problems += cluster_problems(mesh, name, live.services)
        report.problems += namespace_problems(mesh, name, live.namespace_names)
        report.problems += cilium_problems(mesh, cluster, live)
        report.problems += export_problems(mesh, name, live.service_exports, Problem)
        report.problems += mcs_namespace_problems(mesh, name, live.namespace_objects, Problem)
        if live.service_exports is None and service_exports(mesh, name):
            report.notes.setdefault(name, []).append(
                "ServiceExports (multicluster.x-k8s.io) are not readable: no MCS-API CRD, or forbidden; not checked")
        if live.namespaces is not None:
            report.notes.setdefault(name, []).append(
                f"listing Services in every namespace is forbidden: listed {', '.join(live.namespaces)} only, "
                "so stale Services elsewhere are not checked")
        if live.cilium_config is None:
            report.notes.setdefault(name, []).append(
                f"{mesh.cilium.namespace}/cilium-config is not readable ({live.cilium_config_error}): "
                "cluster-name and cluster-id not checked")
        running, problems, notes = running_version(mesh, name, live)
        report.problems += problems
        report.notes.setdefault(name, []).extend(notes)
        if running is not None:
            report.cluster_versions[name] = running
        if not report.notes[name]:
            del report.notes[name]
    for service in mesh.services:
        report.problems += parity_problems(service, observed)
    _route(mesh, observed, report)
    order = {name: i for i, name in enumerate(results)}
    report.problems.sort(key=lambda p: (order[p.cluster], p.namespace, p.name, p.kind, p.field))
    return report


def cluster_problems(mesh: Mesh, cluster: str, services: Sequence[Obj]) -> list[Problem]:
    """Missing, stale and drifted Services of one cluster."""
    live = {object_key(s): s for s in services}
    rendered = {object_key(obj): obj for obj in render_cluster(mesh, cluster)}
    per_cluster = {(s.namespace, s.name): s for s in mesh.services if s.cluster_labels or s.cluster_annotations}
    problems = []
    for key, obj in rendered.items():
        if key not in live:
            problems.append(Problem(cluster, "missing", *key, "", "Service", None,
                                    f"missing: the spec places this Service in {cluster}, which has none"))
        else:
            problems += service_drift(cluster, obj, live[key], *_override_keys(per_cluster.get(key)))
    for key, obj in live.items():
        if key not in rendered and _meta(obj, "labels").get(MANAGED_BY_LABEL) == MANAGED_BY:
            problems.append(Problem(cluster, "stale", *key, "", None, "Service",
                                    f"stale: labelled {MANAGED_BY_LABEL}={MANAGED_BY}, but the spec no longer "
                                    f"places it in {cluster}"))
    return problems


def namespace_problems(mesh: Mesh, cluster: str, present: frozenset[str] | None) -> list[Problem]:
    """A namespace the cluster's Services use that the cluster does not have; nothing when not read."""
    if present is None:
        return []
    used = dict.fromkeys(s.namespace for s in mesh.services if cluster in s.placements)
    return [Problem(cluster, "missing-namespace", namespace, "", "", "Namespace", None,
                    f"missing namespace: the spec places Services in {namespace}, which {cluster} does not have")
            for namespace in used if namespace not in present]


def _override_keys(service: Service | None) -> tuple[frozenset[str], frozenset[str]]:
    """The annotation and label keys some cluster's override of `service` sets: the spec manages them on
    every copy, so a copy that carries one its own cluster does not get (another cluster's) is drift."""
    if service is None:
        return frozenset(), frozenset()
    return (frozenset(k for extra in service.cluster_annotations.values() for k in extra),
            frozenset(k for extra in service.cluster_labels.values() for k in extra))


def service_drift(cluster: str, rendered: Obj, live: Obj, annotation_keys: frozenset[str] = frozenset(),
                  label_keys: frozenset[str] = frozenset()) -> list[Problem]:
    """Where the live Service differs from the rendered one, in what the spec renders: the keys it
    renders here, Cilium's own, and those some cluster's override sets (`annotation_keys`, `label_keys`)."""
    namespace, name = object_key(rendered)
    found = []
    for what, owned in (("annotations", lambda key: key in annotation_keys or _cilium_owned(key)),
                        ("labels", lambda key: key in label_keys)):
        expected, actual = _meta(rendered, what), _meta(live, what)
        for key in sorted(set(expected) | {k for k in actual if owned(k)}):
            if expected.get(key) != actual.get(key):
                found.append((f"{what[:-1]}-drift", f"metadata.{what}[{key}]", expected.get(key), actual.get(key)))
    found += [("spec-drift", path, exp, act)
              for path, exp, act in _diff(with_defaults(rendered.get("spec") or {}), live.get("spec") or {}, "spec")]
    return [Problem(cluster, kind, namespace, name, path, exp, act,
                    f"{kind.replace('-', ' ')}: {path} is {_show(act)}; the spec says {_show(exp)}")
            for kind, path, exp, act in found]


def with_defaults(spec: Mapping[str, Any]) -> dict[str, Any]:
    """A rendered Service spec with the defaults the API server fills in when the spec leaves them out
    (SetDefaults_Service). Fields it allocates or derives per cluster are not predicted: they are not
    compared unless the spec sets them."""
    out = copy.deepcopy(dict(spec))
    _default(out, "type", "ClusterIP")
    _default(out, "sessionAffinity", "None")
    for port in out.get("ports") or []:
        if isinstance(port, dict):
            _default(port, "protocol", "TCP")
            if "port" in port:
                _default(port, "targetPort", port["port"])
    return out


def _default(obj: dict, key: str, value: Any) -> None:
    """Set what the API server defaults: a field that is absent, null, or (targetPort) zero."""
    if obj.get(key) in (None, "", 0) and not isinstance(obj.get(key), bool):
        obj[key] = value


def _diff(expected: Any, actual: Any, path: str) -> Iterator[tuple[str, Any, Any]]:
    """(path, expected, actual) for every difference, looking only at what `expected` holds (a null there
    is an absent field to the API server, so it holds nothing)."""
    if expected is None:
        return
    if isinstance(expected, Mapping) and isinstance(actual, Mapping):
        for key, value in expected.items():
            yield from _diff(value, actual.get(key, _ABSENT), _join(path, key))
    elif isinstance(expected, list) and isinstance(actual, list) and len(expected) == len(actual):
        for i, (exp, act) in enumerate(zip(expected, actual)):
            yield from _diff(exp, act, f"{path}[{i}]")
    elif actual is _ABSENT:
        if expected not in ("", 0, False, [], {}, None):  # the API omits zero values
            yield path, expected, None
    elif expected != actual or type(expected) is not type(actual):
        yield path, expected, actual


def parity_problems(service: Service, observed: Mapping[str, Observed]) -> list[Problem]:
    """Clusters whose copy of the Service has other ports (name, port, protocol) than most copies: Cilium
    matches backends to frontends by port name and protocol, so such a cluster's backends go unused or
    its clients miss the others'. Ties go to the spec's ports."""
    ports = {c: _ports(svc) for c, live in observed.items() if c in service.placements
             and (svc := live.service(service.namespace, service.name)) is not None}
    counts = Counter(ports.values())
    if len(counts) < 2:
        return []
    spec_ports = _ports({"spec": with_defaults(service.spec)})
    best = max(counts.values())
    reference = spec_ports if counts.get(spec_ports) == best else next(p for p in ports.values() if counts[p] == best)
    agree = [c for c, p in ports.items() if p == reference]
    return [Problem(c, "parity", service.namespace, service.name, "spec.ports", list(reference), list(p),
                    f"parity broken: ports {_show(list(p))} here, {_show(list(reference))} in {', '.join(agree)}; "
                    "Cilium pairs backends with frontends by port name and protocol")
            for c, p in ports.items() if p != reference]


def cilium_problems(mesh: Mesh, cluster: Cluster, live: Observed) -> list[Problem]:
    """cilium-config's cluster-name and cluster-id (when readable); the clustermesh-apiserver Service
    and its type when the spec manages Cluster Mesh."""
    namespace = mesh.cilium.namespace
    problems = []
    if live.cilium_config is not None:
        data = live.cilium_config.get("data") or {}
        for key, expected in (("cluster-name", cluster.name), ("cluster-id", str(cluster.id))):
            if data.get(key) != expected:
                problems.append(Problem(cluster.name, "cilium-config", namespace, "cilium-config", f"data[{key}]",
                                        expected, data.get(key), f"cilium-config {key} is {_show(data.get(key))}; "
                                        f"the spec says {_show(expected)}"))
    if mesh.cilium.managed:
        wanted = mesh.cilium.service_type
        apiserver = live.service(namespace, APISERVER_SERVICE)
        actual = None if apiserver is None else (apiserver.get("spec") or {}).get("type", "ClusterIP")
        if actual != wanted:
            message = (f"no {APISERVER_SERVICE} Service; the spec sets up Cluster Mesh with a {wanted} one"
                       if apiserver is None else f"the {APISERVER_SERVICE} Service is {actual}; the spec says {wanted}")
            problems.append(Problem(cluster.name, "clustermesh-apiserver", namespace, APISERVER_SERVICE,
                                    "" if apiserver is None else "spec.type", wanted, actual, message))
    return problems


def running_version(mesh: Mesh, cluster: str, live: Observed) -> tuple[CiliumVersion | None, list[Problem], list[str]]:
    """The Cilium version a cluster runs, from its `cilium` DaemonSet's image tag: a problem when its minor
    release is not the spec's, and notes when it could not be read or has a known routing bug."""
    namespace = mesh.cilium.namespace
    if live.cilium_image is None:
        why = live.cilium_image_error
        return None, [], [] if why is None else [
            f"{namespace}/cilium DaemonSet not readable ({why}): the Cilium version it runs is not checked"]
    running = image_version(live.cilium_image)
    if running is None:
        return None, [], [f"the cilium DaemonSet's image {live.cilium_image} has no Cilium version tag meshspec "
                          "models: its version is not checked"]
    spec = parse_version(mesh.cilium.version)
    problems, notes = [], []
    if running.minor_version != spec.minor_version:
        problems.append(Problem(cluster, "cilium-version-mismatch", namespace, "cilium", "spec.template.spec."
                                "containers[cilium-agent].image", str(spec), str(running),
                                f"{cluster} runs Cilium {running} (image {live.cilium_image}); spec.cilium.version "
                                f"says {spec}: the routing below models {cluster}'s clients with {running}"))
    for bug in known_bugs(running):
        notes.append(f"Cilium {running} has a known routing bug, {bug}")
    return running, problems, notes


def _route(mesh: Mesh, observed: Mapping[str, Observed], report: VerifyReport) -> None:
    """The routing table on the observed state, and the client clusters it leaves without backends. Each
    client cluster is modelled with the Cilium version it runs (its agents select the backends), else the
    spec's."""
    version = parse_version(mesh.cilium.version)
    report.cilium_version = str(version)
    for service in mesh.services:
        copies = {}
        for cluster, live in observed.items():
            obj = live.service(service.namespace, service.name)
            if obj is not None:
                try:
                    copies[cluster] = cluster_service(obj, live.slices_of(service.namespace, service.name))
                except ValueError as exc:
                    report.notes.setdefault(cluster, []).append(f"{service.key}: not simulated: {exc}")
        observers = [c for c in service.placements if c in observed]
        if not observers:
            continue
        views: dict = {}
        by_version: dict[CiliumVersion, list[str]] = {}
        for observer in observers:
            by_version.setdefault(report.cluster_versions.get(observer, version), []).append(observer)
        for running, group in by_version.items():
            views.update(route_service(copies, group, running))
        views = {observer: views[observer] for observer in observers}
        report.routes.append((service.namespace, service.name, views))
        for cluster, view in views.items():
            empty = [key for key, route in view.frontends.items() if not route.backends]
            if view.exists and empty:
                report.problems.append(Problem(
                    cluster, "no-backends", service.namespace, service.name, "routing", "a backend for every port",
                    empty,
                    f"no backends: clients in {cluster} get none for {', '.join(empty)} (no ready endpoint that "
                    "Cilium sends them to; see the routing table)"))


def _cilium_owned(key: str) -> bool:
    return key in OWNED


def _ports(service: Mapping[str, Any]) -> tuple[str, ...]:
    return tuple(f"{p.get('name') or '(unnamed)'} {p.get('port')}/{p.get('protocol') or 'TCP'}"
                 for p in (service.get("spec") or {}).get("ports") or [] if isinstance(p, Mapping))


def _meta(obj: Mapping[str, Any], what: str) -> Mapping[str, Any]:
    return (obj.get("metadata") or {}).get(what) or {}


def _join(path: str, key: Any) -> str:
    return f"{path}[{key}]" if any(c in str(key) for c in "./") else f"{path}.{key}"


def _show(value: Any) -> str:
    return "absent" if value is None else json.dumps(value)


def keeper(mesh: Mesh) -> Callable[[Obj], bool]:
    """Which live Services matter: those the spec names, those meshspec manages, and Cilium's apiserver."""
    named = {(s.namespace, s.name) for s in mesh.services} | {(mesh.cilium.namespace, APISERVER_SERVICE)}
    return lambda obj: object_key(obj) in named or _meta(obj, "labels").get(MANAGED_BY_LABEL) == MANAGED_BY


