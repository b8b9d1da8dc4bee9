"""Mesh -> Kubernetes objects per cluster, as plain dicts: the same Service everywhere, with the
annotations each cluster's placement says (cilium/annotations.py, write_flags)."""

from __future__ import annotations

from typing import Any

from ..k8s.names import BUILTIN_NAMESPACES, MANAGED_BY, MANAGED_BY_LABEL
from ..spec.model import Mesh, Placement, Service
from .mcs import namespace_annotations, sync_annotation

def render_service(service: Service, placement: Placement, cluster: str | None = None) -> dict[str, Any]:
    """The Service object `cluster` gets (with placement, its Placement); identical everywhere but the Cilium
    annotations and the labels and annotations of that cluster's override. Without `cluster`, the copy of
    the clusters that have no override labels or annotations."""
    labels = service.labels if cluster is None else service.labels_in(cluster)
    metadata: dict[str, Any] = {
        "name": service.name,
        "namespace": service.namespace,
        "labels": {**labels, MANAGED_BY_LABEL: MANAGED_BY},
    }
    user = service.annotations if cluster is None else service.annotations_in(cluster)
    annotations = {**user, **placement.annotations(),
                   **(sync_annotation(service) if placement.is_global else {})}
    if annotations:
        metadata["annotations"] = annotations
    return {"apiVersion": "v1", "kind": "Service", "metadata": metadata, "spec": service.spec}


# A GitOps tool that prunes would delete a Namespace the render no longer holds, and everything in it:
# both tools' own annotations turn that off for these objects (Pulumi's retainOnDelete does it in deploy.py).
NAMESPACE_ANNOTATIONS = {"argocd.argoproj.io/sync-options": "Prune=false",
                         "kustomize.toolkit.fluxcd.io/prune": "disabled"}


def mesh_namespaces(mesh: Mesh) -> dict[str, list[str]]:
    """{cluster: the namespaces meshspec creates there}: every one its Services use, sorted, but those that
    always exist; none with spec.namespaces.create: false. One pass over the services."""
    used: dict[str, set[str]] = {c.name: set() for c in mesh.clusters}
    if mesh.create_namespaces:
        for service in mesh.services:
            if service.namespace not in BUILTIN_NAMESPACES:
                for cluster in service.placements:
                    used[cluster].add(service.namespace)
    return {cluster: sorted(names) for cluster, names in used.items()}


def render_namespace(name: str, mesh: Mesh | None = None) -> dict[str, Any]:
    """With `mesh`, also its clustermesh.cilium.io/global annotation (artifacts/mcs.py)."""
    return {"apiVersion": "v1", "kind": "Namespace",
            "metadata": {"name": name, "labels": {MANAGED_BY_LABEL: MANAGED_BY},
                         "annotations": {**NAMESPACE_ANNOTATIONS,
                                         **(namespace_annotations(mesh, name) if mesh else {})}}}


def render_cluster(mesh: Mesh, cluster: str) -> list[dict[str, Any]]:
    """Every object meshspec manages in `cluster`, in spec order."""
    return [render_service(s, s.placements[cluster], cluster) for s in mesh.services if cluster in s.placements]


def render_mesh(mesh: Mesh) -> dict[str, list[dict[str, Any]]]:
    return {c.name: render_cluster(mesh, c.name) for c in mesh.clusters}
