"""Kubernetes' and Cilium's naming rules, as pure functions, and the well-known keys meshspec uses.

The patterns are the API server's (k8s.io/apimachinery/pkg/util/validation) and Cilium's cluster-name
rule (pkg/clustermesh/types/types.go; cilium-semantics.md section 4).
"""

from __future__ import annotations

import ipaddress
import re

CLUSTER_NAME = re.compile(r"^([a-z0-9][-a-z0-9]*)?[a-z0-9]$")
CLUSTER_NAME_MAX = 32
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1035_LABEL = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
QUALIFIED_NAME = re.compile(r"^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$")
LABEL_VALUE = re.compile(r"^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$")
DNS1123_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")

MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshspec"  # the value of MANAGED_BY_LABEL on every object meshspec renders
# Namespaces every cluster has from the start (the API server creates them): never rendered nor created.
BUILTIN_NAMESPACES = frozenset({"default", "kube-system", "kube-public", "kube-node-lease"})


def cluster_name_problem(name: str) -> str | None:
    """Why Cilium refuses `name` as a cluster name, or None."""
    if not name:
        return "cluster name must not be empty."
    if len(name) > CLUSTER_NAME_MAX:
        return f"cluster name {name!r} is {len(name)} characters; Cilium allows at most {CLUSTER_NAME_MAX}."
    if not CLUSTER_NAME.match(name):
        return (f"cluster name {name!r} must be lowercase letters, digits and '-', starting and ending with a "
                "letter or digit (Cilium's rule).")
    if name == "default":
        return "cluster name 'default' is reserved: Cilium forbids it once Cluster Mesh is on."
    return None


def is_dns1123_label(text: str) -> bool:
    return len(text) <= 63 and bool(DNS1123_LABEL.match(text))


def is_dns1035_label(text: str) -> bool:
    return len(text) <= 63 and bool(DNS1035_LABEL.match(text))


def is_dns1123_subdomain(text: str) -> bool:
    return len(text) <= 253 and bool(DNS1123_SUBDOMAIN.match(text))


def is_qualified_name(key: str) -> bool:
    """A label or annotation key: an optional DNS-subdomain prefix and '/', then a name of at most 63."""
    prefix, _, name = key.rpartition("/")
    if prefix and not is_dns1123_subdomain(prefix):
        return False
    return len(name) <= 63 and bool(QUALIFIED_NAME.match(name))


def is_label_value(value: str) -> bool:
    return len(value) <= 63 and bool(LABEL_VALUE.match(value))


def is_ip(text: str | None) -> bool:
    try:
        ipaddress.ip_address(text or "")
        return True
    except ValueError:
        return False


def is_ip_or_hostname(text: str) -> bool:
    return is_ip(text) or is_dns1123_subdomain(text.lower())
