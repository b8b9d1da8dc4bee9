"""What `meshspec verify` reads from a live cluster, as data: adapters/live.py fills it in, and
analysis/verify.py compares it with the spec."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from .objects import SERVICE_NAME_LABEL

Obj = dict[str, Any]


@dataclass(frozen=True)
class Target:
    cluster: str
    context: str  # the kubeconfig context


@dataclass(frozen=True)
class Observed:
    """What one cluster serves, as the API returns it (camelCase JSON), without managedFields."""

    cluster: str
    context: str
    services: tuple[Obj, ...]  # the Services that `keep` selected
    slices: tuple[Obj, ...]  # the EndpointSlices of those Services
    cilium_config: Obj | None  # the cilium-config ConfigMap; None when not readable
    cilium_config_error: str | None = None  # why it was not readable (403, 404)
    namespaces: tuple[str, ...] | None = None  # listed one by one (listing all was forbidden); None: all
    # The cluster's Namespaces, by name; None when they were not read (listing them is forbidden, or a dump)
    namespace_names: frozenset[str] | None = None
    # The image of the `cilium` DaemonSet's agent container (its tag is the Cilium version the cluster runs);
    # None when not read (no such DaemonSet, forbidden, or a dump), with why in cilium_image_error
    cilium_image: str | None = None
    cilium_image_error: str | None = None
    # MCS-API (multicluster.x-k8s.io): None when not read (no CRD, or forbidden)
    service_exports: tuple[Obj, ...] | None = None
    service_imports: tuple[Obj, ...] | None = None
    # The Namespace objects the spec's Services use, as read (for clustermesh.cilium.io/global); () if not read
    namespace_objects: tuple[Obj, ...] = ()

    def service(self, namespace: str, name: str) -> Obj | None:
        return next((s for s in self.services if object_key(s) == (namespace, name)), None)

    def slices_of(self, namespace: str, name: str) -> list[Obj]:
        return [s for s in self.slices if object_key(s)[0] == namespace and labels(s).get(SERVICE_NAME_LABEL) == name]


@dataclass(frozen=True)
class Unreachable:
    cluster: str
    context: str
    reason: str


Result = Observed | Unreachable


def object_key(obj: Mapping[str, Any]) -> tuple[str, str]:
    """(namespace, name); the namespace is default when unset, as kubectl applies it."""
    meta = obj.get("metadata") or {}
    return meta.get("namespace") or "default", meta.get("name") or ""


def labels(obj: Mapping[str, Any]) -> Mapping[str, str]:
    return (obj.get("metadata") or {}).get("labels") or {}
