"""meshspec's Pulumi program under the real engine: `pulumi` 3.260.0 and pulumi-resource-kubernetes 4.25.0
(tools/pulumi/build_pulumi.py), through the Automation API's inline program (tests/support/pulumi_engine.py:
the Python language host is not served by the Go module proxy, so `pulumi up` on `runtime: python` cannot
start here), in a copy of the project with its real Pulumi.yaml and stacks/.

The e2e specs leave out `cilium.install`: the Cilium Helm release needs the chart repository online.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.pulumi_engine import REPO, Project, PulumiBinaries

pytestmark = [pytest.mark.e2e, pytest.mark.pulumi]

EXAMPLE = REPO / "examples" / "mesh.yaml"


def meshspec_cli(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "meshspec"
    argv = [str(exe)] if exe.is_file() else [sys.executable, "-m", "meshspec"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def kustomized_objects(cluster_dir: Path) -> list[dict]:
    """The objects a `meshspec render` folder's kustomization.yaml lists."""
    kustomization = yaml.safe_load((cluster_dir / "kustomization.yaml").read_text())
    return [d for name in kustomization["resources"] for d in yaml.safe_load_all((cluster_dir / name).read_text()) if d]


def by_ref(objects: list[dict]) -> dict[str, dict]:
    return {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o for o in objects}


@pytest.fixture(scope="module")
def bins() -> PulumiBinaries:
    return PulumiBinaries.find()


def test_render_dir_stack_writes_the_objects_meshspec_render_writes(tmp_path, bins):
    """Scenario 7: the repository's `dev` stack (meshspec:renderDir: out/pulumi) on the example mesh.

    Its `cilium.install: true` is no obstacle: render mode installs no Cilium and needs no CA."""
    project = Project.copy(tmp_path / "engine", bins)
    up = project.run("up", "dev")
    # The stack, one provider per cluster, the example's 11 Services and the 6 Namespaces they use
    # (shop and monitoring in each cluster; default always exists).
    assert up.changed() == {"create": 21}, up.output
    assert up.outputs["services"]["cluster-b"] == ["default/myapp-service", "shop/checkout", "shop/inventory",
                                                   "monitoring/metrics"]
    rendered = tmp_path / "rendered"
    r = meshspec_cli("render", str(EXAMPLE), "-o", str(rendered))
    assert r.returncode == 0, r.stderr
    clusters = sorted(p.name for p in rendered.iterdir() if p.is_dir())
    assert clusters == sorted(p.name for p in (project.root / "out" / "pulumi").iterdir())
    for cluster in clusters:
        by_engine = [d for f in sorted((project.root / "out" / "pulumi" / cluster).rglob("*.yaml"))
                     for d in yaml.safe_load_all(f.read_text()) if d]
        assert by_ref(by_engine) == by_ref(kustomized_objects(rendered / cluster)), cluster
    # A second up renders nothing new.
    again = project.run("up", "dev", expect_no_changes=True)
    assert again.changed() == {}, again.output


# ---------------------------------------------------------------- against the three control planes

CLUSTERS = ("cluster-a", "cluster-b", "cluster-c")
MANAGED = "app.kubernetes.io/managed-by=meshspec"


def e2e_spec() -> dict:
    """The example mesh without `cilium.install` (the chart repository is offline here). Its
    `spec.cilium.clustermesh` stays, so verify expects a NodePort clustermesh-apiserver Service."""
    spec = yaml.safe_load(EXAMPLE.read_text())
    del spec["spec"]["cilium"]["install"]
    return spec


def live_services(mesh, cluster: str) -> set[str]:
    import json

    items = json.loads(mesh.kubectl(cluster, "get", "services", "-A", "-l", MANAGED, "-o", "json").stdout)["items"]
    return {f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in items}


