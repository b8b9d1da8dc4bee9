"""meshspec's Pulumi program under the real engine: `pulumi` 3.260.0 and pulumi-resource-kubernetes 4.25.0
(tools/pulumi/build_pulumi.py), through the Automation API's inline program (tests/support/pulumi_engine.py:
the Python language host is not served by the Go module proxy, so `pulumi up` on `runtime: python` cannot
start here), in a copy of the project with its real Pulumi.yaml and stacks/.

Issue 12's seven scenarios, each asserting what a user sees (kubectl, `meshspec verify`/`diff`/`stacks`, the
engine's change summary). Deletes (scenarios 4 and 6) finish because each control plane runs
kube-controller-manager's garbage collector: the provider deletes with foreground propagation. The e2e specs
leave out `cilium.install`: the Cilium Helm release needs the chart repository online.
"""

from __future__ import annotations

import copy
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.support.pulumi_engine import REPO, Project, PulumiBinaries

pytestmark = [pytest.mark.e2e, pytest.mark.pulumi]

EXAMPLE = REPO / "examples" / "mesh.yaml"
# What the scenarios measured, for the run's summary (tests/e2e/conftest.py prints TABLE).
TABLE: list[str] = []


def meshspec_cli(*args: str, cwd: Path = REPO, env: dict | None = None) -> subprocess.CompletedProcess:
    exe = Path(sys.executable).parent / "meshspec"
    argv = [str(exe)] if exe.is_file() else [sys.executable, "-m", "meshspec"]
    return subprocess.run([*argv, *args], capture_output=True, text=True, cwd=cwd, env=env, timeout=300)


def kustomized_objects(cluster_dir: Path) -> list[dict]:
    """The objects a `meshspec render` folder's kustomization.yaml lists."""
    kustomization = yaml.safe_load((cluster_dir / "kustomization.yaml").read_text())
    return [d for name in kustomization["resources"] for d in yaml.safe_load_all((cluster_dir / name).read_text()) if d]


def by_ref(objects: list[dict]) -> dict[str, dict]:
    return {f"{o['kind']}/{o['metadata'].get('namespace', '')}/{o['metadata']['name']}": o for o in objects}


@pytest.fixture(scope="module")
def bins() -> PulumiBinaries:
    return PulumiBinaries.find()


def test_render_dir_stack_writes_the_objects_meshspec_render_writes(tmp_path, bins):
    """Scenario 7: the repository's `dev` stack (meshspec:renderDir: out/pulumi) on the example mesh.

    Its `cilium.install: true` is no obstacle: render mode installs no Cilium and needs no CA."""
    project = Project.copy(tmp_path / "engine", bins)
    up = project.run("up", "dev")
    # The stack, one provider per cluster, the example's 11 Services and the 6 Namespaces they use
    # (shop and monitoring in each cluster; default always exists).
    assert up.changed() == {"create": 21}, up.output
    assert up.outputs["services"]["cluster-b"] == ["default/myapp-service", "shop/checkout", "shop/inventory",
                                                   "monitoring/metrics"]
    rendered = tmp_path / "rendered"
    r = meshspec_cli("render", str(EXAMPLE), "-o", str(rendered))
    assert r.returncode == 0, r.stderr
    clusters = sorted(p.name for p in rendered.iterdir() if p.is_dir())
    assert clusters == sorted(p.name for p in (project.root / "out" / "pulumi").iterdir())
    for cluster in clusters:
        by_engine = [d for f in sorted((project.root / "out" / "pulumi" / cluster).rglob("*.yaml"))
                     for d in yaml.safe_load_all(f.read_text()) if d]
        assert by_ref(by_engine) == by_ref(kustomized_objects(rendered / cluster)), cluster
    # A second up renders nothing new.
    again = project.run("up", "dev", expect_no_changes=True)
    assert again.changed() == {}, again.output


# ---------------------------------------------------------------- against the three control planes

CLUSTERS = ("cluster-a", "cluster-b", "cluster-c")
MANAGED = "app.kubernetes.io/managed-by=meshspec"


def e2e_spec() -> dict:
    """The example mesh without `cilium.install` (the chart repository is offline here). Its
    `spec.cilium.clustermesh` stays, so verify expects a NodePort clustermesh-apiserver Service."""
    spec = yaml.safe_load(EXAMPLE.read_text())
    del spec["spec"]["cilium"]["install"]
    return spec


