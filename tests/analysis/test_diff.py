"""`meshspec diff`: objects, traffic and risks between two versions of the example mesh, the risk gate,
exit codes, git:REV:PATH, and the text / markdown / JSON formats.

Each file in tests/analysis/fixtures/diff/ edits base.yaml (a copy of examples/mesh.yaml) in one way, said in
its first lines.
"""

import dataclasses
import json
import os
import re
import shutil
import subprocess

import pytest

from meshspec import cli
from meshspec.cilium.versions import parse_version
from meshspec.analysis.diff import AnnotationChange, DiffReport, Routes, compare
from meshspec.cli.status import EXIT_GATE
from meshspec.formats.diff import mermaid, to_json, to_markdown, to_text
from meshspec.analysis.explain import explain
from meshspec.spec.routes import Down, serving
from meshspec.spec.check import check_file

FIXTURES = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "diff")
BASE = os.path.join(FIXTURES, "base.yaml")


def fixture(name: str) -> str:
    return os.path.join(FIXTURES, f"{name}.yaml")


def mesh_of(path: str):
    mesh, diagnostics = check_file(path)
    assert mesh is not None, diagnostics
    return mesh


def diff(name: str) -> DiffReport:
    return compare(mesh_of(BASE), mesh_of(fixture(name)), "base.yaml", f"{name}.yaml")


@pytest.fixture
def meshspec(monkeypatch, capsys):
    """Run the command in-process: (exit code, stdout, stderr)."""
    def run(*argv):
        try:
            code = cli.main(list(argv))
        except SystemExit as exc:  # argparse refusing the arguments
            code = exc.code
        out = capsys.readouterr()
        return code, out.out, out.err

    return run


# --- the risk gate --------------------------------------------------------------------------------

CASES = {
    "label-only": set(),
    "cluster-annotation": set(),
    "cluster-values": set(),
    "add-cluster": set(),
    "shared-false": {"failover-lost"},
    "no-backends": {"no-backends"},
    "remove-service": {"service-removed"},
    "rename-cluster": {"cluster-renamed"},
    "cluster-id": {"cluster-id-changed"},
    "max-connected": {"max-connected-clusters"},
    "cilium-1-18": {"cilium-version-changed"},
}


@pytest.mark.parametrize("name, codes", CASES.items())
def test_each_risk_fires_on_its_case_and_only_there(name, codes):
    report = diff(name)
    assert {r.code for r in report.risks} == codes
    assert report.changed
    assert all(r.message.endswith(".") and r.code not in r.message for r in report.risks)


@pytest.mark.parametrize("name, codes", CASES.items())
def test_fail_on_risk_exits_3_only_with_a_risk(meshspec, name, codes):
    code, out, err = meshspec("diff", BASE, fixture(name), "--fail-on", "risk")
    assert code == (EXIT_GATE if codes else 0)
    assert out.startswith(f"{BASE} -> {fixture(name)}: ")
    assert ("--fail-on risk" in err) == bool(codes)


def test_fail_on_change_exits_3_on_any_difference(meshspec):
    assert meshspec("diff", BASE, fixture("label-only"), "--fail-on", "change")[0] == EXIT_GATE
    assert meshspec("diff", BASE, fixture("label-only"))[0] == 0


def test_same_spec_is_no_change(meshspec):
    code, out, _ = meshspec("diff", BASE, BASE, "--fail-on", "change")
    assert code == 0
    assert out == f"{BASE} -> {BASE}: no changes\n"


# --- what the report says -------------------------------------------------------------------------

def test_label_change_is_an_object_change_in_every_cluster():
    report = diff("label-only")
    assert [(o.cluster, o.file, o.change, o.annotations) for o in report.objects] == [
        (c, "service.shop.checkout.yaml", "changed", ()) for c in ("cluster-a", "cluster-b", "cluster-c")]
    assert "-    team: payments\n+    team: checkout\n" in report.objects[0].diff
    assert report.objects[0].diff.startswith("--- a/cluster-a/service.shop.checkout.yaml\n"
                                             "+++ b/cluster-a/service.shop.checkout.yaml\n")
    assert not report.traffic and not report.settings


