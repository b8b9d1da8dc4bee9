"""README's "Take over a running mesh", walked as a team would, on the three real control planes and the real
Pulumi engine (tests/support/pulumi_engine.py: the Automation API with the project's program inline).

Beforehand, with kubectl only: a namespace, Services applied from YAML and then annotated and labelled by hand
(the legacy `io.cilium/global-service` alias in one cluster, `"True"` in another, a per-cloud load-balancer
annotation in two clusters, a label set with `kubectl label`), and a Service meshspec must not touch. Then
README's five steps: import, validate, verify (what deploying changes), a `prod` stack with `meshspec:adopt`
(local file backend, passphrase, `pulumi config set`), preview and up, verify; the alias the earlier manager
left is removed by hand as README step 5 says; a second up changes nothing; the other Service is as it was.
"""

from __future__ import annotations

import json
import time

import pytest
import yaml

from tests.support import e2e
from tests.support.pulumi_engine import Project, PulumiBinaries

pytestmark = [pytest.mark.e2e, pytest.mark.pulumi]

NAMESPACE = "payments"
CLUSTERS = ("cluster-a", "cluster-b", "cluster-c")
ALIAS = "io.cilium/global-service"
GLOBAL = "service.cilium.io/global"
# How each cluster's team marked the Services global, by hand (README: Cilium reads the alias and "True").
GLOBAL_BY_HAND = {"cluster-a": {"api": (ALIAS, "true"), "checkout": (GLOBAL, "true")},
                  "cluster-b": {"api": (GLOBAL, "true"), "checkout": (GLOBAL, "True")},
                  "cluster-c": {"api": (GLOBAL, "true"), "checkout": (GLOBAL, "true")}}
# A per-cloud load-balancer annotation: what `overrides.<cluster>.annotations` holds.
LB_ANNOTATION = {"cluster-a": ("service.beta.kubernetes.io/aws-load-balancer-internal", "true"),
                 "cluster-b": ("networking.gke.io/load-balancer-type", "Internal")}
LABEL = ("team", "payments")
UNTOUCHED = "legacy"
PATCH_FORCE = "pulumi.com/patchForce"
TIMES: list[str] = []
TABLE: list[str] = []  # for the run's summary (tests/e2e/conftest.py prints it)