def live_services(mesh, cluster: str) -> set[str]:
    items = json.loads(mesh.kubectl(cluster, "get", "services", "-A", "-l", MANAGED, "-o", "json").stdout)["items"]
    return {f"{s['metadata']['namespace']}/{s['metadata']['name']}" for s in items}


@pytest.fixture
def project(tmp_path, bins, mesh):
    """A project copy with the e2e spec at e2e/mesh.yaml, the namespaces its Services live in, and a
    clustermesh-apiserver Service meshspec does not manage. Afterwards every meshspec Service is gone
    (the other e2e tests expect clean clusters); namespaces stay (no namespace controller runs)."""
    project = Project.copy(tmp_path / "engine", bins, mesh.kubeconfig)
    project.write("e2e/mesh.yaml", yaml.safe_dump(e2e_spec(), sort_keys=False))
    apiserver = {"apiVersion": "v1", "kind": "Service",
                 "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system"},
                 "spec": {"type": "NodePort", "selector": {"k8s-app": "clustermesh-apiserver"},
                          "ports": [{"port": 2379, "targetPort": 2379, "nodePort": 32379}]}}
    for cluster in CLUSTERS:
        for ns in ("shop", "monitoring"):
            mesh.kubectl(cluster, "create", "namespace", ns, check=False)
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=cilium-e2e", "-f", "-",
                     input=json.dumps(apiserver))
        # Ready backends in every cluster, so verify's routing finds some.
        slices = "\n---\n".join(json.dumps(backends(o, cluster)) for o in rendered(cluster))
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-", input=slices)
    yield project
    for cluster in CLUSTERS:
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", MANAGED, "--wait=false")
        mesh.kubectl(cluster, "delete", "endpointslices", "-A", "-l", f"{SLICE_MANAGER}=meshspec-e2e")
        mesh.kubectl(cluster, "delete", "service", "-n", "kube-system", "clustermesh-apiserver", "--ignore-not-found")


def verify(project: Project, mesh, spec: str = "e2e/mesh.yaml", *extra: str) -> subprocess.CompletedProcess:
    """`meshspec verify` of a spec in the project through the read-only contexts."""
    contexts = [a for c in CLUSTERS for a in ("--context", f"{c}={mesh.context(c, readonly=True)}")]
    return meshspec_cli("verify", spec, *contexts, *extra, cwd=project.root, env=project.env())


def rendered(cluster: str, spec: dict | None = None) -> list[dict]:
    from meshspec.artifacts.manifests import render_cluster
    from meshspec.spec.model import build_mesh

    return render_cluster(build_mesh(spec or e2e_spec()), cluster)


def rendered_services(cluster: str, spec: dict | None = None) -> set[str]:
    return {f"{o['metadata']['namespace']}/{o['metadata']['name']}" for o in rendered(cluster, spec)}


SLICE_MANAGER = "endpointslice.kubernetes.io/managed-by"


def backends(service: dict, cluster: str) -> dict:
    """The EndpointSlice the EndpointSlice controller would write for one ready pod behind `service`
    (no controller runs on these control planes)."""
    meta = service["metadata"]
    ports = [{"name": p.get("name", ""), "protocol": p.get("protocol", "TCP"),
              "port": p["targetPort"] if isinstance(p.get("targetPort"), int) else p["port"]}
             for p in service["spec"]["ports"]]
    return {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{meta['name']}-e2e", "namespace": meta["namespace"],
                         "labels": {"kubernetes.io/service-name": meta["name"], SLICE_MANAGER: "meshspec-e2e"}},
            "addressType": "IPv4", "ports": ports,
            "endpoints": [{"addresses": [f"10.{CLUSTERS.index(cluster) + 1}.0.10"],
                           "conditions": {"ready": True, "serving": True, "terminating": False}}]}


