"""`meshspec verify` against real kube-apiservers, through the read-only contexts, on the example mesh and
on a mesh with Services in three namespaces (fixtures/three-namespaces.yaml).

Each scenario starts from a clean slate: its render applied, the clustermesh-apiserver NodePort Service a
Cilium install would have created, and EndpointSlices with a ready endpoint in every cluster that runs
the service's pods (no controller runs here). Then one thing at a time is broken with kubectl and
restored, and exactly that is reported, as tests/analysis/test_verify.py expects of the same drift.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

try:
    from tests.support import e2e
    from tests.support.controlplane import CILIUM_IMAGE
except ImportError:  # as in conftest.py: tests/ is on sys.path
    from support import e2e
    from support.controlplane import CILIUM_IMAGE

pytestmark = pytest.mark.e2e

THREE_NAMESPACES = Path(__file__).resolve().parent / "fixtures" / "three-namespaces.yaml"


@dataclass(frozen=True)
class Scenario:
    spec: Path
    # (cluster, namespace, name, annotation, its rendered value): removed with kubectl
    annotation: tuple
    # (cluster, namespace, name, port index, rendered targetPort, new targetPort)
    target_port: tuple
    # (cluster, namespace, name): deleted
    deleted: tuple
    # (cluster, namespace, name): a managed Service the spec does not have
    stale: tuple
    # a cluster whose kube-apiserver is stopped
    stopped: str


SCENARIOS = {
    "example": Scenario(e2e.EXAMPLE, ("cluster-b", "shop", "checkout", "service.cilium.io/affinity", "local"),
                        ("cluster-a", "shop", "checkout", 0, 8080, 8081), ("cluster-c", "shop", "inventory"),
                        ("cluster-a", "shop", "old-checkout"), "cluster-c"),
    "three-namespaces": Scenario(THREE_NAMESPACES,
                                 ("cluster-c", "frontend", "web", "example.com/owner", "web-team"),
                                 ("cluster-b", "backend", "api", 0, 9090, 9191), ("cluster-a", "data", "db"),
                                 ("cluster-b", "data", "old-db"), "cluster-a"),
}


def backend_clusters(spec: Path) -> dict[tuple[str, str], list[str]]:
    """(namespace, name) -> the clusters that run the service's pods, as explain assumes: `backends`, by
    default every cluster that has the Service."""
    doc = yaml.safe_load(spec.read_text())["spec"]
    every = [c["name"] for c in doc["clusters"]]
    return {(s["namespace"], s["name"]): s.get("backends") or s.get("clusters") or every for s in doc["services"]}


def pod_ip(cluster_id: int, n: int) -> str:
    """An address in the cluster's pod CIDR (10.<id>.0.0/16, as both specs say)."""
    return f"10.{cluster_id}.{1 + n // 250}.{1 + n % 250}"


def reset(mesh, spec: Path, rendered: Path) -> None:
    """Every cluster holds exactly what the spec renders, the clustermesh-apiserver Service and the
    test's EndpointSlices for this spec; nothing of another scenario."""
    contexts = e2e.spec_clusters(spec)
    backends = backend_clusters(spec)
    for cluster in contexts:
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", "app.kubernetes.io/managed-by=meshspec",
                     "--wait=false", timeout=e2e.CLI_TIMEOUT)
        mesh.kubectl(cluster, "delete", "endpointslices.discovery.k8s.io", "-A", "-l",
                     "endpointslice.kubernetes.io/managed-by=meshspec-e2e", "--wait=false", timeout=e2e.CLI_TIMEOUT)
    e2e.apply_render(mesh, rendered, contexts)
    for cluster in contexts:
        cp = mesh[cluster]
        docs = [e2e.clustermesh_apiserver()]
        for i, svc in enumerate(e2e.rendered_services(rendered / cluster)):
            key = (svc["metadata"]["namespace"], svc["metadata"]["name"])
            if cluster in backends[key]:
                docs.append(e2e.endpoint_slice(svc, pod_ip(cp.cluster_id, i)))
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-",
                     input=e2e.stream(docs), timeout=e2e.CLI_TIMEOUT)