def test_a_per_cluster_annotation_and_label_change_that_cluster_only():
    report = diff("cluster-annotation")
    assert [(o.cluster, o.file, o.change, o.annotations) for o in report.objects] == [
        ("cluster-b", "service.shop.checkout.yaml", "changed",
         (AnnotationChange("networking.gke.io/load-balancer-type", None, "Internal"),))]
    assert "+    cloud: gcp\n" in report.objects[0].diff
    assert report.changed_clusters == ["cluster-b"]
    assert not report.traffic and not report.settings and not report.risks


def test_per_cluster_cilium_values_change_that_clusters_values_only():
    report = diff("cluster-values")
    assert [(o.cluster, o.file, o.change) for o in report.objects] == [("cluster-c", "cilium-values.yaml", "changed")]
    assert "+ipam:\n+  mode: kubernetes\n" in report.objects[0].diff
    assert [(s.where, s.setting, s.before, s.after) for s in report.settings] == [
        ("cluster-c", "cilium.values", {}, {"ipam": {"mode": "kubernetes"}})]
    assert "  cluster-c: cilium.values {} -> {\"ipam\": {\"mode\": \"kubernetes\"}}\n" in to_text(report)


def test_shared_false_calls_out_the_annotation_and_the_lost_failover():
    report = diff("shared-false")
    [change] = report.objects
    assert (change.cluster, change.file) == ("cluster-c", "service.default.myapp-service.yaml")
    assert change.annotations == (AnnotationChange("service.cilium.io/shared", None, "false"),)
    [traffic] = report.traffic
    rows = {row.client: row for row in traffic.clients}
    assert (rows["cluster-b"].before, rows["cluster-b"].after) == (("cluster-b", "cluster-c"), ("cluster-b",))
    assert [(f.down, f.before, f.after) for f in rows["cluster-b"].failures] == [("cluster-b", ("cluster-c",), ())]
    [risk] = report.risks
    assert (risk.service, risk.clusters) == ("default/myapp-service", ("cluster-b",))
    assert "cluster-b has no ready pods (before this change: cluster-c)" in risk.message


def test_losing_every_backend_is_reported_once():
    report = diff("no-backends")
    assert not report.objects  # backends are not rendered: only the engine sees this change
    [risk] = report.risks
    assert (risk.code, risk.service, risk.clusters) == ("no-backends", "monitoring/metrics", ("cluster-c",))
    [row] = report.traffic[0].clients
    assert (row.client, row.before, row.after) == ("cluster-c", ("cluster-c",), ())


def test_removed_service():
    report = diff("remove-service")
    # Its namespace is no longer used there, so no longer rendered (Argo CD and Flux do not prune it).
    assert [(o.cluster, o.file, o.change) for o in report.objects] == [
        ("cluster-c", "namespace.monitoring.yaml", "removed"), ("cluster-c", "service.monitoring.metrics.yaml", "removed")]
    assert report.objects[1].diff.startswith("--- a/cluster-c/service.monitoring.metrics.yaml\n+++ /dev/null\n")
    [risk] = report.risks
    assert (risk.service, risk.clusters) == ("monitoring/metrics", ("cluster-c",))
    [row] = report.traffic[0].clients
    assert (row.before, row.after, row.failures) == (("cluster-c",), None, ())


def test_adding_a_cluster_changes_peers_and_adds_its_objects_without_risk():
    report = diff("add-cluster")
    assert {(o.cluster, o.change) for o in report.objects} == {
        ("cluster-a", "changed"), ("cluster-b", "changed"), ("cluster-c", "changed"), ("cluster-d", "added")}
    assert all(o.file == "cilium-values.yaml" for o in report.objects if o.change == "changed")
    assert "kustomization.yaml" not in {o.file for o in report.objects}
    assert [(s.where, s.setting, s.before, s.after) for s in report.settings] == [("cluster-d", "id", None, 4)]
    checkout = next(t for t in report.traffic if t.service == "shop/checkout")
    rows = {row.client: row for row in checkout.clients}
    assert (rows["cluster-d"].before, rows["cluster-d"].after) == (None, ("cluster-d",))
    # Normal operation is unchanged for cluster-a; only its failover gains cluster-d.
    assert rows["cluster-a"].before == rows["cluster-a"].after == ("cluster-a",)
    assert [(f.down, f.after) for f in rows["cluster-a"].failures] == [
        ("cluster-a", ("cluster-b", "cluster-c", "cluster-d"))]


