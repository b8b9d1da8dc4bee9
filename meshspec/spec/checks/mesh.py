"""The top of a spec: apiVersion, kind, metadata, the Cilium version it models, and spec.gitops."""

from __future__ import annotations

from ...cilium.versions import VersionError, parse_version
from ...k8s.names import DNS1123_SUBDOMAIN
from ..model import API_VERSION, KIND
from . import Checker, as_dict, dicts, get_in
from .cilium import check_cilium
from .clusters import check_clusters, max_connected_clusters
from .services import check_duplicate_services, check_service

def check_rules(c: Checker, data: dict) -> None:
    """Every rule on the document, from the top down."""
    if isinstance(data.get("apiVersion"), str) and data["apiVersion"] != API_VERSION:
        c.report("api-version", ("apiVersion",), f"apiVersion is {data['apiVersion']!r}; this meshspec reads "
                 f"{API_VERSION!r}.")
    if isinstance(data.get("kind"), str) and data["kind"] != KIND:
        c.report("kind", ("kind",), f"kind is {data['kind']!r}; a mesh spec has kind {KIND!r}.")
    name = get_in(data, "metadata", "name")
    if isinstance(name, str) and not DNS1123_SUBDOMAIN.match(name):
        c.report("invalid-name", ("metadata", "name"), f"mesh name {name!r} must be lowercase letters, digits, "
                 "'-' or '.', starting and ending with a letter or digit.")
    spec = data.get("spec")
    if not isinstance(spec, dict):
        return
    version = get_in(spec, "cilium", "version")
    if isinstance(version, str):
        try:
            parse_version(version)
        except VersionError as exc:
            c.report("cilium-version", ("spec", "cilium", "version"), f"{exc}.")
    clusters = dicts(spec.get("clusters"))
    cluster_names = check_clusters(c, clusters, max_connected_clusters(spec))
    check_cilium(c, spec, clusters)
    gitops = spec.get("gitops")
    if isinstance(gitops, dict) and "argocd" not in gitops and "flux" not in gitops:
        c.report("ignored-field", ("spec", "gitops"), "spec.gitops names neither argocd nor flux, so render writes "
                 "no GitOps objects; add one of them, or remove spec.gitops.", at_key=True)
    for i, service in dicts(spec.get("services")):
        check_service(c, ("spec", "services", i), service, cluster_names, as_dict(spec.get("defaults")))
    check_duplicate_services(c, dicts(spec.get("services")))
