"""formats/routing.py: explain's outputs read as their consumers read them (the markdown by a CommonMark
parser with GitHub's tables, the JSON by json, both agreeing with the text), and JSON output is json.dumps'
compact bytes, whichever encoder writes it."""

import json
import random

from markdown_it import MarkdownIt
import pytest

from meshspec.cli import main
from meshspec.formats import routing


def explain(capsys, *args):
    assert main(["explain", "examples/mesh.yaml", *args]) == 0
    return capsys.readouterr().out


def tables(markdown):
    """{heading text: rows of cell texts (header row first)} of every table under a heading."""
    tokens = MarkdownIt("commonmark").enable("table").parse(markdown)
    found, heading, rows, row = {}, None, None, None
    for i, token in enumerate(tokens):
        if token.type == "heading_open":
            heading = tokens[i + 1].content
        elif token.type == "table_open":
            rows = found.setdefault(heading, [])
        elif token.type == "tr_open":
            row = []
        elif token.type in ("th_open", "td_open"):
            row.append(tokens[i + 1].content if tokens[i + 1].type == "inline" else "")
        elif token.type == "tr_close":
            rows.append(row)
    return found


def test_markdown_has_a_table_per_service_a_reviewer_can_read(capsys):
    text = explain(capsys, "--format", "markdown")
    assert text.startswith("**meshspec explain** `examples/mesh.yaml`: 4 services, Cilium 1.20.1\n")
    found = tables(text)
    assert list(found) == ["`default/myapp-service`", "`monitoring/metrics`", "`shop/checkout`", "`shop/inventory`"]
    assert found["`shop/checkout`"] == [
        ["client cluster", "served by", "when one cluster has no ready pods"],
        ["cluster-a", "cluster-a", "cluster-a down: cluster-b, cluster-c"],
        ["cluster-b", "cluster-b", "cluster-b down: cluster-a, cluster-c"],
        ["cluster-c", "cluster-c", "cluster-c down: cluster-a, cluster-b"]]
    assert found["`shop/inventory`"][1] == ["cluster-a", "—", ""]  # the Service does not exist there
    assert found["`monitoring/metrics`"][1] == ["cluster-a", "cluster-a", "cluster-a down: **none**"]


def test_markdown_renders_to_html_tables_with_no_stray_pipes(capsys):
    html = MarkdownIt("commonmark").enable("table").render(explain(capsys, "--format", "markdown"))
    assert html.count("<table>") == 4 and "|" not in html


def test_json_carries_the_failover_scenarios_the_text_shows(capsys):
    data = json.loads(explain(capsys, "--format", "json"))
    text = explain(capsys)
    by_key = {f"{s['namespace']}/{s['name']}": s for s in data["services"]}
    checkout = by_key["shop/checkout"]
    assert checkout["failures"] == {"cluster-a": {"cluster-a": ["cluster-b", "cluster-c"]},
                                    "cluster-b": {"cluster-b": ["cluster-a", "cluster-c"]},
                                    "cluster-c": {"cluster-c": ["cluster-a", "cluster-b"]}}
    assert by_key["monitoring/metrics"]["failures"]["cluster-b"] == {"cluster-b": []}
    assert by_key["default/myapp-service"]["failures"] == {"cluster-a": {}, "cluster-b": {}, "cluster-c": {}}
    assert "observers" in checkout  # the keys before failures are kept
    for service in data["services"]:  # every `if` line of the text is in the JSON, and nothing else
        for failed, changes in service["failures"].items():
            shown = "; ".join(f"{c} -> {', '.join(s) or 'NO BACKENDS'}" for c, s in changes.items()) or \
                "no client loses service; each keeps its other serving clusters"
            assert f"  if {failed} has no ready pods: {shown}\n" in text


def test_down_is_reflected_in_every_format(capsys):
    data = json.loads(explain(capsys, "--format", "json", "--down", "cluster-b:shop/inventory"))
    inventory = next(s for s in data["services"] if s["name"] == "inventory")
    assert inventory["observers"]["cluster-c"]["backends"] == ["cluster-c"] and "cluster-b" not in inventory["failures"]


# --- the compact JSON encoder ----------------------------------------------------------------------

CHARS = ["a", "Z", "0", ":", "/", "[", "\"", "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "€", "𝄞", "\ud800", " "]


def _payload(rng, depth=0):
    kind = rng.random()
    if depth > 3 or kind < 0.4:
        return rng.choice([
            "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 4))), rng.randint(-5, 70000), 2 ** 70,
            True, False, None])
    if kind < 0.7:
        return [_payload(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {"".join(rng.choice(CHARS) for _ in range(rng.randint(0, 3))): _payload(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("encoder", ["orjson", "json"])
@pytest.mark.parametrize("seed", range(150))
def test_compact_output_is_json_dumps_bytes(seed, encoder, monkeypatch):
    orjson = pytest.importorskip("orjson") if encoder == "orjson" else None
    monkeypatch.setattr(routing, "_orjson", lambda: orjson)
    payload = _payload(random.Random(seed))
    assert routing._compact(payload) == json.dumps(payload, separators=(",", ":")) + "\n"


def test_simulate_prints_the_same_bytes_piece_by_piece():
    """The CLI streams simulate's output a Service at a time; the pieces are the whole document's bytes."""
    from meshspec.analysis.simulate import simulate
    from meshspec.analysis.state import load_state
    from meshspec.cilium.versions import parse_version

    state, _ = load_state("examples/state")
    routes = simulate(state, list(state.clusters), parse_version("1.20"))
    document = {"cilium_version": "1.20", "services": [
        {"namespace": ns, "name": name, "observers": {c: routing.observer_json(v) for c, v in views.items()}}
        for ns, name, views in routes]}
    assert "".join(routing.simulate_json_chunks("1.20", iter(routes))) == \
        json.dumps(document, separators=(",", ":")) + "\n"
    assert "".join(routing.simulate_text_chunks("1.20", iter(routes))) == routing.simulate_text("1.20", routes)


@pytest.mark.parametrize("seed", range(200))
def test_simulate_json_writes_json_dumps_bytes_on_random_meshes(seed):
    """simulate's JSON is written directly (each frontend's shared backends encoded once and sliced per
    observer); on random meshes, --left-out or not, it is json.dumps of observer_json's data, byte for byte."""
    from meshspec.analysis.simulate import routed
    from meshspec.cilium.versions import parse_version
    from tests.support.random_meshes import random_mesh

    rng = random.Random(seed)
    services = []
    for i in range(3):
        copies, clusters = random_mesh(rng)
        services.append((("default", f"web-{i}"), copies))
    left_out = seed % 4 == 0
    version = parse_version(rng.choice(["1.17", "1.18.3", "1.20"]))
    routes = list(routed(services, clusters, version, left_out))
    document = {"cilium_version": str(version), "services": [
        {"namespace": ns, "name": name, "observers": {c: routing.observer_json(v) for c, v in views.items()}}
        for ns, name, views in routes]}
    assert routing.simulate_json(str(version), routes) == json.dumps(document, separators=(",", ":")) + "\n"
