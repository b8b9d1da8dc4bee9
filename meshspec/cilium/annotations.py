"""The Service annotations Cilium reads for global services: every key and legacy alias, how Cilium
reads them (read_flags) and what meshspec writes (write_flags).

From ../shared/reference/cilium-semantics.md section 1, which cites pkg/annotation/k8s.go and
pkg/annotation/clustermesh.go.
"""

from __future__ import annotations

from typing import Mapping

from ..record import record

GLOBAL = "service.cilium.io/global"
SHARED = "service.cilium.io/shared"
AFFINITY = "service.cilium.io/affinity"
# pkg/annotation/k8s.go GlobalServiceSyncEndpointSlices: "true" (any case) on, any other value off; absent,
# on for headless Services (endpointslicesync, and mcsapi getEndpointSliceObjectsStatus).
SYNC_ENDPOINT_SLICES = "service.cilium.io/global-sync-endpoint-slices"
# On a Namespace (pkg/annotation GlobalNamespace; read in pkg/clustermesh/namespace, see cilium/mcs.py).
GLOBAL_NAMESPACE = "clustermesh.cilium.io/global"

# New keys first, then the legacy aliases; annotation.Get prefers the new key (section 1, "Lookup order").
GLOBAL_KEYS = (GLOBAL, "io.cilium/global-service")
SHARED_KEYS = (SHARED, "io.cilium/shared-service")
AFFINITY_KEYS = (AFFINITY, "io.cilium/service-affinity")

# The annotations meshspec derives from global/shared/affinity and so owns: a spec may not write them,
# and verify reports one the spec does not render as drift.
OWNED = GLOBAL_KEYS + SHARED_KEYS + AFFINITY_KEYS
PREFIX = "service.cilium.io/"
# The other Service annotations Cilium reads (pkg/annotation/k8s.go, Cilium 1.18-1.20), which a spec may
# set like any annotation. meshspec passes them through unchanged and does not model what they do: explain
# names them, so nobody mistakes its table for the whole story.
PASSED_THROUGH = {
    "service.cilium.io/global-sync-endpoint-slices": "EndpointSlice synchronization of remote endpoints",
    "service.cilium.io/lb-algorithm": "the backend selection algorithm (random or maglev)",
    "service.cilium.io/forwarding-mode": "how packets reach remote backends (snat or dsr)",
    "service.cilium.io/lb-l7": "L7 load-balancing through Envoy",
    "service.cilium.io/lb-l7-algorithm": "the L7 load-balancing algorithm",
    "service.cilium.io/node": "the nodes that install this Service",
    "service.cilium.io/node-selector": "the nodes that install this Service",
    "service.cilium.io/type": "which of the Service's types Cilium provisions",
    "service.cilium.io/src-ranges-policy": "loadBalancerSourceRanges as an allow- or deny-list",
    "service.cilium.io/proxy-delegation": "delegation to a user-space proxy",
}


def syncs_endpoint_slices(annotations: Mapping[str, str], headless: bool) -> bool:
    """Whether Cilium synchronizes remote EndpointSlices for this (global) Service, once the mesh-wide
    clustermesh.enableEndpointSliceSynchronization is on."""
    value = annotations.get(SYNC_ENDPOINT_SLICES)
    return headless if value is None else value.lower() == "true"


def not_modelled(annotations: Mapping[str, str]) -> dict[str, str]:
    """The Cilium annotations among `annotations` that meshspec passes through without modelling."""
    return {key: value for key, value in sorted(annotations.items()) if key.startswith(PREFIX) and key not in OWNED}


@record
class ServiceFlags:
    """What one cluster's Service tells Cilium: global, shared, affinity (local | remote | none)."""

    is_global: bool
    shared: bool
    affinity: str
    # The affinity annotation as written when it is present but neither local nor remote ("none", "",
    # "foo"): harmless on most versions, a blackhole on the 1.18 load balancer (#46623).
    unmatched_affinity: str | None = None


def _lookup(annotations: Mapping[str, str], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        if key in annotations:
            return annotations[key]
    return None


def read_flags(annotations: Mapping[str, str]) -> ServiceFlags:
    """pkg/annotation/clustermesh.go (section 1): values are lower-cased and compared to "true";
    "True" counts, "yes"/"1"/"true " do not. shared defaults to true when global, and shared and
    affinity are ignored unless global."""
    is_global = (_lookup(annotations, GLOBAL_KEYS) or "").lower() == "true"
    if not is_global:
        return ServiceFlags(False, False, "none")
    shared_value = _lookup(annotations, SHARED_KEYS)
    shared = True if shared_value is None else shared_value.lower() == "true"
    raw = _lookup(annotations, AFFINITY_KEYS)
    value = (raw or "").lower()
    if value in ("local", "remote"):
        return ServiceFlags(True, shared, value)
    # Anything else reads as none, on every version but the buggy 1.18 load balancer (see routing).
    return ServiceFlags(True, shared, "none", unmatched_affinity=raw)


def write_flags(is_global: bool, shared: bool, affinity: str) -> dict[str, str]:
    """The annotations meshspec renders, as the guide writes them (../shared/seed/cilium-global-services-
    guide.txt): `global: "true"` on a global Service; `shared` only when false and `affinity` only when
    local or remote, since Cilium's defaults (shared=true when global, affinity none) cover the rest. A
    non-global Service carries none."""
    if not is_global:
        return {}
    annotations = {GLOBAL: "true"}
    if not shared:
        annotations[SHARED] = "false"
    if affinity in ("local", "remote"):
        annotations[AFFINITY] = affinity
    return annotations
