"""The real command in a fresh interpreter, as a user runs it (and as simulate's children fork from it)."""

import os
import subprocess
import sys

from tests.support import ROOT


def meshspec_process(*args, stdout=subprocess.PIPE, text=False, cwd=ROOT, timeout=300) -> subprocess.CompletedProcess:
    """`python -m meshspec ARGS` with this checkout on PYTHONPATH; stderr captured, stdout to `stdout`."""
    return subprocess.run([sys.executable, "-m", "meshspec", *args], stdout=stdout, stderr=subprocess.PIPE,
                          text=text, cwd=cwd, env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=timeout)
