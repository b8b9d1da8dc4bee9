"""The command as a user runs it: output, exit codes, and no traceback whatever the input."""

import errno
import io
import json
import os
import subprocess
import sys

import pytest

from tests.support.specs import VALID_SPEC
from meshspec.cli import main
from tests.support import ROOT as REPOSITORY
from tests.support.process import meshspec_process

ROOT = str(REPOSITORY)


def meshspec(*args, cwd=ROOT):
    """Run the real command in a subprocess, as a user would."""
    return meshspec_process(*args, text=True, cwd=cwd)


def test_validate_example_exits_0(capsys):
    assert main(["validate", "examples/mesh.yaml"]) == 0
    assert "examples/mesh.yaml: valid (3 clusters, 4 services)" in capsys.readouterr().err


def test_validate_reports_file_line_column(spec_file, capsys):
    path = spec_file(VALID_SPEC.replace("id: 2", "id: 0"))
    assert main(["validate", path]) == 1
    out = capsys.readouterr()
    assert out.out == (f"{path}:10:11: error: cluster id 0 is out of range 1..255; Cilium rejects 0 (unset) "
                       "and IDs above maxConnectedClusters. [cluster-id]\n")
    assert out.err.strip() == f"{path}: 1 error, 0 warnings"


def test_validate_json_format(spec_file, capsys):
    path = spec_file(VALID_SPEC.replace("      namespace: default", "      namespace: default\n      global: false\n"
                                        "      shared: false"))
    assert main(["validate", path, "--format", "json"]) == 0  # warnings only
    [item] = json.loads(capsys.readouterr().out)
    assert item == {"severity": "warning", "code": "ignored-field", "file": path, "line": 15, "column": 7,
                    "path": "spec.services[0].shared", "message": item["message"]}


@pytest.mark.parametrize("args, fragment", [
    (["validate", "does-not-exist.yaml"], "does-not-exist.yaml: no such file"),
    (["validate", "examples"], "is a folder"),
    (["validate", "examples/mesh.yaml", "--format", "xml"], "invalid choice"),
    (["render", "examples/mesh.yaml"], "required: -o/--out"),
    (["frobnicate"], "invalid choice"),
    ([], "required: COMMAND"),
])
def test_usage_errors_exit_2(args, fragment):
    result = meshspec(*args)
    assert result.returncode == 2
    assert fragment in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("content", [
    b"", b"- a\n", b"\xff\xfe", b"a: [\n", b"apiVersion: 3\nkind: [x]\nmetadata: 7\nspec: {clusters: {a: 1}}\n",
    b"spec:\n  clusters:\n    - 7\n    - {name: 5, id: x, podCIDRs: [1, nope]}\n  services: [{name: 1, spec: 3, overrides: {x: 1}}]\n",
    b"spec:\n  services:\n    - name: s\n      clusters: [1, {a: b}]\n      labels: [x]\n      spec: {ports: 80}\n",
])
def test_bad_input_never_gives_a_traceback(tmp_path, content):
    path = tmp_path / "mesh.yaml"
    path.write_bytes(content)
    result = meshspec("validate", str(path))
    assert result.returncode == 1, result.stderr
    assert "Traceback" not in result.stderr + result.stdout
    assert result.stdout.startswith(f"{path}:")


def test_render_writes_the_tree(tmp_path, capsys):
    assert main(["render", "examples/mesh.yaml", "-o", str(tmp_path / "out")]) == 0
    assert "rendered 4 services for 3 clusters" in capsys.readouterr().out
    assert (tmp_path / "out" / "cluster-c" / "service.shop.inventory.yaml").exists()


def test_render_refuses_an_invalid_spec_and_writes_nothing(spec_file, tmp_path, capsys):
    path = spec_file(VALID_SPEC.replace("id: 2", "id: 1"))
    assert main(["render", path, "-o", str(tmp_path / "out")]) == 1
    err = capsys.readouterr().err
    assert "duplicate-cluster-id" in err and "nothing rendered" in err
    assert not (tmp_path / "out").exists()


