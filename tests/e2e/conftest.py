"""End-to-end tests against three real kube-apiservers (no Docker).

Tests marked e2e need etcd, kube-apiserver and kubectl built by
`python3 tools/e2e/build_controlplane.py` (Go required); without them they
are skipped and the run says, in one line, how to enable them.
MESHSPEC_E2E_BUILD=1 runs that build first. Tests also marked `pulumi` need the
Pulumi CLI and Kubernetes provider of `python3 tools/pulumi/build_pulumi.py`, and
are skipped the same way without them. MESHSPEC_E2E_REQUIRED=1 (control planes) and
MESHSPEC_E2E_PULUMI_REQUIRED=1 (Pulumi) turn these skips into an error (.ci/run sets them).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

E2E_DIR = Path(__file__).resolve().parent
TESTS = E2E_DIR.parent
REPO = TESTS.parent

try:
    from tests.support import controlplane, pulumi_engine
except ImportError:  # tests/ itself on sys.path (no tests/__init__.py, plain `pytest`)
    sys.path.insert(0, str(TESTS))
    from support import controlplane, pulumi_engine

_skip_reason: str | None = None
_skipped = 0
_start_seconds: float | None = None
_controller_manager_seconds: float | None = None


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "e2e: end-to-end test against real control planes (tools/e2e/build_controlplane.py)")
    config.addinivalue_line(
        "markers", "slow: an e2e test that takes minutes (20 namespaces x 500 Services); runs only with MESHSPEC_E2E_SLOW=1")
    config.addinivalue_line(
        "markers", "pulumi: e2e test that runs the real Pulumi engine (tools/pulumi/build_pulumi.py)")


def _is_e2e(item) -> bool:
    return E2E_DIR in Path(str(item.fspath)).resolve().parents


def pytest_collection_modifyitems(config, items):
    # Tests marked e2e need the binaries; the rest here (the build script's) do not.
    e2e = [i for i in items if _is_e2e(i) and i.get_closest_marker("e2e")]
    if os.environ.get("MESHSPEC_E2E_SLOW") != "1":
        # Over 25 minutes on the loaded 2-core machine: opt in.
        slow = pytest.mark.skip(reason="slow e2e test: set MESHSPEC_E2E_SLOW=1 to run it")
        for item in e2e:
            if item.get_closest_marker("slow"):
                item.add_marker(slow)
    if not e2e:
        return
    if os.environ.get("MESHSPEC_E2E_BUILD") == "1":
        r = subprocess.run([sys.executable, str(REPO / "tools" / "e2e" / "build_controlplane.py")])
        if r.returncode != 0:
            raise pytest.UsageError(f"MESHSPEC_E2E_BUILD=1: tools/e2e/build_controlplane.py exited {r.returncode}")
    try:
        controlplane.Binaries.find()
    except controlplane.BinariesMissing as e:
        _skip(e2e, e, "MESHSPEC_E2E_REQUIRED")
        return
    engine = [i for i in e2e if i.get_closest_marker("pulumi")]
    if engine:
        try:
            pulumi_engine.PulumiBinaries.find()
        except pulumi_engine.PulumiMissing as e:
            _skip(engine, e, "MESHSPEC_E2E_PULUMI_REQUIRED")


def _skip(items, why: Exception, required: str) -> None:
    """Skip `items` with one line saying how to enable them; fail instead when `required` is set (.ci/run)."""
    global _skip_reason, _skipped
    if os.environ.get(required) == "1":  # .ci/run: the suite must prove itself, not skip
        raise pytest.UsageError(f"{required}=1 but {why}")
    _skip_reason = f"e2e: {why}"
    _skipped = len(items)
    mark = pytest.mark.skip(reason=_skip_reason)
    for item in items:
        item.add_marker(mark)


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    # One line, even under -q (which hides skip reasons unless -rs).
    if _skip_reason and "s" not in (config.option.reportchars or "") and "a" not in (config.option.reportchars or ""):
        terminalreporter.write_line(f"{_skip_reason} ({_skipped} e2e tests skipped)")
    if _start_seconds is not None:
        terminalreporter.write_line(f"e2e: 3 control planes started in {_start_seconds:.1f}s (of which "
                                    f"{_controller_manager_seconds:.1f}s for their kube-controller-managers)")
    for line in _report_lines():
        terminalreporter.write_line(line)


def _report_lines() -> list[str]:
    """What e2e tests left for the summary (the Service corpus table, the large verify's numbers, the Pulumi
    engine's times)."""
    lines = []
    for name in ("tests.e2e.test_service_validation", "e2e.test_service_validation",
                 "tests.e2e.test_large", "e2e.test_large", "tests.e2e.test_pulumi", "e2e.test_pulumi",
                 "tests.e2e.test_takeover", "e2e.test_takeover"):
        module = sys.modules.get(name)
        lines += getattr(module, "TABLE", [])
    return lines


@pytest.fixture(scope="session")
def mesh(tmp_path_factory):
    """Three control planes (cluster-a, -b, -c), started once per session."""
    global _start_seconds, _controller_manager_seconds
    m = controlplane.start_mesh(tmp_path_factory.mktemp("controlplanes"))
    _start_seconds, _controller_manager_seconds = m.start_seconds, m.controller_manager_seconds
    try:
        yield m
    finally:
        m.close()
