"""Kubernetes objects as the API serves them (camelCase JSON) -> the routing engine's input.

Pure: no I/O. `cluster_service` builds one cilium.routing.ClusterService from a Service and its
EndpointSlices, applying Kubernetes' defaults; simulate (analysis/state.py), verify and import share it.
Malformed parts are reported through a `Report` (code, path inside the object, message) and left out.
"""

from __future__ import annotations

import functools
from typing import Any, Iterable, Iterator, Mapping

from ..cilium.routing import ClusterService, Endpoint, EndpointSlice, Port
from ..diagnostics import Path, Report, format_path
from ..record import field, record, replace

SERVICE_NAME_LABEL = "kubernetes.io/service-name"  # how an EndpointSlice names its Service
PROTOCOLS = ("TCP", "UDP", "SCTP")
ADDRESS_TYPES = ("IPv4", "IPv6", "FQDN")
IP_FAMILIES = ("IPv4", "IPv6")


def is_headless(spec: Mapping[str, Any]) -> bool:
    """No cluster IP: a headless or ExternalName Service. Kubernetes needs no ports for it, and Cilium has
    no frontend to load-balance (cilium-semantics.md section 2, "Headless services")."""
    return spec.get("clusterIP") == "None" or spec.get("type") == "ExternalName"


@record(compiled=True)
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
    fast = fast_service(obj)
    if fast is not None:
        return fast
    meta, namespace, name = _metadata(obj, report)
    spec = get_typed(obj, "spec", (), dict, report) or {}
    cluster_ip = get_typed(spec, "clusterIP", ("spec",), str, report)
    get_typed(spec, "type", ("spec",), str, report)  # a wrong type is reported; is_headless then reads False
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
    fast = fast_slice(obj)
    if fast is not None:
        return fast
    meta, namespace, name = _metadata(obj, report)
    service = _strings_map(meta, "labels", ("metadata",), report).get(SERVICE_NAME_LABEL)
    address_type = get_typed(obj, "addressType", (), str, report, required=True)
    if address_type is not None and not _one_of(address_type, ADDRESS_TYPES, ("addressType",), report):
        address_type = None
    endpoints = tuple(ep for i, item in get_items(obj, "endpoints", (), report)
                      for ep in _endpoints(item, ("endpoints", i), report))
    ports = tuple(_ports(obj, (), report, port_required=False))
    return NamedSlice(namespace, name, service, EndpointSlice(ports, endpoints, address_type or "IPv4"))


def _metadata(obj: Mapping[str, Any], report: Report) -> tuple[dict[str, Any], str, str]:
    """metadata, namespace ("default" when unset, as kubectl applies it) and name ("" when unusable)."""
    meta = get_typed(obj, "metadata", (), dict, report, required=True)
    if meta is None:
        return {}, "default", ""
    name = get_typed(meta, "name", ("metadata",), str, report, required=True) or ""
    return meta, get_typed(meta, "namespace", ("metadata",), str, report) or "default", name


def _endpoints(item: Any, at: Path, report: Report) -> list[Endpoint]:
    if not check_mapping(item, at, "an endpoint", report):
        return []
    conditions = get_typed(item, "conditions", at, dict, report) or {}
    ready, serving, terminating = (get_typed(conditions, key, at + ("conditions",), bool, report)
                                   for key in ("ready", "serving", "terminating"))
    # discovery.k8s.io/v1 EndpointConditions: unknown ready means ready, unknown serving defers to
    # ready, unknown terminating means not terminating.
    ready = True if ready is None else ready
    serving = ready if serving is None else serving
    addresses = _strings(item, "addresses", at, report, required=True)
    return [Endpoint(address, ready, serving, bool(terminating)) for _, address in addresses]


def _ports(parent: Mapping[str, Any], at: Path, report: Report, port_required: bool) -> Iterator[Port]:
    for i, item in get_items(parent, "ports", at, report):
        here = at + ("ports", i)
        if not check_mapping(item, here, "a port", report):
            continue
        name = get_typed(item, "name", here, str, report) or ""
        protocol = get_typed(item, "protocol", here, str, report) or "TCP"
        number = get_typed(item, "port", here, int, report, required=port_required)
        if not _one_of(protocol, PROTOCOLS, here + ("protocol",), report):
            continue
        if number is not None and not 1 <= number <= 65535:
            report("bad-value", here + ("port",), f"'port' is {number}; a port number is 1 to 65535.")
        elif number is not None:  # a slice port without a number is skipped, as Cilium's parseEndpointPortV1 does
            yield Port(name, number, protocol)


