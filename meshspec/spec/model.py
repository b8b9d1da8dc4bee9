"""The typed mesh model, built from a spec that has passed validation.

A `Placement` is what one cluster's copy of a Service says to Cilium: is it
global, does it share its endpoints, which affinity. It is resolved from three
layers: spec.defaults < the service's own fields < the service's per-cluster
override. The override may also add labels and annotations to that cluster's copy
(Service.labels_in / annotations_in), and a Cluster its own Cilium Helm values;
nothing else differs between clusters.
"""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..cilium.annotations import write_flags
from ..k8s.objects import is_headless
from ..record import field, record

API_VERSION = "meshspec/v1alpha1"
KIND = "Mesh"
AFFINITIES = ("local", "remote", "none")
DEFAULT_PLACEMENT = {"global": True, "shared": True, "affinity": "none"}
DEFAULT_MAX_CONNECTED_CLUSTERS = 255
DEFAULT_CILIUM_VERSION = "1.20.1"
APISERVER_SERVICE_TYPES = ("NodePort", "LoadBalancer", "ClusterIP")
DEFAULT_NODE_PORT = 32379
APISERVER_PORT = 2379  # the clustermesh-apiserver Service's port for LoadBalancer and ClusterIP


@record
class Placement:
    """Where a Service is served from and used: Cilium's global, shared and affinity annotations."""
    is_global: bool
    shared: bool
    affinity: str  # one of AFFINITIES

    def annotations(self) -> dict[str, str]:
        """The service.cilium.io annotations that say this to Cilium."""
        return write_flags(self.is_global, self.shared, self.affinity)


@record
class Cluster:
    """spec.clusters[]: one cluster of the mesh, its Cilium cluster ID and how peers reach it."""
    name: str
    id: int
    context: str
    pod_cidrs: tuple[str, ...] = ()
    # Where peers reach this cluster's clustermesh-apiserver (spec.clusters[].clustermesh).
    mesh_address: str | None = None
    mesh_port: int | None = None  # None: derived from the apiserver service type
    # clusters[].cilium.values: Helm values deep-merged over spec.cilium.values for this cluster only
    # (per-cluster IPAM, k8sServiceHost...); the generated values still go over both.
    cilium_values: Mapping[str, Any] = field(default_factory=dict, hash=False)


@record
class CiliumSettings:
    """spec.cilium: the Cluster Mesh setup. When `managed` is False (no spec.cilium, or only its version)
    meshspec renders no Cilium values at all."""

    managed: bool = False
    version: str = DEFAULT_CILIUM_VERSION
    namespace: str = "kube-system"
    install: bool = False  # True: the Pulumi program installs the Cilium Helm release
    service_type: str = "NodePort"
    node_port: int = DEFAULT_NODE_PORT
    max_connected_clusters: int = DEFAULT_MAX_CONNECTED_CLUSTERS
    values: Mapping[str, Any] = field(default_factory=dict)  # extra Helm values, merged under ours
    # spec.cilium.mcsapi: MCS-API support on in every cluster's values (cilium/chart.py: the key per version)
    mcsapi: bool = False
    # spec.cilium.defaultGlobalNamespace: Cilium's clustermesh-default-global-namespace (default true)
    default_global_namespace: bool = True

    def peer_port(self, cluster: Cluster) -> int:
        if cluster.mesh_port is not None:
            return cluster.mesh_port
        return self.node_port if self.service_type == "NodePort" else APISERVER_PORT


@record
class ArgoCD:
    """spec.gitops.argocd: the Argo CD Applications that point each cluster at the render."""
    repo_url: str
    target_revision: str = "HEAD"
    project: str = "default"
    namespace: str = "argocd"


@record
class Flux:
    """spec.gitops.flux: the Flux Kustomizations that point each cluster at the render."""
    namespace: str = "flux-system"
    interval: str = "10m"
    source_kind: str = "GitRepository"
    source_name: str = "flux-system"


@record
class GitOps:
    """spec.gitops: where the committed render lives, and which GitOps objects point clusters at it."""

    path: str  # the render's folder from the repository root
    prune: bool = True
    argocd: ArgoCD | None = None
    flux: Flux | None = None


