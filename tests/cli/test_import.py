"""`meshspec import`: from live clusters (Kubernetes API test servers, tests/support/kube.py) and from a dump
folder to a spec file; the round trip import -> validate -> render gives back, per cluster, the Services read."""

from __future__ import annotations

import os
import pathlib

import pytest
import yaml

from meshspec.cli import main
from meshspec.spec.check import check_file
from tests.support.importing import view

DUMP = pathlib.Path(__file__).resolve().parent.parent / "analysis" / "fixtures" / "import"
GLOBAL = "service.cilium.io/global"


def service(name, namespace="shop", annotations=None, labels=None, **spec):
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "annotations": dict(annotations or {}),
                         "labels": dict(labels or {})},
            "spec": {"selector": {"app": name}, "ports": [{"name": "http", "port": 80, "targetPort": 8080}], **spec}}


def cilium_config(name, cluster_id):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cilium-config", "namespace": "kube-system"},
            "data": {"cluster-name": name, "cluster-id": str(cluster_id), "cluster-pool-ipv4-cidr": f"10.{cluster_id}.0.0/16"}}


# Hand-written annotations, as teams write them: the new keys, the legacy aliases, odd case, cloud LB ones.
CLUSTERS = {
    "cluster-a": [cilium_config("east", 1),
                  service("web", annotations={GLOBAL: "true", "cloud.example/lb": "internal"}, labels={"team": "web"},
                          type="LoadBalancer"),
                  service("checkout", annotations={"io.cilium/global-service": "true",
                                                   "io.cilium/service-affinity": "local"}),
                  service("db", namespace="data", annotations={GLOBAL: "True", "service.cilium.io/shared": "false"},
                          clusterIP="None"),
                  service("plain")],
    "cluster-b": [cilium_config("west", 2),
                  service("web", annotations={GLOBAL: "true", "cloud.example/lb": "internal"}, labels={"team": "web"},
                          type="LoadBalancer"),
                  service("checkout", annotations={GLOBAL: "true", "service.cilium.io/affinity": "local",
                                                   "service.cilium.io/shared": "false"}),
                  service("db", namespace="data", annotations={GLOBAL: "true", "service.cilium.io/shared": "false"},
                          clusterIP="None")],
    "cluster-c": [cilium_config("north", 3),  # another cloud: its own load-balancer annotation (an override)
                  service("web", annotations={GLOBAL: "true", "cloud.example/lb": "external"}, labels={"team": "web"},
                          type="LoadBalancer"),
                  service("db", namespace="data", annotations={GLOBAL: "true"}, clusterIP="None")],
}
CONTEXTS = {"cluster-a": "kind-a", "cluster-b": "kind-b", "cluster-c": "kind-c"}


def run(capsys, *argv):
    code = main(["import", *argv])
    out = capsys.readouterr()
    return code, out.out, out.err


def contexts():
    # A generous deadline: a loaded 2-core machine makes the test servers slow.
    return [arg for context in CONTEXTS.values() for arg in ("--context", context)] + ["--timeout", "60"]


def test_round_trip_on_the_api_test_servers(kube, capsys, tmp_path):
    for cluster, objects in CLUSTERS.items():
        kube.cluster(cluster, objects)
    spec = tmp_path / "mesh.yaml"
    code, out, err = run(capsys, *contexts(), "-o", str(spec))
    assert code == 0, err
    assert out == "" and "import: 3 clusters, 3 services, 1 warning; wrote" in err
    assert "meshspec import: east: shop/checkout: warning: io.cilium/global-service, io.cilium/service-affinity: " \
        "imported as what the spec renders, service.cilium.io/; once deployed, remove the legacy keys" in err
    mesh, diagnostics = check_file(str(spec))
    assert mesh is not None and not [d for d in diagnostics if d.is_error]
    document = yaml.safe_load(spec.read_text())
    assert [(c["name"], c["id"], c["context"]) for c in document["spec"]["clusters"]] == \
        [("east", 1, "kind-a"), ("west", 2, "kind-b"), ("north", 3, "kind-c")]
    web = next(s for s in document["spec"]["services"] if s["name"] == "web")
    assert web["overrides"] == {"north": {"annotations": {"cloud.example/lb": "external"}}}
    assert main(["render", str(spec), "-o", str(tmp_path / "rendered")]) == 0
    for cluster, objects in CLUSTERS.items():
        name = {"cluster-a": "east", "cluster-b": "west", "cluster-c": "north"}[cluster]
        folder = tmp_path / "rendered" / name
        rendered = [yaml.safe_load(f.read_text()) for f in sorted(folder.glob("service.*.yaml"))]
        read = [o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] != "plain"]
        assert view(rendered) == view(read), cluster