def test_one_stack_for_the_whole_mesh_creates_exactly_its_services(project, mesh):
    """Scenario 1."""
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    preview = project.run("preview", "mesh")
    # The stack, 3 providers, 11 Services and 6 Namespaces (shop and monitoring in each cluster).
    assert preview.changed() == {"create": 21}, preview.output
    assert all(live_services(mesh, c) == set() for c in CLUSTERS)  # a preview changes nothing
    up = project.run("up", "mesh")
    assert up.changed() == {"create": 21}, up.output
    for cluster in CLUSTERS:
        assert live_services(mesh, cluster) == rendered_services(cluster), cluster
    r = verify(project, mesh)
    assert r.returncode == 0, r.stdout + r.stderr
    again = project.run("up", "mesh", expect_no_changes=True)
    assert again.changed() == {}, again.output
    TABLE.append(f"pulumi: one stack for the mesh, `up`: {up.seconds:.1f}s (21 resources), no-op `up`: {again.seconds:.1f}s")


def service(mesh, cluster: str, namespace: str, name: str) -> dict:
    return json.loads(mesh.kubectl(cluster, "get", "service", name, "-n", namespace, "--show-managed-fields",
                                   "-o", "json").stdout)


def namespace_phase(mesh, cluster: str, name: str) -> str:
    return json.loads(mesh.kubectl(cluster, "get", "namespace", name, "-o", "json").stdout)["status"]["phase"]


def write_spec(project: Project, relative: str, spec: dict) -> None:
    project.write(relative, yaml.safe_dump(spec, sort_keys=False))


def spec_service(spec: dict, name: str) -> dict:
    return next(s for s in spec["spec"]["services"] if s["name"] == name)


def resource_count(cluster: str) -> int:
    """What a stack for `cluster` alone holds: the stack, its provider, its Services and Namespaces."""
    from meshspec.artifacts.manifests import mesh_namespaces
    from meshspec.spec.model import build_mesh

    return 2 + len(rendered_services(cluster)) + len(mesh_namespaces(build_mesh(e2e_spec()))[cluster])


def test_one_stack_per_cluster_from_meshspec_stacks_reaches_the_same_end_state(project, mesh):
    """Scenario 2: `meshspec stacks` writes a stack file per cluster; each stack's `up` creates its own
    cluster's Services and touches no other cluster; after the three, the clusters hold what the single stack
    of scenario 1 makes, and verify exits 0."""
    for cluster in CLUSTERS:  # the repository's per-cluster stacks deploy examples/mesh.yaml, not this spec
        (project.root / "stacks" / f"Pulumi.{cluster}.yaml").unlink()
    r = meshspec_cli("stacks", "e2e/mesh.yaml", cwd=project.root, env=project.env())
    assert r.returncode == 0, r.stderr
    assert "stack files for 3 clusters in stacks/: 3 created, 0 updated, 0 unchanged, 0 kept" in r.stdout, r.stdout
    r = meshspec_cli("stacks", "e2e/mesh.yaml", "--list", "--format", "json", cwd=project.root, env=project.env())
    assert r.returncode == 0, r.stderr
    stacks = json.loads(r.stdout)
    assert stacks == list(CLUSTERS)  # not dev: it renders examples/mesh.yaml
    seconds = []
    for i, stack in enumerate(stacks):
        up = project.run("up", stack)
        seconds.append(up.seconds)
        assert up.changed() == {"create": resource_count(stack)}, up.output
        assert list(up.outputs["services"]) == [stack]
        assert set(up.outputs["services"][stack]) == rendered_services(stack)
        for cluster in CLUSTERS:
            want = rendered_services(cluster) if cluster in stacks[:i + 1] else set()
            assert live_services(mesh, cluster) == want, (stack, cluster)
    r = verify(project, mesh)
    assert r.returncode == 0, r.stdout + r.stderr
    again = project.run("up", "cluster-b", expect_no_changes=True)
    assert again.changed() == {}, again.output
    TABLE.append(f"pulumi: one stack per cluster, `up` of each: {', '.join(f'{s:.1f}s' for s in seconds)}")


