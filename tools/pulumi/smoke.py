#!/usr/bin/env python3
"""Offline smoke check of the binaries build_pulumi.py builds: a `pulumi up` that renders one ConfigMap
through a kubernetes Provider with renderYamlToDirectory (no cluster), local file backend, nothing downloaded.

    python3 tools/pulumi/smoke.py [--bin DIR] [--venv DIR] [--mode auto|cli|inline|both|meshspec-dev] [--keep]

Two ways to run the same Python program:
- cli: `pulumi stack init dev && pulumi up --yes` in a project whose Pulumi.yaml says `runtime: python`.
  The engine starts the Python language host, pulumi-language-python, so this needs that binary.
- inline: the Automation API's inline program (pulumi.automation, in the venv's Python): the SDK serves the
  language runtime itself and runs `pulumi up --client=...`, so only the `pulumi` CLI and the provider are needed.
auto (the default) runs cli when pulumi-language-python is in --bin, else inline.
- meshspec-dev: meshspec's own program (meshspec.adapters.deploy.run) as an inline program, in a temporary copy of
  Pulumi.yaml, stacks/ and examples/ (the repository is not written to), stack `dev` (renderDir: no cluster).
  It shows what the real engine and provider say of meshspec's Provider options; not part of `both`.

--bin defaults to the cache directory build_pulumi.py fills; --venv to the repository's .venv, which must
have the pinned pulumi and pulumi-kubernetes SDKs (`python3 -m venv .venv && .venv/bin/pip install -e '.[test]'`).
Standard library only; exits 0 when every mode run rendered the ConfigMap.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.dont_write_bytecode = True  # nothing written into the repository, not even __pycache__
sys.path.insert(0, str(HERE))
import build_pulumi  # noqa: E402  (its cache layout and versions)

PROGRAM = textwrap.dedent("""\
    import pulumi
    import pulumi_kubernetes as k8s


    def program():
        provider = k8s.Provider("render", render_yaml_to_directory=pulumi.Config().require("renderDir"))
        cm = k8s.core.v1.ConfigMap(
            "smoke",
            metadata={"name": "smoke", "namespace": "default"},
            data={"hello": "world"},
            opts=pulumi.ResourceOptions(provider=provider),
        )
        pulumi.export("name", cm.metadata["name"])
    """)


def default_bin() -> Path:
    root = Path(os.environ.get("MESHSPEC_E2E_CACHE") or Path.home() / ".cache" / "meshspec-e2e").expanduser()
    return root / f"pulumi-{build_pulumi.PULUMI_VERSION}" / "bin"


def offline_env(tmp: Path, bin_dir: Path, venv: Path) -> dict[str, str]:
    env = dict(os.environ)
    for k in ("PULUMI_ACCESS_TOKEN", "PULUMI_IGNORE_AMBIENT_PLUGINS", "VIRTUAL_ENV"):
        env.pop(k, None)
    env.update(
        PATH=os.pathsep.join([str(bin_dir), str(venv / "bin"), env.get("PATH", "")]),
        PULUMI_HOME=str(tmp / "home"),
        PULUMI_BACKEND_URL=f"file://{tmp / 'state'}",
        PULUMI_CONFIG_PASSPHRASE="test",
        PULUMI_SKIP_UPDATE_CHECK="true",
        # Fail instead of reaching for a plugin download: this check proves the local binaries suffice.
        PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION="true",
    )
    (tmp / "state").mkdir(parents=True, exist_ok=True)
    return env


def sh(cmd: list[str], cwd: Path, env: dict[str, str]) -> tuple[float, str]:
    t0 = time.monotonic()
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    secs = time.monotonic() - t0
    if proc.returncode != 0:
        raise SystemExit(f"smoke: `{' '.join(cmd)}` exited {proc.returncode} after {secs:.1f} s:\n{proc.stdout}")
    return secs, proc.stdout


PLUGIN_INFO = textwrap.dedent("""\
    import subprocess, sys, grpc
    from google.protobuf import empty_pb2
    from pulumi.runtime.proto import provider_pb2_grpc
    proc = subprocess.Popen([sys.argv[1]], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        port = proc.stdout.readline().strip()  # a provider prints its gRPC port first
        stub = provider_pb2_grpc.ResourceProviderStub(grpc.insecure_channel(f"127.0.0.1:{port}"))
        print(stub.GetPluginInfo(empty_pb2.Empty(), timeout=60).version)
    finally:
        proc.kill()
    """)


def provider_version(binary: Path, venv: Path, env: dict[str, str]) -> str:
    """The version the provider reports to the engine (GetPluginInfo), asked with the SDK's own gRPC stubs."""
    proc = subprocess.run([str(venv / "bin" / "python"), "-c", PLUGIN_INFO, str(binary)], env=env, text=True,
                          capture_output=True, timeout=120)
    if proc.returncode != 0:
        raise SystemExit(f"smoke: GetPluginInfo on {binary} failed:\n{proc.stderr}")
    return proc.stdout.strip()


def check_rendered(render_dir: Path) -> Path:
    files = sorted(render_dir.rglob("*.yaml"))
    hit = [f for f in files if "name: smoke" in f.read_text() and "hello: world" in f.read_text()]
    if not hit:
        raise SystemExit(f"smoke: no rendered ConfigMap under {render_dir} (files: {[str(f) for f in files]})")
    return hit[0]


def run_cli(tmp: Path, env: dict[str, str], venv: Path) -> dict:
    proj = tmp / "cli"
    proj.mkdir()
    render = proj / "rendered"
    (proj / "Pulumi.yaml").write_text(textwrap.dedent(f"""\
        name: smoke
        runtime:
          name: python
          options:
            virtualenv: {venv}
        """))
    (proj / "__main__.py").write_text(PROGRAM + "\n\nprogram()\n")
    sh(["pulumi", "stack", "init", "dev"], proj, env)
    sh(["pulumi", "config", "set", "renderDir", str(render)], proj, env)
    secs, out = sh(["pulumi", "up", "--yes", "--non-interactive"], proj, env)
    return {"mode": "cli", "up_seconds": round(secs, 1), "rendered": str(check_rendered(render)), "output": out}


INLINE_DRIVER = textwrap.dedent("""\
    import json, sys, time
    from pulumi import automation as auto

    {program}

    work_dir, render_dir = sys.argv[1], sys.argv[2]
    stack = auto.create_stack(
        "dev", project_name="smoke", program=program,
        opts=auto.LocalWorkspaceOptions(
            work_dir=work_dir,
            project_settings=auto.ProjectSettings(name="smoke", runtime="python"),
        ),
    )
    stack.set_config("smoke:renderDir", auto.ConfigValue(render_dir))
    t0 = time.monotonic()
    res = stack.up(on_output=lambda line: print(line, file=sys.stderr))
    print(json.dumps({{"up_seconds": round(time.monotonic() - t0, 1), "result": res.summary.result,
                      "outputs": {{k: v.value for k, v in res.outputs.items()}}}}))
    """)


def run_inline(tmp: Path, env: dict[str, str], venv: Path) -> dict:
    proj = tmp / "inline"
    proj.mkdir()
    render = proj / "rendered"
    driver = proj / "driver.py"
    driver.write_text(INLINE_DRIVER.format(program=PROGRAM))
    proc = subprocess.run([str(venv / "bin" / "python"), str(driver), str(proj), str(render)], cwd=proj, env=env,
                          text=True, capture_output=True)
    if proc.returncode != 0:
        raise SystemExit(f"smoke: inline driver exited {proc.returncode}:\n{proc.stderr}\n{proc.stdout}")
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"mode": "inline", **result, "rendered": str(check_rendered(render)), "output": proc.stderr}