def hand_service(name: str, **spec) -> dict:
    return {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": NAMESPACE},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}], **spec}}


def make_by_hand(mesh) -> None:
    for cluster in CLUSTERS:
        mesh.kubectl(cluster, "create", "namespace", NAMESPACE)  # the control planes are new each session
        mesh.kubectl(cluster, "apply", "-f", "-", input=e2e.stream(
            [hand_service("api"), hand_service("checkout", type="LoadBalancer")]))
        for name, (key, value) in GLOBAL_BY_HAND[cluster].items():
            mesh.kubectl(cluster, "annotate", "service", name, "-n", NAMESPACE, f"{key}={value}")
        mesh.kubectl(cluster, "label", "service", "api", "-n", NAMESPACE, f"{LABEL[0]}={LABEL[1]}")
        if cluster in LB_ANNOTATION:
            key, value = LB_ANNOTATION[cluster]
            mesh.kubectl(cluster, "annotate", "service", "checkout", "-n", NAMESPACE, f"{key}={value}")
        mesh.kubectl(cluster, "create", "service", "clusterip", UNTOUCHED, "--tcp=80:8080", "-n", NAMESPACE)
        # Ready pods behind the global Services (no EndpointSlice controller runs here), so verify routes.
        slices = [e2e.endpoint_slice(hand_service(n), f"10.{CLUSTERS.index(cluster) + 1}.7.{i + 1}")
                  for i, n in enumerate(("api", "checkout"))]
        mesh.kubectl(cluster, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-",
                     input=e2e.stream(slices))


def clean(mesh) -> None:
    for cluster in CLUSTERS:
        # What earlier tests of the session rendered (the example mesh's Services) is meshspec's too: verify
        # would rightly call it stale here, where the team's mesh is all there is.
        mesh.kubectl(cluster, "delete", "services", "-A", "-l", "app.kubernetes.io/managed-by=meshspec",
                     "--wait=false", timeout=e2e.CLI_TIMEOUT)
        mesh.kubectl(cluster, "delete", "services", "-n", NAMESPACE, "--all", "--wait=false", check=False)
        mesh.kubectl(cluster, "delete", "endpointslices.discovery.k8s.io", "-n", NAMESPACE, "--all",
                     "--wait=false", check=False)
        # The namespace stays: no namespace controller runs here, so a deleted one would stay Terminating.


def live(mesh, cluster: str, name: str) -> dict:
    return e2e.get_json(mesh, cluster, "service", name, "-n", NAMESPACE, "--show-managed-fields")


def identities(mesh, cluster: str) -> dict[str, tuple]:
    """What adopting must keep: each global Service's uid and clusterIP (a new one breaks every client) and
    the namespace's uid."""
    out = {name: (svc["metadata"]["uid"], svc["spec"]["clusterIP"])
           for name in ("api", "checkout") for svc in [live(mesh, cluster, name)]}
    out["namespace"] = (e2e.get_json(mesh, cluster, "namespace", NAMESPACE)["metadata"]["uid"],)
    return out


def assert_as_the_spec_says(mesh, cluster: str) -> None:
    """The hand-made values the spec took over: "True" made canonical, the cluster's load-balancer
    annotation, the label set with kubectl, and the label render adds."""
    checkout = live(mesh, cluster, "checkout")["metadata"]["annotations"]
    assert checkout[GLOBAL] == "true", cluster
    if cluster in LB_ANNOTATION:
        assert checkout[LB_ANNOTATION[cluster][0]] == LB_ANNOTATION[cluster][1], cluster
    others = {key for c, (key, _) in LB_ANNOTATION.items() if c != cluster}
    assert not others & set(checkout), cluster  # another cloud's annotation stays in its cluster
    labels = live(mesh, cluster, "api")["metadata"]["labels"]
    assert (labels[LABEL[0]], labels["app.kubernetes.io/managed-by"]) == (LABEL[1], "meshspec"), cluster


def verify(mesh, spec) -> tuple[int, dict, str]:
    r = e2e.meshspec("verify", spec, "--format", "json", "--timeout", "60", *e2e.readonly_contexts(mesh, CLUSTERS),
                     kubeconfig=mesh.kubeconfig)
    return r.returncode, json.loads(r.stdout), r.stderr


def problems(result: dict) -> list[tuple]:
    return sorted((p["cluster"], p["kind"], f"{p['namespace']}/{p['name']}", p["field"]) for p in result["problems"])


def timed(label: str, fn, *args, **kwargs):
    t0 = time.perf_counter()
    try:
        return fn(*args, **kwargs)
    finally:
        TIMES.append(f"{label} {time.perf_counter() - t0:.1f}s")


@pytest.fixture
def team_mesh(mesh):
    clean(mesh)
    make_by_hand(mesh)
    yield mesh
    clean(mesh)


def test_a_hand_annotated_mesh_is_taken_over_as_readme_says(team_mesh, tmp_path):
    mesh = team_mesh
    bins = PulumiBinaries.find()
    project = Project.copy(tmp_path / "engine", bins, mesh.kubeconfig)
    before = {c: live(mesh, c, UNTOUCHED) for c in CLUSTERS}
    identity = {c: identities(mesh, c) for c in CLUSTERS}

    # 1. Import, through the contexts Pulumi will write through (README step 2), into the project folder.
    spec = project.root / "mesh.yaml"
    r = timed("import", e2e.meshspec, "import", *[a for c in CLUSTERS for a in ("--context", c)],
              "--namespace", NAMESPACE, "--timeout", "60", "-o", spec, kubeconfig=mesh.kubeconfig)
    assert r.returncode == 0, r.stderr
    assert f"cluster-a: {NAMESPACE}/api: warning: {ALIAS}: " in r.stderr, r.stderr  # import-alias
    assert r.stderr.endswith(f"import: 3 clusters, 2 services, 1 warning; wrote {spec} "
                             f"(next: meshspec validate {spec})\n"), r.stderr
    document = yaml.safe_load(spec.read_text())
    services = {s["name"]: s for s in document["spec"]["services"]}
    assert sorted(services) == ["api", "checkout"]  # not the Service nobody marked global
    assert [c["context"] for c in document["spec"]["clusters"]] == list(CLUSTERS)
    assert services["api"]["labels"] == {LABEL[0]: LABEL[1]}
    assert services["checkout"]["overrides"] == {
        c: {"annotations": {key: value}} for c, (key, value) in LB_ANNOTATION.items()}
    assert services["checkout"]["spec"]["type"] == "LoadBalancer"

    # 2. Review: validate exits 0.
    r = e2e.meshspec("validate", spec)
    assert r.returncode == 0, r.stdout + r.stderr

    # 3. What deploying changes (README step 3): the managed-by label everywhere, "True" and the alias made
    # canonical. Nothing else.
    code, result, err = verify(mesh, spec)
    assert code == 1, err
    found = problems(result)
    assert [p for p in found if p[1] == "label-drift"] == [
        (c, "label-drift", f"{NAMESPACE}/{n}", "metadata.labels[app.kubernetes.io/managed-by]")
        for c in CLUSTERS for n in ("api", "checkout")], found
    assert {p for p in found if p[1] != "label-drift"} == {
        ("cluster-a", "annotation-drift", f"{NAMESPACE}/api", f"metadata.annotations[{GLOBAL}]"),
        ("cluster-a", "annotation-drift", f"{NAMESPACE}/api", f"metadata.annotations[{ALIAS}]"),
        ("cluster-b", "annotation-drift", f"{NAMESPACE}/checkout", f"metadata.annotations[{GLOBAL}]")}, found

    # 4. Adopt: a stack of the project (local file backend, passphrase), configured as README says.
    project.write_stack("prod", {})  # pulumi:disable-default-providers: [kubernetes]
    config = {"meshspec:spec": "mesh.yaml", "meshspec:adopt": "true"}
    preview = timed("preview", project.run, "preview", "prod", config=config)
    # The stack, 3 providers, 2 Services and the payments Namespace in each cluster.
    assert preview.changed() == {"create": 13}, preview.output
    assert all(PATCH_FORCE not in json.dumps(live(mesh, c, "api")) for c in CLUSTERS)  # a preview changes nothing
    up = timed("up", project.run, "up", "prod")
    assert up.changed() == {"create": 13}, up.output
    for text in ("AlreadyExists", "already exists", "conflict"):
        assert text not in up.output + up.error, up.output
    assert up.outputs["services"] == {c: [f"{NAMESPACE}/api", f"{NAMESPACE}/checkout"] for c in CLUSTERS}
    for cluster in CLUSTERS:
        assert identities(mesh, cluster) == identity[cluster], cluster  # taken over, not recreated
        assert_as_the_spec_says(mesh, cluster)
        assert live(mesh, cluster, "api")["metadata"]["annotations"][PATCH_FORCE] == "true", cluster

    # 5. Verify: the alias cluster-a's earlier manager (kubectl annotate) owns is still there, and reported;
    # README says to remove it by hand.
    code, result, err = timed("verify", verify, mesh, spec)
    assert live(mesh, "cluster-a", "api")["metadata"]["annotations"][ALIAS] == "true"
    assert (code, problems(result)) == (1, [
        ("cluster-a", "annotation-drift", f"{NAMESPACE}/api", f"metadata.annotations[{ALIAS}]")]), err
    mesh.kubectl("cluster-a", "annotate", "service", "api", "-n", NAMESPACE, f"{ALIAS}-")
    code, result, err = verify(mesh, spec)
    assert (code, result["problems"], result["unreachable"]) == (0, [], []), err

    # A second up changes nothing; the Service meshspec does not manage is as it was.
    again = timed("second up", project.run, "up", "prod", expect_no_changes=True)
    assert again.changed() == {}, again.output

    # README: once the stack holds the objects, `pulumi config rm meshspec:adopt`; the next up drops the
    # patchForce annotation adopt put on each object (pulumi-kubernetes 4.25), and verify stays clean.
    stack_file = project.root / "stacks" / "Pulumi.prod.yaml"
    settings = yaml.safe_load(stack_file.read_text())
    del settings["config"]["meshspec:adopt"]
    stack_file.write_text(yaml.safe_dump(settings, sort_keys=False))
    after = timed("up without adopt", project.run, "up", "prod")
    assert after.changed() == {"update": 9}, after.output
    assert all(PATCH_FORCE not in live(mesh, c, n)["metadata"].get("annotations", {})
               for c in CLUSTERS for n in ("api", "checkout"))
    code, result, err = verify(mesh, spec)
    assert (code, result["problems"], result["unreachable"]) == (0, [], []), err
    for cluster in CLUSTERS:
        assert identities(mesh, cluster) == identity[cluster], cluster
        assert_as_the_spec_says(mesh, cluster)
        assert live(mesh, cluster, UNTOUCHED) == before[cluster], cluster
    TABLE.append(f"takeover (import, adopt, verify) on 3 control planes: {', '.join(TIMES)}")
