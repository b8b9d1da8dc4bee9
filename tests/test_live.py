"""meshspec.live against Kubernetes API test servers (kmock's emulator), one HTTP server per cluster,
reached through kubeconfig files that the `kube` fixture writes: one file per cluster, merged through
KUBECONFIG, some with an exec credential plugin.

The harness here (ApiServer, Harness, the `kube` fixture, load_live) is shared with test_verify.py.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import socket
import sys
import threading
import time
from typing import Any, Callable

import pytest
import yaml

kmock = pytest.importorskip("kmock")  # needs Python 3.11+

from meshspec.adapters.live import describe_error, observe_all, write_dump
from meshspec.k8s.observed import Observed, Target, Unreachable  # noqa: E402

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "verify"
RESOURCES = {"Service": "v1/services", "EndpointSlice": "discovery.k8s.io/v1/endpointslices",
             "ConfigMap": "v1/configmaps", "Secret": "v1/secrets"}


def load_live(cluster: str) -> list[dict]:
    """The objects a cluster serves when it matches tests/fixtures/verify/mesh.yaml."""
    return [doc for doc in yaml.safe_load_all((FIXTURES / "live" / f"{cluster}.yaml").read_text()) if doc]


def find(objects: list[dict], kind: str, namespace: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["namespace"] == namespace
                and o["metadata"]["name"] == name)


def drop(objects: list[dict], kind: str, namespace: str, name: str) -> list[dict]:
    return [o for o in objects if o is not find(objects, kind, namespace, name)]


class ApiServer:
    """One cluster's API test server. Requests are recorded; reactions override the emulator."""

    def __init__(self, harness: Harness, handler: Any, server: Any):
        self.harness, self.handler, self.server = harness, handler, server

    @property
    def url(self) -> str:
        return str(self.server.url).rstrip("/")

    def requests(self) -> list[tuple[str, str]]:
        """(method, path) of every request served, in order."""
        return [(str(r.method.value), r.url.path) for r in self.handler]

    def headers(self) -> list[dict]:
        return [dict(r.headers) for r in self.handler]

    def react(self, criteria: str, payload: Any) -> None:
        self.harness.call(lambda: self.handler[criteria] << payload)

    def slow(self, criteria: str) -> None:
        """Answer `criteria` only when the test ends."""
        async def hold(request: Any) -> dict:
            await self.harness.release.wait()
            return {"items": []}
        self.react(criteria, hold)


class Harness:
    """Kubernetes API test servers on one background event loop, and the kubeconfig files that reach
    them (KUBECONFIG lists one file per cluster)."""

    def __init__(self, folder: pathlib.Path, monkeypatch: pytest.MonkeyPatch):
        self.folder, self.monkeypatch = folder, monkeypatch
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.release = self.run(self._event())
        self.servers: list[ApiServer] = []
        self.files: list[str] = []

    async def _event(self) -> asyncio.Event:
        return asyncio.Event()

    def run(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout=30)

    def call(self, fn: Callable[[], Any]) -> Any:
        async def inside() -> Any:
            return fn()
        return self.run(inside())

    def cluster(self, name: str, objects: list[dict] | None = None, context: str | None = None,
                exec_token: str | None = None) -> ApiServer:
        """Start a server holding `objects` (default: the fixture's healthy ones), reachable through
        kubeconfig context `context` (default kind-<last letter>, as in the fixture spec)."""
        async def start() -> ApiServer:
            handler = kmock.KubernetesEmulator()
            await handler.__aenter__()
            server = kmock.Server(handler)
            await server.__aenter__()
            for resource in RESOURCES.values():
                handler.resources[resource] = {}
            for obj in load_live(name) if objects is None else objects:
                meta = obj["metadata"]
                handler.objects[RESOURCES[obj["kind"]], meta.get("namespace"), meta["name"]] = obj
            return ApiServer(self, handler, server)

        api = self.run(start())
        self.servers.append(api)
        self.kubeconfig(name, context or f"kind-{name[-1]}", api.url, exec_token)
        return api

    def dead(self, name: str, context: str | None = None) -> None:
        """A cluster whose API server refuses connections."""
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        self.kubeconfig(name, context or f"kind-{name[-1]}", f"http://127.0.0.1:{port}", None)

    def kubeconfig(self, cluster: str, context: str, server: str, exec_token: str | None) -> None:
        user: dict[str, Any] = {"token": f"token-{cluster}"}
        if exec_token is not None:
            credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {"token": exec_token}}
            user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                             "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
                             "interactiveMode": "Never"}}
        config = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"name": cluster, "cluster": {"server": server}}],
                  "users": [{"name": f"user-{cluster}", "user": user}],
                  "contexts": [{"name": context, "context": {"cluster": cluster, "user": f"user-{cluster}"}}]}
        path = self.folder / f"kubeconfig-{cluster}-{len(self.files)}"
        path.write_text(yaml.safe_dump(config))
        self.files.append(str(path))
        self.monkeypatch.setenv("KUBECONFIG", os.pathsep.join(self.files))

    def close(self) -> None:
        async def stop() -> None:
            self.release.set()
            for api in reversed(self.servers):  # kmock chains its DNS interceptors: last in, first out
                await api.server.__aexit__(None, None, None)
                await api.handler.__aexit__(None, None, None)
        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=10)


@pytest.fixture
def kube(tmp_path, monkeypatch):
    harness = Harness(tmp_path, monkeypatch)
    yield harness
    harness.close()


WANTED = {("shop", "web"), ("shop", "checkout"), ("kube-system", "clustermesh-apiserver")}


def keep(obj: dict) -> bool:
    meta = obj["metadata"]
    return (meta.get("namespace"), meta["name"]) in WANTED


def observe(targets: list[Target], **options: Any) -> dict:
    options = {"timeout": 5.0, "concurrency": 4, **options}
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
        ("GET", "/api/v1/namespaces/kube-system/configmaps/cilium-config"),
        ("GET", "/api/v1/services"),
        ("GET", "/apis/discovery.k8s.io/v1/endpointslices"),
    ]
    assert not any("secrets" in path for _, path in api.requests())


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
        "/api/v1/namespaces/kube-system/configmaps/cilium-config"]


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
    assert results["cluster-c"].reason.startswith("kubeconfig:") and "nope" in results["cluster-c"].reason


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
        "cluster-a/cilium-config.yaml", "cluster-a/endpointslices.yaml", "cluster-a/services.yaml"]
    text = "".join(pathlib.Path(p).read_text() for p in written)
    assert "Secret" not in text and "managedFields" not in text and "ca.key" not in text
    state, diagnostics = load_state(str(tmp_path / "dump"))
    assert diagnostics == []
    assert state.clusters == ("cluster-a",)
    assert sorted(state.services) == [("kube-system", "clustermesh-apiserver"), ("shop", "checkout"), ("shop", "web")]
    assert len(state.services["shop", "web"]["cluster-a"].slices) == 1


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
