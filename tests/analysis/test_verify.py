"""meshspec verify: the pure comparison on fixture objects, then the command against Kubernetes API test
servers (kmock), one per cluster, through kubeconfig files (tests/support/kube.py).

tests/support/fixtures/verify/live/<cluster>.yaml is what each cluster serves when all is well, with every field
the API server and controllers add; each test breaks one thing and checks that exactly that is reported.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import json
import os
import sys
import time

import pytest

from meshspec import cli
from meshspec.k8s.observed import Observed, Unreachable
from meshspec.spec.check import check_file
from meshspec.analysis.verify import keeper, verify
from meshspec.cli.commands.verify import exit_code
from meshspec.cli.progress import ProgressLines
from tests.support.live_objects import FIXTURES, drop, find, load_live

SPEC = str(FIXTURES / "mesh.yaml")
CLUSTERS = ("cluster-a", "cluster-b", "cluster-c")


@pytest.fixture(scope="module")
def mesh():
    mesh, diagnostics = check_file(SPEC)
    assert mesh is not None, diagnostics
    return mesh


def observed(mesh, cluster: str, objects: list[dict], cilium_config_error: str | None = None) -> Observed:
    """What live.observe returns for a cluster serving `objects`."""
    keep = keeper(mesh)
    services = [o for o in objects if o["kind"] == "Service" and keep(o)]
    names = {(s["metadata"]["namespace"], s["metadata"]["name"]) for s in services}
    slices = [o for o in objects if o["kind"] == "EndpointSlice" and
              (o["metadata"]["namespace"], o["metadata"]["labels"]["kubernetes.io/service-name"]) in names]
    config = next((o for o in objects if o["kind"] == "ConfigMap"), None) if cilium_config_error is None else None
    daemonset = next((o for o in objects if o["kind"] == "DaemonSet"), None)
    image = None if daemonset is None else daemonset["spec"]["template"]["spec"]["containers"][0]["image"]
    return Observed(cluster, f"kind-{cluster[-1]}", tuple(services), tuple(slices), config, cilium_config_error,
                    cilium_image=image, cilium_image_error=None if image else "HTTP 404 Not Found")


def check(mesh, **changes):
    """verify() on the healthy fixture, after `changes[cluster](objects)` edits (or replaces) a cluster."""
    results = {}
    for cluster in CLUSTERS:
        objects = copy.deepcopy(load_live(cluster))
        edit = changes.get(cluster.replace("-", "_"))
        if edit is not None:
            edited = edit(objects)
            objects = edited if isinstance(edited, list) else objects  # an edit in place returns anything
        results[cluster] = observed(mesh, cluster, objects)
    return verify(mesh, results)


def summary(report) -> list[tuple]:
    return [(p.cluster, p.kind, f"{p.namespace}/{p.name}", p.field, p.expected, p.actual) for p in report.problems]


# --- comparison -----------------------------------------------------------------------------------

def test_a_healthy_mesh_has_no_problem_whatever_the_server_added(mesh):
    report = check(mesh)
    assert summary(report) == []
    assert report.notes == {}
    assert exit_code(report) == 0
    for _, name, views in report.routes:
        assert all(route.backends for view in views.values() for route in view.frontends.values()), name


def web(objects):
    return find(objects, "Service", "shop", "web")


def checkout(objects):
    return find(objects, "Service", "shop", "checkout")


def without(kind, namespace, name):
    return lambda objects: [o for o in objects if o is not find(objects, kind, namespace, name)]


def stale_copy(objects):
    old = copy.deepcopy(web(objects))
    old["metadata"]["name"] = "old-web"
    objects.append(old)


DRIFTS = {
    "missing": (dict(cluster_b=without("Service", "shop", "web")),
                [("cluster-b", "missing", "shop/web", "", "Service", None)]),
    "stale, renamed": (dict(cluster_a=stale_copy),
                       [("cluster-a", "stale", "shop/old-web", "", None, "Service")]),
    "stale, no longer placed": (dict(cluster_c=lambda o: o.append(checkout(load_live("cluster-a")))),
                                [("cluster-c", "stale", "shop/checkout", "", None, "Service")]),
    "annotation changed": (dict(cluster_a=lambda o: web(o)["metadata"]["annotations"].update(
        {"service.cilium.io/global": "false"})),
        [("cluster-a", "annotation-drift", "shop/web", "metadata.annotations[service.cilium.io/global]", "true",
          "false")]),
    "annotation removed": (dict(cluster_b=lambda o: web(o)["metadata"]["annotations"].pop("example.com/owner")),
                           [("cluster-b", "annotation-drift", "shop/web", "metadata.annotations[example.com/owner]",
                             "web-team", None)]),
    "Cilium annotation added": (dict(cluster_c=lambda o: web(o)["metadata"]["annotations"].update(
        {"service.cilium.io/shared": "false"})),
        [("cluster-c", "annotation-drift", "shop/web", "metadata.annotations[service.cilium.io/shared]", None,
          "false")]),
    "label changed": (dict(cluster_a=lambda o: web(o)["metadata"]["labels"].update({"team": "payments"})),
                      [("cluster-a", "label-drift", "shop/web", "metadata.labels[team]", "web", "payments")]),
    "managed-by label removed": (dict(cluster_b=lambda o: checkout(o)["metadata"]["labels"].clear()),
                                 [("cluster-b", "label-drift", "shop/checkout",
                                   "metadata.labels[app.kubernetes.io/managed-by]", "meshspec", None)]),
    "selector": (dict(cluster_c=lambda o: web(o)["spec"]["selector"].update({"app": "web-v2"})),
                 [("cluster-c", "spec-drift", "shop/web", "spec.selector.app", "web", "web-v2")]),
    "defaulted targetPort": (dict(cluster_a=lambda o: checkout(o)["spec"]["ports"][0].update({"targetPort": 9191})),
                             [("cluster-a", "spec-drift", "shop/checkout", "spec.ports[0].targetPort", 9090, 9191)]),
    "defaulted sessionAffinity": (dict(cluster_b=lambda o: web(o)["spec"].update({"sessionAffinity": "ClientIP"})),
                                  [("cluster-b", "spec-drift", "shop/web", "spec.sessionAffinity", "None",
                                    "ClientIP")]),
    "defaulted type, with an allocated nodePort": (
        dict(cluster_a=lambda o: (web(o)["spec"].update({"type": "NodePort"}),
                                  web(o)["spec"]["ports"][0].update({"nodePort": 30080}))),
        [("cluster-a", "spec-drift", "shop/web", "spec.type", "ClusterIP", "NodePort")]),
    "port number (parity)": (dict(cluster_b=lambda o: web(o)["spec"]["ports"][0].update({"port": 8080})),
                             [("cluster-b", "parity", "shop/web", "spec.ports", ["http 80/TCP"], ["http 8080/TCP"]),
                              ("cluster-b", "spec-drift", "shop/web", "spec.ports[0].port", 80, 8080)]),
    "cilium-config cluster-id": (dict(cluster_c=lambda o: find(o, "ConfigMap", "kube-system", "cilium-config")
                                      ["data"].update({"cluster-id": "7"})),
                                 [("cluster-c", "cilium-config", "kube-system/cilium-config", "data[cluster-id]",
                                   "3", "7")]),
    "cilium-config cluster-name unset": (dict(cluster_a=lambda o: find(o, "ConfigMap", "kube-system", "cilium-config")
                                              ["data"].pop("cluster-name")),
                                         [("cluster-a", "cilium-config", "kube-system/cilium-config",
                                           "data[cluster-name]", "cluster-a", None)]),
    "clustermesh-apiserver missing": (dict(cluster_b=without("Service", "kube-system", "clustermesh-apiserver")),
                                      [("cluster-b", "clustermesh-apiserver", "kube-system/clustermesh-apiserver", "",
                                        "NodePort", None)]),
    "clustermesh-apiserver type": (dict(cluster_c=lambda o: find(o, "Service", "kube-system", "clustermesh-apiserver")
                                        ["spec"].update({"type": "LoadBalancer"})),
                                   [("cluster-c", "clustermesh-apiserver", "kube-system/clustermesh-apiserver",
                                     "spec.type", "NodePort", "LoadBalancer")]),
}


@pytest.mark.parametrize("changes, expected", DRIFTS.values(), ids=DRIFTS.keys())
def test_each_drift_is_reported_and_nothing_else(mesh, changes, expected):
    report = check(mesh, **changes)
    assert summary(report) == expected
    assert exit_code(report) == 1


@pytest.fixture(scope="module")
def override_mesh(tmp_path_factory):
    """The fixture mesh, where cluster-a's copy of shop/web has an override label and annotation."""
    path = tmp_path_factory.mktemp("overrides") / "mesh.yaml"
    path.write_text(FIXTURES.joinpath("mesh.yaml").read_text().replace(
        "      annotations: {example.com/owner: web-team}\n",
        "      annotations: {example.com/owner: web-team}\n      overrides:\n"
        "        cluster-a: {labels: {cloud: aws}, annotations: {example.com/lb: nlb}}\n"))
    mesh, diagnostics = check_file(str(path))
    assert diagnostics == [] and mesh.services[0].cluster_annotations == {"cluster-a": {"example.com/lb": "nlb"}}
    return mesh