def test_drift_is_reported_by_verify_and_refresh_then_up_restore_it(project, mesh):
    """Scenario 3: an annotation removed with kubectl."""
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    project.run("up", "mesh")
    key = "service.cilium.io/affinity"
    assert service(mesh, "cluster-b", "shop", "checkout")["metadata"]["annotations"][key] == "local"
    mesh.kubectl("cluster-b", "annotate", "service", "checkout", "-n", "shop", f"{key}-")
    r = verify(project, mesh)
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "cluster-a (context cluster-a-readonly): ok" in lines, r.stdout
    assert "cluster-b (context cluster-b-readonly): 1 problem" in lines, r.stdout
    drift = [line for line in lines if line.startswith("  shop/checkout: ")]
    assert len(drift) == 1 and key in drift[0] and "annotation" in drift[0], r.stdout
    assert r.stderr.endswith("verify: 3 clusters checked, 1 problem, 0 unreachable\n"), r.stderr
    refresh = project.run("refresh", "mesh")
    assert refresh.changed() == {"update": 1}, refresh.output  # the state learns of the drift
    up = project.run("up", "mesh")
    assert up.changed() == {"update": 1}, up.output
    assert service(mesh, "cluster-b", "shop", "checkout")["metadata"]["annotations"][key] == "local"
    r = verify(project, mesh)
    assert r.returncode == 0, r.stdout + r.stderr


def test_a_spec_change_shows_in_meshspec_diff_and_up_applies_it(project, mesh):
    """Scenario 4: cluster-c stops sharing myapp-service, and the metrics service is removed from the spec."""
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    project.run("up", "mesh")
    old = e2e_spec()
    new = copy.deepcopy(old)
    spec_service(new, "myapp-service")["overrides"]["cluster-c"] = {"shared": False}
    new["spec"]["services"] = [s for s in new["spec"]["services"] if s["name"] != "metrics"]
    write_spec(project, "e2e/mesh.old.yaml", old)
    write_spec(project, "e2e/mesh.yaml", new)
    d = meshspec_cli("diff", "e2e/mesh.old.yaml", "e2e/mesh.yaml", cwd=project.root, env=project.env())
    assert d.returncode == 0, d.stderr
    assert "cluster-c: changed service.default.myapp-service.yaml" in d.stdout, d.stdout
    assert 'annotation service.cilium.io/shared: (unset) -> "false"' in d.stdout, d.stdout
    for cluster in CLUSTERS:
        assert f"{cluster}: removed service.monitoring.metrics.yaml" in d.stdout, d.stdout
    up = project.run("up", "mesh")
    # One Service changed; three deleted; the monitoring Namespace no Service uses leaves each stack (retained).
    assert up.changed() == {"update": 1, "delete": 6}, up.output
    for cluster in CLUSTERS:
        assert live_services(mesh, cluster) == rendered_services(cluster, new), cluster
        assert namespace_phase(mesh, cluster, "monitoring") == "Active", cluster
    annotations = service(mesh, "cluster-c", "default", "myapp-service")["metadata"]["annotations"]
    assert annotations["service.cilium.io/shared"] == "false"
    r = verify(project, mesh)
    assert r.returncode == 0, r.stdout + r.stderr
    r = verify(project, mesh, "e2e/mesh.old.yaml")  # the live mesh no longer is the old spec
    assert r.returncode == 1, r.stdout + r.stderr


# What a hand-made Service carries that meshspec does not set (verify does not look at
# internalTrafficPolicy), and one field meshspec sets to another value.
HAND_ANNOTATION = ("example.com/owner", "platform-team")
HAND_LABEL = ("tier", "edge")
HAND_SPEC = ("internalTrafficPolicy", "Local")
CONFLICT = ("service.cilium.io/affinity", "remote")  # the spec says local for shop/checkout
HOW_MADE = {"cluster-a": ("apply", "kubectl-client-side-apply"), "cluster-b": ("create", "kubectl-create")}


def hand_made(obj: dict, session_affinity: bool) -> dict:
    """A rendered Service as someone made it by hand before meshspec: with an annotation, a label and an
    internalTrafficPolicy of their own, checkout's affinity set otherwise than the spec, and, with
    session_affinity, sessionAffinity ClientIP where the spec leaves the API server's default (None)."""
    obj = copy.deepcopy(obj)
    meta = obj["metadata"]
    meta.setdefault("annotations", {})[HAND_ANNOTATION[0]] = HAND_ANNOTATION[1]
    meta["labels"][HAND_LABEL[0]] = HAND_LABEL[1]
    if meta["name"] == "checkout":
        meta["annotations"][CONFLICT[0]] = CONFLICT[1]
    obj["spec"][HAND_SPEC[0]] = HAND_SPEC[1]
    if session_affinity:
        obj["spec"]["sessionAffinity"] = "ClientIP"
    return obj


