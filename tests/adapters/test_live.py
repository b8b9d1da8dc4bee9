"""meshspec.adapters.live against Kubernetes API test servers (kmock's emulator), one HTTP server per cluster,
reached through kubeconfig files that the `kube` fixture writes: one file per cluster, merged through
KUBECONFIG, some with an exec credential plugin.

The harness (tests/support/kube.py) and the `kube` fixture (tests/conftest.py) are shared with
tests/analysis/test_verify.py.
"""

from __future__ import annotations

import json
import os
import pathlib
import sys
import threading
import time
from typing import Any

import pytest

kmock = pytest.importorskip("kmock")  # needs Python 3.11+

from meshspec.adapters.live import agent_image, describe_error, observe_all, write_dump
from meshspec.k8s.observed import Observed, Target, Unreachable
from meshspec import cli
from meshspec.k8s.objects import SERVICE_NAME_LABEL
from tests.support.live_objects import find, load_live

WANTED = {("shop", "web"), ("shop", "checkout"), ("kube-system", "clustermesh-apiserver")}


def keep(obj: dict) -> bool:
    meta = obj["metadata"]
    return (meta.get("namespace"), meta["name"]) in WANTED


def observe(targets: list[Target], **options: Any) -> dict:
    # Generous: a loaded 2-core machine makes the test servers slow; the timeout test sets its own.
    options = {"timeout": 30.0, "concurrency": 4, **options}
    return observe_all(targets, keep, ["kube-system", "shop"], "kube-system", **options)


# --- tests ----------------------------------------------------------------------------------------

def test_one_list_per_kind_and_one_get_of_cilium_config(kube):
    many = load_live("cluster-a")
    for i in range(20):  # more Services: still one LIST per kind, never one GET per Service
        svc = json.loads(json.dumps(find(many, "Service", "shop", "web")))
        svc["metadata"]["name"] = f"extra-{i}"
        many.append(svc)
    api = kube.cluster("cluster-a", many)
    result = observe([Target("cluster-a", "kind-a")])["cluster-a"]
    assert isinstance(result, Observed)
    assert sorted(api.requests()) == [
        ("GET", "/api/v1/namespaces/kube-system"),  # one GET per namespace of the spec: is it there?
        ("GET", "/api/v1/namespaces/kube-system/configmaps/cilium-config"),
        ("GET", "/api/v1/namespaces/shop"),
        ("GET", "/api/v1/services"),
        ("GET", "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium"),  # the Cilium version it runs
        ("GET", "/apis/discovery.k8s.io/v1/endpointslices"),
    ]
    assert not any("secrets" in path for _, path in api.requests())
    assert result.namespace_names == {"kube-system", "shop"}
    assert result.cilium_image.startswith("quay.io/cilium/cilium:v1.20.1@sha256:")


def test_a_namespace_the_cluster_lacks_is_read_as_absent_and_a_forbidden_read_as_unknown(kube):
    kube.cluster("cluster-a", namespaces=["kube-system"])
    kube.cluster("cluster-b", namespaces=[]).react("get /api/v1/namespaces/kube-system", forbidden("namespaces"))
    results = observe([Target("cluster-a", "kind-a"), Target("cluster-b", "kind-b")])
    assert results["cluster-a"].namespace_names == {"kube-system"}
    assert results["cluster-b"].namespace_names is None


def test_observed_objects_are_the_kept_services_and_their_slices_without_managed_fields(kube):
    kube.cluster("cluster-a")
    result = observe([Target("cluster-a", "kind-a")])["cluster-a"]
    assert {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in result.services} == WANTED
    assert sorted(s["metadata"]["name"] for s in result.slices) == ["checkout-ap9q1", "web-ax7k2"]
    assert [s["metadata"]["name"] for s in result.slices_of("shop", "web")] == ["web-ax7k2"]
    assert all("managedFields" not in o["metadata"] for o in result.services + result.slices)
    assert result.cilium_config["data"]["cluster-name"] == "cluster-a"
    assert result.cilium_config_error is None


