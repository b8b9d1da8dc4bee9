"""What an import round trip compares: per cluster, each Service's name, namespace, ports, selector, type and
annotations, as Cilium and the API server read them, on the objects read and on what `meshspec render` of
the imported spec gives. Shared by tests/analysis, tests/cli and tests/e2e."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from meshspec.artifacts.manifests import render_mesh
from meshspec.cilium.annotations import OWNED, read_flags
from meshspec.spec.model import Mesh

IGNORED_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
IGNORED_PREFIXES = ("pulumi.com/",)


def view(services: Iterable[Mapping[str, Any]]) -> dict[tuple[str, str], dict[str, Any]]:
    """(namespace, name) -> what the round trip keeps of each Service object."""
    out = {}
    for obj in services:
        meta, spec = obj.get("metadata") or {}, obj.get("spec") or {}
        annotations = meta.get("annotations") or {}
        flags = read_flags(annotations)
        out[(meta.get("namespace") or "default", meta["name"])] = {
            "type": spec.get("type") or "ClusterIP",
            "selector": spec.get("selector") or {},
            "ports": [(p.get("name") or "", p["port"], p.get("protocol") or "TCP",
                       p.get("targetPort") or p["port"]) for p in spec.get("ports") or ()],
            "cilium": (flags.is_global, flags.shared, flags.affinity),
            "annotations": {k: v for k, v in sorted(annotations.items()) if k not in OWNED
                            and k not in IGNORED_ANNOTATIONS and not k.startswith(IGNORED_PREFIXES)},
        }
    return out


def rendered_views(mesh: Mesh) -> dict[str, dict[tuple[str, str], dict[str, Any]]]:
    """The view of what `meshspec render` writes, per cluster name."""
    return {cluster: view(objects) for cluster, objects in render_mesh(mesh).items()}