def make_by_hand(mesh, session_affinity: bool) -> None:
    """cluster-a's Services with `kubectl apply`, cluster-b's with `kubectl create`."""
    for cluster, (verb, _) in HOW_MADE.items():
        docs = "\n---\n".join(json.dumps(hand_made(o, session_affinity)) for o in rendered(cluster))
        mesh.kubectl(cluster, verb, "-f", "-", input=docs)


def fields_of(svc: dict, manager: str) -> str:
    """The fieldsV1 `manager` owns, as JSON text: look for '"f:<field>"' in it."""
    return json.dumps([m.get("fieldsV1", {}) for m in svc["metadata"]["managedFields"] if m["manager"] == manager])


def owns(fields: str, name: str) -> bool:
    return f'"f:{name}"' in fields


def pulumi_manager(svc: dict) -> str:
    names = [m["manager"] for m in svc["metadata"]["managedFields"] if m["manager"].startswith("pulumi-kubernetes")]
    assert len(names) == 1, svc["metadata"]["managedFields"]
    return names[0]


def assert_keeps_theirs(live: dict, manager: str, where) -> None:
    """What the hand-made Service added that meshspec does not set is still there, still `manager`'s."""
    assert live["metadata"]["annotations"][HAND_ANNOTATION[0]] == HAND_ANNOTATION[1], where
    assert live["metadata"]["labels"][HAND_LABEL[0]] == HAND_LABEL[1], where
    assert live["spec"][HAND_SPEC[0]] == HAND_SPEC[1], where
    theirs, ours = fields_of(live, manager), fields_of(live, pulumi_manager(live))
    for field in (HAND_ANNOTATION[0], HAND_LABEL[0], HAND_SPEC[0]):
        assert owns(theirs, field) and not owns(ours, field), (where, field)
    assert owns(ours, "app.kubernetes.io/managed-by"), where


def assert_taken_over(mesh, cluster: str, manager: str) -> None:
    """Every Service of `cluster` has the spec's values (by force where the hand-made one differed) and
    keeps what the hand-made one added."""
    for obj in rendered(cluster):
        meta = obj["metadata"]
        live = service(mesh, cluster, meta["namespace"], meta["name"])
        where = (cluster, meta["name"])
        for key, value in meta.get("annotations", {}).items():
            assert live["metadata"]["annotations"][key] == value, where
        assert live["spec"]["sessionAffinity"] == "None", where
        assert_keeps_theirs(live, manager, where)
        ours, theirs = fields_of(live, pulumi_manager(live)), fields_of(live, manager)
        assert owns(ours, "sessionAffinity") and not owns(theirs, "sessionAffinity"), where
        if meta["name"] == "checkout":
            assert owns(ours, CONFLICT[0]) and not owns(theirs, CONFLICT[0]), where


def test_adopt_takes_over_services_made_with_kubectl_and_keeps_what_kubectl_owns(project, mesh):
    """Scenario 5, with meshspec:adopt, before any `pulumi up`. Fails without the program's two fixes:
    without patchForce, checkout's affinity is an SSA conflict; without the explicit defaults, sessionAffinity
    stays ClientIP and verify reports spec drift on every Service."""
    make_by_hand(mesh, session_affinity=True)
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml", "meshspec:adopt": "true"})
    up = project.run("up", "mesh")
    assert up.changed() == {"create": 21}, up.output
    assert "AlreadyExists" not in up.output
    for cluster, (_, manager) in HOW_MADE.items():
        assert_taken_over(mesh, cluster, manager)
    r = verify(project, mesh)
    assert r.returncode == 0, r.stdout + r.stderr
    again = project.run("up", "mesh", expect_no_changes=True)
    assert again.changed() == {}, again.output


