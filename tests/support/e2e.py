"""Helpers the e2e tests share: the meshspec CLI in a subprocess, a render applied to live clusters, and
the objects Cilium (not meshspec) would have put there.

Each test module asks for what it needs; none imports another (tests/test_architecture.py).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "mesh.yaml"
CLI_TIMEOUT = 600  # the machine is shared and loaded


def meshspec_cli() -> list[str]:
    exe = Path(sys.executable).parent / "meshspec"
    return [str(exe)] if exe.is_file() else [sys.executable, "-m", "meshspec"]


def meshspec(*args: str, kubeconfig: Path | None = None, timeout: float = CLI_TIMEOUT) -> subprocess.CompletedProcess:
    """`meshspec ARGS...` in a subprocess (KUBECONFIG=kubeconfig when given)."""
    env = dict(os.environ)
    if kubeconfig is not None:
        env["KUBECONFIG"] = str(kubeconfig)
    return subprocess.run([*meshspec_cli(), *map(str, args)], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=timeout)


def spec_clusters(spec: Path) -> dict[str, str]:
    """cluster name -> the context the spec names for it."""
    doc = yaml.safe_load(Path(spec).read_text())
    return {c["name"]: c["context"] for c in doc["spec"]["clusters"]}


def readonly_contexts(mesh, clusters) -> list[str]:
    """`--context cluster=cluster-readonly` for each cluster: verify reads through the read-only SA."""
    args = []
    for cluster in clusters:
        args += ["--context", f"{cluster}={mesh.context(cluster, readonly=True)}"]
    return args


def render(spec: Path, out: Path) -> Path:
    r = meshspec("render", spec, "-o", out)
    assert r.returncode == 0, r.stderr
    return out


def rendered_objects(cluster_dir: Path) -> list[dict]:
    """The objects kustomization.yaml lists (cilium-values.yaml is Helm values, not an object)."""
    kustomization = yaml.safe_load((cluster_dir / "kustomization.yaml").read_text())
    objects = []
    for name in kustomization["resources"]:
        objects += [d for d in yaml.safe_load_all((cluster_dir / name).read_text()) if d]
    return objects


def rendered_services(cluster_dir: Path) -> list[dict]:
    """The Services among them (render also writes the Namespaces they live in)."""
    return [o for o in rendered_objects(cluster_dir) if o["kind"] == "Service"]


def stream(objects) -> str:
    """A YAML stream (JSON documents are YAML documents)."""
    return "\n---\n".join(json.dumps(o) for o in objects) + "\n"


def create_namespaces(mesh, cluster: str, names, context: str | None = None) -> None:
    docs = [{"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}} for n in sorted(set(names))]
    if docs:
        mesh.kubectl(cluster, "apply", "--server-side", "-f", "-", context=context, input=stream(docs))


def apply_render(mesh, rendered: Path, contexts: dict[str, str]) -> None:
    """Namespaces first, then `kubectl apply --server-side -k <rendered>/<cluster>` in each cluster."""
    for cluster, context in contexts.items():
        objects = rendered_services(rendered / cluster)
        create_namespaces(mesh, cluster, (o["metadata"]["namespace"] for o in objects
                                          if o["metadata"].get("namespace")), context)
        mesh.kubectl(cluster, "apply", "--server-side", "-k", str(rendered / cluster), context=context,
                     timeout=CLI_TIMEOUT)


def clustermesh_apiserver(node_port: int = 32379) -> dict:
    """The kube-system/clustermesh-apiserver NodePort Service a Cilium install with
    clustermesh.apiserver.service.type=NodePort creates (the example spec's `spec.cilium`)."""
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system",
                         "labels": {"app.kubernetes.io/part-of": "cilium", "k8s-app": "clustermesh-apiserver"}},
            "spec": {"type": "NodePort", "selector": {"k8s-app": "clustermesh-apiserver"},
                     "ports": [{"port": 2379, "targetPort": 2379, "protocol": "TCP", "nodePort": node_port}]}}


def endpoint_slice(service: dict, address: str, name: str | None = None) -> dict:
    """One ready endpoint at `address` for every port of `service`, as the EndpointSlice controller would
    write it (no controller runs in the e2e control planes)."""
    meta = service["metadata"]
    ports = []
    for p in service["spec"]["ports"]:
        target = p.get("targetPort", p["port"])
        port = {"port": target if isinstance(target, int) else p["port"], "protocol": p.get("protocol", "TCP")}
        if p.get("name"):
            port["name"] = p["name"]
        ports.append(port)
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": name or f"{meta['name']}-e2e", "namespace": meta["namespace"],
                         "labels": {"kubernetes.io/service-name": meta["name"],
                                    "endpointslice.kubernetes.io/managed-by": "meshspec-e2e"}},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [address], "conditions": {"ready": True, "serving": True,
                                                                   "terminating": False}}],
            "ports": ports}


def get_json(mesh, cluster: str, *args: str) -> dict:
    return json.loads(mesh.kubectl(cluster, "get", *args, "-o", "json").stdout)