def test_a_rename_is_one_risk_not_a_service_removal():
    report = diff("rename-cluster")
    [risk] = report.risks
    assert risk.clusters == ("cluster-c", "cluster-z")
    assert "restarting every workload" in risk.message
    assert {(o.cluster, o.change) for o in report.objects if o.cluster in ("cluster-c", "cluster-z")} == {
        ("cluster-c", "removed"), ("cluster-z", "added")}


def test_cluster_id_and_max_connected_clusters():
    [risk] = diff("cluster-id").risks
    assert "changes id 3 -> 7" in risk.message
    [risk] = diff("max-connected").risks
    assert "255 -> 511" in risk.message and "after installation" in risk.message
    assert [s.setting for s in diff("max-connected").settings] == ["cilium.clustermesh.maxConnectedClusters"]


def test_a_cilium_version_change_names_what_changes_with_it():
    [risk] = diff("cilium-1-18").risks
    assert risk.message.startswith("Cilium changes 1.20.1 -> 1.18.5: ")
    for fragment in ("#46623", "#45109", "as a list before 1.19", "policy-default-local-cluster",
                     "consecutive minor releases"):
        assert fragment in risk.message
    assert "statedb" not in risk.message  # both sides run the 1.18+ load balancer
    assert [s.setting for s in diff("cilium-1-18").settings] == ["cilium.version"]


def test_a_patch_release_without_a_known_change_is_no_risk():
    old = mesh_of(BASE)
    new = dataclasses.replace(old, cilium=dataclasses.replace(old.cilium, version="1.20.0"))
    assert compare(old, new, "a", "b").risks == ()


def test_setting_policy_default_local_cluster_explicitly_takes_its_reason_away():
    old = mesh_of(BASE)
    old = dataclasses.replace(old, cilium=dataclasses.replace(old.cilium, version="1.18.10"))
    new = dataclasses.replace(old, cilium=dataclasses.replace(
        old.cilium, version="1.19.4", values={"clustermesh": {"policyDefaultLocalCluster": False}}))
    [risk] = compare(old, new, "a", "b").risks
    assert "policy-default-local-cluster" not in risk.message and "as a list before 1.19" in risk.message


@pytest.mark.parametrize("name", ["shared-false", "add-cluster", "no-backends", "rename-cluster"])
def test_failover_from_explain_matches_the_engine_recomputed_per_failure(name):
    """Routes.under rebuilds each client's serving clusters under a failure from explain()'s listing;
    the engine run with that cluster down must agree, for every client and failure."""
    mesh = mesh_of(fixture(name))
    version = parse_version(mesh.cilium.version)
    clusters = [c.name for c in mesh.clusters]
    for e in explain(mesh, version):
        routes = Routes.of(e, clusters)
        for down in clusters:
            full = serving(mesh, e.service, version, [Down(down)])
            assert {c: routes.under(down, c) for c in clusters} == \
                {c: None if s is None else tuple(s) for c, s in full.items()}, (e.service.key, down)


# --- exit codes and inputs ------------------------------------------------------------------------

def test_invalid_spec_exits_1_with_its_diagnostics(meshspec):
    code, out, err = meshspec("diff", BASE, fixture("invalid"))
    assert code == 1 and out == ""
    assert f"{fixture('invalid')}:" in err and "[cluster-id]" in err
    assert err.rstrip().endswith("; nothing compared")


@pytest.mark.parametrize("args, fragment", [
    (["diff", "nope.yaml", BASE], "nope.yaml: no such file"),
    (["diff", BASE, FIXTURES], "is a folder"),
    (["diff", BASE, BASE, "--format", "html"], "invalid choice"),
    (["diff", BASE, BASE, "--fail-on", "warning"], "invalid choice"),
    (["diff", BASE], "required: NEW"),
    (["diff", "git:HEAD", BASE], "write git:REV:PATH"),
    (["diff", "git:--output=x:mesh.yaml", BASE], "write git:REV:PATH"),
])
def test_usage_errors_exit_2(meshspec, args, fragment):
    code, _, err = meshspec(*args)
    assert code == 2
    assert fragment in err


GIT = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-c", "commit.gpgsign=false"]


@pytest.fixture
def repo(tmp_path, monkeypatch):
    """A git repository whose HEAD holds base.yaml as mesh.yaml; the working tree is the current dir."""
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    monkeypatch.chdir(tmp_path)

    def git(*args):
        subprocess.run([*GIT, *args], check=True, capture_output=True)

    git("init", "-q")
    os.mkdir("specs")
    shutil.copy(BASE, "specs/mesh.yaml")
    git("add", "specs/mesh.yaml")
    git("commit", "-q", "-m", "base")
    return tmp_path


