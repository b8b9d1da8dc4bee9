"""The API server's own Service validation, field by field, for what a JSON schema cannot say.

Mirrors Kubernetes 1.34 `pkg/apis/core/validation/validation.go` (ValidateService and the functions it
calls, named in each rule), applied as the API server applies it: after the defaults of
`pkg/apis/core/v1/defaults.go` (SetDefaults_Service, SetDefaults_ServicePort) and the create strategy's
clusterIP/clusterIPs sync (`pkg/registry/core/service/strategy.go`). Values of the wrong type are left
to the schema check (service_schema.py), so each rule reads only well-typed fields.

Findings are (path inside the Service object, message, at_key).
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any, Iterator

from .names import is_dns1123_label, is_dns1123_subdomain, is_label_value, is_qualified_name

Finding = tuple[tuple, str, bool]

SERVICE_TYPES = ("ClusterIP", "NodePort", "LoadBalancer", "ExternalName")  # supportedServiceType
PROTOCOLS = ("TCP", "UDP", "SCTP")  # supportedPortProtocols
SESSION_AFFINITIES = ("None", "ClientIP")  # supportedSessionAffinityType
IP_FAMILIES = ("IPv4", "IPv6")  # supportedServiceIPFamily
IP_FAMILY_POLICIES = ("SingleStack", "PreferDualStack", "RequireDualStack")  # supportedServiceIPFamilyPolicy
TRAFFIC_POLICIES = ("Cluster", "Local")  # validExternalTrafficPolicies, supportedServiceInternalTrafficPolicy
TRAFFIC_DISTRIBUTIONS = ("PreferClose", "PreferSameZone", "PreferSameNode")  # 1.34: PreferSame* on by default
MAX_CLIENT_IP_TIMEOUT = 86400  # core.MaxClientIPServiceAffinitySeconds
# IsValidPortName (k8s.io/apimachinery/pkg/util/validation): an IANA service name, for targetPort names.
IANA_SVC_NAME = re.compile(r"^(?=.{1,15}$)(?=.*[a-z])[a-z0-9]([a-z0-9]|-(?!-))*[a-z0-9]?$")


def _headless(spec: dict[str, Any]) -> bool:
    """isHeadlessService: clusterIP None (after the strategy's sync, clusterIPs[0] is the same)."""
    return spec.get("clusterIP") == "None" or (_strings(spec.get("clusterIPs"))[:1] == ["None"])


def service_rules(spec: Any) -> Iterator[Finding]:
    """Everything the API server rejects in this ServiceSpec that its schema does not."""
    if not isinstance(spec, dict):
        return
    kind = _str(spec.get("type")) or "ClusterIP"
    yield from _type(spec, kind)
    ports = spec.get("ports") if isinstance(spec.get("ports"), list) else []
    mistyped = spec.get("ports") is not None and not isinstance(spec.get("ports"), list)  # the schema says so
    if not ports and not mistyped and not _headless(spec) and kind != "ExternalName":
        yield ("spec",), "a Service needs at least one entry in spec.ports (unless clusterIP is None)", False
    yield from _ports(spec, ports, kind)
    yield from _selector(spec)
    yield from _session_affinity(spec)
    if kind == "ExternalName":
        yield from _external_name(spec)
    else:
        yield from _cluster_ips(spec)
    yield from _external_ips(spec)
    yield from _load_balancer_fields(spec, kind)
    yield from _traffic_policies(spec, kind)


def _type(spec: dict, kind: str) -> Iterator[Finding]:
    if kind not in SERVICE_TYPES:
        import difflib  # imported for a typo only: start-up pays nothing
        hint = difflib.get_close_matches(kind, SERVICE_TYPES, n=1)
        yield ("spec", "type"), (f"type {kind!r} is not a Service type; use one of {', '.join(SERVICE_TYPES)}"
                                 + (f" (did you mean {hint[0]!r}?)" if hint else "")), False
    if kind in ("NodePort", "LoadBalancer") and _headless(spec):
        yield ("spec", "clusterIP"), f"clusterIP may not be 'None' for {kind} services (a {kind} needs a cluster IP)", \
            False


def _ports(spec: dict, ports: list, kind: str) -> Iterator[Finding]:
    """validateServicePort for each port, then the duplicate (port, protocol) and nodePort checks."""
    names: dict[str, int] = {}
    numbers: dict[tuple, int] = {}
    node_ports: dict[tuple, int] = {}
    for i, port in enumerate(ports):
        at = ("spec", "ports", i)
        if port is None:  # a JSON null item decodes to a zero ServicePort, whose port 0 is invalid
            yield at, "this port is null; write a mapping with at least 'port'", False
            continue
        if not isinstance(port, dict):
            continue
        name = _str(port.get("name"))
        if len(ports) > 1 and not name:
            yield at, ("this Service has several ports, so every port needs a 'name' (Kubernetes rejects it "
                       "otherwise)"), False
        elif name:
            if not is_dns1123_label(name):
                yield at + ("name",), (f"port name {name!r} must be a DNS-1123 label: at most 63 lowercase letters, "
                                       "digits or '-', starting and ending with a letter or digit"), False
            if name in names:
                yield at + ("name",), f"port name {name!r} is already used by ports[{names[name]}]", False
            names.setdefault(name, i)
        number = _int(port.get("port"))
        if "port" in port and port["port"] is None or number is not None and not 1 <= number <= 65535:
            yield at + ("port",), f"port {number if number is not None else 0} is out of range 1-65535", False
        protocol = _str(port.get("protocol")) or "TCP"
        if protocol not in PROTOCOLS:
            import difflib
            hint = difflib.get_close_matches(protocol.upper(), PROTOCOLS, n=1)
            yield at + ("protocol",), (f"protocol {protocol!r} is not supported; use one of {', '.join(PROTOCOLS)}"
                                       + (f" (did you mean {hint[0]!r}?)" if hint else "")), False
        if number is not None:
            key = (number, protocol)
            if key in numbers:
                yield at + ("port",), f"port {number}/{protocol} is already used by ports[{numbers[key]}]", False
            numbers.setdefault(key, i)
        yield from _target_port(port, at)
        app = _str(port.get("appProtocol"))
        if app is not None and not is_qualified_name(app):
            yield at + ("appProtocol",), (f"appProtocol {app!r} must be a qualified name, e.g. http or "
                                          "kubernetes.io/h2c"), False
        node_port = _int(port.get("nodePort"))
        if node_port:
            if kind in ("ClusterIP", "ExternalName"):
                yield at + ("nodePort",), f"nodePort may not be set when type is {kind!r} (only NodePort and " \
                    "LoadBalancer Services get node ports)", False
            elif not 1 <= node_port <= 65535:
                yield at + ("nodePort",), f"nodePort {node_port} is out of range 1-65535", False
            key = (node_port, protocol)
            if key in node_ports:
                yield at + ("nodePort",), f"nodePort {node_port}/{protocol} is already used by ports[{node_ports[key]}]", \
                    False
            node_ports.setdefault(key, i)
        # No kubelet-port (10250) rule: validation.go (v1.36) has none, and kube-apiserver v1.36.3 accepts a
        # LoadBalancer on 10250 (tests/e2e/test_service_validation.py).


def _target_port(port: dict, at: tuple) -> Iterator[Finding]:
    """ValidatePortNumOrName; 0 and "" default to the port (SetDefaults_ServicePort)."""
    target = port.get("targetPort")
    if isinstance(target, bool):
        return
    if isinstance(target, int) and target != 0 and not 1 <= target <= 65535:
        yield at + ("targetPort",), f"targetPort {target} is out of range 1-65535", False
    if isinstance(target, str) and target and not IANA_SVC_NAME.match(target):
        yield at + ("targetPort",), (f"targetPort {target!r} must be a port number or a container port name "
                                     "(at most 15 lowercase letters, digits or '-', with at least one letter)"), False


def _selector(spec: dict) -> Iterator[Finding]:
    """ValidateLabels on the selector."""
    selector = spec.get("selector")
    if not isinstance(selector, dict):
        return
    for key, value in selector.items():
        at = ("spec", "selector", key)
        if isinstance(key, str) and not is_qualified_name(key):
            yield at, f"selector key {key!r} is not a valid label key", True
        if isinstance(value, str) and not is_label_value(value):
            yield at, (f"selector value {value!r} must be at most 63 letters, digits, '-', '_' or '.', starting and "
                       "ending with a letter or digit"), False


def _session_affinity(spec: dict) -> Iterator[Finding]:
    affinity = _str(spec.get("sessionAffinity")) or "None"
    config = spec.get("sessionAffinityConfig")
    if affinity not in SESSION_AFFINITIES:
        import difflib
        hint = difflib.get_close_matches(affinity, SESSION_AFFINITIES, n=1, cutoff=0.4)
        yield ("spec", "sessionAffinity"), (f"sessionAffinity {affinity!r} is not supported; use None or ClientIP"
                                            + (f" (did you mean {hint[0]!r}?)" if hint else "")), False
    # With sessionAffinity None, SetDefaults_Service (pkg/apis/core/v1/defaults.go) drops any
    # sessionAffinityConfig before validation runs, so the API server accepts it.
    elif affinity == "ClientIP" and isinstance(config, dict):  # validateClientIPAffinityConfig
        timeout = _int((config.get("clientIP") or {}).get("timeoutSeconds")) \
            if isinstance(config.get("clientIP"), dict) else None
        if timeout is not None and not 0 < timeout <= MAX_CLIENT_IP_TIMEOUT:
            yield ("spec", "sessionAffinityConfig", "clientIP", "timeoutSeconds"), \
                f"timeoutSeconds {timeout} must be from 1 to {MAX_CLIENT_IP_TIMEOUT}", False


def _external_name(spec: dict) -> Iterator[Finding]:
    """ExternalName Services: a DNS name, and no cluster IPs or IP families."""
    for field in ("clusterIPs", "ipFamilies", "ipFamilyPolicy"):
        if spec.get(field) not in (None, []):
            yield ("spec", field), f"{field} may not be set for ExternalName services", False
    if _str(spec.get("clusterIP")):
        yield ("spec", "clusterIP"), "clusterIP may not be set for ExternalName services", False
    name = _str(spec.get("externalName"))
    cname = (name or "").removesuffix(".")
    if not cname:
        yield ("spec",), "an ExternalName Service needs spec.externalName (the DNS name it aliases)", False
    elif not is_dns1123_subdomain(cname):
        yield ("spec", "externalName"), (f"externalName {name!r} must be a DNS name: lowercase letters, digits, "
                                         "'-' and '.'"), False


def _cluster_ips(spec: dict) -> Iterator[Finding]:
    """ValidateServiceClusterIPsRelatedFields, after the strategy copies clusterIP into an empty clusterIPs."""
    cluster_ip = _str(spec.get("clusterIP")) or ""
    ips = _strings(spec.get("clusterIPs")) or ([cluster_ip] if cluster_ip else [])
    families = _strings(spec.get("ipFamilies"))
    policy = _str(spec.get("ipFamilyPolicy"))
    if cluster_ip and ips[0] != cluster_ip:
        yield ("spec", "clusterIPs"), f"clusterIPs[0] must match clusterIP {cluster_ip!r}", False
    seen: set[str] = set()
    for i, family in enumerate(families):
        if family not in IP_FAMILIES:
            yield ("spec", "ipFamilies", i), f"ipFamilies[{i}] {family!r} is not supported; use IPv4 or IPv6", False
        elif family in seen:
            yield ("spec", "ipFamilies", i), f"ipFamilies lists {family} twice", False
        seen.add(family)
    if policy is not None and policy not in IP_FAMILY_POLICIES:
        import difflib
        hint = difflib.get_close_matches(policy, IP_FAMILY_POLICIES, n=1, cutoff=0.4)
        yield ("spec", "ipFamilyPolicy"), (f"ipFamilyPolicy {policy!r} is not supported; use one of "
                                           f"{', '.join(IP_FAMILY_POLICIES)}"
                                           + (f" (did you mean {hint[0]!r}?)" if hint else "")), False
    if policy == "SingleStack" and len(families) > 1:  # registry/core/service/storage/alloc.go
        yield ("spec", "ipFamilyPolicy"), ("ipFamilyPolicy SingleStack allows one IP family; use PreferDualStack or "
                                           "RequireDualStack with two"), False
    bad = False
    for i, ip in enumerate(ips):
        if i == 0 and ip == "None":
            if len(ips) > 1:
                bad = True
                yield ("spec", "clusterIPs"), "'None' must be the first and only value of clusterIPs", False
            continue
        if _ip(ip) is None:
            bad = True
            at = ("spec", "clusterIPs", i) if spec.get("clusterIPs") else ("spec", "clusterIP")
            yield at, f"{ip!r} is not a valid IP address (write an IP, None, or leave it out)", False
    if len(ips) > 2:
        yield ("spec", "clusterIPs"), "clusterIPs may hold at most 2 values, one per IP family", False
    if bad:
        return
    parsed = [_ip(ip) for ip in ips if ip != "None"]
    if len(parsed) == 2 and parsed[0].version == parsed[1].version:
        yield ("spec", "clusterIPs"), "clusterIPs may hold one IP for each IP family, not two of one family", False
    for i, (ip, family) in enumerate(zip(parsed, families)):
        if family in IP_FAMILIES and f"IPv{ip.version}" != family:
            yield ("spec", "clusterIPs" if spec.get("clusterIPs") else "clusterIP"), \
                f"{ip} is not an {family} address, as ipFamilies[{i}] says it is", False


def _external_ips(spec: dict) -> Iterator[Finding]:
    """IsValidIP and ValidateNonSpecialIP for each external IP."""
    for i, text in enumerate(_strings(spec.get("externalIPs"))):
        ip = _ip(text)
        if ip is None:
            yield ("spec", "externalIPs", i), f"{text!r} is not a valid IP address", False
        elif ip.is_unspecified or ip.is_loopback or ip.is_link_local or (ip.is_multicast and ip.is_link_local):
            yield ("spec", "externalIPs", i), f"{text} may not be an unspecified, loopback or link-local address", False


def _load_balancer_fields(spec: dict, kind: str) -> Iterator[Finding]:
    for field in ("loadBalancerSourceRanges", "allocateLoadBalancerNodePorts", "loadBalancerClass"):
        if kind != "LoadBalancer" and spec.get(field) not in (None, []):
            yield ("spec", field), f"{field} may only be used when type is 'LoadBalancer'", False
    for i, text in enumerate(_strings(spec.get("loadBalancerSourceRanges"))):
        try:
            ipaddress.ip_network(text.strip(), strict=False)
        except ValueError:
            yield ("spec", "loadBalancerSourceRanges", i), f"{text!r} is not a CIDR, e.g. 10.0.0.0/8", False
    lb_class = _str(spec.get("loadBalancerClass"))
    if lb_class is not None and kind == "LoadBalancer" and not is_qualified_name(lb_class):
        yield ("spec", "loadBalancerClass"), f"loadBalancerClass {lb_class!r} must be a qualified name", False


def _traffic_policies(spec: dict, kind: str) -> Iterator[Finding]:
    """validateServiceExternalTrafficPolicy, validateServiceInternalTrafficFieldsValue,
    validateServiceTrafficDistribution."""
    external = _str(spec.get("externalTrafficPolicy"))
    accessible = kind in ("NodePort", "LoadBalancer") or (kind == "ClusterIP" and _strings(spec.get("externalIPs")))
    if external is not None and external != "":
        if not accessible:
            yield ("spec", "externalTrafficPolicy"), ("externalTrafficPolicy may only be set for externally "
                                                      "accessible Services (NodePort, LoadBalancer, or with "
                                                      "externalIPs)"), False
        elif external not in TRAFFIC_POLICIES:
            yield ("spec", "externalTrafficPolicy"), (f"externalTrafficPolicy {external!r} is not supported; use "
                                                      "Cluster or Local"), False
    health = _int(spec.get("healthCheckNodePort"))
    if health and not (kind == "LoadBalancer" and external == "Local"):
        yield ("spec", "healthCheckNodePort"), ("healthCheckNodePort may only be set when type is 'LoadBalancer' and "
                                                "externalTrafficPolicy is 'Local'"), False
    internal = _str(spec.get("internalTrafficPolicy"))
    if internal is not None and internal not in TRAFFIC_POLICIES:
        yield ("spec", "internalTrafficPolicy"), (f"internalTrafficPolicy {internal!r} is not supported; use Cluster "
                                                  "or Local"), False
    distribution = _str(spec.get("trafficDistribution"))
    if distribution is not None and distribution not in TRAFFIC_DISTRIBUTIONS:
        yield ("spec", "trafficDistribution"), (f"trafficDistribution {distribution!r} is not supported; use one of "
                                                f"{', '.join(TRAFFIC_DISTRIBUTIONS)}"), False


# --- well-typed access ------------------------------------------------------------------------------

def _str(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def _strings(value: Any) -> list[str]:
    return [v for v in value if isinstance(v, str)] if isinstance(value, list) else []


def _ip(text: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    """netutils.ParseIPSloppy would also take leading zeros; the API server's IsValidIP rejects them since
    1.33 (StrictIPCIDRValidation), as ipaddress does."""
    try:
        return ipaddress.ip_address(text)
    except ValueError:
        return None