@record
class Service:
    """spec.services[]: one Service, the same ServiceSpec in every cluster it is placed in."""
    name: str
    namespace: str
    spec: Mapping[str, Any]
    # cluster name -> placement, in the mesh's cluster order; only clusters where the Service exists
    placements: Mapping[str, Placement]
    labels: Mapping[str, str] = field(default_factory=dict)
    annotations: Mapping[str, str] = field(default_factory=dict)
    # Clusters that run the Service's pods. Nothing is rendered from it: it tells explain and the
    # routing checks where traffic can land.
    backends: tuple[str, ...] = ()
    # Clusters whose clients are meant to have no backend (services[].allowNoBackends): validate does not
    # call that an error there.
    allow_no_backends: tuple[str, ...] = ()
    # services[].overrides.<cluster>.labels / .annotations: only the clusters whose override sets them,
    # merged over `labels` / `annotations` there (never a Cilium annotation: validation refuses them).
    cluster_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    cluster_annotations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    # services[].mcs: a ServiceExport (MCS-API) beside the Service in every cluster that shares it
    mcs: bool = False
    # services[].syncEndpointSlices: service.cilium.io/global-sync-endpoint-slices; None: Cilium's default
    # (on for headless global Services)
    sync_endpoint_slices: bool | None = None

    @property
    def key(self) -> str:
        return f"{self.namespace}/{self.name}"

    @property
    def headless(self) -> bool:
        return is_headless(self.spec)

    def labels_in(self, cluster: str) -> Mapping[str, str]:
        """The user's labels on `cluster`'s copy: the service's own, then that cluster's override's."""
        extra = self.cluster_labels.get(cluster)
        return {**self.labels, **extra} if extra else self.labels

    def annotations_in(self, cluster: str) -> Mapping[str, str]:
        """The user's annotations on `cluster`'s copy (the Cilium ones come from its Placement)."""
        extra = self.cluster_annotations.get(cluster)
        return {**self.annotations, **extra} if extra else self.annotations

    def differs_in(self, cluster: str) -> bool:
        """Whether `cluster`'s copy has labels or annotations of its own, beyond its placement."""
        return cluster in self.cluster_labels or cluster in self.cluster_annotations


@record
class Mesh:
    """A checked mesh spec: its clusters, services and the settings that apply to all of them."""
    name: str
    clusters: tuple[Cluster, ...]
    services: tuple[Service, ...]
    cilium: CiliumSettings = field(default_factory=CiliumSettings)
    gitops: GitOps | None = None
    # spec.namespaces.create: render and deploy a Namespace for every namespace a cluster's Services use
    create_namespaces: bool = True
    # spec.namespaces.global: namespace -> rendered as clustermesh.cilium.io/global "true" / "false"
    global_namespaces: Mapping[str, bool] = field(default_factory=dict)

    def cluster(self, name: str) -> Cluster:
        for cluster in self.clusters:
            if cluster.name == name:
                return cluster
        raise KeyError(name)


def resolve_placement(*layers: Mapping[str, Any]) -> Placement:
    """Later layers override earlier ones; DEFAULT_PLACEMENT is always the first."""
    merged = dict(DEFAULT_PLACEMENT)
    for layer in layers:
        merged.update({k: layer[k] for k in DEFAULT_PLACEMENT if k in layer})
    return Placement(is_global=merged["global"], shared=merged["shared"], affinity=merged["affinity"])


def build_mesh(data: Mapping[str, Any]) -> Mesh:
    """A validated spec document -> Mesh. Assumes validate() found no errors."""
    spec = data["spec"]
    clusters = tuple(
        Cluster(name=c["name"], id=c["id"], context=c.get("context", c["name"]),
                pod_cidrs=tuple(c.get("podCIDRs", ())),
                mesh_address=c.get("clustermesh", {}).get("address"),
                mesh_port=c.get("clustermesh", {}).get("port"),
                cilium_values=c.get("cilium", {}).get("values", {}))
        for c in spec["clusters"]
    )
    all_names = [c.name for c in clusters]
    defaults = spec.get("defaults", {})
    services = tuple(_build_service(s, defaults, all_names) for s in spec.get("services", ()))
    return Mesh(name=data["metadata"]["name"], clusters=clusters, services=services,
                cilium=_build_cilium(spec.get("cilium"), spec.get("clusters", [])), gitops=_build_gitops(spec.get("gitops")),
                create_namespaces=spec.get("namespaces", {}).get("create", True),
                global_namespaces=spec.get("namespaces", {}).get("global", {}))


