"""The house rules: layers as import contracts, no import cycle, a light simulate, tests that do not
import each other."""

import ast
import os
import pathlib
import shutil
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def test_import_contracts_hold():
    """.importlinter: the layers, and only adapters import kubernetes, pulumi and subprocess."""
    lint = shutil.which("lint-imports", path=os.path.dirname(sys.executable)) or shutil.which("lint-imports")
    if lint is None:
        pytest.skip("lint-imports not installed: pip install -e '.[test]'")
    done = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "0 broken" in done.stdout


def test_no_import_cycle_between_modules():
    import grimp

    graph = grimp.build_graph("meshspec")
    modules = sorted(graph.modules)
    cycles = [component for component in _strongly_connected(modules, graph.find_modules_directly_imported_by)
              if len(component) > 1]
    assert cycles == []


def _strongly_connected(nodes, edges):
    """Tarjan's algorithm, iteratively (the graph is small, but recursion limits are not ours to spend)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]
    for root in nodes:
        if root in index:
            continue
        work = [(root, iter(sorted(edges(root))))]
        index[root] = low[root] = counter[0]
        counter[0] += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next((c for c in children if c.startswith("meshspec")), None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges(child)))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = set()
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.add(member)
                    if member == node:
                        break
                result.append(component)
    return result


def _loaded_after(argv):
    code = ("import sys; from meshspec.cli import main; main(%r); "
            "print(' '.join(sorted(sys.modules)))" % (argv,))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(done.stdout.split())


def test_simulate_loads_neither_cerberus_nor_the_kubernetes_schema():
    loaded = _loaded_after(["simulate", "examples/state"])
    assert "meshspec.analysis.state" in loaded
    assert not {m for m in loaded if m.split(".")[0] in ("cerberus", "jsonschema", "kubernetes", "pulumi")}
    assert "meshspec.k8s.service_schema" not in loaded and "meshspec.spec.check" not in loaded


def test_a_command_loads_only_its_own_module():
    loaded = _loaded_after(["validate", "examples/mesh.yaml"])
    commands = {m for m in loaded if m.startswith("meshspec.cli.commands.")}
    assert commands == {"meshspec.cli.commands.validate"}
    assert not {m for m in loaded if m.startswith(("meshspec.adapters", "meshspec.analysis"))}


def _newly_loaded_by(argv):
    """The modules the command itself imports: those loaded before meshspec (site, and in a `pip install
    -e` checkout setuptools' editable finder, which brings pathlib) are left out."""
    code = ("import sys; before = set(sys.modules); from meshspec.cli import main; main(%r); "
            "print(); print(' '.join(sorted(set(sys.modules) - before)))" % (argv,))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(done.stdout.splitlines()[-1].split())


# Each of these cost validate's start-up 2-8 ms (README, "Start-up") and is needed only off its path: SARIF
# output (pathlib, urllib.parse), MCS derived names (hashlib), the full Kubernetes schemas (pathlib). And 1-3
# ms each, needed only by some specs and dumps: did-you-mean hints for a typo (difflib), MCS-API and
# non-global namespaces (cilium/mcs.py), Cilium Helm values in the spec (cilium/helm.py). And `dataclasses`,
# 11 ms with the `inspect` it imports: every class on the path is a record (meshspec/record.py). And shutil,
# with the bz2 and lzma it imports (5 ms), which argparse asks for the terminal's width (cli/main.py). And
# the forked children of a large simulate (adapters/processes.py, with pickle), not needed for a small state.
NOT_ON_VALIDATES_PATH = ("meshspec.adapters.processes", "pickle", "shutil", "bz2", "lzma", "pathlib", "urllib.parse", "hashlib", "_hashlib", "ntpath",
                         "importlib.metadata", "cerberus", "jsonschema", "kubernetes", "pulumi", "shlex", "subprocess",
                         "threading", "difflib", "meshspec.cilium.mcs", "meshspec.cilium.helm", "dataclasses", "inspect")


def test_validate_and_simulate_import_nothing_they_do_not_need():
    for argv in (["validate", "examples/mesh.yaml"], ["simulate", "examples/state"]):
        loaded = _newly_loaded_by(argv)
        assert "meshspec.cli.main" in loaded  # the list is what the command loaded
        assert sorted(m for m in NOT_ON_VALIDATES_PATH if m in loaded) == [], argv


def _dataclasses_defined_by(argv, condition):
    """The meshspec dataclasses the command's modules define (module.Class) for which `condition`, an
    expression in `value` (the class), holds."""
    code = ("import dataclasses, sys; from meshspec.cli import main; main(%r); print(); "
            "print(' '.join(sorted(name + '.' + key for name, module in list(sys.modules.items()) "
            "if name.startswith('meshspec') for key, value in vars(module).items() "
            "if dataclasses.is_dataclass(value) and isinstance(value, type) and value.__module__ == name "
            "and (%s))))" % (argv, condition))
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(done.stdout.splitlines()[-1].split())


def test_every_dataclass_on_validates_and_simulates_path_has_a_docstring():
    # Without one, @dataclass computes a docstring from inspect.signature(cls) at import: about a quarter
    # of the cost of defining the class, paid on every start-up (README, "Start-up").
    for argv in (["validate", "examples/mesh.yaml"], ["simulate", "examples/state"]):
        assert _dataclasses_defined_by(argv, "(value.__doc__ or '').startswith(value.__name__ + '(')") == set(), argv


def test_the_start_up_path_defines_records_not_dataclasses():
    # meshspec/record.py: a third of a dataclass's cost to define, and no `dataclasses` (with `inspect`) to
    # import (README, "Start-up"); NOT_ON_VALIDATES_PATH keeps those two off the path.
    for argv in (["validate", "examples/mesh.yaml"], ["simulate", "examples/state"]):
        assert _dataclasses_defined_by(argv, "'__record_fields__' not in vars(value)") == set(), argv


def test_the_public_api():
    import meshspec

    assert meshspec.check_file.__module__ == "meshspec.spec.check"
    assert {"check_file", "Mesh", "Diagnostic", "route_service", "__version__"} <= set(meshspec.__all__)
    with pytest.raises(AttributeError):
        meshspec.no_such_thing  # noqa: B018


def test_no_test_module_imports_another():
    """Shared helpers live in tests/support/; a test module is never imported by another (nor conftest)."""
    tests = ROOT / "tests"
    names = {p.stem for p in tests.rglob("*.py") if p.stem.startswith("test_") or p.stem == "conftest"}
    offenders = []
    for path in tests.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            imported = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{path.relative_to(ROOT)} imports {m}" for m in imported if m.split(".")[-1] in names]
    assert offenders == []
