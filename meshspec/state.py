"""Observed cluster state, read from a folder, for `meshspec simulate STATE_DIR`.

STATE_DIR holds one folder per cluster, named after the cluster. The YAML or JSON files directly inside
hold that cluster's Kubernetes objects: single documents, multi-document streams or Lists, e.g.
`kubectl get svc,endpointslices -A -o yaml > STATE_DIR/<cluster>/dump.yaml`. Only core/v1 Services and
discovery.k8s.io EndpointSlices are read; every other kind (Secrets included) is dropped unread. Hidden
entries, sub-folders and files with other extensions are skipped.

`cluster_service` builds one routing.ClusterService from a Service and its EndpointSlices, applying
Kubernetes' defaults; it does no I/O, so live verification reuses it on objects from the API.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, replace
from typing import Any, Callable, Iterable, Iterator, Mapping

from .diagnostics import Diagnostic, Path, format_path, unique_sorted
from .load import Document, LoadError, load_documents, load_json_fast, read_text
from .model import is_headless
from .routing import ClusterService, Endpoint, EndpointSlice, Port
from .validate import Checker, check_cluster_name

# A `kubectl get svc,endpointslices -A -o json` dump of a cluster with ~1,000 Services is ~4.2 MB.
MAX_STATE_FILE_BYTES = 256 * 1024 * 1024
SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # how an EndpointSlice names its Service
EXTENSIONS = (".yaml", ".yml", ".json")
PROTOCOLS = ("TCP", "UDP", "SCTP")
ADDRESS_TYPES = ("IPv4", "IPv6", "FQDN")
IP_FAMILIES = ("IPv4", "IPv6")
# (apiVersion, kind) read; the EndpointSlice fields used here are the same in v1beta1.
_KINDS = {("v1", "Service"): "Service", ("discovery.k8s.io/v1", "EndpointSlice"): "EndpointSlice",
          ("discovery.k8s.io/v1beta1", "EndpointSlice"): "EndpointSlice"}

Report = Callable[[str, Path, str], None]  # (code, path inside the object, message)


class StateError(Exception):
    """STATE_DIR is not a state folder at all (the CLI exits 2)."""


@dataclass(frozen=True)
class State:
    clusters: tuple[str, ...]  # sorted cluster folder names
    # (namespace, name) -> {cluster: that cluster's copy}; both levels sorted
    services: dict[tuple[str, str], dict[str, ClusterService]]


@dataclass(frozen=True)
class NamedSlice:
    """An EndpointSlice with the metadata that places it."""

    namespace: str
    name: str
    service: str | None  # the kubernetes.io/service-name label
    slice: EndpointSlice


# --- pure conversion ------------------------------------------------------------------------------

def cluster_service(service: Mapping[str, Any], slices: Iterable[Mapping[str, Any]]) -> ClusterService:
    """One cluster's copy of a Service from its objects as the API serves them (camelCase JSON).
    `slices` are the EndpointSlices labelled kubernetes.io/service-name=<name> in its namespace.
    Raises ValueError on a malformed object."""
    slices = list(slices)
    if not all(isinstance(obj, dict) for obj in (service, *slices)):
        raise ValueError("a Service or EndpointSlice is not a mapping")
    svc = parse_service(service, _raise("Service"))
    parsed = sorted((parse_slice(s, _raise("EndpointSlice")) for s in slices), key=lambda s: s.name)
    return replace(svc, slices=tuple(s.slice for s in parsed))


def _raise(kind: str) -> Report:
    def report(code: str, path: Path, message: str) -> None:
        raise ValueError(f"{kind} {format_path(path) or '(top level)'}: {message} [{code}]")
    return report


def parse_service(obj: Mapping[str, Any], report: Report) -> ClusterService:
    """A core/v1 Service without slices; malformed parts are reported and left out (name "" if unusable)."""
    meta, namespace, name = _metadata(obj, report)
    spec = _field(obj, "spec", (), dict, report) or {}
    cluster_ip = _field(spec, "clusterIP", ("spec",), str, report)
    _field(spec, "type", ("spec",), str, report)  # a wrong type is reported; is_headless then reads False
    return ClusterService(namespace, name, _strings_map(meta, "annotations", ("metadata",), report),
                          tuple(_ports(spec, ("spec",), report, port_required=True)), is_headless(spec),
                          _families(spec, cluster_ip, report))


def _families(spec: Mapping[str, Any], cluster_ip: str | None, report: Report) -> tuple[str, ...]:
    declared = [f for i, f in _strings(spec, "ipFamilies", ("spec",), report)
                if _one_of(f, IP_FAMILIES, ("spec", "ipFamilies", i), report)]
    # Services written before dual-stack (or by hand) carry only their addresses.
    ips = [ip for _, ip in _strings(spec, "clusterIPs", ("spec",), report)] or [cluster_ip or ""]
    inferred = ["IPv6" if ":" in ip else "IPv4" for ip in ips if ip not in ("", "None")]
    return tuple(dict.fromkeys(declared or inferred)) or ("IPv4",)


def parse_slice(obj: Mapping[str, Any], report: Report) -> NamedSlice:
    """A discovery.k8s.io EndpointSlice; malformed parts are reported and left out (name "" if unusable)."""
    meta, namespace, name = _metadata(obj, report)
    service = _strings_map(meta, "labels", ("metadata",), report).get(SERVICE_NAME_LABEL)
    address_type = _field(obj, "addressType", (), str, report, required=True)
    if address_type is not None and not _one_of(address_type, ADDRESS_TYPES, ("addressType",), report):
        address_type = None
    endpoints = tuple(ep for i, item in _items(obj, "endpoints", (), report)
                      for ep in _endpoints(item, ("endpoints", i), report))
    ports = tuple(_ports(obj, (), report, port_required=False))
    return NamedSlice(namespace, name, service, EndpointSlice(ports, endpoints, address_type or "IPv4"))


def _metadata(obj: Mapping[str, Any], report: Report) -> tuple[dict[str, Any], str, str]:
    """metadata, namespace ("default" when unset, as kubectl applies it) and name ("" when unusable)."""
    meta = _field(obj, "metadata", (), dict, report, required=True)
    if meta is None:
        return {}, "default", ""
    name = _field(meta, "name", ("metadata",), str, report, required=True) or ""
    return meta, _field(meta, "namespace", ("metadata",), str, report) or "default", name


def _endpoints(item: Any, at: Path, report: Report) -> list[Endpoint]:
    if not _is_mapping(item, at, "an endpoint", report):
        return []
    conditions = _field(item, "conditions", at, dict, report) or {}
    ready, serving, terminating = (_field(conditions, key, at + ("conditions",), bool, report)
                                   for key in ("ready", "serving", "terminating"))
    # discovery.k8s.io/v1 EndpointConditions: unknown ready means ready, unknown serving defers to
    # ready, unknown terminating means not terminating.
    ready = True if ready is None else ready
    serving = ready if serving is None else serving
    addresses = _strings(item, "addresses", at, report, required=True)
    return [Endpoint(address, ready, serving, bool(terminating)) for _, address in addresses]


def _ports(parent: Mapping[str, Any], at: Path, report: Report, port_required: bool) -> Iterator[Port]:
    for i, item in _items(parent, "ports", at, report):
        here = at + ("ports", i)
        if not _is_mapping(item, here, "a port", report):
            continue
        name = _field(item, "name", here, str, report) or ""
        protocol = _field(item, "protocol", here, str, report) or "TCP"
        number = _field(item, "port", here, int, report, required=port_required)
        if not _one_of(protocol, PROTOCOLS, here + ("protocol",), report):
            continue
        if number is not None and not 1 <= number <= 65535:
            report("bad-value", here + ("port",), f"'port' is {number}; a port number is 1 to 65535.")
        elif number is not None:  # a slice port without a number is skipped, as Cilium's parseEndpointPortV1 does
            yield Port(name, number, protocol)


# --- typed access, reporting wrong shapes ---------------------------------------------------------

_WORDS = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}


def _field(obj: Mapping[str, Any], key: str, at: Path, want: type, report: Report, required: bool = False) -> Any:
    """obj[key] if it has type `want`; None when absent or null (reported if required) or mistyped."""
    value = obj.get(key)
    if value is None or (value == "" and required):
        if required and value is None:
            report("missing-key", at, f"missing required key '{key}'.")
        elif required:
            report("empty", at + (key,), f"'{key}' must not be empty.")
        return None
    if not isinstance(value, want) or (isinstance(value, bool) and want is not bool):
        report("wrong-type", at + (key,), f"'{key}' must be {_WORDS[want]}, not {_describe(value)}.")
        return None
    return value


def _items(obj: Mapping[str, Any], key: str, at: Path, report: Report, required: bool = False) -> list[tuple[int, Any]]:
    return list(enumerate(_field(obj, key, at, list, report, required) or []))


def _strings(obj: Mapping[str, Any], key: str, at: Path, report: Report,
             required: bool = False) -> list[tuple[int, str]]:
    out = []
    for i, item in _items(obj, key, at, report, required):
        if isinstance(item, str):
            out.append((i, item))
        else:
            report("wrong-type", at + (key, i), f"each of '{key}' must be a string, not {_describe(item)}.")
    return out


def _strings_map(obj: Mapping[str, Any], key: str, at: Path, report: Report) -> dict[str, str]:
    """Annotations and labels: map[string]string in Kubernetes."""
    out = {}
    for k, v in sorted((_field(obj, key, at, dict, report) or {}).items()):
        if isinstance(v, str):
            out[k] = v
        else:
            report("wrong-type", at + (key, k), f"{key} values are strings, not {_describe(v)}; quote it.")
    return out


def _one_of(value: str, allowed: tuple[str, ...], at: Path, report: Report) -> bool:
    if value in allowed:
        return True
    report("bad-value", at, f"{value!r} is not one of {', '.join(allowed)}.")
    return False


def _is_mapping(value: Any, at: Path, what: str, report: Report) -> bool:
    if not isinstance(value, dict):
        report("wrong-type", at, f"{what} must be a mapping, not {_describe(value)}.")
    return isinstance(value, dict)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (str, int, float)):
        return f"the {'string' if isinstance(value, str) else 'number'} {value!r}"
    return "null" if value is None else "a list" if isinstance(value, list) else "a mapping"


# --- the folder -----------------------------------------------------------------------------------

def load_state(state_dir: str) -> tuple[State, list[Diagnostic]]:
    """Every cluster's Services with their EndpointSlices, and every problem found, sorted."""
    if not os.path.isdir(state_dir):
        raise StateError(f"{state_dir}: no such folder" if not os.path.exists(state_dir)
                         else f"{state_dir} is not a folder; give the folder holding one folder per cluster")
    entries = [os.path.join(state_dir, e) for e in _listdir(state_dir)]
    clusters = tuple(os.path.basename(e) for e in entries if os.path.isdir(e))
    if not clusters:
        raise StateError(f"{state_dir} holds no cluster folder; put each cluster's objects in {state_dir}/<cluster>/")
    diagnostics = [Diagnostic("warning", "stray-file", "this file is not read: objects go in a cluster folder, "
                              f"{state_dir}/<cluster>/.", e, 1, 1)
                   for e in entries if os.path.isfile(e) and e.lower().endswith(EXTENSIONS)]
    services: dict[tuple[str, str], dict[str, ClusterService]] = {}
    for cluster in clusters:
        for key, svc in _load_cluster(os.path.join(state_dir, cluster), cluster, diagnostics).items():
            services.setdefault(key, {})[cluster] = svc
    return State(clusters, dict(sorted(services.items()))), unique_sorted(diagnostics)


