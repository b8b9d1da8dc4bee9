"""GitOps objects that point each cluster at its folder of the committed render (spec.gitops): an Argo CD
ApplicationSet with one Application per cluster, and one Flux Kustomization per cluster. They go to
DIR/_gitops/ (GITOPS_FOLDER): no cluster can have that name (Cilium's cluster names have no '_'), and the
cluster folders, which Argo CD and Flux apply, do not contain them."""

from __future__ import annotations

from typing import Any

from ..k8s.names import MANAGED_BY, MANAGED_BY_LABEL
from ..spec.model import GitOps, Mesh
from .files import HEADER, Files, to_yaml

GITOPS_FOLDER = "_gitops"
APPLICATIONSET = "argocd-applicationset.yaml"


def flux_file_name(cluster: str) -> str:
    return f"flux-kustomization.{cluster}.yaml"


def gitops_files(mesh: Mesh) -> Files:
    """{GITOPS_FOLDER: {file name: bytes}}, or nothing when the spec asks for no GitOps objects."""
    gitops = mesh.gitops
    if gitops is None or (gitops.argocd is None and gitops.flux is None):
        return {}
    files: dict[str, bytes] = {}
    if gitops.argocd is not None:
        files[APPLICATIONSET] = (HEADER + to_yaml(application_set(mesh, gitops))).encode()
    if gitops.flux is not None:
        for cluster in mesh.clusters:
            files[flux_file_name(cluster.name)] = (HEADER + to_yaml(flux_kustomization(mesh, gitops, cluster.name))).encode()
    return {GITOPS_FOLDER: files}


def cluster_path(gitops: GitOps, cluster: str) -> str:
    """The cluster's folder from the repository root."""
    return cluster if gitops.path == "." else f"{gitops.path}/{cluster}"


def application_set(mesh: Mesh, gitops: GitOps) -> dict[str, Any]:
    """One Application per cluster from a list generator (Go templates, failing on a missing key); the
    destination is the Argo CD cluster named as the kubeconfig context, as `argocd cluster add` names it."""
    argocd = gitops.argocd
    assert argocd is not None
    sync: dict[str, Any] = {"automated": {"prune": gitops.prune, "selfHeal": True}}
    return {
        "apiVersion": "argoproj.io/v1alpha1", "kind": "ApplicationSet",
        "metadata": {"name": f"meshspec-{mesh.name}", "namespace": argocd.namespace, "labels": _labels()},
        "spec": {
            "goTemplate": True,
            "goTemplateOptions": ["missingkey=error"],
            "generators": [{"list": {"elements": [
                {"cluster": c.name, "destination": c.context, "path": cluster_path(gitops, c.name)}
                for c in mesh.clusters]}}],
            "template": {
                "metadata": {"name": f"meshspec-{mesh.name}-{{{{.cluster}}}}", "labels": _labels()},
                "spec": {
                    "project": argocd.project,
                    "source": {"repoURL": argocd.repo_url, "targetRevision": argocd.target_revision,
                               "path": "{{.path}}"},
                    "destination": {"name": "{{.destination}}"},
                    "syncPolicy": sync,
                },
            },
        },
    }


def flux_kustomization(mesh: Mesh, gitops: GitOps, cluster: str) -> dict[str, Any]:
    """The Kustomization to apply in `cluster` (where its Flux runs): its folder, from the Flux source."""
    flux = gitops.flux
    assert flux is not None
    return {
        "apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization",
        "metadata": {"name": f"meshspec-{mesh.name}", "namespace": flux.namespace,
                     "labels": _labels()},
        "spec": {
            "interval": flux.interval,
            "path": f"./{cluster_path(gitops, cluster)}",
            "prune": gitops.prune,
            "sourceRef": {"kind": flux.source_kind, "name": flux.source_name},
        },
    }


def _labels() -> dict[str, str]:
    return {MANAGED_BY_LABEL: MANAGED_BY}  # a new dict each time: YAML would write a shared one as an alias
