"""The shipped CI: .github/workflows/meshspec.yml and .pre-commit-hooks.yaml refer only to things that
exist: meshspec subcommands and flags (parsed by the real CLI parser), files, Pulumi stacks, secrets the
header documents, and actions pinned to a version."""

import argparse
import json
import os
import re
import shlex
import subprocess
import sys

import pytest
import yaml

from meshspec.cli.main import build_parser
from meshspec.spec.project import RENDER_DIR_KEY, SPEC_KEY, stack_config_dir, stack_file_name
from meshspec.spec.check import check_file

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORKFLOW_FILE = os.path.join(ROOT, ".github", "workflows", "meshspec.yml")
HOOKS_FILE = os.path.join(ROOT, ".pre-commit-hooks.yaml")
# What GitHub provides at run time, as the workflow's steps would see it.
RUNNER_ENV = {"BASE_REF": "main", "GITHUB_STEP_SUMMARY": "/tmp/summary", "GITHUB_ENV": "/tmp/env",
              "GITHUB_OUTPUT": "/tmp/output",
              "RUNNER_TEMP": "/tmp", "KUBECONFIG_CONTENT": "", "KUBECONFIG": "/tmp/kubeconfig"}
SHELL_OPERATORS = {";", "&&", "||", "|", ">", ">>", "<", "&", "(", ")", "2>", "2>>"}


def load(path):
    with open(path) as fh:
        return yaml.safe_load(fh)


WORKFLOW = load(WORKFLOW_FILE)
JOBS = WORKFLOW["jobs"]
# PyYAML reads the key `on` as the boolean true (YAML 1.1); GitHub reads it as "on".
TRIGGERS = WORKFLOW.get("on", WORKFLOW.get(True))


def parser():
    """The CLI's parser and its subcommands."""
    built = build_parser()
    commands = next(a for a in built._actions if isinstance(a, argparse._SubParsersAction))
    return built, commands


def expand(text: str, env: dict) -> str:
    return re.sub(r"\$\{?(\w+)\}?", lambda m: env.get(m.group(1), m.group(0)), text)


def steps():
    """(job name, step, environment the step sees) for every step."""
    for job_name, job in JOBS.items():
        for step in job["steps"]:
            yield job_name, step, {**RUNNER_ENV, **WORKFLOW.get("env", {}), **job.get("env", {}),
                                   **step.get("env", {})}


def commands_in(script: str, env: dict):
    """Each simple command of a run script as a list of words, variables expanded."""
    script = expand(script.replace("\\\n", " "), env)
    for line in script.splitlines():
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|<>()")
        lexer.whitespace_split = True
        words: list[str] = []
        for token in lexer:
            if token in SHELL_OPERATORS or re.fullmatch(r"[;&|<>()]+", token):
                if words:
                    yield words, token
                words = []
            else:
                words.append(token)
        if words:
            yield words, None


def invocations():
    """Every `meshspec ...` the workflow runs: (step name, argv after 'meshspec')."""
    found = []
    for job_name, step, env in steps():
        for words, _ in commands_in(step.get("run", ""), env):
            while words and words[0] in ("if", "then", "else", "elif", "do", "!"):
                words = words[1:]
            if words[:1] == ["meshspec"]:
                found.append((f"{job_name}: {step.get('name', step.get('uses'))}", words[1:]))
    return found


def written_files(job_name):
    """Files the job's run steps write with `>`, in step order."""
    written = []
    for name, step, env in steps():
        if name != job_name:
            continue
        commands = list(commands_in(step.get("run", ""), env))
        for (_, operator), (following, _) in zip(commands, commands[1:]):
            if operator in (">", ">>"):
                written.append((step, following[0]))
    return written


# --- meshspec commands ----------------------------------------------------------------------------

@pytest.mark.parametrize("step, argv", invocations(), ids=[f"{s}: {' '.join(a[:1])}" for s, a in invocations()])
def test_meshspec_commands_parse_with_the_real_cli(step, argv):
    built, _ = parser()
    try:
        args = built.parse_args(argv)
    except SystemExit:
        pytest.fail(f"{step}: `meshspec {' '.join(argv)}` is refused by the CLI parser")
    for attr in ("spec", "specs", "old", "new"):
        given = getattr(args, attr, None)
        for value in given if isinstance(given, list) else [given] if given is not None else []:
            path = value.rsplit(":", 1)[-1] if value.startswith("git:") else value
            assert os.path.isfile(os.path.join(ROOT, path)), f"{step}: {value}: no such file"


