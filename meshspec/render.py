"""Mesh -> Kubernetes objects per cluster, as plain dicts.

Annotations follow the guide (../shared/seed/cilium-global-services-guide.txt):
global services carry `service.cilium.io/global: "true"`; `shared` is written
only when false and `affinity` only when local or remote, since Cilium's
defaults (shared=true when global, affinity none) cover the rest
(cilium-semantics.md section 1). A non-global Service carries no
service.cilium.io/* annotation at all.
"""

from __future__ import annotations

from typing import Any

from .model import Mesh, Placement, Service

GLOBAL = "service.cilium.io/global"
SHARED = "service.cilium.io/shared"
AFFINITY = "service.cilium.io/affinity"
MANAGED_BY_LABEL = "app.kubernetes.io/managed-by"
MANAGED_BY = "meshspec"


def cilium_annotations(placement: Placement) -> dict[str, str]:
    if not placement.is_global:
        return {}
    annotations = {GLOBAL: "true"}
    if not placement.shared:
        annotations[SHARED] = "false"
    if placement.affinity in ("local", "remote"):
        annotations[AFFINITY] = placement.affinity
    return annotations


def render_service(service: Service, placement: Placement) -> dict[str, Any]:
    """The Service object one cluster gets; identical everywhere but the Cilium annotations."""
    metadata: dict[str, Any] = {
        "name": service.name,
        "namespace": service.namespace,
        "labels": {**service.labels, MANAGED_BY_LABEL: MANAGED_BY},
    }
    annotations = {**service.annotations, **cilium_annotations(placement)}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": service.spec}


def render_cluster(mesh: Mesh, cluster: str) -> list[dict[str, Any]]:
    """Every object meshspec manages in `cluster`, in spec order."""
    return [render_service(s, s.placements[cluster]) for s in mesh.services if cluster in s.placements]


def render_mesh(mesh: Mesh) -> dict[str, list[dict[str, Any]]]:
    return {c.name: render_cluster(mesh, c.name) for c in mesh.clusters}
