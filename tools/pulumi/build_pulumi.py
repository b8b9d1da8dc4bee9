#!/usr/bin/env python3
"""Build the Pulumi engine binaries the e2e tests need, from the Go module proxy only, once, cached.

    python3 tools/pulumi/build_pulumi.py            # build what is missing, print one line per binary
    python3 tools/pulumi/build_pulumi.py --print-bin  # the same, then print only the bin directory
    python3 tools/pulumi/build_pulumi.py --force    # rebuild everything

Cache: $MESHSPEC_E2E_CACHE (default ~/.cache/meshspec-e2e) / pulumi-<PULUMI_VERSION> / {bin/, manifest.json}.
Nothing is written inside the repository. Standard library only. tools/pulumi/README.md says what every
step does and why these versions.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

# The versions, kept in step with pyproject.toml (pulumi, pulumi-kubernetes): the engine matches a
# provider plugin to the version the Python SDK asks for, so these must be the pinned SDK versions.
PULUMI_VERSION = "3.260.0"
KUBERNETES_VERSION = "4.25.0"
# The only pulumi-kubernetes provider/v4 version the proxy serves: the commit 39 hours before the
# v4.25.0 tag (the sdk/v4.25.0 tag is 144dd813, 2026-01-16); the release tag's own commit is refused.
KUBERNETES_PROVIDER_MODULE_VERSION = "v4.0.0-20260115033456-f47bc2d6f199"

PULUMI_PKG = "github.com/pulumi/pulumi/pkg/v3"
PULUMI_SDK = "github.com/pulumi/pulumi/sdk/v3"
LANGUAGE_PYTHON = "github.com/pulumi/pulumi/sdk/python/cmd/pulumi-language-python/v3"
KUBERNETES_PROVIDER = "github.com/pulumi/pulumi-kubernetes/provider/v4"
KUBERNETES_SDK = "github.com/pulumi/pulumi-kubernetes/sdk/v4"

PULUMI_VERSION_LDFLAG = f"{PULUMI_SDK}/go/common/version.Version"
# What pulumi/pulumi's release build passes (its .goreleaser.yml): -trimpath, these tags, -w -s and the version.
PULUMI_TAGS = "osusergo,grpcnotrace"


@dataclass
class Binary:
    name: str
    module: str
    version: str  # a version or a query the proxy resolves (a commit hash, for the language host)
    package: str  # the main package, relative to the module root
    ldflags: str
    tags: str = ""
    # Local `replace` lines of the module's go.mod (sibling folders of its repository) -> the published
    # version of that module to require instead.
    unlocal: dict[str, str] = field(default_factory=dict)
    generate: bool = False  # the Kubernetes provider's go:generate step (schema-embed.json)
    optional: bool = False  # a failure is reported, not fatal


def binaries() -> list[Binary]:
    return [
        Binary(
            name="pulumi",
            module=PULUMI_PKG,
            version=f"v{PULUMI_VERSION}",
            package="./cmd/pulumi",
            ldflags=f"-w -s -X {PULUMI_VERSION_LDFLAG}=v{PULUMI_VERSION}",
            tags=PULUMI_TAGS,
            unlocal={PULUMI_SDK: f"v{PULUMI_VERSION}"},
        ),
        Binary(
            name="pulumi-language-python",
            module=LANGUAGE_PYTHON,
            # This module has no tags of its own: ask for the commit of the release tag (resolved at
            # run time from the pkg/v3 tag's origin, see language_host_query()).
            version="",
            package=".",
            ldflags=f"-w -s -X {PULUMI_VERSION_LDFLAG}=v{PULUMI_VERSION}",
            tags=PULUMI_TAGS,
            unlocal={PULUMI_SDK: f"v{PULUMI_VERSION}", PULUMI_PKG: f"v{PULUMI_VERSION}"},
            optional=True,
        ),
        Binary(
            name="pulumi-resource-kubernetes",
            module=KUBERNETES_PROVIDER,
            version=KUBERNETES_PROVIDER_MODULE_VERSION,
            package="./cmd/pulumi-resource-kubernetes",
            # pulumi-kubernetes' Makefile (k8sprovider): CGO_ENABLED=0, -X .../pkg/version.Version=<generic version>.
            ldflags=f"-X {KUBERNETES_PROVIDER}/pkg/version.Version={KUBERNETES_VERSION}",
            unlocal={KUBERNETES_SDK: f"v{KUBERNETES_VERSION}"},
            generate=True,
        ),
    ]


class BuildError(Exception):
    pass


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def run(cmd: list[str], cwd: Path | None = None, env: dict[str, str] | None = None, capture: bool = False) -> str:
    log(f"  $ {' '.join(cmd)}" + (f"   (in {cwd})" if cwd else ""))
    proc = subprocess.run(cmd, cwd=cwd, env=env, text=True,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE if capture else subprocess.STDOUT)
    if proc.returncode != 0:
        detail = (proc.stderr if capture else proc.stdout) or ""
        raise BuildError(f"`{' '.join(cmd)}` exited {proc.returncode}:\n{detail.strip()}")
    if not capture and proc.stdout.strip():
        for line in proc.stdout.strip().splitlines()[-20:]:
            log(f"    {line}")
    return proc.stdout


def go_env(gocache: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.update(CGO_ENABLED="0", GOFLAGS="-buildvcs=false", GOCACHE=str(gocache), GOWORK="off")
    env.pop("GOPATH_OVERRIDE", None)
    return env


def go_version(go: str) -> str:
    out = subprocess.run([go, "version"], text=True, capture_output=True, check=True).stdout.strip()
    m = re.search(r"go(\d+\.\d+(?:\.\d+)?)", out)
    return m.group(1) if m else out


def mod_info(go: str, env: dict[str, str], query: str) -> dict:
    """`go mod download -json MODULE@QUERY`: the resolved version, its source dir in GOMODCACHE, go.mod."""
    proc = subprocess.run([go, "mod", "download", "-json", query], env=env, text=True, capture_output=True)
    try:
        info = json.loads(proc.stdout) if proc.stdout.strip() else {}
    except json.JSONDecodeError:
        info = {}
    if proc.returncode != 0 or info.get("Error") or not info.get("Dir"):
        raise BuildError(f"`go mod download -json {query}` failed: "
                         f"{(info.get('Error') or proc.stderr or proc.stdout).strip()}")
    return info


def language_host_query(go: str, env: dict[str, str]) -> str:
    """The commit of the pulumi/pulumi release tag, from the pkg/v3 tag's origin as the proxy reports it."""
    proc = subprocess.run([go, "list", "-m", "-json", f"{PULUMI_PKG}@v{PULUMI_VERSION}"],
                          env=env, text=True, capture_output=True)
    if proc.returncode != 0:
        raise BuildError(f"`go list -m -json {PULUMI_PKG}@v{PULUMI_VERSION}` failed: {proc.stderr.strip()}")
    commit = (json.loads(proc.stdout).get("Origin") or {}).get("Hash")
    if not commit:
        raise BuildError(f"the proxy gave no origin commit for {PULUMI_PKG}@v{PULUMI_VERSION}")
    return commit


