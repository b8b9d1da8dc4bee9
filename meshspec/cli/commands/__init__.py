"""The command table: name -> one-line summary. Each command lives in the module of its name here, with
`configure(parser)` and `run(args) -> exit code`, and is imported only when it runs (pip's
commands_dict), so `meshspec validate` never pays for verify's Kubernetes client or diff's engine."""

from __future__ import annotations

import importlib
import keyword
from types import ModuleType

COMMANDS: dict[str, str] = {
    "validate": "check a mesh spec and report every problem with its location",
    "render": "validate, then write one folder of manifests per cluster",
    "stacks": "write one Pulumi stack file per cluster; files you edited are left alone",
    "explain": "which clusters serve each client cluster, and what failover does",
    "simulate": "what Cilium's datapath does with an observed cluster state",
    "diff": "what a spec change does: objects per cluster, traffic before and after, risks",
    "verify": "check the live clusters against the spec, read-only: drift, parity, Cilium, routing",
    "import": "write a spec from the Services that run in the clusters (read-only) or in a dump folder",
    "schema": "print the mesh spec's JSON Schema (draft 2020-12), for editors and other tools",
    "completion": "print a shell completion script (bash, zsh or fish)",
}


def load(name: str) -> ModuleType:
    # `import` is a keyword, so its module is import_.py
    return importlib.import_module(f"{__name__}.{name}_" if keyword.iskeyword(name) else f"{__name__}.{name}")