def test_endpointslices_are_listed_with_a_selector_on_the_kept_services(kube):
    api = kube.cluster("cluster-a")
    observe([Target("cluster-a", "kind-a")])
    params = [dict(r.params) for r in api.handler if "endpointslices" in r.url.path]
    assert params[0]["labelSelector"] == "kubernetes.io/service-name in (checkout,clustermesh-apiserver,web)"


@pytest.mark.parametrize("status", [403, 404])
def test_cilium_config_forbidden_or_absent_is_not_readable_not_an_error(kube, status):
    api = kube.cluster("cluster-a")
    api.react("get /api/v1/namespaces/kube-system/configmaps/cilium-config", status)
    result = observe([Target("cluster-a", "kind-a")])["cluster-a"]
    assert isinstance(result, Observed)
    assert result.cilium_config is None
    assert result.cilium_config_error.startswith(f"HTTP {status}")


def forbidden(what: str) -> Any:
    return kmock.KubernetesError(status=403, reason="Forbidden", message=f'{what} is forbidden: User "ci" cannot list')


def test_namespace_scoped_rbac_lists_each_namespace_of_interest(kube):
    api = kube.cluster("cluster-a")
    api.react("get /api/v1/services", forbidden("services"))
    api.react("get /apis/discovery.k8s.io/v1/endpointslices", forbidden("endpointslices"))
    result = observe([Target("cluster-a", "kind-a")])["cluster-a"]
    assert isinstance(result, Observed)
    assert result.namespaces == ("kube-system", "shop")
    assert {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in result.services} == WANTED
    assert sorted(s["metadata"]["name"] for s in result.slices) == ["checkout-ap9q1", "web-ax7k2"]
    assert [path for _, path in api.requests()] == [
        "/api/v1/services", "/api/v1/namespaces/kube-system/services", "/api/v1/namespaces/shop/services",
        "/apis/discovery.k8s.io/v1/endpointslices", "/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices",
        "/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices",
        "/api/v1/namespaces/kube-system/configmaps/cilium-config",
        "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium",
        "/api/v1/namespaces/kube-system", "/api/v1/namespaces/shop"]


@pytest.mark.parametrize("status", [403, 404])
def test_the_cilium_daemonset_forbidden_or_absent_is_a_reason_not_an_error(kube, status):
    api = kube.cluster("cluster-a")
    api.react("get /apis/apps/v1/namespaces/kube-system/daemonsets/cilium", kmock.KubernetesError(
        status=status, reason="Forbidden" if status == 403 else "NotFound", message="no"))
    result = observe([Target("cluster-a", "kind-a")])["cluster-a"]
    assert isinstance(result, Observed)
    assert result.cilium_image is None and str(status) in result.cilium_image_error


