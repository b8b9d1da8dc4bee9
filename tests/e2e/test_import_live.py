"""`meshspec import` against real kube-apiservers: a team's hand-applied global Services (kubectl apply, so
with kubectl's last-applied-configuration, allocated clusterIPs and nodePorts, every server default) are
imported through the read-only contexts; the spec validates, renders per cluster the Services that were
read, and once that render is applied over them, `meshspec verify` is clean."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
import yaml

from meshspec.spec.check import check_file

try:
    from tests.support import e2e
    from tests.support.importing import view
except ImportError:  # as in conftest.py: tests/ is on sys.path
    from support import e2e
    from support.importing import view

pytestmark = pytest.mark.e2e

NAMESPACE = "takeover"
TIMES: list[float] = []


def service(name, annotations, **spec):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": NAMESPACE, "annotations": annotations,
                         "labels": {"app.kubernetes.io/part-of": "shop"}},
            "spec": {"selector": {"app": name}, **spec}}


HTTP = [{"name": "http", "port": 80, "targetPort": 8080}]
# As a team annotated them by hand: the new keys, the legacy aliases, odd case; a fixed nodePort.
SERVICES = {
    "cluster-a": [service("web", {"service.cilium.io/global": "true", "example.com/owner": "web-team"},
                          type="NodePort", ports=[{**HTTP[0], "nodePort": 30555}]),
                  service("orders", {"io.cilium/global-service": "true", "io.cilium/service-affinity": "local"},
                          ports=HTTP),
                  service("lb", {"service.cilium.io/global": "True", "service.cilium.io/shared": "false"},
                          type="LoadBalancer", ports=HTTP),
                  service("internal", {}, ports=HTTP)],
    "cluster-b": [service("web", {"service.cilium.io/global": "true", "example.com/owner": "web-team"},
                          type="NodePort", ports=[{**HTTP[0], "nodePort": 30555}]),
                  service("orders", {"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"},
                          ports=HTTP),
                  service("lb", {"service.cilium.io/global": "true"}, type="LoadBalancer", ports=HTTP)],
    "cluster-c": [service("web", {"service.cilium.io/global": "true", "example.com/owner": "web-team"},
                          type="NodePort", ports=[{**HTTP[0], "nodePort": 30555}]),
                  service("lb", {"service.cilium.io/global": "true"}, type="LoadBalancer", ports=HTTP)],
}


def clean(mesh) -> None:
    for cluster in mesh.names:
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", "app.kubernetes.io/managed-by=meshspec",
                     "--wait=false", timeout=e2e.CLI_TIMEOUT)
        mesh.kubectl(cluster, "delete", "services", "-n", NAMESPACE, "--all", "--wait=false", check=False)
        mesh.kubectl(cluster, "delete", "endpointslices.discovery.k8s.io", "-A", "-l",
                     "endpointslice.kubernetes.io/managed-by=meshspec-e2e", "--wait=false", timeout=e2e.CLI_TIMEOUT)


@pytest.fixture(scope="module")
def running(mesh):
    """The clusters with the team's Services, applied by hand with kubectl."""
    clean(mesh)
    for cluster, services in SERVICES.items():
        e2e.create_namespaces(mesh, cluster, [NAMESPACE])
        mesh.kubectl(cluster, "apply", "-f", "-", input=e2e.stream(services))
    yield mesh
    clean(mesh)


def live_services(mesh, cluster: str) -> list[dict]:
    return e2e.get_json(mesh, cluster, "services", "-n", NAMESPACE)["items"]


def run_import(mesh, out: Path) -> tuple[int, str]:
    contexts = [a for c in mesh.names for a in ("--context", mesh.context(c, readonly=True))]
    started = time.perf_counter()
    r = e2e.meshspec("import", *contexts, "--namespace", NAMESPACE, "--timeout", "60", "-o", out,
                     kubeconfig=mesh.kubeconfig)
    TIMES.append(time.perf_counter() - started)
    return r.returncode, r.stderr


def test_import_renders_back_what_runs_and_verifies_clean_once_applied(running, tmp_path):
    mesh = running
    spec = tmp_path / "mesh.yaml"
    code, err = run_import(mesh, spec)
    assert code == 0, err
    assert err.endswith(f"import: 3 clusters, 3 services, 1 warning; wrote {spec} (next: meshspec validate {spec})\n"), err
    assert "cluster-a: takeover/orders: warning: io.cilium/global-service, io.cilium/service-affinity: " in err
    checked, diagnostics = check_file(str(spec))
    assert checked is not None and not [d for d in diagnostics if d.is_error], diagnostics
    document = yaml.safe_load(spec.read_text())
    assert [(c["name"], c["id"], c["context"]) for c in document["spec"]["clusters"]] == \
        [("cluster-a", 1, "cluster-a-readonly"), ("cluster-b", 2, "cluster-b-readonly"),
         ("cluster-c", 3, "cluster-c-readonly")]
    by_name = {s["name"]: s for s in document["spec"]["services"]}
    assert sorted(by_name) == ["lb", "orders", "web"]
    assert by_name["web"]["spec"]["ports"] == [{"name": "http", "nodePort": 30555, "port": 80, "targetPort": 8080}]
    assert "nodePort" not in json.dumps(by_name["lb"]["spec"])  # allocated: each cluster picked its own
    assert by_name["orders"]["clusters"] == ["cluster-a", "cluster-b"]

    rendered = e2e.render(spec, tmp_path / "rendered")
    for cluster in mesh.names:
        read = [s for s in live_services(mesh, cluster) if s["metadata"]["name"] != "internal"]
        assert view(e2e.rendered_services(rendered / cluster)) == view(read), cluster

    # Take over: the render applied server-side over the hand-made objects, then verify.
    e2e.apply_render(mesh, rendered, {c: c for c in mesh.names})
    for cluster in mesh.names:
        cp = mesh[cluster]
        slices = [e2e.endpoint_slice(svc, f"10.{cp.cluster_id}.9.{i + 1}")
                  for i, svc in enumerate(e2e.rendered_services(rendered / cluster))]
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-",
                     input=e2e.stream(slices), timeout=e2e.CLI_TIMEOUT)
    contexts = [a for c in mesh.names for a in ("--context", f"{c}={c}-readonly")]
    r = e2e.meshspec("verify", spec, "--format", "json", "--timeout", "60", *contexts, kubeconfig=mesh.kubeconfig)
    result = json.loads(r.stdout)
    assert (r.returncode, result["problems"], result["unreachable"]) == (0, [], []), r.stderr

    # And importing what now runs gives the same spec back (but the header's wording).
    again = tmp_path / "again.yaml"
    assert run_import(mesh, again)[0] == 0
    assert yaml.safe_load(again.read_text()) == document
    print(f"\nimport of 3 control planes: {', '.join(f'{t:.2f}s' for t in TIMES)}")