def test_render_into_a_file_is_a_usage_error(tmp_path):
    target = tmp_path / "file"
    target.write_text("x")
    result = meshspec("render", "examples/mesh.yaml", "-o", str(target))
    assert result.returncode == 2 and "is not a folder" in result.stderr


def test_cli_does_not_import_pulumi():
    code = ("import sys; from meshspec.cli import main; main(['validate', 'examples/mesh.yaml']); "
            "print(sorted(m for m in sys.modules if m.startswith('pulumi')))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    assert result.stdout.strip() == "[]"


def test_version_names_the_release_and_the_cilium_versions_it_models():
    import re

    from meshspec import __version__

    result = meshspec("--version")
    assert result.returncode == 0 and result.stderr == ""
    assert result.stdout == f"meshspec {__version__} (models Cilium 1.14 to 1.20; default 1.20)\n"
    with open(os.path.join(ROOT, "pyproject.toml")) as fh:  # README "Releasing": the tag is v<this>
        assert re.search(r'^version = "(.*)"$', fh.read(), re.M).group(1) == __version__


def test_the_list_of_commands_shows_however_it_is_asked_for():
    # A line that starts with a command builds that command's parser alone (cli/main.py, start-up); the
    # lines that print the list must still see every command.
    from meshspec.cli.commands import COMMANDS

    for args in (["-h"], ["--help", "validate"], ["nonsense"]):
        result = meshspec(*args)
        shown = result.stdout + result.stderr
        assert all(name in shown for name in COMMANDS), args
    bad = meshspec("validate", "--nonsense")
    assert bad.returncode == 2 and bad.stderr.startswith("usage: meshspec validate [-h]")


def test_strict_fails_on_warnings_as_ci_would_run_it(spec_file):
    path = spec_file(VALID_SPEC.replace("      namespace: default", "      namespace: default\n      global: false\n"
                                        "      shared: false"))
    lenient, strict = meshspec("validate", path), meshspec("validate", path, "--strict", "--format", "github")
    assert lenient.returncode == 0 and "1 warning" in lenient.stderr
    assert strict.returncode == 1
    assert strict.stdout.startswith(f"::warning file={path},line=15,col=7,title=ignored-field::")
    assert strict.stderr.splitlines()[-1] == "meshspec validate --strict: failing on 1 warning"
    assert meshspec("validate", "examples/mesh.yaml", "--strict").returncode == 0


def test_render_check_passes_on_an_up_to_date_render_and_lists_each_stale_file(tmp_path):
    out = str(tmp_path / "rendered")
    missing = meshspec("render", "examples/mesh.yaml", "-o", out, "--check")
    assert missing.returncode == 1 and not os.path.exists(out)  # writes nothing
    assert f"new      {out}/cluster-a/kustomization.yaml" in missing.stdout.splitlines()
    assert meshspec("render", "examples/mesh.yaml", "-o", out).returncode == 0
    fresh = meshspec("render", "examples/mesh.yaml", "-o", out, "--check")
    assert fresh.returncode == 0 and fresh.stdout == f"{out}/ is up to date: 23 files are what `meshspec render` writes\n"
    with open(os.path.join(out, "cluster-a", "service.shop.checkout.yaml"), "a") as fh:
        fh.write("# edited\n")
    os.remove(os.path.join(out, "cluster-b", "service.shop.inventory.yaml"))
    stale = meshspec("render", "examples/mesh.yaml", "-o", out, "--check")
    assert stale.returncode == 1
    assert stale.stdout.splitlines() == [f"changed  {out}/cluster-a/service.shop.checkout.yaml",
                                         f"new      {out}/cluster-b/service.shop.inventory.yaml"]
    assert "1 changed, 1 new, 0 removed; run `meshspec render examples/mesh.yaml -o " in stale.stderr
    assert open(os.path.join(out, "cluster-a", "service.shop.checkout.yaml")).read().endswith("# edited\n")


def test_stacks_list_names_the_deploying_stacks_and_writes_nothing(tmp_path):
    import shutil

    project = tmp_path / "project"
    shutil.copytree(os.path.join(ROOT, "tests/artifacts/fixtures/stacks/project"), project)
    before = sorted(os.listdir(project / "stacks"))
    text = meshspec("stacks", "specs/mesh.yaml", "--list", cwd=str(project))
    assert text.returncode == 0 and text.stdout == "east: east\nnorth: north\nwest: west\n"  # not preview (renderDir)
    as_json = meshspec("stacks", "specs/mesh.yaml", "--list", "--format", "json", cwd=str(project))
    assert json.loads(as_json.stdout) == ["east", "north", "west"]
    assert sorted(os.listdir(project / "stacks")) == before
    for name in ("east", "north", "west"):
        (project / "stacks" / f"Pulumi.{name}.yaml").unlink()
    none = meshspec("stacks", "specs/mesh.yaml", "--list", "--format", "json", cwd=str(project))
    assert none.stdout == "[]\n" and "no stack deploys specs/mesh.yaml" in none.stderr


@pytest.mark.parametrize("columns", ["60", "0", "wide", "-5", "200"])
def test_help_wraps_as_argparse_would_by_itself(columns, monkeypatch):
    # cli/main.py tells argparse the terminal's width, to keep shutil off the start-up path: the help
    # must read exactly as with argparse's own formatter, which asks shutil.
    import argparse
    import importlib

    cli = importlib.import_module("meshspec.cli.main")  # the module: meshspec.cli.main is also the function

    monkeypatch.setenv("COLUMNS", columns)
    monkeypatch.setattr(sys, "__stdout__", None)  # no terminal: both fall back to 80 columns
    ours = cli.build_parser("validate")
    monkeypatch.setattr(cli, "HelpFormatter", argparse.HelpFormatter)
    theirs = cli.build_parser("validate")
    assert ours.format_help() == theirs.format_help()
    validate = _subcommand(ours, "validate")
    assert validate.format_help() == _subcommand(theirs, "validate").format_help()
    width = int(columns) if columns.isdigit() and int(columns) > 0 else 80
    assert max(len(line) for line in validate.format_help().splitlines()) > min(width, 100) - 25


def _subcommand(parser, name):
    import argparse

    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction)).choices[name]