def with_override(labels=None, annotations=None):
    def edit(objects):
        meta = web(objects)["metadata"]
        meta["labels"].update(labels or {})
        meta.setdefault("annotations", {}).update(annotations or {})
    return edit


A_OVERRIDE = with_override({"cloud": "aws"}, {"example.com/lb": "nlb"})


def test_each_cluster_is_expected_to_carry_its_own_override(override_mesh):
    # The healthy fixture has no override anywhere: only cluster-a, whose copy should, is reported.
    assert summary(check(override_mesh)) == [
        ("cluster-a", "annotation-drift", "shop/web", "metadata.annotations[example.com/lb]", "nlb", None),
        ("cluster-a", "label-drift", "shop/web", "metadata.labels[cloud]", "aws", None)]
    assert summary(check(override_mesh, cluster_a=A_OVERRIDE)) == []


def test_a_copy_carrying_another_clusters_override_is_drift(override_mesh):
    report = check(override_mesh, cluster_a=A_OVERRIDE, cluster_b=A_OVERRIDE)
    assert summary(report) == [
        ("cluster-b", "annotation-drift", "shop/web", "metadata.annotations[example.com/lb]", None, "nlb"),
        ("cluster-b", "label-drift", "shop/web", "metadata.labels[cloud]", None, "aws")]
    assert exit_code(report) == 1