def _listdir(folder: str) -> list[str]:
    """Visible entries, sorted."""
    try:
        return sorted(e for e in os.listdir(folder) if not e.startswith("."))
    except OSError as exc:
        raise StateError(f"{folder}: cannot read the folder: {exc.strerror}") from None


def _load_cluster(folder: str, cluster: str, diagnostics: list[Diagnostic]) -> dict[tuple[str, str], ClusterService]:
    checker = Checker(Document(folder, None))
    check_cluster_name(checker, (), cluster)
    diagnostics.extend(checker.diagnostics)
    first: dict[tuple[str, str, str], str] = {}  # (kind, namespace, name) -> FILE:LINE of its first definition
    services: dict[tuple[str, str], ClusterService] = {}
    slices: dict[tuple[str, str], tuple[NamedSlice, Document, Path]] = {}
    for file in _files(folder, diagnostics):
        for kind, item, doc, at in _read_file(file, diagnostics):
            key = (item.namespace, item.name)
            if (kind,) + key in first:
                doc = _positioned(doc)
                _reporter(doc, at, diagnostics)(
                    f"duplicate-{kind.lower()}", ("metadata", "name"), f"{kind} {key[0]}/{key[1]} is already "
                    f"defined at {first[(kind,) + key]}; a cluster holds one {kind} of a name.")
                continue
            first[(kind,) + key] = f"{file}:{_positioned(doc).position(at + ('metadata', 'name')).line}" \
                if doc.positioned else file
            if isinstance(item, ClusterService):
                services[key] = item
            else:
                slices[key] = (item, doc, at)
    owned: dict[tuple[str, str], list[EndpointSlice]] = {}
    for (namespace, name), (es, doc, at) in sorted(slices.items()):
        if es.service is not None and (namespace, es.service) in services:
            owned.setdefault((namespace, es.service), []).append(es.slice)
        else:
            # Without its Service the slice feeds no frontend, and Cilium exports nothing for it.
            why = (f"is labelled for Service {namespace}/{es.service}, which is not in cluster {cluster!r}"
                   if es.service is not None else f"has no '{SERVICE_NAME_LABEL}' label, so it belongs to no Service")
            diagnostics.append(_positioned(doc).diagnostic(
                "warning", "orphan-endpointslice", at + ("metadata", "labels", SERVICE_NAME_LABEL),
                f"EndpointSlice {namespace}/{name} {why}; it is ignored."))
    return {key: replace(svc, slices=tuple(owned.get(key, ()))) for key, svc in sorted(services.items())}