def test_the_workflow_validates_diffs_and_gates():
    argvs = [argv for _, argv in invocations()]
    assert ["validate", "$MESHSPEC_SPEC", "--format", "github"] not in argvs  # variables were expanded
    assert any(a[0] == "validate" and a[a.index("--format") + 1] == "github" for a in argvs)
    assert any(a[0] == "diff" and a[a.index("--format") + 1] == "markdown" and a[1].startswith("git:origin/")
               for a in argvs)
    assert any(a[0] == "diff" and a[a.index("--fail-on") + 1] == "risk" for a in argvs if "--fail-on" in a)


def test_the_spec_exists_and_is_valid():
    spec = WORKFLOW["env"]["MESHSPEC_SPEC"]
    mesh, diagnostics = check_file(os.path.join(ROOT, spec))
    assert mesh is not None, diagnostics


def test_the_risk_gate_runs_after_the_comment_is_posted():
    review = JOBS["review"]["steps"]
    names = [s.get("uses", "").split("@")[0] or s.get("run", "") for s in review]
    comment = next(i for i, n in enumerate(names) if n == "marocchino/sticky-pull-request-comment")
    gate = next(i for i, s in enumerate(review) if "--fail-on risk" in s.get("run", ""))
    markdown = next(i for i, s in enumerate(review) if "--format markdown" in s.get("run", ""))
    assert markdown < comment < gate
    assert "--fail-on" not in review[markdown]["run"]  # the comment step must get to run


# --- files ----------------------------------------------------------------------------------------

def test_files_the_steps_read_exist():
    for job_name, step, env in steps():
        for words, _ in commands_in(step.get("run", ""), env):
            if words[:2] == ["pip", "install"] or words[1:3] == ["-m", "pip"] or words[0].endswith("/pip"):
                for flag, value in zip(words, words[1:]):
                    if flag == "-r":
                        assert os.path.isfile(os.path.join(ROOT, value)), f"{job_name}: {value}"
                    if flag == "-e":
                        assert os.path.isfile(os.path.join(ROOT, value, "pyproject.toml")), f"{job_name}: {value}"
        if "path" in step.get("with", {}):
            produced = [file for producer, file in written_files(job_name) if producer is not step]
            assert step["with"]["path"] in produced, f"{job_name}: {step['with']['path']} is written by no step"
        if "work-dir" in step.get("with", {}):
            assert os.path.isfile(os.path.join(ROOT, step["with"]["work-dir"], "Pulumi.yaml"))


def test_files_are_written_before_they_are_read():
    review = JOBS["review"]["steps"]
    written = [review.index(step) for step, file in written_files("review") if file == "diff.md"]
    reader = next(i for i, s in enumerate(review) if s.get("with", {}).get("path") == "diff.md")
    assert written and min(written) < reader


# --- Pulumi stacks --------------------------------------------------------------------------------

def pulumi_steps():
    return [(name, step) for name, step, _ in steps() if step.get("uses", "").startswith("pulumi/actions@")]


def deploying_stacks(spec):
    """The stacks in stackConfigDir that deploy `spec` to clusters (not the render-to-directory ones)."""
    folder = stack_config_dir(ROOT)
    result = set()
    for name in os.listdir(folder):
        match = re.fullmatch(r"Pulumi\.(.+)\.yaml", name)
        config = (load(os.path.join(folder, name)) or {}).get("config", {}) if match else {}
        if config.get(SPEC_KEY) == spec and not config.get(RENDER_DIR_KEY):
            result.add(match.group(1))
    return result


MATRIX = "${{ fromJSON(needs.stacks.outputs.stacks) }}"


def listed_stacks():
    """What the `stacks` job's meshspec command prints, run as the job runs it (from the repository root)."""
    [argv] = [argv for step, argv in invocations() if step.startswith("stacks:")]
    done = subprocess.run([sys.executable, "-m", "meshspec", *argv], capture_output=True, text=True, cwd=ROOT)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def test_the_stack_list_comes_from_meshspec_not_from_a_hand_kept_matrix():
    job = JOBS["stacks"]
    [step] = [s for s in job["steps"] if s.get("id") == "list"]
    assert job["outputs"]["stacks"] == "${{ steps.list.outputs.stacks }}"
    commands = [words for words, _ in commands_in(step["run"], RUNNER_ENV)]
    assert commands[0][:2] == ["meshspec", "stacks"] and commands[0][-3:] == ["--list", "--format", "json"]
    assert [f for s, f in written_files("stacks")] == ["stacks.json", "/tmp/output"]  # then read into the output
    assert "stacks=$(cat stacks.json)" in step["run"]


