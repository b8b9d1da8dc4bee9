"""The Cluster Mesh setup: spec.cilium and clusters[].clustermesh."""

from __future__ import annotations

from ...cilium import chart
from ...cilium.versions import CiliumVersion, VersionError, parse_version
from ...k8s.names import is_dns1123_label, is_ip_or_hostname
from ..model import DEFAULT_CILIUM_VERSION, manages_clustermesh
from . import Checker, Path, get_in, is_int

NODE_PORT_RANGE = (30000, 32767)  # Kubernetes' default --service-node-port-range


def check_cilium(c: Checker, spec: dict, clusters: list[tuple[int, dict]]) -> None:
    cilium = spec.get("cilium")
    if not isinstance(cilium, dict) or not manages_clustermesh(cilium, [cluster for _, cluster in clusters]):
        if isinstance(cilium, dict):
            check_unrendered_features(c, cilium, [cluster for _, cluster in clusters])
        for i, cluster in clusters:
            for key in ("clustermesh", "cilium"):
                if key in cluster:
                    c.report("ignored-field", ("spec", "clusters", i, key), f"{key} has no effect: meshspec sets "
                             "up Cluster Mesh only when spec.cilium has more than a version.", at_key=True)
        return
    namespace = cilium.get("namespace")
    if isinstance(namespace, str) and not is_dns1123_label(namespace):
        c.report("invalid-name", ("spec", "cilium", "namespace"), f"namespace {namespace!r} must be a DNS-1123 label.")
    node_port = get_in(cilium, "clustermesh", "apiserver", "nodePort")
    if is_int(node_port) and not NODE_PORT_RANGE[0] <= node_port <= NODE_PORT_RANGE[1]:
        c.report("node-port", ("spec", "cilium", "clustermesh", "apiserver", "nodePort"),
                 f"nodePort {node_port} is outside Kubernetes' NodePort range {NODE_PORT_RANGE[0]}-{NODE_PORT_RANGE[1]}.")
    service_type = get_in(cilium, "clustermesh", "apiserver", "serviceType")
    service_type = service_type if isinstance(service_type, str) else "NodePort"  # a wrong type is reported apart
    for i, cluster in clusters:
        check_mesh_endpoint(c, ("spec", "clusters", i), cluster, service_type, len(clusters) > 1)
    version = _version(cilium)
    values = cilium.get("values")
    if isinstance(values, dict):
        _check_values(values, c.under(("spec", "cilium", "values")), version)
    for i, cluster in clusters:
        own = get_in(cluster, "cilium", "values")
        if isinstance(own, dict):  # merged over spec.cilium.values, so checked as those are
            name = cluster.get("name")
            where = f"{name}'s cilium.values" if isinstance(name, str) else f"spec.clusters[{i}].cilium.values"
            _check_values(own, c.under(("spec", "clusters", i, "cilium", "values")), version, where)
    if version is not None:
        check_features(c, cilium, version)


def _check_values(*args) -> None:
    """cilium/helm.py's checks of Helm values, imported only for a spec that has some (start-up)."""
    from ...cilium.helm import check_values

    check_values(*args)


def check_unrendered_features(c: Checker, cilium: dict, clusters: list[dict]) -> None:
    """mcsapi or defaultGlobalNamespace alone: Helm values that meshspec renders only with the Cluster Mesh
    values, which need the peers' addresses (model.manages_clustermesh). Said at each key, with the value
    the spec's version reads, what to add, and what is rendered anyway."""
    version = _version(cilium)
    if version is None:
        return
    names = [cl["name"] for cl in clusters if isinstance(cl, dict) and isinstance(cl.get("name"), str)]
    add = (f"add clustermesh.address to every cluster ({', '.join(names)})" if names
           else "add clustermesh.address to every cluster")
    for key, wanted, rest in (("mcsapi", True, "The ServiceExports are rendered either way."),
                              ("defaultGlobalNamespace", False, "The namespace annotations are rendered either way.")):
        if cilium.get(key) is not wanted:
            continue
        values = chart.feature_values(version, key == "mcsapi", key != "defaultGlobalNamespace")
        if not values:
            continue  # a version without the feature: check_features would say so, nothing to render
        c.report("feature-without-clustermesh", ("spec", "cilium", key), f"{key}: {str(wanted).lower()} is set "
                 f"in Cilium's Helm values ({_leaf(values)} on Cilium {version.major}.{version.minor}), which meshspec "
                 f"renders with the Cluster Mesh values; with no cluster's clustermesh.address it renders none: {add} "
                 f"so meshspec sets up Cluster Mesh, or set {_leaf(values)} in the Cilium values you manage. {rest}",
                 at_key=True)


