"""tools/e2e/build_controlplane.py: what can be checked without building.

Only the test marked e2e needs the binaries; the others run everywhere.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tools" / "e2e" / "build_controlplane.py"


def load_script():
    spec = importlib.util.spec_from_file_location("build_controlplane", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_without_go_it_says_so_and_builds_nothing(tmp_path):
    env = {**os.environ, "PATH": str(tmp_path / "empty-bin"), "MESHSPEC_E2E_CACHE": str(tmp_path / "cache")}
    r = subprocess.run([sys.executable, str(SCRIPT)], env=env, capture_output=True, text=True)
    assert r.returncode == 2
    assert "Go is not installed" in r.stderr
    assert not (tmp_path / "cache" / "manifest.json").exists()


@pytest.mark.parametrize("binary", ["kube-apiserver", "kube-controller-manager"])
def test_kubernetes_binaries_pin_each_staging_module_to_the_matching_release(binary):
    bc = load_script()
    module_dir = REPO / "tools" / "e2e" / binary
    version = bc.required_version(module_dir, "k8s.io/kubernetes")
    staging = "v0." + version.split(".", 1)[1]  # v1.36.3 -> v0.36.3
    replaces = dict(re.findall(r"^\s*(k8s\.io/\S+) => k8s\.io/\S+ (v\S+)$", (module_dir / "go.mod").read_text(), re.M))
    assert replaces and set(replaces.values()) == {staging}
    # Where the module cache has k8s.io/kubernetes's own go.mod, every module
    # it takes from ./staging is pinned here, and nothing else.
    gomodcache = Path(os.environ.get("GOMODCACHE", Path.home() / "go" / "pkg" / "mod"))
    upstream = gomodcache / "cache" / "download" / "k8s.io" / "kubernetes" / "@v" / f"{version}.mod"
    if upstream.is_file():
        from_staging = set(re.findall(r"^\s*(k8s\.io/\S+) => \./staging/", upstream.read_text(), re.M))
        assert set(replaces) == from_staging


def test_versions_come_from_the_go_modules():
    bc = load_script()
    assert bc.required_version(REPO / "tools/e2e/etcd", "go.etcd.io/etcd/server/v3").startswith("v3.6.")
    kube = bc.required_version(REPO / "tools/e2e/kube-apiserver", "k8s.io/kubernetes")
    # kubectl from the wheel is the same minor as kube-apiserver (no version skew).
    assert kube.split(".")[:2] == ("v" + bc.KUBECTL_VERSION).split(".")[:2]
    # kube-controller-manager is built from the same k8s.io/kubernetes release as kube-apiserver.
    assert bc.required_version(REPO / "tools/e2e/kube-controller-manager", "k8s.io/kubernetes") == kube


@pytest.mark.e2e
def test_second_run_is_instant_and_changes_nothing():
    cache = Path(os.environ.get("MESHSPEC_E2E_CACHE") or Path.home() / ".cache" / "meshspec-e2e")
    before = json.loads((cache / "manifest.json").read_text())
    t0 = time.monotonic()
    r = subprocess.run([sys.executable, str(SCRIPT)], capture_output=True, text=True)
    seconds = time.monotonic() - t0
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 4 and all(line.endswith("(cached)") for line in lines), r.stdout
    assert seconds < 10
    assert json.loads((cache / "manifest.json").read_text())["binaries"] == before["binaries"]


def test_harness_calls_binaries_of_other_versions_stale(tmp_path, monkeypatch):
    try:
        from tests.support import controlplane
    except ImportError:
        from support import controlplane
    wanted = controlplane._wanted_versions()
    binaries = {name: {"path": "/bin/true", "version": version} for name, version in wanted.items()}
    binaries["kube-apiserver"]["version"] = "v1.0.0"
    (tmp_path / "manifest.json").write_text(json.dumps({"binaries": binaries}))
    monkeypatch.setenv("MESHSPEC_E2E_CACHE", str(tmp_path))
    with pytest.raises(controlplane.BinariesMissing, match=r"stale \(kube-apiserver v1\.0\.0 built, v1\.\d+\.\d+ wanted\)"):
        controlplane.Binaries.find()
    binaries["kube-apiserver"]["version"] = wanted["kube-apiserver"]
    (tmp_path / "manifest.json").write_text(json.dumps({"binaries": binaries}))
    assert controlplane.Binaries.find().versions == wanted