@pytest.fixture
def project(tmp_path, bins, mesh):
    """A project copy with the e2e spec at e2e/mesh.yaml, the namespaces its Services live in, and a
    clustermesh-apiserver Service meshspec does not manage. Afterwards every meshspec Service is gone
    (the other e2e tests expect clean clusters); namespaces stay (no namespace controller runs)."""
    project = Project.copy(tmp_path / "engine", bins, mesh.kubeconfig)
    project.write("e2e/mesh.yaml", yaml.safe_dump(e2e_spec(), sort_keys=False))
    apiserver = {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system"},
                 "spec": {"type": "NodePort", "selector": {"k8s-app": "clustermesh-apiserver"},
                          "ports": [{"port": 2379, "targetPort": 2379, "nodePort": 32379}]}}
    import json

    for cluster in CLUSTERS:
        for ns in ("shop", "monitoring"):
            mesh.kubectl(cluster, "create", "namespace", ns, check=False)
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=cilium-e2e", "-f", "-",
                     input=json.dumps(apiserver))
        # Ready backends in every cluster, so verify's routing finds some.
        slices = "\n---\n".join(json.dumps(backends(o, cluster)) for o in rendered(cluster))
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-", input=slices)
    yield project
    for cluster in CLUSTERS:
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", MANAGED, "--wait=false")
        mesh.kubectl(cluster, "delete", "endpointslices", "-A", "-l", f"{SLICE_MANAGER}=meshspec-e2e")
        mesh.kubectl(cluster, "delete", "service", "-n", "kube-system", "clustermesh-apiserver", "--ignore-not-found")


def verify(project: Project, mesh) -> subprocess.CompletedProcess:
    """`meshspec verify` of the e2e spec through the read-only contexts."""
    contexts = [a for c in CLUSTERS for a in ("--context", f"{c}={mesh.context(c, readonly=True)}")]
    return meshspec_cli("verify", "e2e/mesh.yaml", *contexts, cwd=project.root, env=project.env())


def rendered(cluster: str, spec: dict | None = None) -> list[dict]:
    from meshspec.artifacts.manifests import render_cluster
    from meshspec.spec.model import build_mesh

    return render_cluster(build_mesh(spec or e2e_spec()), cluster)


def rendered_services(cluster: str, spec: dict | None = None) -> set[str]:
    return {f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in rendered(cluster, spec)}


SLICE_MANAGER = "endpointslice.kubernetes.io/managed-by"


def backends(service: dict, cluster: str) -> dict:
    """The EndpointSlice the EndpointSlice controller would write for one ready pod behind `service`
    (no controller runs on these control planes)."""
    meta = service["metadata"]
    ports = [{"name": p.get("name", ""), "protocol": p.get("protocol", "TCP"),
              "port": p["targetPort"] if isinstance(p.get("targetPort"), int) else p["port"]}
             for p in service["spec"]["ports"]]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{meta['name']}-e2e", "namespace": meta["namespace"],
                         "labels": {"kubernetes.io/service-name": meta["name"], SLICE_MANAGER: "meshspec-e2e"}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [f"10.{CLUSTERS.index(cluster) + 1}.0.10"],
                           "conditions": {"ready": True, "serving": True, "terminating": False}}]}


def test_one_stack_for_the_whole_mesh_creates_exactly_its_services(project, mesh):
    """Scenario 1. Not `destroy` (scenario 6): the provider deletes with foreground propagation, whose
    finalizer only the garbage collector of kube-controller-manager removes, and none runs here, so the
    delete waits out its timeout (tools/pulumi/README.md)."""
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    preview = project.run("preview", "mesh")
    # The stack, 3 providers, 11 Services and 6 Namespaces (shop and monitoring in each cluster).
    assert preview.changed() == {"create": 21}, preview.output
    assert all(live_services(mesh, c) == set() for c in CLUSTERS)  # a preview changes nothing
    up = project.run("up", "mesh")
    assert up.changed() == {"create": 21}, up.output
    for cluster in CLUSTERS:
        assert live_services(mesh, cluster) == rendered_services(cluster), cluster
    r = verify(project, mesh)
    assert r.returncode == 0, r.stdout + r.stderr
    again = project.run("up", "mesh", expect_no_changes=True)
    assert again.changed() == {}, again.output
