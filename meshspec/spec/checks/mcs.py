"""MCS-API exports and global namespaces, on the built mesh (spec/mcs.py says what Cilium will see)."""

from __future__ import annotations

from ...cilium.annotations import SYNC_ENDPOINT_SLICES
from ..mcs import holds_exports, namespace_is_global, renders_namespace
from ..model import Mesh
from . import Checker


def check_mcs(c: Checker, mesh: Mesh) -> None:
    def report(code: str, paths: tuple, message: str) -> None:
        path = next((p for p in paths if p in c.doc.value_positions), paths[-1])
        c.report(code, path, message, at_key=True)

    for i, service in enumerate(mesh.services):
        at = ("spec", "services", i)
        if service.mcs and not mesh.cilium.mcsapi:
            report("mcs-without-mcsapi", (at + ("mcs",), ("spec", "defaults", "mcs"), at + ("name",)),
                   f"{service.key} has mcs: true, but spec.cilium.mcsapi is not true: without Cilium's MCS-API "
                   "support nothing imports its ServiceExport. Set spec.cilium.mcsapi: true.")
        exporting = service.mcs or any(p.is_global and p.shared for p in service.placements.values())
        marked = service.namespace in mesh.global_namespaces
        unannotated = not marked and not renders_namespace(mesh, service.namespace)  # namespace-unannotated says it
        if exporting and not namespace_is_global(mesh, service.namespace) and not (
                unannotated and not mesh.cilium.default_global_namespace):
            report("namespace-not-global",
                   (("spec", "namespaces", "global", service.namespace), at + ("namespace",), at + ("name",)),
                   f"{service.key} is {'exported (mcs)' if service.mcs else 'global'}, but namespace "
                   f"{service.namespace} is not global ("
                   + ("spec.namespaces.global marks it false" if marked else "defaultGlobalNamespace is false")
                   + "), so Cilium exports none of its endpoints; mark the namespace global.")
        if service.sync_endpoint_slices is not None and SYNC_ENDPOINT_SLICES in service.annotations:
            report("ignored-field", (at + ("annotations", SYNC_ENDPOINT_SLICES),),
                   f"annotation {SYNC_ENDPOINT_SLICES} has no effect: syncEndpointSlices renders it; remove one.")
    if not mesh.cilium.default_global_namespace:
        for namespace in sorted({s.namespace for s in mesh.services}):
            if (namespace not in mesh.global_namespaces and holds_exports(mesh, namespace)
                    and not renders_namespace(mesh, namespace)):
                report("namespace-unannotated", (("spec", "cilium", "defaultGlobalNamespace"),),
                       f"defaultGlobalNamespace is false and meshspec does not render namespace {namespace} "
                       f"({'it always exists' if mesh.create_namespaces else 'spec.namespaces.create is false'}), "
                       "so nothing annotates it global and Cilium exports none of its Services; annotate it "
                       f"clustermesh.cilium.io/global: \"true\" and add {namespace}: true to spec.namespaces.global.")