def test_without_adopt_4_25_takes_over_what_agrees_and_stops_at_a_conflicting_field(project, mesh):
    """Scenario 5, without meshspec:adopt, on pulumi-kubernetes 4.25: its Create is a server-side apply
    without force. So no AlreadyExists: a hand-made Service whose fields agree with the spec is taken over
    silently (keeping the rest); one with a field set otherwise (checkout's affinity) fails the update with an
    SSA conflict that names the other manager, and the engine stops. `meshspec:adopt` then takes it.

    And what a later Update does: the provider first hands every field of a manager whose name starts with
    "kubectl" (Update or Apply operations: kubectl apply, create, annotate, edit...) to its own manager
    (fixCSAFieldManagers, pkg/await/await.go), then applies without them, so the hand-written annotation,
    label and internalTrafficPolicy are removed. Here that Update is the one adopt causes (the patchForce
    annotation); any change of the spec causes one too."""
    make_by_hand(mesh, session_affinity=False)
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    up = project.run("up", "mesh", check=False)
    assert not up.ok
    text = up.error + up.output
    assert "AlreadyExists" not in text and "already exists" not in text
    assert "Server-Side Apply field conflict detected" in text, text
    assert re.search(r'conflict with "kubectl-(client-side-apply|create)" using v1: '
                     r'\.metadata\.annotations\.service\.cilium\.io/affinity', text), text
    created = created_services(up)
    assert created, up.output
    for cluster, namespace, name in created:  # taken over silently: pulumi's now, with the hand-made rest
        assert_keeps_theirs(service(mesh, cluster, namespace, name), HOW_MADE[cluster][1], (cluster, name))
    for cluster in HOW_MADE:
        assert service(mesh, cluster, "shop", "checkout")["metadata"]["annotations"][CONFLICT[0]] == CONFLICT[1]
    up = project.run("up", "mesh", config={"meshspec:adopt": "true"})
    # The rest (how many the first up reached before it stopped varies), the checkouts among them.
    created_now = created_services(up)
    assert {(c, "shop", "checkout") for c in HOW_MADE} <= created_now and not created & created_now, up.output
    for cluster, namespace, name in created_now:
        live = service(mesh, cluster, namespace, name)
        want = next(o for o in rendered(cluster) if o["metadata"]["name"] == name)["metadata"].get("annotations", {})
        assert {k: live["metadata"]["annotations"].get(k) for k in want} == want, (cluster, name)
        assert_keeps_theirs(live, HOW_MADE[cluster][1], (cluster, name))  # created: nothing of theirs is lost
    for cluster, namespace, name in created:  # updated: what kubectl-* owned is gone
        live = service(mesh, cluster, namespace, name)
        where = (cluster, name)
        assert HAND_ANNOTATION[0] not in live["metadata"]["annotations"], where
        assert HAND_LABEL[0] not in live["metadata"]["labels"], where
        assert live["spec"][HAND_SPEC[0]] == "Cluster", where  # back to the API server's default
        assert not any(m["manager"].startswith("kubectl") for m in live["metadata"]["managedFields"]), where


def created_services(result) -> set[tuple[str, str, str]]:
    """(cluster, namespace, name) of each Service the engine says it created in cluster-a or cluster-b."""
    return set(re.findall(r"kubernetes:core/v1:Service (cluster-[ab])/(\S+)/(\S+) created", result.output))


def test_destroy_removes_what_meshspec_created_and_nothing_else(project, mesh):
    """Scenario 6: destroy deletes every Service the stack created (foreground, as the provider deletes:
    kube-controller-manager's garbage collector ends it); a Service meshspec does not manage survives, and so
    do the Namespaces (retainOnDelete)."""
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    project.run("up", "mesh")
    for cluster in CLUSTERS:
        mesh.kubectl(cluster, "create", "service", "clusterip", "legacy", "--tcp=80:8080", "-n", "shop")
    try:
        destroy = project.run("destroy", "mesh")
        assert destroy.changed() == {"delete": 21}, destroy.output
        for cluster in CLUSTERS:
            assert live_services(mesh, cluster) == set(), cluster
            assert service(mesh, cluster, "shop", "legacy")["spec"]["ports"][0]["targetPort"] == 8080
            assert service(mesh, cluster, "kube-system", "clustermesh-apiserver")["spec"]["type"] == "NodePort"
            for ns in ("shop", "monitoring"):
                assert namespace_phase(mesh, cluster, ns) == "Active", (cluster, ns)
    finally:
        for cluster in CLUSTERS:
            mesh.kubectl(cluster, "delete", "service", "legacy", "-n", "shop", "--ignore-not-found")
    TABLE.append(f"pulumi: destroy of the one-stack mesh (21 resources): {destroy.seconds:.1f}s")