def test_a_wrong_override_value_is_drift_and_foreign_keys_still_are_not(override_mesh):
    report = check(override_mesh, cluster_a=with_override({"cloud": "aws", "owner": "x"},
                                                          {"example.com/lb": "alb", "kubectl.io/x": "y"}))
    assert summary(report) == [
        ("cluster-a", "annotation-drift", "shop/web", "metadata.annotations[example.com/lb]", "nlb", "alb")]


def not_ready(service):
    def edit(objects):
        for o in objects:
            if o["kind"] == "EndpointSlice" and o["metadata"]["labels"]["kubernetes.io/service-name"] == service:
                for endpoint in o["endpoints"]:
                    endpoint["conditions"] = {"ready": False, "serving": False, "terminating": False}
    return edit


def test_service_without_ready_endpoint_anywhere_leaves_its_clients_without_backends(mesh):
    report = check(mesh, cluster_a=not_ready("checkout"), cluster_b=not_ready("checkout"))
    assert summary(report) == [
        ("cluster-a", "no-backends", "shop/checkout", "routing", "a backend for every port", ["9090/TCP"]),
        ("cluster-b", "no-backends", "shop/checkout", "routing", "a backend for every port", ["9090/TCP"])]
    assert "9090/TCP" in report.problems[0].message


def test_no_ready_endpoint_in_one_cluster_is_fine_while_others_serve_it(mesh):
    report = check(mesh, cluster_a=not_ready("web"))
    assert summary(report) == []
    views = {name: views for _, name, views in report.routes}
    route = views["web"]["cluster-a"].frontends["80/TCP"]
    assert route.clusters == ["cluster-b", "cluster-c"]


def test_port_renamed_in_one_cluster_breaks_parity_and_its_routing(mesh):
    report = check(mesh, cluster_b=lambda o: web(o)["spec"]["ports"][0].update({"name": "web"}))
    assert summary(report) == [
        ("cluster-b", "no-backends", "shop/web", "routing", "a backend for every port", ["80/TCP"]),
        ("cluster-b", "parity", "shop/web", "spec.ports", ["http 80/TCP"], ["web 80/TCP"]),
        ("cluster-b", "spec-drift", "shop/web", "spec.ports[0].name", "http", "web"),
    ]


