"""Large: 20 namespaces x 500 Services in each cluster (a generated spec), rendered and applied server-side
in batches, an EndpointSlice per Service, then `meshspec verify`: its wall time, and the requests it made
per cluster, counted from each kube-apiserver's apiserver_request_total before and after. verify makes
one LIST per kind per cluster (paged by meshspec.adapters.live.PAGE_SIZE) and one GET of cilium-config.

Marked slow, and run only with MESHSPEC_E2E_SLOW=1 (the apply of 60,000 objects took over 20 minutes
on the loaded 2-core machine). The numbers go to the terminal summary.
"""

from __future__ import annotations

import concurrent.futures
import json
import math
import re
import time
from collections import Counter

import pytest
import yaml

from meshspec.adapters.live import PAGE_SIZE

try:
    from tests.support import e2e
except ImportError:  # as in conftest.py: tests/ is on sys.path
    from support import e2e

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

NAMESPACES, SERVICES = 20, 500
BATCH = 500
TABLE: list[str] = []  # read by conftest.py's terminal summary
READ = {"services", "endpointslices", "configmaps", "namespaces"}


def large_spec(clusters) -> dict:
    services = [{"name": f"svc-{j:03d}", "namespace": f"ns-{i:02d}",
                 "spec": {"selector": {"app": f"svc-{j:03d}"}, "ports": [{"name": "http", "port": 80,
                                                                          "targetPort": 8080}]}}
                for i in range(NAMESPACES) for j in range(SERVICES)]
    return {"apiVersion": "meshspec/v1alpha1", "kind": "Mesh", "metadata": {"name": "large"},
            "spec": {"clusters": [{"name": cp.name, "id": cp.cluster_id, "context": cp.name,
                                   "clustermesh": {"address": f"172.18.0.{1 + cp.cluster_id}"}} for cp in clusters],
                     "services": services}}


METRIC = re.compile(r'^apiserver_request_total\{(?P<labels>[^}]*)\} (?P<value>\S+)$')


def requests(cp) -> Counter:
    """(verb, resource) -> apiserver_request_total, summed over codes and scopes."""
    status, body = cp.get("/metrics", timeout=60)
    assert status == 200, body[:200]
    counts: Counter = Counter()
    for line in body.decode().splitlines():
        m = METRIC.match(line)
        if m:
            labels = dict(re.findall(r'(\w+)="([^"]*)"', m["labels"]))
            counts[(labels["verb"], labels["resource"], labels.get("subresource", ""))] += int(float(m["value"]))
    return counts


def apply_cluster(mesh, cluster: str, objects: list[dict]) -> float:
    t0 = time.monotonic()
    for start in range(0, len(objects), BATCH):
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-",
                     input=e2e.stream(objects[start:start + BATCH]), timeout=e2e.CLI_TIMEOUT)
    return time.monotonic() - t0


def test_verify_at_20_namespaces_x_500_services(mesh, tmp_path):
    spec = tmp_path / "large.yaml"
    spec.write_text(yaml.safe_dump(large_spec(list(mesh)), sort_keys=False))
    t0 = time.monotonic()
    rendered = e2e.render(spec, tmp_path / "rendered")
    render_s = time.monotonic() - t0

    def load(cluster):
        services = e2e.rendered_services(rendered / cluster)
        assert len(services) == NAMESPACES * SERVICES
        slices = [e2e.endpoint_slice(s, f"10.{mesh[cluster].cluster_id}.{1 + i // 250}.{1 + i % 250}")
                  for i, s in enumerate(services)]
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", "app.kubernetes.io/managed-by=meshspec",
                     "--wait=false", timeout=e2e.CLI_TIMEOUT)
        mesh.kubectl(cluster, "delete", "endpointslices.discovery.k8s.io", "-A", "-l",
                     "endpointslice.kubernetes.io/managed-by=meshspec-e2e", "--wait=false", timeout=e2e.CLI_TIMEOUT)
        e2e.create_namespaces(mesh, cluster, (f"ns-{i:02d}" for i in range(NAMESPACES)))
        return apply_cluster(mesh, cluster, services), apply_cluster(mesh, cluster, slices)

    t0 = time.monotonic()
    with concurrent.futures.ThreadPoolExecutor(len(mesh.names)) as pool:
        applied = dict(zip(mesh.names, pool.map(load, mesh.names)))
    apply_s = time.monotonic() - t0

    before = {cp.name: requests(cp) for cp in mesh}
    t0 = time.monotonic()
    r = e2e.meshspec("verify", spec, "--format", "json", "--timeout", "300",
                     *e2e.readonly_contexts(mesh, mesh.names), kubeconfig=mesh.kubeconfig)
    verify_s = time.monotonic() - t0
    after = {cp.name: requests(cp) for cp in mesh}
    result = json.loads(r.stdout)
    assert r.returncode == 0, (r.stderr, result["problems"][:5])

    TABLE[:] = [f"e2e: large: {NAMESPACES} namespaces x {SERVICES} Services per cluster: render {render_s:.1f}s, "
                f"apply (3 clusters at once, batches of {BATCH}) {apply_s:.1f}s, verify {verify_s:.1f}s"]
    for cp in mesh:
        made = {k: n for k, n in (after[cp.name] - before[cp.name]).items() if k[1] in READ}
        services = len(json.loads(mesh.kubectl(cp.name, "get", "services", "-A", "-o", "json",
                                                timeout=e2e.CLI_TIMEOUT).stdout)["items"])
        slices = NAMESPACES * SERVICES
        want = {("LIST", "services", ""): math.ceil(services / PAGE_SIZE),
                ("LIST", "endpointslices", ""): math.ceil(slices / PAGE_SIZE),
                ("GET", "configmaps", ""): 1}
        TABLE.append(f"e2e: large: {cp.name}: applied Services in {applied[cp.name][0]:.1f}s, EndpointSlices in "
                     f"{applied[cp.name][1]:.1f}s; verify's requests: "
                     + ", ".join(f"{verb} {res} x{n}" for (verb, res, _), n in sorted(made.items())))
        assert made == want, cp.name
