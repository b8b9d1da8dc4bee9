"""meshspec: Cilium Cluster Mesh global services as code.

The flow, one subpackage per step (README, "Module map"): spec (load, check, model) -> artifacts
(manifests, files, stacks) and analysis (explain, simulate, diff, verify) -> formats, with the
Cilium and Kubernetes rules in cilium/ and k8s/, and the outside world (Kubernetes, Pulumi, git) only
in adapters/. The names below are imported on first use, so `import meshspec` stays cheap.
"""

from __future__ import annotations

import importlib
from typing import Any

__version__ = "0.1.0"

_PUBLIC = {
    "check_file": "meshspec.spec.check",
    "Mesh": "meshspec.spec.model",
    "Diagnostic": "meshspec.diagnostics",
    "RULES": "meshspec.rules",
    "route_service": "meshspec.cilium.routing",
}
__all__ = ["__version__", *_PUBLIC]


def __getattr__(name: str) -> Any:
    if name in _PUBLIC:
        return getattr(importlib.import_module(_PUBLIC[name]), name)
    raise AttributeError(f"module 'meshspec' has no attribute {name!r}")