def test_namespace_scoped_listing_is_a_note(mesh):
    results = {c: observed(mesh, c, load_live(c)) for c in CLUSTERS}
    results["cluster-a"] = dataclasses.replace(results["cluster-a"], namespaces=("kube-system", "shop"))
    report = verify(mesh, results)
    assert report.problems == []
    assert report.notes == {"cluster-a": ["listing Services in every namespace is forbidden: listed kube-system, "
                                          "shop only, so stale Services elsewhere are not checked"]}


def test_unreadable_cilium_config_is_a_note_not_a_problem(mesh):
    results = {c: observed(mesh, c, load_live(c), "HTTP 403 Forbidden" if c == "cluster-b" else None)
               for c in CLUSTERS}
    report = verify(mesh, results)
    assert report.problems == []
    assert exit_code(report) == 0
    assert report.notes == {"cluster-b": ["kube-system/cilium-config is not readable (HTTP 403 Forbidden): "
                                          "cluster-name and cluster-id not checked"]}


def test_clustermesh_apiserver_is_not_checked_when_the_spec_does_not_manage_cluster_mesh(tmp_path):
    text = (FIXTURES / "mesh.yaml").read_text().replace(
        "    clustermesh:\n      apiserver:\n        serviceType: NodePort\n", "")
    spec = tmp_path / "mesh.yaml"
    spec.write_text(text)
    unmanaged, _ = check_file(str(spec))
    assert unmanaged is not None and not unmanaged.cilium.managed
    report = check(unmanaged, cluster_a=without("Service", "kube-system", "clustermesh-apiserver"))
    assert summary(report) == []


def test_unreachable_cluster_gives_exit_4_and_the_others_are_still_checked(mesh):
    results = {c: observed(mesh, c, load_live(c)) for c in ("cluster-a", "cluster-b")}
    web(list(results["cluster-b"].services))["spec"]["selector"]["app"] = "other"
    results["cluster-c"] = Unreachable("cluster-c", "kind-c", "cannot connect")
    report = verify(mesh, results)
    assert exit_code(report) == 4
    assert summary(report) == [("cluster-b", "spec-drift", "shop/web", "spec.selector.app", "web", "other")]
    assert [name for _, name, _ in report.routes] == ["web", "checkout"]
    assert list(report.routes[0][2]) == ["cluster-a", "cluster-b"]  # only reachable clusters are observers


# --- progress --------------------------------------------------------------------------------------

class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_progress_rewrites_one_line_per_cluster_on_a_terminal_and_erases_itself():
    screen = Terminal()
    progress = ProgressLines(["cluster-a", "cluster-b"], screen)
    progress("cluster-a", "connecting")
    progress("cluster-b", "listing")
    progress("cluster-a", "done")
    progress("cluster-a", "listing")  # a late update after the end is ignored
    progress.close()
    frames = screen.getvalue()
    assert frames.count("\x1b[2F") == 3  # each frame after the first, and the erasing, go up two lines
    assert "cluster-a  done" in frames and "cluster-b  listing" in frames
    assert frames.endswith("\x1b[2F\x1b[0J")
    assert frames.rsplit("cluster-a", 1)[1].startswith("  done")


def test_progress_writes_nothing_when_not_a_terminal():
    stream = io.StringIO()
    progress = ProgressLines(["cluster-a"], stream)
    progress("cluster-a", "connecting")
    progress.close()
    assert stream.getvalue() == ""


# --- the command, against API test servers --------------------------------------------------------



def run(*argv: str) -> int:
    """`meshspec verify ARGV...` through the real command line."""
    return cli.main(["verify", *argv])


def healthy(kube) -> dict:
    return {c: kube.cluster(c) for c in CLUSTERS}


def test_cli_healthy_mesh_exits_0_with_the_routing_table(kube, capsys):
    servers = healthy(kube)
    assert run(SPEC) == 0
    out, err = capsys.readouterr()
    assert out.startswith("cluster-a (context kind-a): ok\ncluster-b (context kind-b): ok\n"
                          "cluster-c (context kind-c): ok\n\nRouting on the observed state:\nCilium 1.20.1\n")
    assert "shop/web\n" in out and "80/TCP -> 10.1.1.5:8080 (cluster-a), 10.2.1.5:8080 (cluster-b)" in out
    assert "NO BACKENDS" not in out
    assert err == "verify: 3 clusters checked, 0 problems, 0 unreachable\n"  # no progress: not a terminal
    for api in servers.values():  # one LIST per kind and the ConfigMap, nothing else, nothing written
        assert sorted(path for _, path in api.requests()) == [
            "/api/v1/namespaces/kube-system", "/api/v1/namespaces/kube-system/configmaps/cilium-config",
            "/api/v1/namespaces/shop", "/api/v1/services",
            "/apis/apps/v1/namespaces/kube-system/daemonsets/cilium", "/apis/discovery.k8s.io/v1/endpointslices"]
        assert {method for method, _ in api.requests()} == {"GET"}


