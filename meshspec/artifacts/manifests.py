"""Mesh -> Kubernetes objects per cluster, as plain dicts: the same Service everywhere, with the
annotations each cluster's placement says (cilium/annotations.py, write_flags)."""

from __future__ import annotations

from typing import Any

from ..k8s.names import MANAGED_BY, MANAGED_BY_LABEL
from ..spec.model import Mesh, Placement, Service

def render_service(service: Service, placement: Placement) -> dict[str, Any]:
    """The Service object one cluster gets; identical everywhere but the Cilium annotations."""
    metadata: dict[str, Any] = {
        "name": service.name,
        "namespace": service.namespace,
        "labels": {**service.labels, MANAGED_BY_LABEL: MANAGED_BY},
    }
    annotations = {**service.annotations, **placement.annotations()}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": service.spec}


def render_cluster(mesh: Mesh, cluster: str) -> list[dict[str, Any]]:
    """Every object meshspec manages in `cluster`, in spec order."""
    return [render_service(s, s.placements[cluster]) for s in mesh.services if cluster in s.placements]


def render_mesh(mesh: Mesh) -> dict[str, list[dict[str, Any]]]:
    return {c.name: render_cluster(mesh, c.name) for c in mesh.clusters}