def build_one(go: str, b: Binary, bin_dir: Path, work: Path, gocache: Path) -> dict:
    env = go_env(gocache)
    record: dict = {"module": b.module, "package": b.package, "ldflags": b.ldflags, "tags": b.tags,
                    "cgo_enabled": 0, "trimpath": True}
    t0 = time.monotonic()
    query = b.version or language_host_query(go, env)
    record["query"] = query
    info = mod_info(go, env, f"{b.module}@{query}")
    record["module_version"] = info["Version"]
    if info.get("Origin", {}).get("Hash"):
        record["commit"] = info["Origin"]["Hash"]
    # The module cache is read-only: build in a writable copy, outside the repository.
    src = work / b.name
    if src.exists():
        shutil.rmtree(src)
    shutil.copytree(info["Dir"], src)
    for p in [src, *src.rglob("*")]:
        if not p.is_symlink():
            p.chmod(p.stat().st_mode | 0o200)

    # The go.mod points its sibling modules at folders of the repository that the module zip lacks:
    # require their published versions instead.
    gomod = json.loads(run([go, "mod", "edit", "-json"], cwd=src, env=env, capture=True))
    local = {r["Old"]["Path"]: r["New"]["Path"] for r in gomod.get("Replace") or []
             if not r["New"].get("Version")}
    unknown = sorted(set(local) - set(b.unlocal))
    if unknown:
        raise BuildError(f"{b.module}'s go.mod replaces {', '.join(unknown)} with local folders; "
                         "add their published versions to the script")
    edits = []
    for path, version in b.unlocal.items():
        if path in local:
            edits.append(f"-dropreplace={path}")
        edits.append(f"-require={path}@{version}")
    record["go_mod_edits"] = edits
    run([go, "mod", "edit", *edits], cwd=src, env=env)
    # Adds those modules' go.sum lines (and, by minimal version selection, any higher requirement of theirs).
    run([go, "get", *(f"{p}@{v}" for p, v in b.unlocal.items())], cwd=src, env=env)
    record["download_seconds"] = round(time.monotonic() - t0, 1)

    if b.generate:
        # The provider embeds schema-embed.json and terraform-mapping-embed.json (go:embed), which are not in
        # the module: its own `go generate` step (VERSION=... go run ./generate.go, as the Makefile's
        # k8sprovider target runs it) writes them from the committed schema.json, minified, with the version set.
        t1 = time.monotonic()
        cmd_dir = src / b.package
        run([go, "run", "generate.go"], cwd=cmd_dir, env={**env, "VERSION": KUBERNETES_VERSION})
        for f in ("schema-embed.json", "terraform-mapping-embed.json"):
            if not (cmd_dir / f).is_file():
                raise BuildError(f"go generate wrote no {f}")
        record["generate_seconds"] = round(time.monotonic() - t1, 1)

    out = bin_dir / f".{b.name}.tmp"
    load_before = os.getloadavg()[0]
    t2 = time.monotonic()
    cmd = [go, "build", "-trimpath"]
    if b.tags:
        cmd += ["-tags", b.tags]
    cmd += ["-ldflags", b.ldflags, "-o", str(out), b.package]
    run(cmd, cwd=src, env=env)
    record["build_seconds"] = round(time.monotonic() - t2, 1)
    # 1-minute load averages around the build (2 cores here; other builds may share them): context for the time.
    record["load_average"] = [round(load_before, 1), round(os.getloadavg()[0], 1)]
    record["cpus"] = os.cpu_count()
    out.replace(bin_dir / b.name)
    record["size_bytes"] = (bin_dir / b.name).stat().st_size
    shutil.rmtree(src, ignore_errors=True)
    return record