def test_cli_reports_every_problem_per_cluster_in_json(kube, capsys):
    a, b, c = (copy.deepcopy(load_live(name)) for name in CLUSTERS)
    web(a)["metadata"]["annotations"]["service.cilium.io/global"] = "false"
    stale_copy(b)
    web(b)["metadata"]["labels"]["team"] = "payments"
    find(c, "ConfigMap", "kube-system", "cilium-config")["data"]["cluster-id"] = "9"
    c = [o for o in c if o is not web(c)]
    for name, objects in zip(CLUSTERS, (a, b, c)):
        kube.cluster(name, objects)
    assert run(SPEC, "--format", "json") == 1
    result = json.loads(capsys.readouterr().out)
    assert result["ok"] is False
    assert [(c["name"], c["status"]) for c in result["clusters"]] == [
        ("cluster-a", "problems"), ("cluster-b", "problems"), ("cluster-c", "problems")]
    assert [(p["cluster"], p["kind"], p["namespace"], p["name"], p["field"], p["expected"], p["actual"])
            for p in result["problems"]] == [
        ("cluster-a", "annotation-drift", "shop", "web", "metadata.annotations[service.cilium.io/global]", "true",
         "false"),
        ("cluster-b", "stale", "shop", "old-web", "", None, "Service"),
        ("cluster-b", "label-drift", "shop", "web", "metadata.labels[team]", "web", "payments"),
        ("cluster-c", "cilium-config", "kube-system", "cilium-config", "data[cluster-id]", "3", "9"),
        ("cluster-c", "missing", "shop", "web", "", "Service", None),
    ]
    assert all(p["message"] for p in result["problems"])
    assert result["unreachable"] == []
    assert result["routing"]["cilium_version"] == "1.20.1"
    observers = result["routing"]["services"][0]["observers"]
    assert observers["cluster-c"] == {"exists": False}
    assert observers["cluster-a"]["global"] is False


def test_cli_reports_a_missing_namespace(kube, capsys):
    a, b, c = (copy.deepcopy(load_live(name)) for name in CLUSTERS)
    c = [o for o in c if o["metadata"].get("namespace") != "shop"]  # a fresh cluster: no shop, nothing in it
    for name, objects in zip(CLUSTERS, (a, b, c)):
        kube.cluster(name, objects, namespaces=None if name != "cluster-c" else ["default", "kube-system"])
    assert run(SPEC, "--format", "json") == 1
    problems = json.loads(capsys.readouterr().out)["problems"]
    assert [(p["cluster"], p["kind"], p["namespace"], p["expected"]) for p in problems
            if p["kind"] == "missing-namespace"] == [("cluster-c", "missing-namespace", "shop", "Namespace")]


def test_cli_unreachable_cluster_exits_4_and_the_others_are_reported(kube, capsys):
    kube.cluster("cluster-a")
    b = copy.deepcopy(load_live("cluster-b"))
    web(b)["spec"]["selector"]["app"] = "other"
    kube.cluster("cluster-b", b)
    kube.dead("cluster-c")
    assert run(SPEC) == 4
    out, err = capsys.readouterr()
    assert "cluster-a (context kind-a): ok\n" in out
    assert "cluster-b (context kind-b): 1 problem\n  shop/web: spec drift: spec.selector.app is \"other\"" in out
    assert "cluster-c (context kind-c): UNREACHABLE: cannot connect" in out
    assert err.endswith("verify: 3 clusters checked, 1 problem, 1 unreachable\n")


def test_cli_slow_cluster_hits_the_timeout(kube, capsys):
    kube.cluster("cluster-a")
    kube.cluster("cluster-b")
    kube.cluster("cluster-c").slow("get /apis/discovery.k8s.io/v1/endpointslices")
    started = time.monotonic()
    assert run(SPEC, "--timeout", "1", "--format", "json") == 4
    assert time.monotonic() - started < 4
    result = json.loads(capsys.readouterr().out)
    assert result["unreachable"] == [{"cluster": "cluster-c", "context": "kind-c", "reason": "no answer within 1 s"}]
    assert result["problems"] == []


