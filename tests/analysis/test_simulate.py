"""`meshspec simulate` as a user runs it on dump folders: the JSON contract, versions, errors."""

import json
import os
import shutil
import subprocess
import sys
import textwrap

import pytest

from meshspec.analysis.state import load_state
from meshspec.cli import main
from tests.support import ROOT
from tests.support.process import meshspec_process

STATE = "examples/state"


def run_json(capsys, *args):
    assert main(["simulate", *args, "--format", "json"]) == 0
    return json.loads(capsys.readouterr().out)


def observers(data, key):
    ns, name = key.split("/")
    return next(s["observers"] for s in data["services"] if (s["namespace"], s["name"]) == (ns, name))


def test_json_contract_on_the_example_state(capsys):
    data = run_json(capsys, STATE)
    assert data["cilium_version"] == "1.20"
    assert [(s["namespace"], s["name"]) for s in data["services"]] == [
        ("default", "myapp-service"), ("shop", "checkout"), ("shop", "inventory")]
    inventory = observers(data, "shop/inventory")
    assert inventory["cluster-a"] == {"exists": False}
    assert inventory["cluster-c"] == {"exists": True, "global": True, "shared": True, "affinity": "remote",
                                      "frontends": {"8080/TCP": {"backends": ["10.2.2.31:8080"]}}}


def test_shared_false_cluster_consumes_but_is_not_consumed(capsys):
    myapp = observers(run_json(capsys, STATE), "default/myapp-service")
    assert myapp["cluster-a"]["shared"] is False
    assert len(myapp["cluster-a"]["frontends"]["80/TCP"]["backends"]) == 6
    assert not any(b.startswith("10.1.") for b in myapp["cluster-b"]["frontends"]["80/TCP"]["backends"])


def test_terminating_local_pod_fails_over_and_is_still_served_remotely(capsys):
    checkout = observers(run_json(capsys, STATE), "shop/checkout")
    # cluster-a's only pod is terminating: local affinity falls back to the remote clusters
    assert checkout["cluster-a"]["frontends"]["80/TCP"]["backends"] == ["10.2.1.21:8080", "10.3.1.21:8080"]
    assert checkout["cluster-a"]["frontends"]["9090/TCP"]["backends"] == ["10.2.1.21:9090", "10.3.1.21:9090"]


def test_observer_limits_the_output(capsys):
    data = run_json(capsys, STATE, "--observer", "cluster-b")
    assert all(list(s["observers"]) == ["cluster-b"] for s in data["services"])


@pytest.fixture
def affinity_none_state(tmp_path):
    """Two clusters; cluster-a's Service says affinity "none", which 1.18's load balancer blackholes."""
    for cluster, ip, affinity in (("cluster-a", "10.1.0.5", "none"), ("cluster-b", "10.2.0.5", None)):
        folder = tmp_path / cluster
        folder.mkdir()
        annotations = '{service.cilium.io/global: "true"' + \
            (f', service.cilium.io/affinity: "{affinity}"' if affinity else "") + "}"
        (folder / "objects.yaml").write_text(textwrap.dedent(f"""\
            apiVersion: v1
            kind: Service
            metadata: {{name: web, namespace: default, annotations: {annotations}}}
            spec: {{clusterIP: 10.96.0.9, ports: [{{name: http, port: 80}}]}}
            ---
            apiVersion: discovery.k8s.io/v1
            kind: EndpointSlice
            metadata: {{name: web-1, namespace: default, labels: {{kubernetes.io/service-name: web}}}}
            addressType: IPv4
            ports: [{{name: http, port: 8080}}]
            endpoints: [{{addresses: [{ip}]}}]
            """))
    return str(tmp_path)


@pytest.mark.parametrize("version, backends", [
    ("1.17", ["10.1.0.5:8080", "10.2.0.5:8080"]),
    ("1.18.2", ["10.1.0.5:8080"]),          # cilium#46623: remote backends dropped
    ("1.20", ["10.1.0.5:8080", "10.2.0.5:8080"]),  # fixed by PR #46635
])
def test_version_decides_affinity_none(capsys, affinity_none_state, version, backends):
    data = run_json(capsys, affinity_none_state, "--cilium-version", version)
    assert data["cilium_version"] == version
    web = observers(data, "default/web")
    assert web["cluster-a"]["affinity"] == "none"
    assert web["cluster-a"]["frontends"]["80/TCP"]["backends"] == backends


def test_text_output_explains_the_blackhole(capsys, affinity_none_state):
    assert main(["simulate", affinity_none_state, "--cilium-version", "1.18"]) == 0
    out = capsys.readouterr().out
    assert "note: affinity 'none' is neither local nor remote: Cilium 1.18 drops every remote backend" in out