def test_a_second_import_gives_the_same_bytes_and_rewrites_its_own_file(kube, capsys, tmp_path):
    for cluster, objects in CLUSTERS.items():
        kube.cluster(cluster, objects)
    spec = tmp_path / "mesh.yaml"
    assert run(capsys, *contexts(), "-o", str(spec))[0] == 0
    first = spec.read_bytes()
    assert run(capsys, *contexts(), "-o", str(spec))[0] == 0
    assert spec.read_bytes() == first
    code, out, _ = run(capsys, *contexts())
    assert code == 0 and out.encode() == first  # stdout: the same spec


def test_only_reads(kube, capsys, tmp_path):
    apis = [kube.cluster(cluster, objects) for cluster, objects in CLUSTERS.items()]
    assert run(capsys, *contexts(), "-o", str(tmp_path / "mesh.yaml"))[0] == 0
    for api in apis:
        requests = api.requests()
        assert {method for method, _ in requests} == {"GET"}
        assert not any("secrets" in path or "endpointslices" in path for _, path in requests)


def test_an_unreachable_cluster_exits_4_and_writes_nothing(kube, capsys, tmp_path):
    kube.cluster("cluster-a", CLUSTERS["cluster-a"])
    kube.dead("cluster-b")
    spec = tmp_path / "mesh.yaml"
    code, out, err = run(capsys, "--context", "kind-a", "--context", "kind-b", "-o", str(spec), "--timeout", "20")
    assert code == 4 and not spec.exists() and out == ""
    assert "meshspec import: context kind-b: unreachable: cannot connect" in err
    assert "1 of 2 clusters unreachable; nothing written" in err


def test_an_unreadable_cilium_config_is_a_warning_and_the_spec_still_validates(kube, capsys, tmp_path):
    kube.cluster("cluster-a", CLUSTERS["cluster-a"][1:])  # no cilium-config: a 404
    spec = tmp_path / "mesh.yaml"
    code, _, err = run(capsys, "--context", "kind-a", "-o", str(spec), "--timeout", "60")
    assert code == 0
    assert "meshspec import: kind-a: cilium-config: warning: cilium-config is not readable (HTTP 404" in err
    assert check_file(str(spec))[0] is not None


def test_kubeconfig_flag_names_the_file(kube, capsys, tmp_path, monkeypatch):
    kube.cluster("cluster-a", CLUSTERS["cluster-a"])
    files = os.environ["KUBECONFIG"].split(os.pathsep)
    monkeypatch.setenv("KUBECONFIG", str(tmp_path / "nothing-here"))
    code, out, _ = run(capsys, "--context", "kind-a", "--kubeconfig", files[0], "--timeout", "60")
    assert code == 0 and "name: east" in out


def test_namespace_limits_what_is_imported_and_all_takes_every_service_there(kube, capsys):
    kube.cluster("cluster-a", CLUSTERS["cluster-a"])
    code, out, _ = run(capsys, "--context", "kind-a", "--namespace", "data", "--timeout", "60")
    assert code == 0 and [s["name"] for s in yaml.safe_load(out)["spec"]["services"]] == ["db"]
    code, out, _ = run(capsys, "--context", "kind-a", "--namespace", "shop", "--all", "--timeout", "60")
    assert [s["name"] for s in yaml.safe_load(out)["spec"]["services"]] == ["checkout", "plain", "web"]


