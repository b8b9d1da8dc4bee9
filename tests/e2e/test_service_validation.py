"""meshspec's Service validation against a real kube-apiserver: every case of the corpus in
tests/support/service_corpus.py gets meshspec's verdict (meshspec.k8s.service_schema.check_service) and the
API server's (`kubectl create --dry-run=server`), and they must agree. The table of both is written to
<tmp>/service-verdicts.md and printed in the terminal summary.

Also: every object meshspec renders for the three-namespace mesh passes a server-side dry run (the
example's are in test_render_apply.py).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from meshspec.k8s.service_schema import check_service

try:
    from tests.support import e2e
    from tests.support.service_corpus import CASES, CLUSTER_DEPENDENT
except ImportError:  # as in conftest.py: tests/ is on sys.path
    from support import e2e
    from support.service_corpus import CASES, CLUSTER_DEPENDENT

pytestmark = pytest.mark.e2e

THREE_NAMESPACES = Path(__file__).resolve().parent / "fixtures" / "three-namespaces.yaml"
TABLE: list[str] = []  # read by conftest.py's terminal summary


def service_name(i: int) -> str:
    return f"corpus-{i:02d}"


def meshspec_verdict(spec) -> str | None:
    found = []
    check_service({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "default"},
                   "spec": spec}, lambda code, path, message, at_key=False: found.append(message))
    return "; ".join(found) or None


def api_server_verdict(mesh, i: int, spec) -> str | None:
    doc = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": service_name(i), "namespace": "default"},
           "spec": spec}
    r = mesh.kubectl("cluster-a", "create", "--dry-run=server", "-f", "-", input=json.dumps(doc), check=False)
    if r.returncode == 0:
        return None
    return (r.stderr.strip() or r.stdout.strip()).replace("\n", " ")


def cell(verdict: str | None) -> str:
    return "accepted" if verdict is None else "rejected"


def test_corpus_verdicts_match_the_api_server(mesh, tmp_path_factory):
    assert len(CASES) >= 50
    rows, disagreements = [], []
    for i, (name, (spec, expected)) in enumerate(CASES.items()):
        ours, theirs = meshspec_verdict(spec), api_server_verdict(mesh, i, spec)
        dependent = name in CLUSTER_DEPENDENT
        agree = (ours is None) == (theirs is None)
        rows.append(f"| {name} | {cell(ours)} | {cell(theirs)} |"
                    f" {'yes' if agree else 'cluster-dependent' if dependent else 'NO'} |")
        if not agree and not dependent:
            disagreements.append(f"{name}: meshspec {cell(ours)} ({ours}), API server {cell(theirs)} ({theirs})")
    table = ["| case | meshspec | API server | agree |", "|---|---|---|---|", *rows]
    out = tmp_path_factory.getbasetemp() / "service-verdicts.md"
    out.write_text("\n".join(table) + "\n")
    TABLE[:] = [f"e2e: Service corpus verdicts ({len(CASES)} cases), also in {out}:", *table]
    assert disagreements == []


def test_three_namespace_render_passes_server_dry_run(mesh, tmp_path):
    rendered = e2e.render(THREE_NAMESPACES, tmp_path / "rendered")
    for cluster, context in e2e.spec_clusters(THREE_NAMESPACES).items():
        objects = e2e.rendered_objects(rendered / cluster)
        services = e2e.rendered_services(rendered / cluster)
        e2e.create_namespaces(mesh, cluster, (o["metadata"]["namespace"] for o in services), context)
        assert {o["metadata"]["namespace"] for o in services} >= {"frontend", "backend"}
        assert {o["metadata"]["name"] for o in objects if o["kind"] == "Namespace"} >= {"frontend", "backend"}
        for o in objects:
            r = mesh.kubectl(cluster, "apply", "--server-side", "--dry-run=server", "-f", "-", context=context,
                             input=json.dumps(o), check=False)
            assert r.returncode == 0, f"{cluster}: {o['metadata']['name']}: {r.stderr}"
            assert "(server dry run)" in r.stdout, r.stdout