def test_cli_no_ready_endpoint_shows_in_the_routing_table(kube, capsys):
    for name in CLUSTERS:
        objects = copy.deepcopy(load_live(name))
        not_ready("checkout")(objects)
        kube.cluster(name, objects)
    assert run(SPEC) == 1
    out = capsys.readouterr().out
    assert "shop/checkout: no backends: clients in cluster-a get none for 9090/TCP" in out
    assert "9090/TCP -> NO BACKENDS" in out


def test_cli_dump_writes_what_simulate_reads_and_never_a_secret(kube, capsys, tmp_path):
    servers = healthy(kube)
    dump = tmp_path / "dump"
    assert run(SPEC, "--dump", str(dump)) == 0
    capsys.readouterr()
    assert sorted(os.listdir(dump)) == list(CLUSTERS)
    files = list(dump.glob("*/*.yaml"))
    assert len(files) == 15  # services, endpointslices, cilium-config, namespaces and cilium-daemonset per cluster
    assert not any("Secret" in f.read_text() or "managedFields" in f.read_text() for f in files)
    assert not any("secrets" in path for api in servers.values() for _, path in api.requests())
    assert cli.main(["simulate", str(dump), "--format", "json"]) == 0
    simulated = json.loads(capsys.readouterr().out)
    assert [s["name"] for s in simulated["services"]] == ["clustermesh-apiserver", "checkout", "web"]


def test_cli_dump_refuses_a_file(kube, capsys, tmp_path):
    healthy(kube)
    (tmp_path / "file").write_text("x")
    assert run(SPEC, "--dump", str(tmp_path / "file")) == 2
    assert "exists and is not a folder" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["project", "project/stacks"])
def test_cli_stacks_checks_only_the_clusters_they_deploy(kube, capsys, folder):
    a, b = kube.cluster("cluster-a"), kube.cluster("cluster-b")
    c = kube.cluster("cluster-c", [])  # would be all wrong: it must not be contacted
    assert run(SPEC, "--stacks", str(FIXTURES / folder)) == 0
    out = capsys.readouterr().out
    assert "cluster-a (context kind-a): ok\ncluster-b (context kind-b): ok\n\n" in out
    assert "cluster-c" not in out
    assert a.requests() and b.requests() and c.requests() == []


def test_cli_stacks_without_stacks_for_the_spec_is_a_usage_error(kube, capsys, tmp_path):
    (tmp_path / "Pulumi.yaml").write_text("name: x\nruntime: python\n")
    assert run(SPEC, "--stacks", str(tmp_path)) == 2
    assert "no stack there deploys" in capsys.readouterr().err
    assert run(SPEC, "--stacks", str(FIXTURES / "live")) == 2
    assert "neither a Pulumi project folder nor its stackConfigDir" in capsys.readouterr().err


def test_cli_context_overrides_the_spec(kube, capsys):
    kube.cluster("cluster-a")
    kube.cluster("cluster-b", context="ci-b")
    kube.cluster("cluster-c")
    assert run(SPEC) == 4  # the spec's kind-b is in no kubeconfig
    assert "cluster-b (context kind-b): UNREACHABLE: context 'kind-b' is not in the kubeconfig" in capsys.readouterr().out
    assert run(SPEC, "--context", "cluster-b=ci-b") == 0
    assert "cluster-b (context ci-b): ok" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["--context", "cluster-x=ctx"], "unknown cluster 'cluster-x'"),
    (["--context", "cluster-a"], "write CLUSTER=CONTEXT"),
])
def test_cli_bad_context_is_a_usage_error(capsys, argv, message):
    assert run(SPEC, *argv) == 2
    assert message in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["--timeout", "0"], ["--concurrency", "none"]])
def test_cli_bad_numbers_are_usage_errors(capsys, argv):
    with pytest.raises(SystemExit) as exc:
        run(SPEC, *argv)
    assert exc.value.code == 2


def test_cli_invalid_spec_exits_1_with_its_diagnostics(tmp_path, capsys):
    spec = tmp_path / "bad.yaml"
    spec.write_text((FIXTURES / "mesh.yaml").read_text().replace("id: 2", "id: 1"))
    assert run(str(spec)) == 1
    err = capsys.readouterr().err
    assert "bad.yaml:" in err and "error" in err and "nothing verified" in err