def test_malformed_state_is_located_and_exits_1(tmp_path, capsys):
    (tmp_path / "cluster-a").mkdir()
    (tmp_path / "cluster-a" / "svc.yaml").write_text(
        "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec:\n  ports:\n    - port: eighty\n")
    assert main(["simulate", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert f"{tmp_path}/cluster-a/svc.yaml:6:13: error:" in err


@pytest.mark.parametrize("args, fragment", [
    (["does-not-exist"], "does-not-exist"),
    ([STATE, "--cilium-version", "1.12"], "outside what meshspec models"),
    ([STATE, "--cilium-version", "latest"], "not a Cilium version"),
    ([STATE, "--observer", "cluster-z"], "no such cluster folder"),
])
def test_usage_errors_exit_2(capsys, args, fragment):
    assert main(["simulate", *args]) == 2
    assert fragment in capsys.readouterr().err


@pytest.fixture
def dump_with_system_services(tmp_path):
    """Two clusters as `kubectl get svc,endpointslices -A` dumps them: kube-dns in kube-system everywhere,
    a global Service in shop, and one global only in cluster-b (legacy io.cilium alias, "True")."""
    for cluster, ip in (("cluster-a", "10.1.0.5"), ("cluster-b", "10.2.0.5")):
        folder = tmp_path / cluster
        folder.mkdir()
        extra = ', annotations: {io.cilium/global-service: "True"}' if cluster == "cluster-b" else ""
        (folder / "objects.yaml").write_text(textwrap.dedent(f"""\
            apiVersion: v1
            kind: List
            items:
              - {{apiVersion: v1, kind: Service, metadata: {{name: kube-dns, namespace: kube-system}},
                 spec: {{clusterIP: 10.96.0.10, ports: [{{name: dns, port: 53, protocol: UDP}}]}}}}
              - {{apiVersion: v1, kind: Service, metadata: {{name: cart, namespace: shop{extra}}},
                 spec: {{clusterIP: 10.96.0.11, ports: [{{port: 80}}]}}}}
              - {{apiVersion: v1, kind: Service,
                 metadata: {{name: web, namespace: shop, annotations: {{service.cilium.io/global: "true"}}}},
                 spec: {{clusterIP: 10.96.0.12, ports: [{{port: 80}}]}}}}
              - {{apiVersion: discovery.k8s.io/v1, kind: EndpointSlice,
                 metadata: {{name: web-1, namespace: shop, labels: {{kubernetes.io/service-name: web}}}},
                 addressType: IPv4, ports: [{{port: 80}}], endpoints: [{{addresses: [{ip}]}}]}}
            """))
    return str(tmp_path)


def keys(data):
    return [f"{s['namespace']}/{s['name']}" for s in data["services"]]


def test_namespace_and_global_only_filter_the_services(capsys, dump_with_system_services):
    state = dump_with_system_services
    assert keys(run_json(capsys, state)) == ["kube-system/kube-dns", "shop/cart", "shop/web"]
    assert keys(run_json(capsys, state, "--namespace", "shop")) == ["shop/cart", "shop/web"]
    assert keys(run_json(capsys, state, "--namespace", "shop", "--namespace", "kube-system")) == [
        "kube-system/kube-dns", "shop/cart", "shop/web"]
    # cart is global only in cluster-b (the legacy alias, value "True": cilium-semantics.md section 1)
    assert keys(run_json(capsys, state, "--global-only")) == ["shop/cart", "shop/web"]


def test_filtering_never_changes_what_a_listed_service_routes_to(capsys, dump_with_system_services):
    full = observers(run_json(capsys, dump_with_system_services), "shop/web")
    assert observers(run_json(capsys, dump_with_system_services, "--global-only", "--namespace", "shop"),
                     "shop/web") == full
    assert full["cluster-a"]["frontends"]["80/TCP"]["backends"] == ["10.1.0.5:80", "10.2.0.5:80"]


def test_a_filter_that_matches_nothing_says_so(capsys, dump_with_system_services):
    assert main(["simulate", dump_with_system_services, "--namespace", "payments"]) == 0
    out = capsys.readouterr()
    assert out.out == "Cilium 1.20\n"
    assert out.err.strip() == f"{dump_with_system_services}: no Service matches --namespace payments; found 3 Services"


def test_left_out_lists_every_unreached_endpoint_with_its_reason(capsys):
    from meshspec.cli import main

    assert main(["simulate", "examples/state", "--left-out", "--observer", "cluster-b"]) == 0
    text = capsys.readouterr().out
    assert ("left out: 10.1.0.11:80 (cluster-a): cluster-a does not share its endpoints "
            "(service.cilium.io/shared: false)") in text
    assert main(["simulate", "examples/state", "--left-out", "--format", "json"]) == 0
    import json

    services = {(s["namespace"], s["name"]): s for s in json.loads(capsys.readouterr().out)["services"]}
    left = services[("shop", "checkout")]["observers"]["cluster-b"]["frontends"]["80/TCP"]["left_out"]
    assert {"endpoint": "10.3.1.21:8080", "cluster": "cluster-c",
            "reason": "affinity local: remote endpoints are used only while no local one is ready"} in left
    assert main(["simulate", "examples/state", "--format", "json"]) == 0
    assert "left_out" not in capsys.readouterr().out  # off by default: the output is unchanged


# --- --jobs: the same output from any number of processes ---------------------------------------------

def simulate_process(*args, stdout=subprocess.PIPE):
    """The real command in a fresh interpreter (its children fork from it, not from the test process)."""
    return meshspec_process("simulate", *args, stdout=stdout)


@pytest.fixture(scope="module")
def generated_state(tmp_path_factory):
    """bench/'s generator at a small size: 7 clusters x 120 Services, every kind of Service it makes."""
    out = tmp_path_factory.mktemp("generated")
    for script, args in (("generate.py", ["--clusters", "7", "--services", "120", "-o", str(out / "mesh.yaml")]),
                         ("generate_state.py", [str(out / "mesh.yaml"), "-o", str(out / "state"), "--split", "auto"])):
        subprocess.run([sys.executable, str(ROOT / "bench" / script), *args], check=True, capture_output=True,
                       env={**os.environ, "PYTHONPATH": str(ROOT)})
    return str(out / "state")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--jobs forks on Linux only")
@pytest.mark.parametrize("options", [["--format", "json"], [], ["--left-out", "--format", "json"],
                                     ["--observer", "cluster-003"], ["--cilium-version", "1.17", "--format", "json"]])
def test_any_number_of_jobs_writes_the_same_bytes(generated_state, options):
    one = simulate_process(generated_state, *options, "--jobs", "1")
    assert one.returncode == 0 and len(one.stdout) > 10_000, one.stderr
    for jobs in ("2", "3", "7", "9"):
        many = simulate_process(generated_state, *options, "--jobs", jobs)
        assert (many.returncode, many.stdout, many.stderr) == (0, one.stdout, one.stderr), jobs


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--jobs forks on Linux only")
def test_jobs_write_the_same_file_as_one_process(generated_state, tmp_path):
    """Into a file, the children's text is sent to it by the kernel (sendfile), after what the parent wrote."""
    for jobs in ("1", "3"):
        with open(tmp_path / f"out-{jobs}.json", "wb") as out:
            assert simulate_process(generated_state, "--format", "json", "--jobs", jobs, stdout=out).returncode == 0
    written = (tmp_path / "out-3.json").read_bytes()
    assert written == (tmp_path / "out-1.json").read_bytes()
    assert len(json.loads(written)["services"]) == 120


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="--jobs forks on Linux only")
def test_jobs_find_the_same_problems(generated_state, tmp_path):
    state = tmp_path / "state"
    shutil.copytree(generated_state, state)
    broken = state / "cluster-005" / "extra.yaml"
    broken.write_text("apiVersion: v1\nkind: Service\nmetadata: {name: x, namespace: y}\nspec: {ports: [{port: 0}]}\n")
    (state / "cluster-002" / "bad.json").write_text('{"kind": "List", "items": [')
    one, many = (simulate_process(str(state), "--jobs", jobs) for jobs in ("1", "2"))
    assert one.returncode == many.returncode == 1
    assert many.stderr == one.stderr and b"extra.yaml:4:23: error" in one.stderr and b"[yaml-syntax]" in one.stderr
    assert many.stdout == one.stdout == b""


def test_jobs_must_be_a_positive_number(capsys):
    for bad in ("0", "-1", "two"):
        with pytest.raises(SystemExit) as exit:
            main(["simulate", STATE, "--jobs", bad])
        assert exit.value.code == 2
        assert "is not a number of processes (1 or more)" in capsys.readouterr().err


def test_a_small_state_is_read_in_this_process_and_a_large_one_split(monkeypatch):
    from meshspec.cli.commands import simulate as command

    split = command._Split(None)
    load_state(STATE, read=split.read_clusters)
    assert split.parts == 1  # the example state is some KBs, under AUTO_JOBS_BYTES
    monkeypatch.setattr(command, "AUTO_JOBS_BYTES", 0)
    monkeypatch.setattr("meshspec.adapters.processes.usable_cpus", lambda: 16)
    monkeypatch.setattr("meshspec.adapters.processes.can_fork", lambda: False)  # counted, not forked, here
    split = command._Split(None)
    state, _ = load_state(STATE, read=split.read_clusters)
    assert split.parts == command.MAX_AUTO_JOBS and state == load_state(STATE)[0]