@pytest.fixture(scope="module", params=list(SCENARIOS))
def scenario(request, mesh, tmp_path_factory):
    s = SCENARIOS[request.param]
    rendered = e2e.render(s.spec, tmp_path_factory.mktemp(f"rendered-{request.param}"))
    reset(mesh, s.spec, rendered)
    return s


def verify(mesh, spec: Path, *extra: str) -> tuple[int, dict, str]:
    """`meshspec verify SPEC --format json` through each cluster's read-only context."""
    r = e2e.meshspec("verify", spec, "--format", "json", "--timeout", "60",
                     *e2e.readonly_contexts(mesh, e2e.spec_clusters(spec)), *extra, kubeconfig=mesh.kubeconfig)
    assert r.returncode in (0, 1, 4), r.stderr
    return r.returncode, json.loads(r.stdout), r.stderr


def problems(result: dict) -> list[tuple]:
    return [(p["cluster"], p["kind"], f"{p['namespace']}/{p['name']}", p["field"], p["expected"], p["actual"])
            for p in result["problems"]]


def assert_healthy(mesh, s: Scenario) -> None:
    code, result, err = verify(mesh, s.spec)
    assert (code, problems(result), result["unreachable"]) == (0, [], []), result["problems"]
    assert result["ok"] is True
    assert [(c["name"], c["status"], c["notes"]) for c in result["clusters"]] == [
        (c, "ok", []) for c in e2e.spec_clusters(s.spec)]
    assert err.endswith("verify: 3 clusters checked, 0 problems, 0 unreachable\n"), err


def the_one_problem(mesh, s: Scenario, expected: tuple, words: tuple[str, ...]) -> None:
    code, result, _ = verify(mesh, s.spec)
    assert problems(result) == [expected]
    assert code == 1
    assert result["unreachable"] == []
    message = result["problems"][0]["message"]
    assert all(w in message for w in words), message


def test_a_fresh_apply_verifies_clean(mesh, scenario):
    assert_healthy(mesh, scenario)


def test_a_cluster_running_another_cilium_minor(mesh, scenario):
    """verify reads the cilium DaemonSet (a real object: no controller is needed to create it) through
    the read-only ServiceAccount's Role, and models the version its agent image's tag names."""
    cluster = list(e2e.spec_clusters(scenario.spec))[1]
    image = "cilium-agent=quay.io/cilium/cilium:v1.19.4"
    mesh.kubectl(cluster, "set", "image", "daemonset/cilium", image, "-n", "kube-system")
    try:
        the_one_problem(mesh, scenario, (cluster, "cilium-version-mismatch", "kube-system/cilium",
                                         "spec.template.spec.containers[cilium-agent].image", "1.20.1", "1.19.4"),
                        ("runs Cilium 1.19.4",))
    finally:
        mesh.kubectl(cluster, "set", "image", "daemonset/cilium",
                     f"cilium-agent={CILIUM_IMAGE}", "-n", "kube-system")


def test_annotation_removed(mesh, scenario):
    cluster, ns, name, key, value = scenario.annotation
    mesh.kubectl(cluster, "annotate", "service", name, "-n", ns, f"{key}-")
    try:
        the_one_problem(mesh, scenario, (cluster, "annotation-drift", f"{ns}/{name}",
                                         f"metadata.annotations[{key}]", value, None), ("annotation", key))
    finally:
        mesh.kubectl(cluster, "annotate", "service", name, "-n", ns, f"{key}={value}")
    assert_healthy(mesh, scenario)


def test_target_port_changed(mesh, scenario):
    cluster, ns, name, index, old, new = scenario.target_port
    patch = [{"op": "replace", "path": f"/spec/ports/{index}/targetPort", "value": new}]
    mesh.kubectl(cluster, "patch", "service", name, "-n", ns, "--type=json", "-p", json.dumps(patch))
    try:
        the_one_problem(mesh, scenario, (cluster, "spec-drift", f"{ns}/{name}", f"spec.ports[{index}].targetPort",
                                         old, new), (f"spec.ports[{index}].targetPort", str(new)))
    finally:
        patch[0]["value"] = old
        mesh.kubectl(cluster, "patch", "service", name, "-n", ns, "--type=json", "-p", json.dumps(patch))
    assert_healthy(mesh, scenario)