def _build_gitops(gitops: Mapping[str, Any] | None) -> GitOps | None:
    if gitops is None:
        return None
    argocd, flux = gitops.get("argocd"), gitops.get("flux")
    return GitOps(
        path=gitops["path"], prune=gitops.get("prune", True),
        argocd=None if argocd is None else ArgoCD(
            repo_url=argocd["repoURL"], target_revision=argocd.get("targetRevision", "HEAD"),
            project=argocd.get("project", "default"), namespace=argocd.get("namespace", "argocd")),
        flux=None if flux is None else Flux(
            namespace=flux.get("namespace", "flux-system"), interval=flux.get("interval", "10m"),
            source_kind=flux.get("sourceRef", {}).get("kind", "GitRepository"),
            source_name=flux.get("sourceRef", {}).get("name", "flux-system")),
    )


# spec.cilium keys that are Cilium settings meshspec renders into values, not a request to set up Cluster
# Mesh: alone (with version) they set it up only once a cluster says where its clustermesh-apiserver is.
FEATURE_KEYS = frozenset({"version", "mcsapi", "defaultGlobalNamespace"})


def manages_clustermesh(cilium: Mapping[str, Any], clusters: Sequence[Any] = ()) -> bool:
    """`spec.cilium: {version: X}` alone only tells the routing model which Cilium runs; any other key
    there means meshspec sets up Cluster Mesh (Helm values, peers, and the release when install is true).
    mcsapi and defaultGlobalNamespace alone are a half-setup: their values are rendered with the rest of
    Cluster Mesh's, which needs the peers' addresses, so only when some cluster has `clustermesh`
    (checks/cilium.py then asks for the missing addresses; without any, feature-without-clustermesh)."""
    if any(key not in FEATURE_KEYS for key in cilium):
        return True
    return any(key != "version" for key in cilium) and any(
        isinstance(cluster, Mapping) and "clustermesh" in cluster for cluster in clusters)


def _build_cilium(cilium: Mapping[str, Any] | None, clusters: Sequence[Any]) -> CiliumSettings:
    if cilium is None:
        return CiliumSettings()
    mesh = cilium.get("clustermesh", {})
    apiserver = mesh.get("apiserver", {})
    return CiliumSettings(
        managed=manages_clustermesh(cilium, clusters),
        version=cilium.get("version", DEFAULT_CILIUM_VERSION),
        namespace=cilium.get("namespace", "kube-system"),
        install=cilium.get("install", False),
        service_type=apiserver.get("serviceType", "NodePort"),
        node_port=apiserver.get("nodePort", DEFAULT_NODE_PORT),
        max_connected_clusters=mesh.get("maxConnectedClusters", DEFAULT_MAX_CONNECTED_CLUSTERS),
        values=cilium.get("values", {}),
        mcsapi=cilium.get("mcsapi", False),
        default_global_namespace=cilium.get("defaultGlobalNamespace", True),
    )


def _build_service(svc: Mapping[str, Any], defaults: Mapping[str, Any], all_clusters: list[str]) -> Service:
    wanted = set(svc.get("clusters", all_clusters))
    overrides = svc.get("overrides", {})
    shared_placement = resolve_placement(defaults, svc)  # every cluster without an override
    placements = {
        name: resolve_placement(defaults, svc, overrides[name]) if name in overrides else shared_placement
        for name in all_clusters if name in wanted
    }
    return Service(
        name=svc["name"],
        namespace=svc.get("namespace", "default"),
        spec=svc["spec"],
        placements=placements,
        labels=svc.get("labels", {}),
        annotations=svc.get("annotations", {}),
        backends=_in_order(placements, svc.get("backends", placements)),
        allow_no_backends=tuple(svc.get("allowNoBackends", ())),  # as written: diagnostics point into it
        cluster_labels=_per_cluster(overrides, placements, "labels"),
        cluster_annotations=_per_cluster(overrides, placements, "annotations"),
        mcs=svc.get("mcs", defaults.get("mcs", False)),
        sync_endpoint_slices=svc.get("syncEndpointSlices", defaults.get("syncEndpointSlices")),
    )


def _per_cluster(overrides: Mapping[str, Any], placements: Mapping[str, Placement], key: str) -> dict[str, Any]:
    """{cluster: overrides[cluster][key]}, in the mesh's cluster order, where the Service exists and the
    override sets a non-empty one."""
    return {name: overrides[name][key] for name in placements if overrides.get(name, {}).get(key)}


def _in_order(ordered, wanted) -> tuple[str, ...]:
    wanted = set(wanted)
    return tuple(name for name in ordered if name in wanted)
