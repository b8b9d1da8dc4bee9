"""diff's risks for global namespaces and MCS-API exports (spec/mcs.py says what Cilium sees)."""

from __future__ import annotations

from typing import Any, Mapping

from ..spec.mcs import export_clusters, namespace_is_global
from ..spec.model import Mesh


def mcs_risks(old: Mesh, new: Mesh, renamed: Mapping[str, str], Risk: Any) -> list:  # noqa: N803
    """`Risk` is diff.Risk, passed in: diff imports this module."""
    risks = []
    exporting = sorted({s.namespace for s in new.services
                        if s.mcs or any(p.is_global and p.shared for p in s.placements.values())})
    for namespace in exporting:
        if namespace_is_global(old, namespace) and not namespace_is_global(new, namespace):
            services = [s.key for s in new.services if s.namespace == namespace]
            risks.append(Risk("namespace-not-global", f"namespace {namespace} turns non-global "
                          "(clustermesh.cilium.io/global): Cilium stops exporting "
                          f"{', '.join(services)}, and the other clusters lose those endpoints."))
    now = {s.key: s for s in new.services}
    for service in sorted(old.services, key=lambda s: (s.namespace, s.name)):
        kept = set(export_clusters(new, now[service.key])) if service.key in now else set()
        gone = tuple(c for c in export_clusters(old, service) if renamed.get(c, c) not in kept)
        if gone:
            risks.append(Risk("mcs-export-removed", f"{service.key} is no longer exported with MCS-API from "
                          f"{', '.join(gone)}: clusters importing {service.name}.{service.namespace}.svc."
                          "clusterset.local lose its endpoints there.", service.key, gone))
    return risks