def test_git_revision_against_the_working_tree(meshspec, repo):
    shutil.copy(fixture("shared-false"), "specs/mesh.yaml")
    code, out, _ = meshspec("diff", "git:HEAD:specs/mesh.yaml", "specs/mesh.yaml", "--fail-on", "risk")
    assert code == EXIT_GATE
    assert out.startswith("git:HEAD:specs/mesh.yaml -> specs/mesh.yaml: 1 object changed in 1 cluster, 1 risk")


def test_invalid_spec_in_git_is_located_under_its_git_name(meshspec, repo):
    shutil.copy(fixture("invalid"), "specs/mesh.yaml")
    subprocess.run([*GIT, "commit", "-qam", "bad"], check=True)
    code, _, err = meshspec("diff", "git:HEAD:specs/mesh.yaml", "git:HEAD~1:specs/mesh.yaml")
    assert code == 1
    assert re.search(r"^git:HEAD:specs/mesh\.yaml:\d+:\d+: error: cluster id 0 ", err, re.MULTILINE)
    assert "git:HEAD:specs/mesh.yaml: 1 error, 0 warnings; nothing compared" in err


@pytest.mark.parametrize("ref, fragment", [
    ("git:no-such-rev:specs/mesh.yaml", "invalid object name 'no-such-rev'"),
    ("git:HEAD:specs/other.yaml", "'specs/other.yaml' does not exist in 'HEAD'"),
    ("git:HEAD:specs", "is a folder"),
])
def test_git_errors_are_usage_errors_with_gits_message(meshspec, repo, ref, fragment):
    code, _, err = meshspec("diff", ref, "specs/mesh.yaml")
    assert code == 2
    assert err.startswith(f"meshspec diff: error: {ref}")
    assert fragment in err


# --- formats --------------------------------------------------------------------------------------

def test_markdown_reads_at_a_glance():
    md = to_markdown(diff("shared-false"))
    lines = md.splitlines()
    assert lines[0] == ("**meshspec diff** `base.yaml` → `shared-false.yaml`: 1 object changed in 1 cluster, "
                        "1 risk; traffic changes for 1 service")
    assert "- :warning: `failover-lost`: cluster-b is left with no backend of default/myapp-service" in md
    assert "#### Traffic: `default/myapp-service`" in lines
    assert "| cluster-b | cluster-b, cluster-c | cluster-b | cluster-b down: cluster-c → **none** |" in lines
    assert ("| cluster-c | `service.default.myapp-service.yaml` | changed | "
            "`service.cilium.io/shared`: — → `\"false\"` |") in lines
    details = md[md.index("<details>"):]
    assert details.startswith("<details><summary>Rendered YAML diff (1 file)</summary>\n\n```diff\n")
    assert "+    service.cilium.io/shared: 'false'\n" in details
    assert details.rstrip().endswith("```\n\n</details>")
    assert md == to_markdown(diff("shared-false"))  # deterministic


def test_markdown_without_changes_is_one_line():
    report = compare(mesh_of(BASE), mesh_of(BASE), "a", "b")
    assert to_markdown(report) == "**meshspec diff** `a` → `b`: no changes\n"


def mermaid_blocks(md: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"^```mermaid\n(.*?)^```$", md, re.S | re.M)]


@pytest.mark.parametrize("name", ["shared-false", "add-cluster", "rename-cluster", "no-backends"])
def test_mermaid_graphs_are_well_formed(name):
    report = diff(name)
    blocks = mermaid_blocks(to_markdown(report))
    assert len(blocks) == len(report.traffic) > 0
    for block in blocks:
        assert block[0] == "flowchart LR"
        declared, depth, subgraphs = set(), 0, []
        for line in block[1:]:
            text = line.strip()
            if m := re.fullmatch(r"subgraph (\w+) \[(before|after)\]", text):
                depth += 1
                subgraphs.append(m.group(2))
            elif text == "end":
                depth -= 1
            elif m := re.fullmatch(r'(\w+)\["([a-z0-9-]+)"\]', text):
                declared.add(m.group(1))
            elif m := re.fullmatch(r"(\w+) (-->|-\.->|==>) (\w+)", text):
                assert {m.group(1), m.group(3)} <= declared, line
                side = m.group(1).split("_")[0]
                assert m.group(3).startswith(side + "_")  # arrows stay within before or after
                assert m.group(2) != {"old": "==>", "new": "-.->"}[side]
            elif m := re.fullmatch(r"class ([\w,]+) (nobackends|absent)", text):
                assert set(m.group(1).split(",")) <= declared
            else:
                assert re.fullmatch(r"classDef \w+ [-\w:#, ]+", text), line
            assert depth in (0, 1)
        assert depth == 0 and subgraphs == ["before", "after"]