def test_cli_progress_on_a_terminal(kube, capsys, monkeypatch):
    healthy(kube)
    screen = Terminal()
    monkeypatch.setattr(sys, "stderr", screen)
    assert run(SPEC) == 0
    shown = screen.getvalue()
    for state in ("connecting", "listing", "done"):
        assert f"cluster-b  {state}" in shown
    assert "\x1b[0J" in shown


# --- what verify says when the kubeconfig cannot give credentials ----------------------------------

def verify_subprocess(*argv, env=None):
    """`meshspec verify` in its own process, as a user runs it: stderr is all it printed there."""
    import subprocess
    import sys

    from tests.support import ROOT

    return subprocess.run([sys.executable, "-m", "meshspec", "verify", *argv], capture_output=True, text=True,
                          cwd=str(ROOT), env={**os.environ, **(env or {})}, timeout=60)


@pytest.mark.parametrize("kubeconfig, sentence", [
    (None, "no kubeconfig: KUBECONFIG is not set and ~/.kube/config does not exist; set KUBECONFIG to a "
           "kubeconfig with a context for each cluster (kind-a, kind-b, kind-c)"),
    ("/nowhere/config", "no kubeconfig: KUBECONFIG names /nowhere/config, and none of it exists; point KUBECONFIG "
                        "at a kubeconfig with a context for each cluster (kind-a, kind-b, kind-c)"),
])
def test_no_kubeconfig_at_all_is_one_sentence_and_nothing_else(tmp_path, kubeconfig, sentence):
    env = {"HOME": str(tmp_path), "KUBECONFIG": kubeconfig or ""}
    done = verify_subprocess(SPEC, env=env)
    assert done.returncode == 2 and done.stdout == ""
    assert done.stderr == f"meshspec verify: error: {sentence}\n"


def test_missing_context_says_which_contexts_there_are(kube, capsys):
    kube.cluster("cluster-a")
    kube.cluster("cluster-b")
    done = verify_subprocess(SPEC, "--format", "json")
    assert done.returncode == 4
    [unreachable] = json.loads(done.stdout)["unreachable"]
    assert unreachable == {"cluster": "cluster-c", "context": "kind-c", "reason": (
        f"context 'kind-c' is not in the kubeconfig ({', '.join(os.environ['KUBECONFIG'].split(os.pathsep))}); "
        "add it, or pass --context cluster-c=CONTEXT with one of its contexts (kind-a, kind-b)")}
    assert done.stderr == "verify: 3 clusters checked, 0 problems, 1 unreachable\n"


def test_failing_exec_plugin_is_one_sentence_without_a_stray_log_line(kube, tmp_path):
    import sys

    for name in ("cluster-a", "cluster-b"):
        kube.cluster(name)
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": sys.executable,
                       "args": ["-c", "import sys; sys.exit('token expired; run: cloud login')"],
                       "interactiveMode": "Never"}}
    api = kube.cluster("cluster-c", context="unused")
    kube.kubeconfig("cluster-c-exec", "kind-c", api.url, None, user=plugin)  # its own user entry
    done = verify_subprocess(SPEC)
    assert done.returncode == 4
    [line] = [line for line in done.stdout.splitlines() if line.startswith("cluster-c")]
    assert line.startswith("cluster-c (context kind-c): UNREACHABLE: the exec credential plugin of context "
                           "'kind-c' failed (exec: process returned 1. token expired; run: cloud login")
    assert line.endswith("; install the command the kubeconfig's user names under exec, or fix it, and check "
                         "that `kubectl --context kind-c get namespaces` works")
    assert done.stderr == "verify: 3 clusters checked, 0 problems, 1 unreachable\n"  # no ERROR:root: line
    assert api.requests() == []  # no request went out without credentials


def test_a_missing_exec_plugin_command(kube):
    for name in ("cluster-a", "cluster-b"):
        kube.cluster(name)
    plugin = {"exec": {"apiVersion": "client.authentication.k8s.io/v1", "command": "no-such-login-plugin",
                       "interactiveMode": "Never"}}
    api = kube.cluster("cluster-c", context="unused")
    kube.kubeconfig("cluster-c-exec", "kind-c", api.url, None, user=plugin)  # its own user entry
    done = verify_subprocess(SPEC)
    assert "'kind-c' failed ([Errno 2] No such file or directory: 'no-such-login-plugin'); install the command" \
        in done.stdout
    assert "ERROR" not in done.stderr