def test_the_command_writes_everything_before_it_exits_without_teardown(capsys):
    """simulate leaves its state for the process exit to free (cli/command.py leave_for_exit): the command
    still writes every byte and returns the code main() returns."""
    assert main(["simulate", "examples/state", "--format", "json"]) == 0
    expected = capsys.readouterr().out
    done = meshspec("simulate", "examples/state", "--format", "json")
    assert (done.returncode, done.stdout) == (0, expected)
    assert meshspec("simulate", "examples/state", "--observer", "nowhere").returncode == 2


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="needs /dev/full")
@pytest.mark.parametrize("args", [("validate", "examples/mesh.yaml", "--format", "json"), ("explain", "examples/mesh.yaml"),
                                  ("simulate", "examples/state", "--format", "json")])
def test_a_full_disk_is_an_io_error_not_a_bug(args):
    """Output that cannot be written (here /dev/full: every write fails with ENOSPC) exits 74, saying so."""
    with open("/dev/full", "w") as full:
        done = meshspec_process(*args, stdout=full, text=True)
    assert done.returncode == 74
    assert done.stderr == f"meshspec {args[0]}: error: the output: No space left on device\n"


def test_a_write_the_system_refuses_exits_74(monkeypatch, capsys):
    class Refusing(io.StringIO):
        def write(self, text):
            raise OSError(errno.EDQUOT, os.strerror(errno.EDQUOT))

    monkeypatch.setattr(sys, "stdout", Refusing())
    assert main(["simulate", "examples/state"]) == 74
    assert "meshspec simulate: error: the output: Disk quota exceeded" in capsys.readouterr().err
