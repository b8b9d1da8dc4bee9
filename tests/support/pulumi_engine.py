"""The real Pulumi engine for tests: meshspec's program run by the `pulumi` CLI and the
pulumi-resource-kubernetes provider that tools/pulumi/build_pulumi.py builds and caches.

The Python language host (`pulumi-language-python`) is not served by the Go module proxy
(tools/pulumi/README.md), so `pulumi up` on the project's `runtime: python` cannot start the program.
The Automation API can: with an inline program the Python SDK serves the language runtime itself and
runs `pulumi up --client=<its address>`. So each operation here runs, in a fresh Python process
(`python pulumi_engine.py --drive REQUEST`), `create_or_select_stack(program=meshspec.adapters.deploy.run)`
in a temporary copy of the project: its real Pulumi.yaml (stackConfigDir: stacks), __main__.py, stacks/
and examples/, because the Automation API and `pulumi config set` write into stack files. The working
directory is that copy, as it is for `pulumi up`, so meshspec:spec is relative to it.

Offline and local: state in `file://<workdir>/state`, PULUMI_HOME in the workdir, the passphrase
secrets provider, no update check, no plugin download (the provider is found on PATH).

    bins = PulumiBinaries.find()                     # PulumiMissing says how to build them
    project = Project.copy(workdir, bins, kubeconfig)
    project.write_stack("mesh", {"meshspec:spec": "e2e/mesh.yaml"})
    result = project.run("up", "mesh")               # Result: changes, outputs, output, seconds
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BUILD_SCRIPT = REPO / "tools" / "pulumi" / "build_pulumi.py"
BUILD_HINT = "run `python3 tools/pulumi/build_pulumi.py` (needs Go; cached after the first build)"
PROJECT_FILES = ("Pulumi.yaml", "__main__.py")
PROJECT_DIRS = ("stacks", "examples")
PASSPHRASE = "meshspec-e2e"
OPERATIONS = ("preview", "up", "refresh", "destroy")


class PulumiMissing(RuntimeError):
    pass


class PulumiFailed(RuntimeError):
    """An operation the engine refused or failed; the message has its output."""

    def __init__(self, message: str, result: "Result"):
        super().__init__(message)
        self.result = result


def _build_script():
    """tools/pulumi/build_pulumi.py as a module: the versions it pins now."""
    name = "meshspec_build_pulumi"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, BUILD_SCRIPT)
        build = importlib.util.module_from_spec(spec)
        sys.modules[name] = build  # its dataclasses look their module up while it loads
        spec.loader.exec_module(build)
    return sys.modules[name]


def cache_root() -> Path:
    env = os.environ.get("MESHSPEC_E2E_CACHE")
    return Path(env).expanduser().resolve() if env else Path.home() / ".cache" / "meshspec-e2e"


@dataclass(frozen=True)
class PulumiBinaries:
    root: Path  # <cache>/pulumi-<version>; the CLI is root/bin/pulumi (the Automation API's PulumiCommand root)
    pulumi_version: str
    kubernetes_version: str

    @property
    def bin_dir(self) -> Path:
        return self.root / "bin"

    @classmethod
    def find(cls) -> "PulumiBinaries":
        """The binaries build_pulumi.py recorded for the versions it pins now; PulumiMissing says why not."""
        build = _build_script()
        root = cache_root() / f"pulumi-{build.PULUMI_VERSION}"
        manifest_path = root / "manifest.json"
        try:
            entries = json.loads(manifest_path.read_text()).get("binaries", {})
        except (OSError, ValueError):
            raise PulumiMissing(f"Pulumi binaries not built ({manifest_path} missing); {BUILD_HINT}") from None
        for name in ("pulumi", "pulumi-resource-kubernetes"):
            path = root / "bin" / name
            if entries.get(name, {}).get("status") != "built" or not os.access(path, os.X_OK):
                raise PulumiMissing(f"Pulumi binaries not built ({path} missing); {BUILD_HINT}")
        return cls(root, build.PULUMI_VERSION, build.KUBERNETES_VERSION)


@dataclass
class Result:
    operation: str
    stack: str
    ok: bool
    seconds: float  # the operation itself (stack.up() etc.), in the driver process
    wall_seconds: float  # the whole driver process: Python start, imports, stack selection, the operation
    changes: dict[str, int] = field(default_factory=dict)  # {"create": 11, "same": 4, ...}
    outputs: dict[str, Any] = field(default_factory=dict)
    output: str = ""  # what the engine printed
    error: str = ""

    def changed(self) -> dict[str, int]:
        """The changes other than "same"."""
        return {op: n for op, n in self.changes.items() if op != "same" and n}


class Project:
    """A temporary copy of the Pulumi project, and the environment its operations run in."""

    def __init__(self, root: Path, bins: PulumiBinaries, kubeconfig: Path | None, workdir: Path):
        self.root, self.bins, self.kubeconfig, self.workdir = root, bins, kubeconfig, workdir

    @classmethod
    def copy(cls, workdir: Path, bins: PulumiBinaries, kubeconfig: Path | None = None) -> "Project":
        workdir = Path(workdir)
        root = workdir / "project"
        root.mkdir(parents=True)
        for name in PROJECT_FILES:
            shutil.copy2(REPO / name, root / name)
        for name in PROJECT_DIRS:
            shutil.copytree(REPO / name, root / name)
        (workdir / "state").mkdir()
        return cls(root, bins, kubeconfig, workdir)

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items()
               if k not in ("PULUMI_ACCESS_TOKEN", "PULUMI_IGNORE_AMBIENT_PLUGINS", "VIRTUAL_ENV", "KUBECONFIG")}
        env.update(
            # The provider binary is found on PATH (the engine warns "using pulumi-resource-kubernetes from
            # $PATH"); nothing is downloaded.
            PATH=os.pathsep.join([str(self.bins.bin_dir), str(Path(sys.executable).parent), env.get("PATH", "")]),
            PULUMI_HOME=str(self.workdir / "home"),
            PULUMI_BACKEND_URL=(self.workdir / "state").as_uri(),
            PULUMI_CONFIG_PASSPHRASE=PASSPHRASE,
            PULUMI_SKIP_UPDATE_CHECK="true",
            PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
            PULUMI_AUTOMATION_API_SKIP_VERSION_CHECK="true",
        )
        if self.kubeconfig is not None:
            env["KUBECONFIG"] = str(self.kubeconfig)
        return env

    def write(self, relative: str, text: str) -> Path:
        path = self.root / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return path

    def write_stack(self, name: str, config: dict[str, Any]) -> Path:
        """stacks/Pulumi.<name>.yaml, as a user writes it; every stack of this project disables the
        default kubernetes provider, as the repository's do."""
        import yaml

        return self.write(f"stacks/Pulumi.{name}.yaml", yaml.safe_dump(
            {"config": {"pulumi:disable-default-providers": ["kubernetes"], **config}}, sort_keys=False))

    def run(self, operation: str, stack: str, *, config: dict[str, str] | None = None,
            expect_no_changes: bool = False, check: bool = True, timeout: float = 300) -> Result:
        """One Automation API operation on `stack` (selected, or created) in a fresh process.

        `config` is set with stack.set_config before the operation, as `pulumi config set` would.
        With check, a failed operation raises PulumiFailed with the engine's output."""
        assert operation in OPERATIONS, operation
        request = {"operation": operation, "stack": stack, "config": config or {},
                   "expect_no_changes": expect_no_changes, "pulumi_root": str(self.bins.root),
                   "pulumi_home": str(self.workdir / "home")}
        t0 = time.monotonic()
        # Its own process group: on a timeout the engine and its provider processes go with it.
        proc = subprocess.Popen([sys.executable, __file__, "--drive", json.dumps(request)], cwd=self.root,
                                env=self.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                start_new_session=True)
        try:
            stdout, stderr = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            stdout, stderr = proc.communicate()
            raise PulumiFailed(f"pulumi {operation} --stack {stack}: no answer after {timeout:g} s:\n{stderr}",
                               Result(operation, stack, False, timeout, timeout)) from None
        wall = round(time.monotonic() - t0, 2)
        lines = stdout.strip().splitlines()
        if not lines or not lines[-1].startswith("{"):
            raise PulumiFailed(f"pulumi {operation} --stack {stack}: the driver exited {proc.returncode}:\n"
                               f"{stderr}\n{stdout}", Result(operation, stack, False, 0, wall))
        answer = json.loads(lines[-1])
        result = Result(operation, stack, answer["ok"], answer["seconds"], wall, answer.get("changes", {}),
                        answer.get("outputs", {}), answer.get("output", ""), answer.get("error", ""))
        if check and not result.ok:
            raise PulumiFailed(f"pulumi {operation} --stack {stack} failed after {result.seconds} s:\n"
                               f"{result.error}\n{result.output}", result)
        return result