def test_from_a_dump_folder(capsys, tmp_path):
    spec = tmp_path / "mesh.yaml"
    code, _, err = run(capsys, "--from", str(DUMP), "-o", str(spec))
    assert code == 0
    assert "import: 3 clusters, 3 services, 4 warnings" in err
    assert spec.read_text().startswith(f"# Written by meshspec import from the dump folder {DUMP} (the global "
                                       "Services of every namespace).\n")
    assert main(["validate", str(spec)]) == 0


def test_verify_dump_then_import_from_it(kube, capsys, tmp_path):
    """The folder `verify --dump` writes is one `import --from` reads (with cilium-config.yaml)."""
    for cluster, objects in CLUSTERS.items():
        kube.cluster(cluster, objects)
    live = tmp_path / "live.yaml"
    assert run(capsys, *contexts(), "-o", str(live))[0] == 0
    assert main(["verify", str(live), "--dump", str(tmp_path / "dump"), "--timeout", "60"]) == 1  # not deployed yet: drift
    capsys.readouterr()
    code, out, err = run(capsys, "--from", str(tmp_path / "dump"))
    assert code == 0, err
    clusters = yaml.safe_load(out)["spec"]["clusters"]
    assert [(c["name"], c["id"], c["context"]) for c in clusters] == \
        [("east", 1, "east"), ("north", 3, "north"), ("west", 2, "west")]  # dump folders: sorted, named by cluster
    assert yaml.safe_load(out)["spec"]["services"] == yaml.safe_load(live.read_text())["spec"]["services"]


@pytest.mark.parametrize("argv, message", [
    ([], "give the clusters to read, --context CONTEXT (repeatable), or a dump folder, --from DIR"),
    (["--context", "a", "--from", "x"], "give the clusters to read"),
    (["--context", "a", "--context", "a"], "--context a is given twice; each context is one cluster"),
    (["--context", "a", "--all"], "--all imports every Service of the namespaces given: add --namespace NS"),
    (["--context", "a", "--name", "Not_A_Name"], "--name Not_A_Name: a mesh's name is a DNS-1123 label"),
    (["--from", "/nonexistent/dump"], "--from /nonexistent/dump: no such folder"),
])
def test_usage_errors_exit_2(capsys, argv, message):
    code, _, err = run(capsys, *argv)
    assert code == 2 and message in err


def test_never_overwrites_a_file_it_did_not_write_nor_follows_a_symlink(capsys, tmp_path):
    mine = tmp_path / "mine.yaml"
    mine.write_text("# my own notes\n")
    code, _, err = run(capsys, "--from", str(DUMP), "-o", str(mine))
    assert code == 2 and "not written by meshspec" in err and mine.read_text() == "# my own notes\n"
    assert run(capsys, "--from", str(DUMP), "-o", str(mine), "--force")[0] == 0
    assert mine.read_text().startswith("# Written by meshspec import")
    link = tmp_path / "link.yaml"
    link.symlink_to(mine)
    before = mine.read_bytes()
    code, _, err = run(capsys, "--from", str(DUMP), "-o", str(link), "--force")
    assert code == 2 and "symlink" in err and link.is_symlink() and mine.read_bytes() == before


def test_import_completes_its_flags_and_folders(capsys):
    from meshspec.cli.completion import describe
    from meshspec.cli.main import build_parser

    _, commands = describe(build_parser())
    command = next(c for c in commands if c.name == "import")
    values = {flag: o.value for o in command.options for flag in o.flags}
    assert values["--from"] == "dir" and values["-o"] == "file" and values["--kubeconfig"] == "file"
    assert "--context" in values and "--all" in values
