"""The bundled examples agree with each other, so the README's walkthrough works as written."""

import glob

import yaml

from meshspec.spec.check import check_file


def test_kind_configs_match_the_example_mesh():
    mesh, _ = check_file("examples/mesh.yaml")
    configs = {}
    for path in sorted(glob.glob("examples/kind/*.yaml")):
        with open(path) as fh:
            config = yaml.safe_load(fh)
        configs[config["name"]] = config
    assert sorted(configs) == [c.name for c in mesh.clusters]
    for cluster in mesh.clusters:
        config = configs[cluster.name]
        assert cluster.context == f"kind-{cluster.name}"  # kind names contexts kind-<cluster>
        assert [config["networking"]["podSubnet"]] == list(cluster.pod_cidrs)
        assert config["networking"]["disableDefaultCNI"] is True


def test_example_state_has_a_folder_per_example_cluster():
    mesh, _ = check_file("examples/mesh.yaml")
    folders = sorted(p.split("/")[-2] for p in glob.glob("examples/state/*/"))
    assert folders == [c.name for c in mesh.clusters]


def test_the_readme_spec_example_is_valid(tmp_path):
    import re

    readme = open("README.md").read()
    section = readme[readme.index("## The mesh spec"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "mesh.yaml"
    path.write_text(block)
    mesh, diagnostics = check_file(str(path))
    assert [d for d in diagnostics if d.is_error] == []
    assert [c.name for c in mesh.clusters] == ["cluster-a", "cluster-b"]


def test_the_readme_per_cluster_example_is_valid_and_renders_per_cluster(tmp_path):
    import re

    from meshspec.artifacts.cilium_values import cluster_values
    from meshspec.artifacts.manifests import render_cluster

    readme = open("README.md").read()
    section = readme[readme.index("### What may differ per cluster"):]
    block = re.search(r"```yaml\n(.*?)```", section, re.S).group(1)
    path = tmp_path / "mesh.yaml"
    path.write_text("apiVersion: meshspec/v1alpha1\nkind: Mesh\nmetadata: {name: readme}\n" + block)
    mesh, diagnostics = check_file(str(path))
    assert diagnostics == []
    [aws], [onprem] = render_cluster(mesh, "aws-east"), render_cluster(mesh, "onprem")
    assert "service.beta.kubernetes.io/aws-load-balancer-type" in aws["metadata"]["annotations"]
    assert onprem["metadata"]["labels"]["site"] == "dc1" and "site" not in aws["metadata"]["labels"]
    assert cluster_values(mesh, mesh.cluster("onprem"))["k8sServicePort"] == 6443


def test_the_mixed_cloud_example_is_valid():
    mesh, diagnostics = check_file("examples/mixed-cloud.yaml")
    assert diagnostics == [] and [c.name for c in mesh.clusters] == ["aws-east", "gke-west", "onprem"]