# ---------------------------------------------------------------- the driver (its own process)


def drive(request: dict[str, Any]) -> dict[str, Any]:
    """Run one operation on meshspec's program as an inline Automation API program, in the current directory."""
    from pulumi import automation as auto

    from meshspec.adapters.deploy import run

    env = {k: os.environ[k] for k in ("PULUMI_BACKEND_URL", "PULUMI_CONFIG_PASSPHRASE", "PULUMI_SKIP_UPDATE_CHECK",
                                      "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION") if k in os.environ}
    stack = auto.create_or_select_stack(
        stack_name=request["stack"], project_name="meshspec", program=run,
        opts=auto.LocalWorkspaceOptions(
            work_dir=os.getcwd(),  # the copy's real Pulumi.yaml: no project_settings, so it is not rewritten
            pulumi_home=request["pulumi_home"],
            env_vars=env,
            pulumi_command=auto.PulumiCommand(root=request["pulumi_root"]),
        ))
    for key, value in request["config"].items():
        stack.set_config(key, auto.ConfigValue(value))
    output: list[str] = []
    operation = request["operation"]
    kwargs: dict[str, Any] = {"on_output": output.append, "color": "never"}
    if operation in ("preview", "up", "refresh") and request["expect_no_changes"]:
        kwargs["expect_no_changes"] = True
    t0 = time.monotonic()
    try:
        res = getattr(stack, operation)(**kwargs)
    except auto.CommandError as e:
        return {"ok": False, "seconds": round(time.monotonic() - t0, 2), "error": str(e), "output": "\n".join(output)}
    seconds = round(time.monotonic() - t0, 2)
    if operation == "preview":
        changes = dict(res.change_summary)
    else:
        changes = dict(res.summary.resource_changes or {})
    outputs = {k: v.value for k, v in getattr(res, "outputs", {}).items()} if operation == "up" else {}
    return {"ok": True, "seconds": seconds, "changes": changes, "outputs": outputs, "output": "\n".join(output)}


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--drive":
        print(json.dumps(drive(json.loads(argv[1]))))
        return 0
    print(__doc__, file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