# --- the fast path: well-formed objects --------------------------------------------------------------
# A state dump holds 100,000s of objects, nearly all well-formed. These functions convert an object that
# has nothing to report in one pass of type checks, and return None at the first doubt: the checked path
# above then converts it again and reports (so both give the same result; tests/k8s compare them). A caller
# with many objects may call fast_service/fast_slice first and build a reporter only for a None.

def fast_service(obj: Mapping[str, Any]) -> ClusterService | None:
    meta, spec = obj.get("metadata"), obj.get("spec")
    if type(meta) is not dict or type(spec) is not dict:
        return None
    placed = _fast_metadata(meta)
    annotations = _fast_strings_map(meta.get("annotations"))
    cluster_ip, kind = spec.get("clusterIP"), spec.get("type")
    ports = _fast_ports(spec.get("ports"), required=True)
    if placed is None or annotations is None or ports is None or not (cluster_ip is None or type(cluster_ip) is str) \
            or not (kind is None or type(kind) is str):
        return None
    declared, ips = spec.get("ipFamilies"), spec.get("clusterIPs")
    if declared is not None and declared != ["IPv4"] and not (
            type(declared) is list and all(f in IP_FAMILIES and type(f) is str for f in declared)):
        return None
    if ips is not None and not (type(ips) is list and all(type(ip) is str for ip in ips)):
        return None
    if declared:
        families = _IPV4 if declared == ["IPv4"] else tuple(dict.fromkeys(declared))
    else:
        families = tuple(dict.fromkeys(["IPv6" if ":" in ip else "IPv4" for ip in (ips or [cluster_ip or ""])
                                        if ip not in ("", "None")])) or _IPV4
    return ClusterService(placed[0], placed[1], annotations, ports, cluster_ip == "None" or kind == "ExternalName",
                    families)


def fast_slice(obj: Mapping[str, Any]) -> NamedSlice | None:
    meta, address_type = obj.get("metadata"), obj.get("addressType")
    if type(meta) is not dict or type(address_type) is not str or address_type not in ADDRESS_TYPES:
        return None
    placed, labels = _fast_metadata(meta), meta.get("labels")
    ports, items = _fast_ports(obj.get("ports"), required=False), obj.get("endpoints")
    if placed is None or ports is None or not (items is None or type(items) is list):
        return None
    if labels is None:
        labels = {}
    elif type(labels) is not dict:
        return None
    for value in labels.values():  # a loop, not all() over a generator: half the time
        if type(value) is not str:
            return None
    endpoints = []
    for item in items or ():
        if type(item) is not dict:
            return None
        conditions, addresses = item.get("conditions"), item.get("addresses")
        if conditions is None:
            ready = serving = terminating = None
        elif type(conditions) is dict:
            ready, serving = conditions.get("ready"), conditions.get("serving")
            terminating = conditions.get("terminating")
        else:
            return None
        # Identity, not ==: 1 and 0.0 equal True and False but are not booleans.
        if type(addresses) is not list or not (ready is None or ready is True or ready is False) \
                or not (serving is None or serving is True or serving is False) \
                or not (terminating is None or terminating is True or terminating is False):
            return None
        if ready is None:
            ready = True
        if serving is None:
            serving = ready
        terminating = terminating is True
        for address in addresses:
            if type(address) is not str:
                return None
            endpoints.append(Endpoint(address, ready, serving, terminating))
    return NamedSlice(placed[0], placed[1], labels.get(SERVICE_NAME_LABEL),
                      EndpointSlice(ports, tuple(endpoints), address_type))


_IPV4 = ("IPv4",)


def _fast_metadata(meta: dict) -> tuple[str, str] | None:
    name, namespace = meta.get("name"), meta.get("namespace")
    if type(name) is not str or not name or not (namespace is None or type(namespace) is str):
        return None
    return namespace or "default", name