def test_mermaid_marks_lost_and_new_arrows_and_empty_clients():
    graph = mermaid(diff("shared-false").traffic[0], ["cluster-a", "cluster-b", "cluster-c"],
                    ["cluster-a", "cluster-b", "cluster-c"])
    assert "    old_cluster_b -.-> old_cluster_c" in graph.splitlines()  # cluster-c stops serving cluster-b
    assert "    new_cluster_b --> new_cluster_b" in graph.splitlines()
    report = diff("no-backends")
    assert "  class new_cluster_c nobackends" in mermaid(report.traffic[0], report.old_clusters,
                                                         report.new_clusters).splitlines()
    report = diff("rename-cluster")
    graph = mermaid(report.traffic[0], report.old_clusters, report.new_clusters)
    assert "new_cluster_c" not in graph and "old_cluster_z" not in graph  # each side shows its own clusters
    assert "    new_cluster_b ==> new_cluster_z" in graph.splitlines()


def test_markdown_folds_a_long_yaml_diff(monkeypatch):
    monkeypatch.setattr("meshspec.formats.diff.MARKDOWN_DIFF_BUDGET", 1)
    md = to_markdown(diff("label-only"))
    assert "Rendered YAML diff (3 files)" in md
    assert md.count("--- a/") == 1
    assert "2 more files not shown: run `meshspec diff` locally for the full diff." in md


def test_markdown_fence_outlasts_backticks_in_the_diff():
    report = diff("label-only")
    tricky = dataclasses.replace(report.objects[0], diff="+  note: '````'\n")
    md = to_markdown(dataclasses.replace(report, objects=(tricky,)))
    assert "`````diff\n+  note: '````'\n`````" in md


def test_json_structure():
    doc = json.loads(to_json(diff("shared-false")))
    assert list(doc) == ["old", "new", "summary", "risks", "settings", "objects", "traffic"]
    assert doc["summary"] == {"changed": True, "objects": 1, "clusters": 1, "risks": 1, "services": 1}
    assert doc["risks"][0]["code"] == "failover-lost" and doc["risks"][0]["clusters"] == ["cluster-b"]
    assert doc["objects"][0]["annotations"] == [{"key": "service.cilium.io/shared", "before": None,
                                                 "after": "false"}]
    [traffic] = doc["traffic"]
    assert traffic["before"]["cluster-b"] == ["cluster-b", "cluster-c"]
    row = next(r for r in traffic["clients"] if r["client"] == "cluster-b")
    assert row["failures"] == [{"down": "cluster-b", "before": ["cluster-c"], "after": []}]
    doc = json.loads(to_json(diff("remove-service")))
    assert doc["traffic"][0]["clients"][0]["after"] is None  # no Service there, unlike [] (no backends)


def test_text_lists_risks_objects_traffic_then_the_yaml_diff():
    text = to_text(diff("shared-false"))
    sections = ["\nrisks:", "\nobjects:", "\ntraffic (", "\nrendered YAML:"]
    assert [text.index(s) for s in sections] == sorted(text.index(s) for s in sections)
    assert "    annotation service.cilium.io/shared: (unset) -> \"false\"\n" in text
    assert "      if cluster-b has no ready pods: cluster-c -> NO BACKENDS\n" in text
    assert "\n+++ b/cluster-c/service.default.myapp-service.yaml\n" in text


@pytest.mark.parametrize("fmt, check", [
    ("json", lambda out: json.loads(out)["summary"]["risks"] == 1),
    ("markdown", lambda out: out.startswith("**meshspec diff**")),
])
def test_format_flag(meshspec, fmt, check):
    code, out, _ = meshspec("diff", BASE, fixture("shared-false"), "--format", fmt)
    assert code == 0 and check(out)
