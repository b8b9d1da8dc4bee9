"""Fixtures every test may use: spec files, checking a spec text, and Kubernetes API test servers."""

import textwrap

import pytest

from meshspec.spec.check import check_file

@pytest.fixture
def spec_file(tmp_path):
    """Write YAML text (dedented) to a spec file and return its path."""

    def write(text: str, name: str = "mesh.yaml") -> str:
        path = tmp_path / name
        path.write_text(textwrap.dedent(text))
        return str(path)

    return write


@pytest.fixture
def check(spec_file):
    """Validate YAML text; returns (mesh, diagnostics)."""

    def run(text: str):
        return check_file(spec_file(text))

    return run


@pytest.fixture
def kube(tmp_path, monkeypatch):
    """One Kubernetes API test server (kmock) per cluster of tests/support/fixtures/verify/mesh.yaml."""
    pytest.importorskip("kmock", reason="kmock is not installed (it needs Python 3.11+)")
    from tests.support.kube import Harness

    harness = Harness(tmp_path, monkeypatch)
    yield harness
    harness.close()
