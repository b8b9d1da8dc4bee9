"""Kubernetes API test servers (kmock's emulator), one HTTP server per cluster, reached through kubeconfig
files: one file per cluster, merged through KUBECONFIG, some with an exec credential plugin. The `kube`
fixture (tests/conftest.py) starts them; kmock needs Python 3.11+.
"""

from __future__ import annotations

import asyncio
import json
import os
import pathlib
import socket
import sys
import threading
from typing import Any, Callable

import kmock
import pytest
import yaml

from .live_objects import load_live

RESOURCES = {"Service": "v1/services", "EndpointSlice": "discovery.k8s.io/v1/endpointslices",
             "ConfigMap": "v1/configmaps", "Secret": "v1/secrets", "DaemonSet": "apps/v1/daemonsets",
             "ServiceExport": "multicluster.x-k8s.io/v1alpha1/serviceexports",
             "ServiceImport": "multicluster.x-k8s.io/v1alpha1/serviceimports"}


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
                exec_token: str | None = None, namespaces: list[str] | None = None) -> ApiServer:
        """Start a server holding `objects` (default: the fixture's healthy ones), reachable through
        kubeconfig context `context` (default kind-<last letter>, as in the fixture spec), and the
        Namespaces `namespaces` (default: default, kube-system and every namespace of the objects)."""
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
            names = namespaces if namespaces is not None else sorted(
                {"default", "kube-system"} | {o["metadata"]["namespace"] for o in handler.objects.values()
                                              if o["metadata"].get("namespace")})
            # The emulator parses /api/v1/namespaces/NAME as a namespace, not a Namespace: fixed answers.
            for ns in names:
                handler[f"get /api/v1/namespaces/{ns}"] << {"apiVersion": "v1", "kind": "Namespace",
                                                            "metadata": {"name": ns}}
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

    def kubeconfig(self, cluster: str, context: str, server: str, exec_token: str | None,
                   user: dict[str, Any] | None = None, insecure: bool = False) -> None:
        """One kubeconfig file for `cluster`, added to KUBECONFIG. `user` replaces the generated user."""
        user = user or {"token": f"token-{cluster}"}
        if exec_token is not None:
            credential = {"apiVersion": "client.authentication.k8s.io/v1", "kind": "ExecCredential",
                          "status": {"token": exec_token}}
            user = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                             "args": ["-c", f"print({json.dumps(json.dumps(credential))})"],
                             "interactiveMode": "Never"}}
        config = {"apiVersion": "v1", "kind": "Config",
                  "clusters": [{"name": cluster, "cluster": {"server": server,
                                                             **({"insecure-skip-tls-verify": True} if insecure else {})}}],
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


class TlsStub:
    """An HTTPS API server with a self-signed certificate (kmock serves plain HTTP), answering every LIST
    with no items and every other GET with 404: enough for verify to observe an empty cluster through a
    kubeconfig with insecure-skip-tls-verify. Needs the openssl command."""

    def __init__(self, folder: pathlib.Path):
        import http.server
        import ssl
        import subprocess

        cert, key = folder / "tls.crt", folder / "tls.key"
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                        "/CN=localhost", "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's name)
                listing = not self.path.split("?")[0].rstrip("/").endswith("cilium-config")
                body = json.dumps({"kind": "List", "apiVersion": "v1", "metadata": {}, "items": []} if listing
                                  else {"kind": "Status", "code": 404, "message": "not found"}).encode()
                self.send_response(200 if listing else 404)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(str(cert), str(key))
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.url = f"https://127.0.0.1:{self.server.server_address[1]}"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()
