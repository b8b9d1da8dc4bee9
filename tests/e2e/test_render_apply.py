"""`meshspec render` output applied to real kube-apiservers, for the example mesh and for a mesh with
Services in three namespaces (fixtures/three-namespaces.yaml).

The meshes' clusters (cluster-a/b/c) are reached through the contexts
examples/mesh.yaml names (kind-cluster-a, ...), which the harness's kubeconfig
carries as aliases of each cluster's admin context.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

try:
    from tests.support import e2e
except ImportError:  # as in conftest.py: tests/ is on sys.path
    from support import e2e

pytestmark = pytest.mark.e2e

SPECS = {"example": e2e.EXAMPLE, "three-namespaces": Path(__file__).resolve().parent / "fixtures" / "three-namespaces.yaml"}
rendered_objects = e2e.rendered_objects


@pytest.fixture(scope="module", params=list(SPECS))
def spec(request):
    return SPECS[request.param]


@pytest.fixture(scope="module")
def example_clusters(spec):
    return e2e.spec_clusters(spec)


@pytest.fixture(scope="module")
def rendered(tmp_path_factory, mesh, spec, example_clusters):
    """Render the spec once; remove what another spec left; create the namespaces its objects live in."""
    out = tmp_path_factory.mktemp("rendered")
    e2e.render(spec, out)
    for cluster in example_clusters:
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", "app.kubernetes.io/managed-by=meshspec",
                     "--wait=false", timeout=e2e.CLI_TIMEOUT)
    assert sorted(example_clusters) == sorted(p.name for p in out.iterdir() if p.is_dir())
    for cluster, context in example_clusters.items():
        objects = rendered_objects(out / cluster)
        assert objects, f"nothing rendered for {cluster}"
        namespaces = sorted({o["metadata"]["namespace"] for o in objects if o["metadata"].get("namespace")})
        ns_docs = "\n---\n".join(json.dumps({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": n}})
                                 for n in namespaces)
        mesh.kubectl(cluster, "apply", "--server-side", "-f", "-", context=context, input=ns_docs)
    return out


def ref(o: dict) -> str:
    return f"{o['kind'].lower()}/{o['metadata']['name']}"


def live(mesh, cluster, context, o):
    args = ["get", o["kind"], o["metadata"]["name"], "-o", "json"]
    if o["metadata"].get("namespace"):
        args += ["-n", o["metadata"]["namespace"]]
    return json.loads(mesh.kubectl(cluster, *args, context=context).stdout)


def test_server_dry_run_accepts_every_rendered_object(mesh, rendered, example_clusters):
    for cluster, context in example_clusters.items():
        for o in rendered_objects(rendered / cluster):
            doc = json.dumps(o)
            r = mesh.kubectl(cluster, "apply", "--server-side", "--dry-run=server", "-f", "-",
                             context=context, input=doc, check=False)
            assert r.returncode == 0, f"{cluster}: {ref(o)}: {r.stderr}"
            assert "(server dry run)" in r.stdout, r.stdout


def test_apply_then_reapply_changes_nothing(mesh, rendered, example_clusters):
    for cluster, context in example_clusters.items():
        cluster_dir = rendered / cluster
        objects = rendered_objects(cluster_dir)
        first = mesh.kubectl(cluster, "apply", "--server-side", "-k", str(cluster_dir), context=context).stdout
        for o in objects:
            assert f"{ref(o)} serverside-applied" in first, (cluster, first)
        before = {ref(o): live(mesh, cluster, context, o) for o in objects}
        for o in objects:
            got = before[ref(o)]
            # What meshspec renders is what the API server keeps.
            for key in ("labels", "annotations"):
                assert o["metadata"].get(key, {}).items() <= got["metadata"].get(key, {}).items(), (cluster, ref(o))
            if o["kind"] == "Service":
                assert {p["port"] for p in o["spec"]["ports"]} == {p["port"] for p in got["spec"]["ports"]}

        again = mesh.kubectl(cluster, "apply", "--server-side", "-k", str(cluster_dir), context=context).stdout
        for o in objects:
            assert f"{ref(o)} serverside-applied" in again, (cluster, again)
            after = live(mesh, cluster, context, o)
            assert after["metadata"]["resourceVersion"] == before[ref(o)]["metadata"]["resourceVersion"], (
                f"{cluster}: second apply changed {ref(o)}")


def test_clusters_hold_only_their_own_rendering(mesh, rendered, example_clusters):
    """cluster-a does not get the services the spec keeps off it."""
    for cluster, context in example_clusters.items():
        mesh.kubectl(cluster, "apply", "--server-side", "-k", str(rendered / cluster), context=context)
        want = {(o["metadata"]["namespace"], o["metadata"]["name"]) for o in e2e.rendered_services(rendered / cluster)}
        items = json.loads(mesh.kubectl(cluster, "get", "services", "-A", "-l", "app.kubernetes.io/managed-by=meshspec",
                                        "-o", "json", context=context).stdout)["items"]
        got = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in items}
        assert got == want, cluster