Item = tuple[str, Any, Document, Path]  # (kind, ClusterService | NamedSlice, its document, its path there)


def _read_file(file: str, diagnostics: list[Diagnostic]) -> list[Item]:
    """The Services and EndpointSlices of one file. JSON (what `kubectl -o json` dumps at scale) is read
    without positions first; only a file with a problem is read again to locate it."""
    try:
        text = read_text(file, MAX_STATE_FILE_BYTES)
        docs = load_json_fast(text, file) if file.lower().endswith(".json") else None
        if docs is not None:
            found: list[Diagnostic] = []
            items = _parse_docs(docs, found)
            if not found:
                return items
        docs = load_documents(text, file)
    except LoadError as exc:
        diagnostics.append(exc.diagnostic)
        return []
    return _parse_docs(docs, diagnostics)


def _parse_docs(docs: list[Document], diagnostics: list[Diagnostic]) -> list[Item]:
    items = []
    for doc in docs:
        for at, kind, obj in _objects(doc, diagnostics):
            report = _reporter(doc, at, diagnostics)
            item = parse_service(obj, report) if kind == "Service" else parse_slice(obj, report)
            if item.name:
                items.append((kind, item, doc, at))
    return items


def _positioned(doc: Document) -> Document:
    """The same document read with positions (for a problem found only after a fast read)."""
    if doc.positioned:
        return doc
    return load_documents(read_text(doc.file, MAX_STATE_FILE_BYTES), doc.file)[0]