@pytest.mark.parametrize("job", ["preview", "up"])
def test_each_stack_job_covers_exactly_the_stacks_deploying_the_spec(job):
    assert JOBS[job]["strategy"]["matrix"]["stack"] == MATRIX
    assert JOBS[job]["needs"] == "stacks" and "needs.stacks.outputs.stacks != '[]'" in JOBS[job]["if"]
    stacks = listed_stacks()
    folder = stack_config_dir(ROOT)
    for stack in stacks:
        assert os.path.isfile(os.path.join(folder, stack_file_name(stack))), f"{job}: no stack {stack}"
    assert sorted(stacks) == stacks and set(stacks) == deploying_stacks(WORKFLOW["env"]["MESHSPEC_SPEC"])


def test_pulumi_action_previews_on_pull_requests_and_updates_on_main():
    commands = {name: step["with"] for name, step in pulumi_steps()}
    assert commands["preview"]["command"] == "preview" and commands["preview"]["comment-on-pr"] is True
    assert commands["up"]["command"] == "up"
    assert all(inputs["stack-name"] == "${{ matrix.stack }}" for inputs in commands.values())
    assert "pull_request" in TRIGGERS and TRIGGERS["push"]["branches"] == ["main"]
    assert JOBS["preview"]["if"].startswith("github.event_name == 'pull_request'")
    assert JOBS["up"]["if"].startswith("github.event_name == 'push' &&")


def test_the_pulumi_program_gets_its_virtualenv():
    """Pulumi.yaml runs the program from .venv, so every Pulumi job must create it first."""
    project = load(os.path.join(ROOT, "Pulumi.yaml"))
    venv = project["runtime"]["options"]["virtualenv"]
    for job in ("preview", "up"):
        runs = " ".join(s.get("run", "") for s in JOBS[job]["steps"])
        assert f"-m venv {venv}" in runs and f"{venv}/bin/pip install -r requirements.txt" in runs


# --- secrets and actions --------------------------------------------------------------------------

def test_every_secret_is_documented_in_the_header():
    with open(WORKFLOW_FILE) as fh:
        text = fh.read()
    header = text[:text.index("\nname:")]
    secrets = set(re.findall(r"secrets\.(\w+)", text))
    assert secrets == {"PULUMI_ACCESS_TOKEN", "MESHSPEC_KUBECONFIG"}
    for secret in secrets:
        assert re.search(rf"^#\s+{secret}\s+\S", header, re.MULTILINE), f"{secret} is not described"


def test_no_expression_is_expanded_inside_a_script():
    """`${{ }}` in a run script is pasted into the shell unquoted (script injection); pass it via env."""
    for job_name, step, _ in steps():
        assert "${{" not in step.get("run", ""), f"{job_name}: {step.get('name')}"


def test_actions_are_pinned_to_a_version():
    uses = [step["uses"] for _, step, _ in steps() if "uses" in step]
    assert uses
    for ref in uses:
        assert re.fullmatch(r"[\w.-]+/[\w./-]+@(v\d+(\.\d+){0,2}|[0-9a-f]{40})", ref), f"{ref} is not pinned"


# --- pre-commit -----------------------------------------------------------------------------------

HOOKS = load(HOOKS_FILE)


def test_pre_commit_hook():
    [hook] = HOOKS
    assert (hook["id"], hook["language"], hook["pass_filenames"]) == ("meshspec-validate", "python", True)
    assert hook["entry"] == "meshspec validate"
    built, _ = parser()
    assert built.parse_args([*hook["entry"].split()[1:], "examples/mesh.yaml"]).command == "validate"


@pytest.mark.parametrize("path, matches", [
    ("examples/mesh.yaml", True), ("mesh.yml", True), ("clusters/prod-mesh.yaml", True),
    ("prod.mesh.yaml", True), ("stacks/Pulumi.cluster-a.yaml", False), (".github/workflows/meshspec.yml", False),
    ("clustermesh.yaml", False), ("examples/kind/cluster-a.yaml", False),
])
def test_pre_commit_hook_files(path, matches):
    [hook] = HOOKS
    assert bool(re.search(hook["files"], path)) == matches


def test_pre_commit_can_pass_several_specs():
    """pre-commit passes every matching file to one command: validate takes SPEC..."""
    built, _ = parser()
    assert built.parse_args(["validate", "a/mesh.yaml", "b/mesh.yaml"]).specs == ["a/mesh.yaml", "b/mesh.yaml"]