MESHSPEC_DRIVER = textwrap.dedent("""\
    import json, sys, time
    from pulumi import automation as auto
    from meshspec.adapters.deploy import run

    work_dir = sys.argv[1]
    stack = auto.create_or_select_stack("dev", project_name="meshspec", program=run,
                                        opts=auto.LocalWorkspaceOptions(work_dir=work_dir))
    t0 = time.monotonic()
    try:
        res = stack.up(on_output=lambda line: print(line, file=sys.stderr))
    except auto.CommandError as e:
        print(json.dumps({"up_seconds": round(time.monotonic() - t0, 1), "result": "failed", "error": str(e)}))
        sys.exit(1)
    print(json.dumps({"up_seconds": round(time.monotonic() - t0, 1), "result": res.summary.result,
                      "outputs": {k: v.value for k, v in res.outputs.items()}}))
    """)


def run_meshspec(tmp: Path, env: dict[str, str], venv: Path) -> dict:
    proj = tmp / "meshspec"
    proj.mkdir()
    shutil.copy2(REPO / "Pulumi.yaml", proj / "Pulumi.yaml")
    for d in ("stacks", "examples"):
        shutil.copytree(REPO / d, proj / d)
    driver = tmp / "meshspec_driver.py"
    driver.write_text(MESHSPEC_DRIVER)
    # Run from the copy: the program reads meshspec:spec relative to the working directory.
    proc = subprocess.run([str(venv / "bin" / "python"), str(driver), str(proj)], cwd=proj, env=env,
                          text=True, capture_output=True)
    last = (proc.stdout.strip().splitlines() or ["{}"])[-1]
    result = json.loads(last) if last.startswith("{") else {"result": "failed", "error": proc.stdout}
    if proc.returncode != 0:
        raise SystemExit(f"smoke: meshspec-dev failed after {result.get('up_seconds')} s:\n"
                         f"{result.get('error') or ''}\n{proc.stderr}")
    rendered = sorted(str(f.relative_to(proj)) for f in (proj / "out").rglob("*.yaml"))
    return {"mode": "meshspec-dev", **result, "rendered": f"{len(rendered)} files under {proj / 'out'}",
            "output": proc.stderr}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--bin", type=Path, default=None, help="directory with pulumi and the plugins")
    ap.add_argument("--venv", type=Path, default=REPO / ".venv")
    ap.add_argument("--mode", choices=["auto", "cli", "inline", "both", "meshspec-dev"], default="auto")
    ap.add_argument("--keep", action="store_true", help="keep the temporary directory")
    ap.add_argument("--verbose", action="store_true", help="print the engine's output")
    args = ap.parse_args(argv)

    bin_dir = (args.bin or default_bin()).resolve()
    venv = args.venv.resolve()
    for need in ("pulumi", "pulumi-resource-kubernetes"):
        if not (bin_dir / need).is_file():
            print(f"smoke: {bin_dir / need} is missing: run python3 tools/pulumi/build_pulumi.py first", file=sys.stderr)
            return 2
    if not (venv / "bin" / "python").is_file():
        print(f"smoke: no venv at {venv}: python3 -m venv .venv && .venv/bin/pip install -e '.[test]'",
              file=sys.stderr)
        return 2
    has_host = (bin_dir / "pulumi-language-python").is_file()
    modes = {"auto": ["cli" if has_host else "inline"], "both": ["cli", "inline"]}.get(args.mode, [args.mode])
    if "cli" in modes and not has_host:
        print(f"smoke: --mode cli needs {bin_dir / 'pulumi-language-python'}, which build_pulumi.py could not build "
              "(see its manifest.json)", file=sys.stderr)
        return 2

    tmp = Path(tempfile.mkdtemp(prefix="meshspec-pulumi-smoke-"))
    try:
        env = offline_env(tmp, bin_dir, venv)
        _, version = sh(["pulumi", "version"], tmp, env)
        print(f"pulumi version: {version.strip()} ({shutil.which('pulumi', path=env['PATH'])})")
        got = provider_version(bin_dir / "pulumi-resource-kubernetes", venv, env)
        want = build_pulumi.KUBERNETES_VERSION
        print(f"pulumi-resource-kubernetes reports version {got}")
        if got.lstrip("v") != want:
            print(f"smoke: the provider reports {got}, the pinned pulumi-kubernetes SDK asks for {want}", file=sys.stderr)
            return 1
        for mode in modes:
            t0 = time.monotonic()
            res = {"cli": run_cli, "inline": run_inline, "meshspec-dev": run_meshspec}[mode](tmp, env, venv)
            wall = time.monotonic() - t0
            if args.verbose:
                print(res["output"])
            print(f"{mode}: pulumi up {res['up_seconds']} s (whole mode {wall:.1f} s), rendered {res['rendered']}")
        _, plugins = sh(["pulumi", "plugin", "ls"], tmp, env)
        print("plugins installed in PULUMI_HOME (none expected: the provider came from PATH):")
        print(textwrap.indent(plugins.strip() or "(none)", "  "))
    finally:
        if args.keep:
            print(f"kept {tmp}")
        else:
            shutil.rmtree(tmp, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
