"""Routing checks: what traffic will do, from the same engine as `explain`. All are warnings but one:
clients left with no backend at all (no-backends) is an error unless the spec says it is meant.

Each check names candidate locations in the spec, most specific first; the warning goes to the first
one the user actually wrote.
"""

from __future__ import annotations

from typing import Callable

from ...cilium.versions import CiliumVersion, parse_version
from ..model import Mesh, Service
from ..routes import SpecRouting
from . import Checker

Located = Callable[[str, tuple, str], None]  # (code, candidate paths most specific first, message)


def check_routing(c: Checker, mesh: Mesh) -> None:
    """Diagnostics on what traffic will do, each at the most specific place the user wrote."""
    version = parse_version(mesh.cilium.version)

    def report(code: str, paths: tuple, message: str) -> None:
        path = next((p for p in paths if p in c.doc.value_positions), paths[-1])
        c.report(code, path, message, at_key=True)

    for index, service in enumerate(mesh.services):
        at = ("spec", "services", index)
        _no_backends(mesh, service, version, at, report)
        _sharing(service, at, report)
        _remote_affinity(service, at, report)
        _single_failures(mesh, service, version, at, report)
        _version_bugs(service, version, at, report)
        _headless(service, at, report)


def _exporters(service: Service) -> set[str]:
    """Clusters that publish endpoints: global, shared and running pods (cilium-semantics.md section 2)."""
    backends = set(service.backends)  # a tuple: `in` on it made this O(clusters^2)
    return {c for c, p in service.placements.items() if p.is_global and p.shared and c in backends}


def _no_backends(mesh: Mesh, service: Service, version: CiliumVersion, at: tuple, report: Located) -> None:
    """An error where clients would have no backend at all, unless services[].allowNoBackends says it is
    meant (then a warning if they do have some). A cluster running the pods always selects its own ready
    backends, whatever the affinity (cilium-semantics.md section 3), so only the others are asked of the engine."""
    if service.headless:  # no load-balancing at all: headless-global says so
        return
    backends = set(service.backends)
    candidates = [c for c in service.placements if c not in backends]
    candidates += [c for c in service.allow_no_backends if c in backends]  # to warn it has no effect
    candidates = [c for c in dict.fromkeys(candidates) if c in service.placements]
    if not candidates:
        return
    served = SpecRouting(mesh, service, version).serving(candidates)
    for client in candidates:
        allowed = client in service.allow_no_backends
        if served[client] == [] and not allowed:
            report("no-backends", (at + ("backends",), at + ("clusters",), at + ("name",)),
                   f"clients of {service.key} in {client} have no backend: no pods run there and no other "
                   "cluster shares endpoints with it. Run pods there or share them from another cluster; if "
                   f"that is meant, add {client} to allowNoBackends.")
        elif served[client] and allowed:
            index = service.allow_no_backends.index(client)
            report("ignored-field", (at + ("allowNoBackends", index), at + ("allowNoBackends",)),
                   f"allowNoBackends lists {client}, but its clients of {service.key} have backends "
                   f"({', '.join(served[client])}); remove it.")


def _sharing(service: Service, at: tuple, report: Located) -> None:
    global_in = [c for c, p in service.placements.items() if p.is_global]
    if not global_in:
        return
    if not any(service.placements[c].shared for c in global_in):
        report("no-cluster-shares", (at + ("shared",), at + ("overrides",), at + ("name",)),
               f"{service.key} is global but every cluster sets shared: false, so no cluster publishes "
               "endpoints and each uses only its own pods.")
        return
    exporters = _exporters(service)
    if all(not (exporters - {c}) for c in global_in):
        report("global-without-effect", (at + ("global",), at + ("clusters",), at + ("name",)),
               f"{service.key} is global but no other cluster shares endpoints with any of its clusters, "
               "so global has no effect: every cluster uses only its own pods.")


def _remote_affinity(service: Service, at: tuple, report: Located) -> None:
    exporters = _exporters(service)
    for cluster, p in service.placements.items():
        if p.is_global and p.affinity == "remote" and not (exporters - {cluster}):
            report("remote-affinity-without-remote",
                   (at + ("overrides", cluster, "affinity"), at + ("affinity",), at + ("name",)),
                   f"{cluster} prefers remote endpoints of {service.key}, but no other cluster shares "
                   "any, so its clients always use local pods.")


def _single_failures(mesh: Mesh, service: Service, version: CiliumVersion, at: tuple, report: Located) -> None:
    # A client's remote backends are every other exporter's, all or none (the spec renders the same ports
    # everywhere), so with three exporters or more no client can depend on a single other cluster.
    if len(_exporters(service)) >= 3:
        return
    routing = SpecRouting(mesh, service, version)
    # Only a client served by a single other cluster can lose everything when one cluster fails.
    sole = {client: server for client, server in routing.sole_servers().items() if server != client}
    fragile: dict[str, list[str]] = {}
    for failed, changes in routing.failure_effects(sole).items():
        for client, served in changes.items():
            if client != failed and not served:
                fragile.setdefault(client, []).append(failed)
    for client, causes in fragile.items():
        report("single-cluster-failure",
               (at + ("overrides", client), at + ("backends",), at + ("clusters",), at + ("name",)),
               f"clients of {service.key} in {client} lose every backend when "
               f"{' or '.join(causes)} has no ready pods.")


def _version_bugs(service: Service, version: CiliumVersion, at: tuple, report: Located) -> None:
    if not version.multiport_shared_target_bug or len(_exporters(service)) < 1:
        return
    targets = [p.get("targetPort") or p.get("port") for p in service.spec.get("ports") or ()]
    shared_targets = {t for t in targets if targets.count(t) > 1}
    if shared_targets and any(p.is_global for p in service.placements.values()):
        report("cilium-bug", (at + ("spec", "ports"), at + ("name",)),
               f"several ports of {service.key} share target port {sorted(map(str, shared_targets))[0]}: "
               f"Cilium {version} drops remote backends for some of them (cilium#45109, fixed in 1.18.10 "
               "and 1.19.4).")


def _headless(service: Service, at: tuple, report: Located) -> None:
    if service.headless and any(p.is_global for p in service.placements.values()):
        report("headless-global", (at + ("spec", "clusterIP"), at + ("spec", "type"), at + ("name",)),
               f"{service.key} has no cluster IP, so Cilium load-balances nothing across clusters; remote "
               "pods are found only through EndpointSlice sync (clustermesh.enableEndpointSliceSynchronization).")