def _fast_strings_map(value: Any) -> dict[str, str] | None:
    if value is None:
        return {}
    if type(value) is not dict:
        return None
    for v in value.values():
        if type(v) is not str:
            return None
    return value.copy() if len(value) < 2 else dict(sorted(value.items()))


def _fast_ports(items: Any, required: bool) -> tuple[Port, ...] | None:
    if items is None:
        return ()
    if type(items) is not list:
        return None
    ports = []
    for item in items:
        if type(item) is not dict:
            return None
        name, protocol, number = item.get("name"), item.get("protocol"), item.get("port")
        if not (name is None or type(name) is str) or (protocol or "TCP") not in PROTOCOLS or \
                not (protocol is None or type(protocol) is str):
            return None
        if type(number) is int and 1 <= number <= 65535:
            ports.append(_port(name or "", number, protocol or "TCP"))
        elif number is not None or required:
            return None
    return tuple(ports)


@functools.lru_cache(maxsize=4096)
def _port(name: str, number: int, protocol: str) -> Port:
    """One shared Port per distinct port: a state repeats the same few 100,000s of times."""
    return Port(name, number, protocol)


# --- typed access, reporting wrong shapes ---------------------------------------------------------
_WORDS = {dict: "a mapping", list: "a list", str: "a string", int: "an integer", bool: "a boolean"}


def get_typed(obj: Mapping[str, Any], key: str, at: Path, want: type, report: Report, required: bool = False) -> Any:
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


def get_items(obj: Mapping[str, Any], key: str, at: Path, report: Report, required: bool = False) -> list[tuple[int, Any]]:
    return list(enumerate(get_typed(obj, key, at, list, report, required) or []))


def _strings(obj: Mapping[str, Any], key: str, at: Path, report: Report,
             required: bool = False) -> list[tuple[int, str]]:
    out = []
    for i, item in get_items(obj, key, at, report, required):
        if isinstance(item, str):
            out.append((i, item))
        else:
            report("wrong-type", at + (key, i), f"each of '{key}' must be a string, not {_describe(item)}.")
    return out


def _strings_map(obj: Mapping[str, Any], key: str, at: Path, report: Report) -> dict[str, str]:
    """Annotations and labels: map[string]string in Kubernetes."""
    out = {}
    for k, v in sorted((get_typed(obj, key, at, dict, report) or {}).items()):
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


def check_mapping(value: Any, at: Path, what: str, report: Report) -> bool:
    if not isinstance(value, dict):
        report("wrong-type", at, f"{what} must be a mapping, not {_describe(value)}.")
    return isinstance(value, dict)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (str, int, float)):
        return f"the {'string' if isinstance(value, str) else 'number'} {value!r}"
    return "null" if value is None else "a list" if isinstance(value, list) else "a mapping"


# --- MCS-API objects and Namespaces (cilium/mcs.py models what Cilium does with them) -------------------

MCS_GROUP = "multicluster.x-k8s.io"


@record
class MetaObject:
    """A ServiceExport, ServiceImport or Namespace: what the routing model reads of it."""

    kind: str
    namespace: str  # "" for a Namespace
    name: str
    annotations: Mapping[str, str]
    created: str = ""  # metadata.creationTimestamp (RFC 3339)
    exported_annotations: Mapping[str, str] = field(default_factory=dict)  # a ServiceExport's spec
    exported_labels: Mapping[str, str] = field(default_factory=dict)
    conditions: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)  # status.conditions by type


def parse_meta_object(kind: str, obj: Mapping[str, Any], report: Report) -> MetaObject:
    """One ServiceExport, ServiceImport or Namespace; malformed parts are reported and left out."""
    meta, namespace, name = _metadata(obj, report)
    spec = get_typed(obj, "spec", (), dict, report) or {}
    status = get_typed(obj, "status", (), dict, report) or {}
    conditions = {c.get("type"): c for _, c in get_items(status, "conditions", ("status",), report)
                  if isinstance(c, dict) and isinstance(c.get("type"), str)}
    created = get_typed(meta, "creationTimestamp", ("metadata",), str, report) or ""
    return MetaObject(kind, "" if kind == "Namespace" else namespace, name,
                      _strings_map(meta, "annotations", ("metadata",), report), created,
                      _strings_map(spec, "exportedAnnotations", ("spec",), report),
                      _strings_map(spec, "exportedLabels", ("spec",), report), conditions)