def _leaf(values: dict) -> str:
    """The first value of nested Helm values as `a.b.c: value` (`extraConfig.flag: "false"`)."""
    path, node = [], values
    while isinstance(node, dict) and node:
        key = next(iter(node))
        path.append(key)
        node = node[key]
    shown = str(node).lower() if isinstance(node, bool) else f'"{node}"'
    return f"{'.'.join(path)}: {shown}"


def _version(cilium: dict) -> CiliumVersion | None:
    """The spec's Cilium version, or the default; None when it does not parse (mesh.py reports that)."""
    text = cilium.get("version", DEFAULT_CILIUM_VERSION)
    try:
        return parse_version(text) if isinstance(text, str) else None
    except VersionError:
        return None


def check_features(c: Checker, cilium: dict, version: CiliumVersion) -> None:
    """spec.cilium.mcsapi and defaultGlobalNamespace on a Cilium version without them, or without the
    setup meshspec can render for them (cilium/chart.py cites the sources)."""
    v = f"{version.major}.{version.minor}"
    minor = version.minor_version
    if cilium.get("mcsapi") is True and minor < chart.MCS_FIRST:
        c.report("cilium-feature-version", ("spec", "cilium", "mcsapi"), f"Cilium {v} has no MCS-API support (it "
                 "came in 1.17), so meshspec renders no MCS-API values and ServiceExports do nothing; upgrade "
                 "Cilium, or use global Services.")
    elif cilium.get("mcsapi") is True and minor < chart.MCS_BLOCK_FIRST:
        c.report("mcs-manual-setup", ("spec", "cilium", "mcsapi"), f"Cilium {v} turns MCS-API on "
                 "(clustermesh.enableMCSAPISupport) but neither installs its CRDs nor configures CoreDNS: apply "
                 "the multicluster.x-k8s.io ServiceExport and ServiceImport CRDs and give CoreDNS the multicluster "
                 "plugin (CoreDNS 1.12.2+, with RBAC to list serviceimports) in every cluster, or "
                 "clusterset.local names do not resolve.")
    if cilium.get("defaultGlobalNamespace") is False and minor < chart.GLOBAL_NAMESPACE_FIRST:
        c.report("cilium-feature-version", ("spec", "cilium", "defaultGlobalNamespace"), f"Cilium {v} has no "
                 "global namespaces (the clustermesh.cilium.io/global annotation came in 1.19): every namespace "
                 "stays global and meshspec renders nothing for defaultGlobalNamespace: false.")


_WHERE_PEERS_CONNECT = {
    "NodePort": "the IP or DNS name of one of its nodes (the clustermesh-apiserver is a NodePort there)",
    "LoadBalancer": "the IP or DNS name of its clustermesh-apiserver load balancer",
    "ClusterIP": "the clustermesh-apiserver's ClusterIP, routable from the other clusters",
}


def check_mesh_endpoint(c: Checker, at: Path, cluster: dict, service_type: str, has_peers: bool) -> None:
    endpoint = cluster.get("clustermesh")
    address = get_in(endpoint, "address")
    if address is None and has_peers and isinstance(cluster.get("name"), str):
        c.report("peer-address", at + ("name",), f"cluster {cluster['name']!r} needs clustermesh.address so its "
                 f"peers can reach it: {_WHERE_PEERS_CONNECT.get(service_type, 'its clustermesh-apiserver')}.")
    if isinstance(address, str) and not is_ip_or_hostname(address):
        c.report("peer-address", at + ("clustermesh", "address"), f"{address!r} is neither an IP address nor a DNS "
                 "name (write the host only: no scheme, no port).")
    port = get_in(endpoint, "port")
    if is_int(port) and not 1 <= port <= 65535:
        c.report("peer-port", at + ("clustermesh", "port"), f"port {port} is out of range 1-65535.")