def test_insecure_skip_tls_verify_gives_no_urllib3_warning(kube, tmp_path):
    import shutil

    from tests.support.kube import TlsStub

    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    kube.cluster("cluster-a")
    kube.cluster("cluster-b")
    stub = TlsStub(tmp_path)
    try:
        kube.kubeconfig("cluster-c", "kind-c", stub.url, None, insecure=True)
        done = verify_subprocess(SPEC)
    finally:
        stub.close()
    assert "cluster-c (context kind-c): 2 problems" in done.stdout  # reached over TLS: its Services are missing
    assert "Warning" not in done.stderr and "InsecureRequest" not in done.stderr
    assert done.stderr == "verify: 3 clusters checked, 2 problems, 0 unreachable\n"


# --- the Cilium version each cluster runs (its cilium DaemonSet's image tag) ---------------------------

def _run_image(image):
    def edit(objects):
        find(objects, "DaemonSet", "kube-system", "cilium")["spec"]["template"]["spec"]["containers"][0]["image"] = image
    return edit


def test_a_cluster_on_another_minor_is_a_problem_and_its_bugs_are_named(mesh):
    report = check(mesh, cluster_b=_run_image("quay.io/cilium/cilium:v1.18.5@sha256:00"))
    assert summary(report) == [("cluster-b", "cilium-version-mismatch", "kube-system/cilium",
                                "spec.template.spec.containers[cilium-agent].image", "1.20.1", "1.18.5")]
    assert "cluster-b runs Cilium 1.18.5" in report.problems[0].message
    notes = report.notes["cluster-b"]
    assert any("#46623" in n for n in notes) and any("#45109" in n for n in notes)
    assert "cluster-a" not in report.notes and str(report.cluster_versions["cluster-b"]) == "1.18.5"


def test_another_patch_of_the_same_minor_is_no_problem(mesh):
    report = check(mesh, cluster_a=_run_image("quay.io/cilium/cilium:v1.20.0"))
    assert report.problems == [] and report.notes == {}


def test_each_client_cluster_is_routed_with_the_version_it_runs(mesh):
    """On 1.18.x an affinity value other than local/remote drops every remote backend (#46623,
    cilium-semantics.md section 1): a client cluster on 1.18 sees only its own backends where the
    spec's 1.20 would merge both clusters."""
    def none_affinity(objects):
        find(objects, "Service", "shop", "web")["metadata"]["annotations"]["service.cilium.io/affinity"] = "none"
    healthy = check(mesh, cluster_a=none_affinity, cluster_b=none_affinity, cluster_c=none_affinity)
    old = check(mesh, cluster_a=lambda o: (none_affinity(o), _run_image("quay.io/cilium/cilium:v1.18.5")(o)),
                cluster_b=none_affinity, cluster_c=none_affinity)

    def serving(report, observer):
        [(_, _, views)] = [r for r in report.routes if r[:2] == ("shop", "web")]
        return sorted({b.cluster for route in views[observer].frontends.values() for b in route.backends})
    assert "cluster-a" in serving(healthy, "cluster-a") and len(serving(healthy, "cluster-a")) > 1
    assert serving(old, "cluster-a") == ["cluster-a"]
    assert serving(old, "cluster-b") == serving(healthy, "cluster-b")  # cluster-b still runs the spec's 1.20


@pytest.mark.parametrize("image, note", [("quay.io/cilium/cilium@sha256:00", "has no Cilium version tag"),
                                          ("quay.io/cilium/cilium:latest", "has no Cilium version tag")])
def test_an_image_without_a_version_is_a_note(mesh, image, note):
    report = check(mesh, cluster_c=_run_image(image))
    assert report.problems == [] and note in report.notes["cluster-c"][0]


def test_an_unreadable_daemonset_is_a_note(mesh):
    report = check(mesh, cluster_c=lambda objects: drop(objects, "DaemonSet", "kube-system", "cilium"))
    assert report.problems == []
    assert report.notes["cluster-c"] == ["kube-system/cilium DaemonSet not readable (HTTP 404 Not Found): the "
                                         "Cilium version it runs is not checked"]