def fingerprint(b: Binary) -> dict:
    """What decides whether a cached binary is still the one this script would build."""
    return {"module": b.module, "query": b.version or "(release tag commit)", "ldflags": b.ldflags, "tags": b.tags,
            "unlocal": b.unlocal, "generate": b.generate}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--force", action="store_true", help="rebuild every binary")
    ap.add_argument("--print-bin", action="store_true", help="print only the bin directory on stdout")
    ap.add_argument("--only", action="append", help="build only this binary (repeatable)")
    args = ap.parse_args(argv)

    go = shutil.which("go")
    if not go:
        print("build_pulumi: `go` is not on PATH. Put Go >= 1.26.6 on PATH (the pulumi pkg/v3 module needs it; "
              "this machine image has it in /usr/local/go/bin), then run this again.",
              file=sys.stderr)
        return 2
    root = Path(os.environ.get("MESHSPEC_E2E_CACHE") or Path.home() / ".cache" / "meshspec-e2e").expanduser()
    home = root / f"pulumi-{PULUMI_VERSION}"
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True, exist_ok=True)
    manifest_path = home / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.is_file() else {}
    entries = manifest.setdefault("binaries", {})
    gover = go_version(go)
    manifest.update(pulumi_version=PULUMI_VERSION, kubernetes_provider_version=KUBERNETES_VERSION,
                    python_sdks={"pulumi": PULUMI_VERSION, "pulumi-kubernetes": KUBERNETES_VERSION})
    # A build cache of its own, so a first build is a cold build whatever else runs on the machine.
    gocache = root / "gocache"

    failed_required = False
    lines = []
    for b in binaries():
        if args.only and b.name not in args.only:
            continue
        entry = entries.get(b.name) or {}
        path = bin_dir / b.name
        if (not args.force and path.is_file() and entry.get("status") == "built"
                and entry.get("fingerprint") == fingerprint(b)):
            lines.append(f"{b.name}: cached {path} ({entry.get('module_version')}, "
                         f"built in {entry.get('build_seconds')} s)")
            continue
        log(f"building {b.name} from {b.module} ...")
        with tempfile.TemporaryDirectory(prefix=f"meshspec-pulumi-{b.name}-") as tmp:
            try:
                record = build_one(go, b, bin_dir, Path(tmp), gocache)
            except BuildError as e:
                entries[b.name] = {"status": "failed", "fingerprint": fingerprint(b), "error": str(e),
                                   "go_version": gover, "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
                path.unlink(missing_ok=True)
                kind = "optional, not built" if b.optional else "FAILED"
                lines.append(f"{b.name}: {kind}: {str(e).splitlines()[0]}")
                log(f"  {e}")
                failed_required |= not b.optional
                continue
        record.update(status="built", fingerprint=fingerprint(b), go_version=gover,
                      at=time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()))
        entries[b.name] = record
        lines.append(f"{b.name}: built {path} ({record['module_version']}) in {record['build_seconds']} s "
                     f"(+{record['download_seconds']} s download"
                     + (f", {record['generate_seconds']} s generate" if "generate_seconds" in record else "") + ")")
        manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
    manifest_path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")

    out = sys.stderr if args.print_bin else sys.stdout
    for line in lines:
        print(line, file=out)
    if args.print_bin:
        print(bin_dir)
    return 1 if failed_required else 0


if __name__ == "__main__":
    sys.exit(main())
