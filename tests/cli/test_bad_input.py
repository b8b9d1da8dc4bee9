"""The classes of bad input the fuzz campaign found, each pinned: a located error (or a clean acceptance
where the input is valid), exit 1, in well under a second and without memory beyond a few times the input."""

from __future__ import annotations

import json
import time
import tracemalloc

import pytest

from tests.support.fuzz import run

HEAD = """apiVersion: meshspec/v1alpha1
kind: Mesh
metadata: {name: x}
spec:
  clusters: [{name: cluster-a, id: 1}, {name: cluster-b, id: 2}]
  services:
"""
WEB = "    - name: web\n      spec:\n        selector: {app: web}\n"


def spec(tmp_path, text: str) -> str:
    path = tmp_path / "mesh.yaml"
    path.write_text(text)
    return str(path)


def timed(*argv):
    started = time.perf_counter()
    result = run(*argv)
    return (*result, time.perf_counter() - started)


@pytest.mark.parametrize("ports, expected", [
    ("ports: [null]", "this port is null"),
    ("ports: [{port: 80, protocol: [TCP]}]", "'protocol' must be a string"),
    ("ports: [{port: 80}]\n        ipFamilies: null", None),
    ("ports: [{port: !!int x}]", "cannot read this value: 'x' is not a valid int"),
    ("ports: [{port: 9" + "9" * 4300 + "}]", "is not a valid int"),
    ("ports: [{port: 80}]\n        publishNotReadyAddresses: !!bool maybe", "is not a valid bool"),
    ("ports: [{port: 80, name: !!timestamp x}]", None),  # a timestamp stays the string it was written as
])
def test_odd_values_in_a_service_spec(tmp_path, ports, expected):
    path = spec(tmp_path, HEAD + WEB + f"        {ports}\n")
    for argv in (["validate", path], ["explain", path], ["render", path, "-o", str(tmp_path / "out")]):
        code, out, err, seconds = timed(*argv)
        assert code == (0 if expected is None else 1), (argv, out, err)
        assert expected is None or expected in out + err
        assert seconds < 1


def test_deep_nesting_is_a_located_error(tmp_path):
    path = spec(tmp_path, HEAD + WEB + "        ports: " + "[" * 500 + "]" * 500 + "\n")
    code, out, _, seconds = timed("validate", path)
    assert code == 1 and f"{path}:" in out and "nested deeper than 100 levels" in out and seconds < 1


def test_thousands_of_wrong_items_are_reported_fast(tmp_path):
    path = spec(tmp_path, HEAD + "".join(f"    - {i}\n" for i in range(3000)))
    code, out, _, seconds = timed("validate", path)
    assert code == 1 and out.count("[wrong-type]") == 3000 and seconds < 1


def test_aliases_near_the_expansion_limit_are_refused_small(tmp_path):
    """A 662-byte file of nested aliases once rendered 27 MB per cluster in 10 s."""
    levels = "".join(f"x{i}: &x{i} [{', '.join([f'*x{i - 1}'] * 9)}]\n" for i in range(1, 6))
    text = HEAD + WEB + "        ports: [{port: 80}]\n      labels: {}\n" + "anchors:\n" + "".join(
        "  " + line + "\n" for line in ("x0: &x0 [a, b, c, d, e, f, g, h, i]\n" + levels).splitlines())
    path = spec(tmp_path, text)
    tracemalloc.start()
    code, out, err, seconds = timed("render", path, "-o", str(tmp_path / "out"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert code == 1 and "[yaml-aliases]" in err
    assert seconds < 1 and peak < 20 * 1024 * 1024
    assert not (tmp_path / "out").exists()


def test_a_yaml_date_in_cilium_values_diffs_as_a_string(tmp_path):
    base = HEAD.replace("spec:\n", "spec:\n  cilium:\n    values: {extra: {since: 2024-01-01}}\n") + WEB + \
        "        ports: [{port: 80}]\n"
    path = spec(tmp_path, base)
    code, out, err = run("diff", path, path, "--format", "json")
    assert code in (0, 1), err  # values the chart does not know are an error; a date never crashes
    code, out, err = run("validate", path, "--format", "json")
    assert "Traceback" not in err and "extra" in out


@pytest.mark.parametrize("content, fragment", [
    ('{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", '
     '"metadata": {"name": "web\\ud800"}, "spec": {"ports": [{"port": 80}]}}]}', "half of a UTF-16 surrogate"),
    ("[" * 3000 + "]" * 3000, "nested"),
    ('{"apiVersion": "v1", "kind": "List", "items": [{"apiVersion": "v1", "kind": "Service", '
     '"metadata": {"name": "web\ufffe"}, "spec": {"ports": [{"port": "x"}]}}]}', "'port' must be an integer"),
])
def test_hostile_json_dumps(tmp_path, content, fragment):
    (tmp_path / "state" / "cluster-a").mkdir(parents=True)
    (tmp_path / "state" / "cluster-a" / "dump.json").write_text(content, encoding="utf-8", errors="surrogatepass")
    code, out, err, seconds = timed("simulate", str(tmp_path / "state"))
    assert code == 1 and fragment in err and "invalid YAML" not in err and seconds < 1


def test_non_owned_cilium_annotations_pass_through_and_are_named(tmp_path):
    path = spec(tmp_path, HEAD + "    - name: web\n      annotations: {service.cilium.io/lb-algorithm: maglev, "
                "service.cilium.io/forwarding-mode: dsr}\n      spec:\n        selector: {app: web}\n"
                "        ports: [{port: 80}]\n")
    code, out, err = run("validate", path)
    assert code == 0 and out == ""
    code, out, _ = run("explain", path)
    assert "not modelled: service.cilium.io/lb-algorithm=maglev, the backend selection algorithm" in out
    code, _, _ = run("render", path, "-o", str(tmp_path / "out"))
    rendered = (tmp_path / "out" / "cluster-a" / "service.default.web.yaml").read_text()
    assert "service.cilium.io/lb-algorithm: maglev" in rendered and "service.cilium.io/global: 'true'" in rendered


def test_owned_annotations_and_their_aliases_are_still_refused(tmp_path):
    for key in ("service.cilium.io/shared", "io.cilium/global-service", "io.cilium/service-affinity"):
        path = spec(tmp_path, HEAD + f"    - name: web\n      annotations: {{{key}: 'true'}}\n      spec:\n"
                    "        selector: {app: web}\n        ports: [{port: 80}]\n")
        code, out, _ = run("validate", path)
        assert code == 1 and "[reserved-annotation]" in out


def test_annotations_over_256_kib_in_total(tmp_path):
    big = json.dumps("x" * (130 * 1024))
    path = spec(tmp_path, HEAD + f"    - name: web\n      annotations: {{a: {big}, b: {big}}}\n      spec:\n"
                "        selector: {app: web}\n        ports: [{port: 80}]\n")
    code, out, _ = run("validate", path)
    assert code == 1 and "[annotation-size]" in out and "262,144" in out


def test_a_non_string_apiserver_service_type_with_an_addressless_peer(tmp_path):
    # Found by the fuzz campaign: the peer-address message looked the list up in a dict (TypeError, exit 70).
    text = HEAD.replace("  clusters:", "  cilium: {clustermesh: {apiserver: {serviceType: [a, b]}}}\n  clusters:") + WEB
    code, out, _ = run("validate", spec(tmp_path, text))
    assert code == 1
    assert "'serviceType' must be a string, not a list" in out
    assert "needs clustermesh.address so its peers can reach it: the IP or DNS name of one of its nodes" in out