def _files(folder: str, diagnostics: list[Diagnostic]) -> list[str]:
    try:
        names = _listdir(folder)
    except StateError as exc:
        diagnostics.append(Diagnostic("error", "unreadable", str(exc), folder, 1, 1))
        return []
    paths = [os.path.join(folder, n) for n in names if n.lower().endswith(EXTENSIONS)]
    return [p for p in paths if os.path.isfile(p)]


def _reporter(doc: Document, base: Path, diagnostics: list[Diagnostic]) -> Report:
    def report(code: str, path: Path, message: str) -> None:
        diagnostics.append(doc.diagnostic("error", code, base + tuple(path), message))
    return report


def _objects(doc: Document, diagnostics: list[Diagnostic]) -> list[tuple[Path, str, dict]]:
    """The Services and EndpointSlices of one document, Lists flattened, with their paths. Loader problems
    inside objects of other kinds are dropped with them: those objects (Secrets above all) are not read."""
    found: list[tuple[Path, str, dict]] = []
    ignored: list[str] = []

    def walk(obj: Any, at: Path, inherited: tuple[str, str] | None) -> None:
        report = _reporter(doc, at, diagnostics)
        if not _is_mapping(obj, (), "a Kubernetes object", report):
            return
        fallback = inherited or ("", "")
        api_version = _field(obj, "apiVersion", (), str, report, required=inherited is None) or fallback[0]
        kind = _field(obj, "kind", (), str, report, required=inherited is None) or fallback[1]
        if not (api_version and kind):
            return
        if kind == "List" or (kind.endswith("List") and "items" in obj):
            # kubectl's `kind: List` items carry their own kind; a typed list's (ServiceList) may not.
            item_type = (api_version, kind[:-len("List")]) if kind != "List" else None
            for i, item in _items(obj, "items", (), report):
                walk(item, at + ("items", i), item_type)
        elif (api_version, kind) in _KINDS:
            found.append((at, _KINDS[api_version, kind], obj))
        else:
            ignored.append(format_path(at))

    walk(doc.data, (), None)
    diagnostics.extend(p for p in doc.problems if not any(_within(p.path, prefix) for prefix in ignored))
    return found


def _within(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith((prefix + ".", prefix + "["))
