"""`meshspec completion SHELL`: scripts each shell accepts, that offer what the parser has."""

import shutil
import subprocess

import pytest

from meshspec.cli.commands import COMMANDS
from tests.support import ROOT

CHECKERS = {"bash": ["bash", "-n"], "zsh": ["zsh", "-n"], "fish": ["fish", "--no-execute"]}


def script(shell, capsys):
    from meshspec.cli import main

    assert main(["completion", shell]) == 0
    return capsys.readouterr().out


@pytest.mark.parametrize("shell", sorted(CHECKERS))
def test_the_shell_parses_the_script(shell, capsys, tmp_path):
    if shutil.which(shell) is None:
        pytest.skip(f"{shell} is not installed")
    path = tmp_path / f"meshspec.{shell}"
    path.write_text(script(shell, capsys))
    done = subprocess.run([*CHECKERS[shell], str(path)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert all(command in path.read_text() for command in COMMANDS)


def bash_complete(capsys, tmp_path, *words):
    """What bash offers after `meshspec WORDS...` (the last word is the one being completed)."""
    path = tmp_path / "meshspec.bash"
    path.write_text(script("bash", capsys))
    line = " ".join(f"'{w}'" for w in ("meshspec", *words))
    code = f'source {path}; COMP_WORDS=({line}); COMP_CWORD={len(words)}; _meshspec; printf "%s\\n" "${{COMPREPLY[@]}}"'
    done = subprocess.run(["bash", "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    return done.stdout.split()


def test_bash_offers_every_command_then_its_flags_and_choices(capsys, tmp_path):
    assert bash_complete(capsys, tmp_path, "") == [*COMMANDS, "-h", "--help", "--version"]
    assert bash_complete(capsys, tmp_path, "ren") == ["render"]
    assert set(bash_complete(capsys, tmp_path, "validate", "--")) >= {"--format", "--help"}
    assert bash_complete(capsys, tmp_path, "validate", "--format", "") == ["text", "json", "github", "sarif"]
    assert bash_complete(capsys, tmp_path, "completion", "") == ["bash", "zsh", "fish"]


def test_bash_completes_spec_files_and_output_folders(capsys, tmp_path):
    assert bash_complete(capsys, tmp_path, "validate", "examples/me") == ["examples/mesh.yaml"]
    assert bash_complete(capsys, tmp_path, "render", "x.yaml", "-o", "exam") == ["examples"]


def test_fish_offers_commands_with_their_summaries_and_flag_choices(capsys, tmp_path):
    if shutil.which("fish") is None:
        pytest.skip("fish is not installed")
    path = tmp_path / "meshspec.fish"
    path.write_text(script("fish", capsys))

    def complete(line):
        done = subprocess.run(["fish", "-c", f"source {path}; complete -C '{line}'"], capture_output=True,
                              text=True, cwd=ROOT, check=True)
        return dict(row.split("\t", 1) if "\t" in row else (row, "") for row in done.stdout.splitlines())

    offered = complete("meshspec ")
    assert set(offered) == set(COMMANDS) and offered["validate"] == COMMANDS["validate"]
    assert set(complete("meshspec explain --format ")) == {"text", "json", "markdown"}
    assert "--fail-on" in complete("meshspec diff --")


def test_zsh_script_describes_every_command_and_registers_itself(capsys):
    text = script("zsh", capsys)
    assert text.startswith("#compdef meshspec\n") and "compdef _meshspec meshspec" in text
    for name in COMMANDS:
        assert f"        {name}) _arguments " in text
    assert "'--format[text (default), json, github (workflow annotations) or sarif (2.1.0)]:format:(text json github sarif)'" in text


def test_an_unknown_shell_is_a_usage_error(capsys):
    from meshspec.cli import main

    with pytest.raises(SystemExit) as exit_:
        main(["completion", "powershell"])
    assert exit_.value.code == 2 and "invalid choice" in capsys.readouterr().err


def test_zsh_offers_every_command_then_a_flags_choices(capsys, tmp_path):
    """zsh's real completion system (compinit, in a pseudo-terminal) on the generated _meshspec."""
    if shutil.which("zsh") is None:
        pytest.skip("zsh is not installed")
    (tmp_path / "_meshspec").write_text(script("zsh", capsys))
    helper = ROOT / "tests" / "support" / "fixtures" / "zsh_complete.zsh"

    def complete(words):
        done = subprocess.run(["zsh", "-f", str(helper), str(tmp_path), words], capture_output=True, text=True,
                              cwd=ROOT, timeout=60)
        return done.stdout.split()

    assert complete("") == list(COMMANDS)
    assert complete("explain --format ") == ["text", "json", "markdown"]