def test_service_deleted(mesh, scenario, tmp_path):
    cluster, ns, name = scenario.deleted
    live = e2e.get_json(mesh, cluster, "service", name, "-n", ns)
    mesh.kubectl(cluster, "delete", "service", name, "-n", ns)
    try:
        the_one_problem(mesh, scenario, (cluster, "missing", f"{ns}/{name}", "", "Service", None), ("missing",))
    finally:
        rendered = e2e.render(scenario.spec, tmp_path / "rendered")
        e2e.apply_render(mesh, rendered, {cluster: e2e.spec_clusters(scenario.spec)[cluster]})
    assert live["spec"]["ports"] == e2e.get_json(mesh, cluster, "service", name, "-n", ns)["spec"]["ports"]
    assert_healthy(mesh, scenario)


def test_managed_service_the_spec_no_longer_has(mesh, scenario):
    cluster, ns, name = scenario.stale
    old = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": name, "namespace": ns, "labels": {"app.kubernetes.io/managed-by": "meshspec"},
                        "annotations": {"service.cilium.io/global": "true"}},
           "spec": {"selector": {"app": name}, "ports": [{"port": 80}]}}
    mesh.kubectl(cluster, "apply", "--server-side", "-f", "-", input=e2e.stream([old]))
    try:
        the_one_problem(mesh, scenario, (cluster, "stale", f"{ns}/{name}", "", None, "Service"), ("stale",))
    finally:
        mesh.kubectl(cluster, "delete", "service", name, "-n", ns)
    assert_healthy(mesh, scenario)


def test_stopped_apiserver_is_unreachable_and_the_others_are_checked(mesh, scenario):
    cluster = scenario.stopped
    mesh.stop(cluster)
    try:
        code, result, err = verify(mesh, scenario.spec)
    finally:
        mesh.start(cluster)
    assert code == 4, err
    assert problems(result) == []
    assert [(u["cluster"], u["context"]) for u in result["unreachable"]] == [(cluster, f"{cluster}-readonly")]
    assert "refused" in result["unreachable"][0]["reason"], result["unreachable"]
    assert [(c["name"], c["status"]) for c in result["clusters"]] == [
        (c, "unreachable" if c == cluster else "ok") for c in e2e.spec_clusters(scenario.spec)]
    assert err.endswith("verify: 3 clusters checked, 0 problems, 1 unreachable\n"), err
    assert_healthy(mesh, scenario)


def test_simulate_on_the_dump_routes_as_explain_says(mesh, scenario, tmp_path):
    """verify --dump of the live clusters, then simulate on it: each client cluster is served by the clusters
    `explain` names for the spec (an endpoint's cluster is known by its address, 10.<cluster id>.x.y)."""
    dump = tmp_path / "dump"
    code, _, err = verify(mesh, scenario.spec, "--dump", str(dump))
    assert code == 0, err
    r = e2e.meshspec("simulate", dump, "--format", "json")
    assert r.returncode == 0, r.stderr
    simulated = {(s["namespace"], s["name"]): s["observers"] for s in json.loads(r.stdout)["services"]}
    r = e2e.meshspec("explain", scenario.spec, "--format", "json")
    assert r.returncode == 0, r.stderr
    explained = {(s["namespace"], s["name"]): s["observers"] for s in json.loads(r.stdout)["services"]}
    by_id = {str(mesh[c].cluster_id): c for c in mesh.names}
    assert set(explained) <= set(simulated)
    assert set(simulated) - set(explained) == {("kube-system", "clustermesh-apiserver")}
    for key, observers in explained.items():
        for client, want in observers.items():
            got = simulated[key][client]
            assert got["exists"] == want["exists"], (key, client)
            if not want["exists"]:
                continue
            assert got["frontends"], (key, client)
            for frontend, route in got["frontends"].items():
                serving = sorted({by_id[b.split(".")[1]] for b in route["backends"]})
                assert serving == sorted(want["backends"]), (key, client, frontend, route)
