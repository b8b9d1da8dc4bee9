"""Smoke tests of the e2e harness itself: three real control planes."""

from __future__ import annotations

import ipaddress
import json

import pytest

try:
    from tests.support import controlplane
except ImportError:  # as in conftest.py: tests/ is on sys.path
    from support import controlplane

pytestmark = pytest.mark.e2e

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: smoke
  namespace: default
spec:
  selector: {app: smoke}
  ports:
    - port: 80
      targetPort: 8080
"""


def get_json(mesh, cluster, *args, readonly=False):
    return json.loads(mesh.kubectl(cluster, "get", *args, "-o", "json", readonly=readonly).stdout)


def test_three_clusters_are_up(mesh):
    assert mesh.names == ["cluster-a", "cluster-b", "cluster-c"]
    cidrs = set()
    for cp in mesh:
        status, body = cp.get("/readyz")
        assert status == 200, body
        status, body = cp.get("/version")
        assert json.loads(body)["gitVersion"] == mesh.binaries.versions["kube-apiserver"]
        cm = get_json(mesh, cp.name, "configmap", "cilium-config", "-n", "kube-system")
        assert cm["data"] == {"cluster-name": cp.name, "cluster-id": str(cp.cluster_id)}
        names = {n["metadata"]["name"] for n in get_json(mesh, cp.name, "namespaces")["items"]}
        assert {"default", "kube-system"} <= names
        cidrs.add(cp.service_cidr)
    assert len(cidrs) == 3
    contexts = mesh.kubectl("cluster-a", "config", "get-contexts", "-o", "name").stdout.split()
    for name in mesh.names:
        assert {name, f"{name}-readonly", f"kind-{name}"} <= set(contexts)


def test_admin_server_side_apply(mesh):
    for cp in mesh:
        out = mesh.kubectl(cp.name, "apply", "--server-side", "-f", "-", input=SERVICE).stdout
        assert "service/smoke serverside-applied" in out
        svc = get_json(mesh, cp.name, "service", "smoke", "-n", "default")
        # Each cluster allocates from its own service range.
        assert ipaddress.ip_address(svc["spec"]["clusterIP"]) in ipaddress.ip_network(cp.service_cidr)
        mesh.kubectl(cp.name, "apply", "--server-side", "-f", "-", input=SERVICE)
        again = get_json(mesh, cp.name, "service", "smoke", "-n", "default")
        assert again["metadata"]["resourceVersion"] == svc["metadata"]["resourceVersion"]


def test_readonly_context_reads_but_cannot_write(mesh):
    cluster = "cluster-b"
    mesh.kubectl(cluster, "create", "configmap", "other", "-n", "kube-system", "--from-literal=k=v")
    # Allowed: list Services, EndpointSlices, Namespaces; get cilium-config.
    mesh.kubectl(cluster, "get", "services", "-A", readonly=True)
    mesh.kubectl(cluster, "get", "endpointslices.discovery.k8s.io", "-A", readonly=True)
    mesh.kubectl(cluster, "get", "namespaces", readonly=True)
    mesh.kubectl(cluster, "get", "configmap", "cilium-config", "-n", "kube-system", readonly=True)
    # Forbidden: writes, Secrets, other ConfigMaps.
    forbidden = [
        ("create", "service", "clusterip", "ro-write", "--tcp=80:80", "-n", "default"),
        ("apply", "--server-side", "-f", "-"),
        ("get", "secrets", "-n", "kube-system"),
        ("get", "configmap", "other", "-n", "kube-system"),
        ("get", "configmaps", "-n", "kube-system"),
    ]
    for args in forbidden:
        r = mesh.kubectl(cluster, *args, readonly=True, check=False, input=SERVICE)
        assert r.returncode != 0, args
        assert "Forbidden" in r.stderr or "forbidden" in r.stderr, (args, r.stderr)
    who = mesh.kubectl(cluster, "auth", "whoami", "-o", "json", readonly=True).stdout
    assert json.loads(who)["status"]["userInfo"]["username"] == (
        f"system:serviceaccount:{controlplane.READONLY_NAMESPACE}:{controlplane.READONLY_SA}")


def test_stopped_cluster_is_unreachable(mesh):
    cp = mesh["cluster-c"]
    mesh.stop("cluster-c")
    try:
        assert not controlplane.port_open(cp.apiserver_port)
        r = mesh.kubectl("cluster-c", "get", "namespaces", "--request-timeout=5s", check=False)
        assert r.returncode != 0
        assert "refused" in r.stderr, r.stderr
        # The others do not notice.
        mesh.kubectl("cluster-a", "get", "namespaces", "--request-timeout=5s")
    finally:
        mesh.start("cluster-c")
    mesh.kubectl("cluster-c", "get", "namespaces", "--request-timeout=5s")


def test_a_foreground_delete_finishes_because_the_garbage_collector_runs(mesh):
    """kube-apiserver only marks a foreground delete (a foregroundDeletion finalizer); kube-controller-manager's
    garbage collector removes the finalizer, and then the object is gone (pulumi-kubernetes deletes this way)."""
    for cp in mesh:
        mesh.kubectl(cp.name, "create", "configmap", "foreground", "-n", "default", "--from-literal=k=v")
        out = mesh.kubectl(cp.name, "delete", "configmap", "foreground", "-n", "default", "--cascade=foreground",
                           "--timeout=60s").stdout
        assert 'configmap "foreground" deleted' in out
        r = mesh.kubectl(cp.name, "get", "configmap", "foreground", "-n", "default", check=False)
        assert r.returncode != 0 and "NotFound" in r.stderr, r.stderr


def test_teardown_leaves_no_process_or_port(tmp_path):
    spec = (controlplane.ClusterSpec("solo", 9, "10.99.0.0/16"),)
    m = controlplane.start_mesh(tmp_path, spec)
    cp = m["solo"]
    procs = [p.popen for p in cp.processes()]
    m.close()
    assert all(p.poll() is not None for p in procs)
    assert not any(controlplane.port_open(port) for port in cp.ports)


def test_slow_start_says_why_and_cleans_up(tmp_path):
    spec = (controlplane.ClusterSpec("late", 8, "10.98.0.0/16"),)
    with pytest.raises(controlplane.ControlPlaneError, match=r"late: (etcd|kube-apiserver) not (healthy|ready) after .*tail of"):
        controlplane.start_mesh(tmp_path, spec, timeout=0.01)
    assert not [p for p in controlplane._live if tmp_path in p.log.parents]


def test_apiserver_that_dies_is_reported_with_its_log(tmp_path):
    good = controlplane.ClusterSpec("fine", 6, "10.97.0.0/16")
    bad = controlplane.ClusterSpec("broken", 7, "not-a-cidr")
    with pytest.raises(controlplane.ControlPlaneError) as e:
        controlplane.start_mesh(tmp_path, (good, bad))
    msg = str(e.value)
    assert msg.startswith("broken/kube-apiserver exited with code"), msg
    assert "is not a valid cidr" in msg  # from the tail of its log
    assert not [p for p in controlplane._live if tmp_path in p.log.parents]