def test_the_agent_image_is_the_cilium_agent_containers():
    daemonset = {"spec": {"template": {"spec": {"containers": [
        {"name": "mount-cgroup", "image": "busybox"},
        {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.19.4"}]}}}}
    assert agent_image(daemonset) == "quay.io/cilium/cilium:v1.19.4"
    assert agent_image({"spec": {}}) is None


def test_services_not_listable_at_all_make_the_cluster_unreachable(kube):
    api = kube.cluster("cluster-a")
    for path in ("/api/v1/services", "/api/v1/namespaces/kube-system/services"):
        api.react(f"get {path}", forbidden("services"))
    result = observe([Target("cluster-a", "kind-a")])["cluster-a"]
    assert result == Unreachable("cluster-a", "kind-a",
                                 'HTTP 403 Forbidden: services is forbidden: User "ci" cannot list')


def test_refused_connection_and_unknown_context_are_unreachable_the_others_observed(kube):
    kube.dead("cluster-b")
    kube.cluster("cluster-a")
    results = observe([Target("cluster-a", "kind-a"), Target("cluster-b", "kind-b"), Target("cluster-c", "nope")])
    assert list(results) == ["cluster-a", "cluster-b", "cluster-c"]
    assert isinstance(results["cluster-a"], Observed)
    assert results["cluster-b"].reason.startswith("cannot connect")
    assert results["cluster-c"].reason.startswith("context 'nope' is not in the kubeconfig (")


def test_a_slow_cluster_times_out_and_the_others_are_observed_meanwhile(kube):
    slow = kube.cluster("cluster-a")
    slow.slow("get /api/v1/services")
    kube.cluster("cluster-b")
    started = time.monotonic()
    results = observe([Target("cluster-a", "kind-a"), Target("cluster-b", "kind-b")], timeout=1.0)
    assert time.monotonic() - started < 3.5
    assert results["cluster-a"] == Unreachable("cluster-a", "kind-a", "no answer within 1 s")
    assert isinstance(results["cluster-b"], Observed)


def test_concurrency_is_bounded_and_progress_is_reported(kube):
    for name in ("cluster-a", "cluster-b", "cluster-c"):
        kube.cluster(name)
    events: list[tuple[str, str]] = []
    lock = threading.Lock()

    def progress(cluster: str, state: str) -> None:
        with lock:
            events.append((cluster, state))

    targets = [Target(c, f"kind-{c[-1]}") for c in ("cluster-a", "cluster-b", "cluster-c")]
    observe(targets, concurrency=1, progress=progress)
    assert [state for _, state in events] == ["connecting", "listing", "done"] * 3  # one at a time
    assert [c for c, s in events if s == "done"] == ["cluster-a", "cluster-b", "cluster-c"]


def test_kubeconfig_merges_files_and_runs_exec_credential_plugins(kube):
    plain = kube.cluster("cluster-a")
    with_exec = kube.cluster("cluster-b", exec_token="from-the-exec-plugin")
    assert len(os.environ["KUBECONFIG"].split(os.pathsep)) == 2
    results = observe([Target("cluster-a", "kind-a"), Target("cluster-b", "kind-b")])
    assert all(isinstance(r, Observed) for r in results.values())
    assert {h.get("Authorization") for h in plain.headers()} == {"Bearer token-cluster-a"}
    assert {h.get("Authorization") for h in with_exec.headers()} == {"Bearer from-the-exec-plugin"}


def test_nothing_but_reads(kube):
    api = kube.cluster("cluster-a")
    observe([Target("cluster-a", "kind-a")])
    assert {method for method, _ in api.requests()} == {"GET"}


def test_dump_is_a_state_folder_simulate_reads_without_secrets(kube, tmp_path):
    from meshspec.analysis.state import load_state

    kube.cluster("cluster-a")
    kube.dead("cluster-b")
    results = observe([Target("cluster-a", "kind-a"), Target("cluster-b", "kind-b")])
    written = write_dump(str(tmp_path / "dump"), results.values())
    assert sorted(os.path.relpath(p, tmp_path / "dump") for p in written) == [
        "cluster-a/cilium-config.yaml", "cluster-a/cilium-daemonset.yaml", "cluster-a/endpointslices.yaml",
        "cluster-a/namespaces.yaml", "cluster-a/services.yaml"]
    text = "".join(pathlib.Path(p).read_text() for p in written)
    assert "Secret" not in text and "managedFields" not in text and "ca.key" not in text
    state, diagnostics = load_state(str(tmp_path / "dump"))
    assert diagnostics == []
    assert state.clusters == ("cluster-a",)
    assert sorted(state.services) == [("kube-system", "clustermesh-apiserver"), ("shop", "checkout"), ("shop", "web")]
    assert len(state.services["shop", "web"]["cluster-a"].slices) == 1
    assert state.cilium_images == {"cluster-a": "quay.io/cilium/cilium:v1.20.1@sha256:" + "0a1b2c3d4e5f60718293a4b5c6d7e8f9" * 2}


def test_describe_error_without_a_body():
    from kubernetes.client.exceptions import ApiException

    assert describe_error(ApiException(status=500, reason="Internal Server Error")) == "HTTP 500 Internal Server Error"
    assert describe_error(TimeoutError("x"), 2.5) == "no answer within 2.5 s"


def test_importing_meshspec_never_loads_the_kubernetes_client():
    import subprocess

    code = ("import sys, meshspec.cli, meshspec.cli.commands.verify, meshspec.analysis.verify, meshspec.adapters.live, meshspec.spec.check; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('kubernetes', 'urllib3')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"


def test_dump_writes_only_over_its_own_files(tmp_path):
    """verify --dump follows render's ownership rule: a hand-written file in the way blocks it."""
    from meshspec.artifacts.files import BlockedPaths
    from meshspec.adapters.live import DUMP_HEADER

    result = Observed("cluster-a", "kind-a", (), (), None)
    (tmp_path / "dump" / "cluster-a").mkdir(parents=True)
    mine = tmp_path / "dump" / "cluster-a" / "services.yaml"
    mine.write_text("my notes\n")
    with pytest.raises(BlockedPaths):
        write_dump(str(tmp_path / "dump"), [result])
    assert mine.read_text() == "my notes\n"
    mine.unlink()
    write_dump(str(tmp_path / "dump"), [result])
    assert mine.read_text().startswith(DUMP_HEADER)
    write_dump(str(tmp_path / "dump"), [result])  # its own files: replaced


# --- MCS-API objects and Namespaces (issue 14) --------------------------------------------------------

EXPORT = {"apiVersion": "multicluster.x-k8s.io/v1alpha1", "kind": "ServiceExport",
          "metadata": {"namespace": "shop", "name": "web", "creationTimestamp": "2026-01-01T00:00:00Z"},
          "status": {"conditions": [{"type": "Conflict", "status": "True", "reason": "PortConflict",
                                     "message": "Ports from cluster \"cluster-b\" does not match"}]}}


def test_with_mcs_service_exports_and_imports_are_listed_and_dumped_for_simulate(kube, tmp_path):
    from meshspec.analysis.state import load_state

    api = kube.cluster("cluster-a", load_live("cluster-a") + [EXPORT])
    result = observe([Target("cluster-a", "kind-a")], mcs=True)["cluster-a"]
    assert [(o["metadata"]["name"], o["status"]["conditions"][0]["type"]) for o in result.service_exports] == [
        ("web", "Conflict")]
    assert result.service_imports == ()
    assert ("GET", "/apis/multicluster.x-k8s.io/v1alpha1/serviceexports") in api.requests()
    assert [n["metadata"]["name"] for n in result.namespace_objects] == ["kube-system", "shop"]
    written = write_dump(str(tmp_path / "dump"), [result])
    assert sorted(os.path.basename(p) for p in written) == [
        "cilium-config.yaml", "cilium-daemonset.yaml", "endpointslices.yaml", "namespaces.yaml",
        "serviceexports.yaml", "serviceimports.yaml", "services.yaml"]
    state, diagnostics = load_state(str(tmp_path / "dump"))
    assert diagnostics == []
    export = state.objects["ServiceExport"]["cluster-a"]["shop", "web"]
    assert export.created == "2026-01-01T00:00:00Z" and export.conditions["Conflict"]["reason"] == "PortConflict"
    assert set(state.objects["Namespace"]["cluster-a"]) == {("", "kube-system"), ("", "shop")}


def test_without_the_mcs_crd_exports_are_not_readable_not_an_error(kube):
    api = kube.cluster("cluster-a")
    api.react("get /apis/multicluster.x-k8s.io/v1alpha1/serviceexports", kmock.KubernetesError(status=404, reason="NotFound", message="the server could not find the requested resource"))
    api.react("get /apis/multicluster.x-k8s.io/v1alpha1/serviceimports", kmock.KubernetesError(status=404, reason="NotFound", message="the server could not find the requested resource"))
    result = observe([Target("cluster-a", "kind-a")], mcs=True)["cluster-a"]
    assert isinstance(result, Observed)
    assert result.service_exports is None and result.service_imports is None


def test_without_mcs_no_mcs_request_is_sent(kube):
    api = kube.cluster("cluster-a")
    observe([Target("cluster-a", "kind-a")])
    assert not any("multicluster" in path for _, path in api.requests())


# --- the running Cilium version in the dump (issue 14) ------------------------------------------------

def _observed_with_image(cluster: str, ip: str, image: str | None) -> Observed:
    """One ready pod behind a global Service with affinity "none", the value #46623 is about."""
    service = {"metadata": {"name": "web", "namespace": "shop", "annotations": {
        "service.cilium.io/global": "true", "service.cilium.io/affinity": "none"}},
        "spec": {"clusterIP": "10.96.0.10", "selector": {"app": "web"}, "ports": [{"port": 80, "protocol": "TCP"}]}}
    endpoints = {"metadata": {"name": "web-1", "namespace": "shop", "labels": {SERVICE_NAME_LABEL: "web"}},
                 "addressType": "IPv4", "endpoints": [{"addresses": [ip], "conditions": {"ready": True}}],
                 "ports": [{"port": 8080, "protocol": "TCP"}]}
    return Observed(cluster, f"kind-{cluster[-1]}", (service,), (endpoints,), None, cilium_image=image)


def test_the_dump_keeps_each_clusters_cilium_version_and_simulate_routes_each_with_its_own(tmp_path, capsys):
    """verify routes a cluster with the Cilium its DaemonSet runs; simulate of the dump must agree. #46623
    (cilium/versions.py): on 1.19 affinity "none" drops every remote backend, on 1.20 it does not."""
    from meshspec.analysis.state import load_state

    dump = tmp_path / "dump"
    write_dump(str(dump), [_observed_with_image("cluster-a", "10.0.1.1", "quay.io/cilium/cilium:v1.20.1"),
                           _observed_with_image("cluster-b", "10.0.2.1", "quay.io/cilium/cilium:v1.19.2@sha256:ab"),
                           _observed_with_image("cluster-c", "10.0.3.1", None)])
    assert not (dump / "cluster-c" / "cilium-daemonset.yaml").exists()  # not read: nothing to write
    state, diagnostics = load_state(str(dump))
    assert diagnostics == []
    assert state.cilium_images == {"cluster-a": "quay.io/cilium/cilium:v1.20.1",
                                   "cluster-b": "quay.io/cilium/cilium:v1.19.2@sha256:ab"}
    assert cli.main(["simulate", str(dump), "--format", "json"]) == 0
    out, err = capsys.readouterr()
    assert "cluster-b runs Cilium 1.19.2 (its cilium DaemonSet's image quay.io/cilium/cilium:v1.19.2@sha256:ab)" in err
    [web] = json.loads(out)["services"]
    assert "cluster-a runs" not in err  # 1.20.1: the minor simulate models by default
    reached = {observer: view["frontends"]["80/TCP"]["backends"] for observer, view in web["observers"].items()}
    assert reached["cluster-a"] == reached["cluster-c"] == ["10.0.1.1:8080", "10.0.2.1:8080", "10.0.3.1:8080"]
    assert reached["cluster-b"] == ["10.0.2.1:8080"]  # 1.19: the remote backends are dropped
    # --cilium-version models every cluster with the version it names, the dump's images notwithstanding
    assert cli.main(["simulate", str(dump), "--format", "json", "--cilium-version", "1.20"]) == 0
    [web] = json.loads(capsys.readouterr().out)["services"]
    assert {tuple(v["frontends"]["80/TCP"]["backends"]) for v in web["observers"].values()} == {
        ("10.0.1.1:8080", "10.0.2.1:8080", "10.0.3.1:8080")}
