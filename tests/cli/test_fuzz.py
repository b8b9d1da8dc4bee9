"""Fuzzing: whatever the input, every command ends with one of meshspec's own exit codes (never 70, never
a traceback), prints valid UTF-8, and finishes quickly.

Generated specs come from the spec's structure definition and the ServiceSpec fields the API server
validates; mutated inputs come from the repository's own examples and fixtures. The normal suite runs
a fixed, bounded set of cases (derandomized, so CI is repeatable); a longer, random campaign runs with
MESHSPEC_FUZZ_EXAMPLES=N (README, "Fuzzing").
"""

from __future__ import annotations

import copy
import json
import os
import shutil

import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.support import ROOT
from tests.support.fuzz import (ANY, CILIUM_CONFIG, MUTATION, OK_EXITS, SERVICE_OBJECT, SPECS, dump, mutate, run,
                                seed_files)

LONG = int(os.environ.get("MESHSPEC_FUZZ_EXAMPLES", "0"))
FUZZ = settings(max_examples=LONG or 60, deadline=None, derandomize=not LONG, database=None,
                suppress_health_check=list(HealthCheck))
EXAMPLE = str(ROOT / "examples" / "mesh.yaml")
SEEDS = seed_files()


def every_spec_command(path: str, out: str) -> None:
    for argv in (["validate", path], ["validate", path, "--format", "sarif"], ["render", path, "-o", out],
                 ["explain", path], ["explain", path, "--format", "json"],
                 ["diff", EXAMPLE, path, "--format", "json"], ["diff", path, EXAMPLE, "--format", "markdown"]):
        code, _, _ = run(*argv)
        assert code in OK_EXITS, argv


@FUZZ
@given(spec=SPECS)
def test_generated_specs(tmp_path_factory, spec):
    folder = tmp_path_factory.mktemp("spec")
    path = folder / "mesh.yaml"
    path.write_bytes(dump(spec))
    every_spec_command(str(path), str(folder / "out"))


@FUZZ
@given(seed=st.sampled_from(SEEDS), mutations=st.lists(MUTATION, min_size=1, max_size=4))
def test_mutated_files_as_specs(tmp_path_factory, seed, mutations):
    folder = tmp_path_factory.mktemp("mutated")
    path = folder / "mesh.yaml"
    path.write_bytes(mutate(seed.read_bytes(), mutations))
    every_spec_command(str(path), str(folder / "out"))


def _state_objects() -> list[dict]:
    folder = ROOT / "examples" / "state"
    return [doc for file in sorted(folder.rglob("*.yaml")) for doc in yaml.safe_load_all(file.read_text()) if doc]


STATE = _state_objects()


def _replace_somewhere(obj, value, choice: float):
    """obj with one nested value (picked by `choice`) replaced."""
    paths = []

    def walk(node, path):
        paths.append(path)
        if isinstance(node, dict):
            for key, child in node.items():
                walk(child, path + (key,))
        elif isinstance(node, list):
            for i, child in enumerate(node):
                walk(child, path + (i,))

    walk(obj, ())
    path = paths[int(choice * (len(paths) - 1))]
    if not path:
        return value
    target = obj
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return obj


def assert_import_validates(folder, out) -> None:
    """`meshspec import --from FOLDER` exits 0 whatever the folder holds, and what it wrote validates with no error."""
    code, _, err = run("import", "--from", str(folder), "-o", str(out), "--force")
    assert code == 0, err
    code, _, err = run("validate", str(out))
    assert code == 0, err + out.read_text()


@FUZZ
@given(edits=st.lists(st.tuples(st.integers(0, len(STATE) - 1), st.floats(0, 1), ANY), max_size=6),
       as_json=st.booleans(), mutations=st.lists(MUTATION, max_size=2))
def test_mutated_state_folders(tmp_path_factory, edits, as_json, mutations):
    objects = copy.deepcopy(STATE)
    for index, choice, value in edits:
        objects[index] = _replace_somewhere(objects[index], value, choice)
    folder = tmp_path_factory.mktemp("state")
    for cluster in ("cluster-a", "cluster-b"):
        (folder / cluster).mkdir()
        items = {"apiVersion": "v1", "kind": "List", "items": objects}
        data = json.dumps(items, default=str).encode("utf-8", "surrogatepass") if as_json else dump(items)
        (folder / cluster / ("dump.json" if as_json else "dump.yaml")).write_bytes(mutate(data, mutations))
    for argv in (["simulate", str(folder)], ["simulate", str(folder), "--format", "json"]):
        code, _, _ = run(*argv)
        assert code in OK_EXITS, argv
    # Split between processes (a fork of this one when it has no other thread), the same bytes and exit code.
    one, two = (run("simulate", str(folder), "--format", "json", "--jobs", jobs) for jobs in ("1", "2"))
    assert two == one
    assert_import_validates(folder, folder / "mesh.yaml")
    shutil.rmtree(folder)


@FUZZ
@given(clusters=st.lists(st.tuples(st.lists(SERVICE_OBJECT, max_size=5), CILIUM_CONFIG), min_size=1, max_size=3))
def test_import_of_generated_services_always_validates(tmp_path_factory, clusters):
    folder = tmp_path_factory.mktemp("import")
    for i, (services, config) in enumerate(clusters):
        cluster = folder / f"c{i}"
        cluster.mkdir()
        (cluster / "services.yaml").write_bytes(dump({"apiVersion": "v1", "kind": "List", "items": services}))
        if config is not None:
            (cluster / "cilium-config.yaml").write_bytes(dump(config))
    assert_import_validates(folder, folder / "mesh.yaml")
    shutil.rmtree(folder)
