import textwrap

import pytest

from meshspec.spec.check import check_file

VALID_SPEC = """\
apiVersion: meshspec/v1alpha1
kind: Mesh
metadata:
  name: test
spec:
  clusters:
    - name: cluster-a
      id: 1
    - name: cluster-b
      id: 2
  services:
    - name: web
      namespace: default
      spec:
        selector: {app: web}
        ports:
          - port: 80
"""


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
