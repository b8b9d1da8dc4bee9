"""Deploy a mesh with Pulumi: one Kubernetes provider per cluster, one Service per rendered object.

This is the only module that imports pulumi. `__main__.py` calls `run()`, which reads the
stack configuration (namespace `meshspec`):

- `meshspec:spec` (required): the spec file, relative to the project directory.
- `meshspec:clusters` (optional): the cluster names this stack manages, e.g. `[cluster-a]`;
  every cluster of the spec when unset.
- `meshspec:renderDir` (optional): write the manifests to `<renderDir>/<cluster>/` instead of
  applying them (the provider's `renderYamlToDirectory`), so no cluster is needed. A relative
  path is relative to the project directory.

The stack exports one output, `services`: `{cluster: ["namespace/name", ...]}` for the clusters
this stack manages, in spec order. The names are plain strings, so they are known at preview.
"""

from __future__ import annotations

import os
from typing import Sequence

import pulumi
import pulumi_kubernetes as k8s

from .diagnostics import to_text
from .model import Cluster, Mesh
from .render import render_cluster


def select_clusters(mesh: Mesh, names: Sequence[str] | None) -> list[Cluster]:
    """The mesh's clusters named in `names` (all when None), in spec order, each once."""
    if names is None:
        return list(mesh.clusters)
    known = [c.name for c in mesh.clusters]
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise pulumi.RunError(
            f"unknown cluster{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in the clusters "
            f"to deploy (meshspec:clusters); mesh {mesh.name!r} has: {', '.join(known)}")
    return [c for c in mesh.clusters if c.name in names]


def deploy(mesh: Mesh, clusters: Sequence[str] | None = None,
           render_dir: str | None = None) -> dict[str, dict[str, k8s.core.v1.Service]]:
    """Register every Service of `mesh` on its cluster's provider.

    Returns {cluster: {"namespace/name": Service}}. The rendered dicts are passed as they are:
    the SDK maps their Kubernetes camelCase keys through the typed Args, so `targetPort` and
    `externalTrafficPolicy` reach the provider unchanged and label/annotation/selector keys are
    left alone (tests/test_deploy.py checks this).
    """
    deployed: dict[str, dict[str, k8s.core.v1.Service]] = {}
    for cluster in select_clusters(mesh, clusters):
        provider = k8s.Provider(
            cluster.name,
            context=cluster.context,
            # Only a change of this replaces the provider (and every Service on it), so a
            # rotated or edited kubeconfig does not.
            cluster_identifier=cluster.name,
            render_yaml_to_directory=os.path.join(render_dir, cluster.name) if render_dir else None,
        )
        services: dict[str, k8s.core.v1.Service] = {}
        for obj in render_cluster(mesh, cluster.name):
            meta = obj["metadata"]
            key = f"{meta['namespace']}/{meta['name']}"
            # Kubernetes names and namespaces never contain "/", so the logical name is unambiguous.
            services[key] = k8s.core.v1.Service(
                f"{cluster.name}/{key}",
                metadata=meta,
                spec=obj["spec"],
                opts=pulumi.ResourceOptions(provider=provider),
            )
        deployed[cluster.name] = services
    return deployed


def run() -> None:
    """The Pulumi program: stack config -> validated spec -> resources and the `services` output."""
    from .validate import check_file  # lazy: deploy() itself needs no validation machinery

    config = pulumi.Config("meshspec")
    spec = config.require("spec")
    mesh, diagnostics = check_file(os.path.join(os.getcwd(), spec))
    if mesh is None:
        raise pulumi.RunError(f"meshspec:spec {spec} is not a valid mesh spec:\n{to_text(diagnostics)}")
    if diagnostics:
        pulumi.log.warn(to_text(diagnostics).rstrip("\n"))
    deployed = deploy(mesh, _configured_clusters(config), config.get("renderDir") or None)
    pulumi.export("services", {cluster: list(services) for cluster, services in deployed.items()})


def _configured_clusters(config: pulumi.Config) -> list[str] | None:
    problem = pulumi.RunError("meshspec:clusters must be a non-empty list of cluster names, e.g. [cluster-a]; "
                              "leave it unset to manage every cluster of the spec")
    try:
        value = config.get_object("clusters")
    except pulumi.ConfigTypeError:
        raise problem from None
    if value is None:
        return None
    # An empty list would make the next `pulumi up` delete every Service, so refuse it.
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise problem
    return value
