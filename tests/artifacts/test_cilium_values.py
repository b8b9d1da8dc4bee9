"""Each cluster's Cilium Helm values: spec.cilium.values, then the cluster's own cilium.values deep-merged over
them, then the generated values over both."""

from meshspec.artifacts.cilium_values import cluster_values
from meshspec.artifacts.files import render_files
from meshspec.spec.check import check_file

MIXED = "examples/mixed-cloud.yaml"


def values_of(cluster):
    mesh, diagnostics = check_file(MIXED)
    assert diagnostics == []
    return cluster_values(mesh, mesh.cluster(cluster))


def test_a_clusters_values_are_merged_over_the_meshs_for_that_cluster_only():
    aws, gke, onprem = values_of("aws-east"), values_of("gke-west"), values_of("onprem")
    assert (aws["ipam"], gke["ipam"]) == ({"mode": "eni"}, {"mode": "kubernetes"})
    assert onprem["ipam"] == {"mode": "cluster-pool", "operator": {"clusterPoolIPv4PodCIDRList": ["10.30.0.0/16"]}}
    assert [v["k8sServiceHost"] for v in (aws, gke, onprem)] == [
        "0123456789abcdef.gr7.us-east-1.eks.amazonaws.com", "10.20.255.2", "192.168.10.5"]
    assert "eni" not in gke and "eni" not in onprem
    # spec.cilium.values reach every cluster, and the generated values are each cluster's own.
    assert all(v["hubble"] == {"relay": {"enabled": True}} and v["kubeProxyReplacement"] is True
               for v in (aws, gke, onprem))
    assert [v["cluster"] for v in (aws, gke, onprem)] == [
        {"name": "aws-east", "id": 1}, {"name": "gke-west", "id": 2}, {"name": "onprem", "id": 3}]


def test_the_merge_is_deep_as_helm_merges_values_files(spec_file):
    mesh, diagnostics = check_file(spec_file("""\
        apiVersion: meshspec/v1alpha1
        kind: Mesh
        metadata: {name: t}
        spec:
          cilium:
            values:
              hubble: {relay: {enabled: true}, ui: {enabled: true}}
              ipam: {operator: {clusterPoolIPv4PodCIDRList: [10.0.0.0/8]}}
          clusters:
            - name: c1
              id: 1
              clustermesh: {address: 10.0.0.1}
              cilium:
                values:
                  hubble: {ui: {enabled: false}}
                  ipam: {operator: {clusterPoolIPv4PodCIDRList: [10.1.0.0/16]}}
            - {name: c2, id: 2, clustermesh: {address: 10.0.0.2}}
        """))
    assert diagnostics == []
    c1, c2 = (cluster_values(mesh, c) for c in mesh.clusters)
    assert c1["hubble"] == {"relay": {"enabled": True}, "ui": {"enabled": False}}  # mappings merge
    assert c1["ipam"]["operator"]["clusterPoolIPv4PodCIDRList"] == ["10.1.0.0/16"]  # lists are replaced
    assert c2["hubble"] == {"relay": {"enabled": True}, "ui": {"enabled": True}}
    assert mesh.cilium.values["hubble"]["ui"] == {"enabled": True}  # the mesh's values are not modified


def test_the_rendered_cilium_values_file_is_the_clusters_own():
    mesh, _ = check_file(MIXED)
    files = render_files(mesh)
    assert b"mode: eni" in files["aws-east"]["cilium-values.yaml"]
    assert b"mode: eni" not in files["gke-west"]["cilium-values.yaml"]
