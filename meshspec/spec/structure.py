"""The structure of a mesh spec, in cerberus' rule language, and its errors as diagnostics.

Only shape and types live here; rules that need the whole document (names,
uniqueness, CIDR overlap, Kubernetes schemas) are in checks/.
"""

from __future__ import annotations

import difflib
from typing import Any


from ..diagnostics import Path, Report
from .model import AFFINITIES, APISERVER_SERVICE_TYPES

_PLACEMENT = {
    "global": {"type": "boolean"},
    "shared": {"type": "boolean"},
    "affinity": {"type": "string", "allowed": list(AFFINITIES)},
}
_STRING_MAP = {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": {"type": "string"}}

SCHEMA: dict[str, Any] = {
    "apiVersion": {"type": "string", "required": True},
    "kind": {"type": "string", "required": True},
    "metadata": {
        "type": "dict", "required": True,
        "schema": {"name": {"type": "string", "required": True}, "labels": _STRING_MAP, "annotations": _STRING_MAP},
    },
    "spec": {
        "type": "dict", "required": True,
        "schema": {
            "defaults": {"type": "dict", "schema": _PLACEMENT},
            "cilium": {
                "type": "dict",
                "schema": {
                    "version": {"type": "string"},
                    "namespace": {"type": "string", "empty": False},
                    "install": {"type": "boolean"},
                    "clustermesh": {
                        "type": "dict",
                        "schema": {
                            "apiserver": {
                                "type": "dict",
                                "schema": {
                                    "serviceType": {"type": "string", "allowed": list(APISERVER_SERVICE_TYPES)},
                                    "nodePort": {"type": "strict_integer"},
                                },
                            },
                            "maxConnectedClusters": {"type": "strict_integer", "allowed": [255, 511]},
                        },
                    },
                    "values": {"type": "dict", "keysrules": {"type": "string"}},
                },
            },
            "clusters": {
                "type": "list", "required": True, "empty": False,
                "schema": {
                    "type": "dict",
                    "schema": {
                        "name": {"type": "string", "required": True},
                        "id": {"type": "strict_integer", "required": True},
                        "context": {"type": "string", "empty": False},
                        "podCIDRs": {"type": "list", "schema": {"type": "string"}},
                        "clustermesh": {
                            "type": "dict",
                            "schema": {"address": {"type": "string", "empty": False},
                                       "port": {"type": "strict_integer"}},
                        },
                    },
                },
            },
            "services": {
                "type": "list",
                "schema": {
                    "type": "dict",
                    "schema": {
                        "name": {"type": "string", "required": True},
                        "namespace": {"type": "string"},
                        **_PLACEMENT,
                        "clusters": {"type": "list", "schema": {"type": "string"}},
                        "backends": {"type": "list", "schema": {"type": "string"}},
                        "overrides": {
                            "type": "dict",
                            "keysrules": {"type": "string"},
                            "valuesrules": {"type": "dict", "schema": _PLACEMENT},
                        },
                        "labels": _STRING_MAP,
                        "annotations": _STRING_MAP,
                        "spec": {"type": "dict", "required": True},
                    },
                },
            },
        },
    },
}


_TYPES = {
    "boolean": lambda v: isinstance(v, bool),
    # YAML booleans are not IDs, though bool is an int in Python.
    "strict_integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
}
_TYPE_WORDS = {
    "boolean": "a boolean (true or false, unquoted)",
    "strict_integer": "an integer",
    "string": "a string",
    "dict": "a mapping",
    "list": "a list",
}


def check_structure(data: dict, report: Report) -> None:
    """Report every structural problem in `data`: one pass, linear in its size.

    SCHEMA is written in cerberus' rule language (type, required, schema, keysrules, valuesrules,
    allowed, empty), and tests/spec/test_structure.py holds this walk to cerberus' own verdicts; cerberus
    itself re-sorted its error list on every insert, which took minutes on a file of a few thousand
    wrong items."""
    _mapping(data, SCHEMA, (), report)


def _mapping(value: dict, schema: dict, path: Path, report: Report) -> None:
    for key, rules in schema.items():
        if rules.get("required") and key not in value:
            report("missing-key", path, f"missing required key '{key}'.")
    for key, item in value.items():
        rules = schema.get(key)
        if rules is None:
            allowed = sorted(schema)
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"did you mean '{hint[0]}'?" if hint else f"expected one of: {', '.join(allowed)}."
            report("unknown-key", path + (key,), f"unknown key '{key}'; {suggestion}", True)
        else:
            _value(item, rules, path + (key,), report)


def _value(value: Any, rules: dict, path: Path, report: Report) -> None:
    field = path[-1] if path else ""
    kind = rules.get("type")
    if value is None or (kind is not None and not _TYPES[kind](value)):
        report("wrong-type", path, f"'{field}' must be {_TYPE_WORDS.get(kind, kind)}, not {_describe(value)}.")
        return
    if "allowed" in rules and value not in rules["allowed"]:
        allowed = ", ".join(str(v) for v in rules["allowed"])
        report("bad-value", path, f"'{field}' is {value!r}; allowed values are {allowed}.")
    if rules.get("empty") is False and isinstance(value, (str, list, dict)) and not value:
        report("empty", path, f"'{field}' must not be empty.")
    if isinstance(value, dict):
        if "schema" in rules:
            _mapping(value, rules["schema"], path, report)
        for key, item in value.items() if "valuesrules" in rules else ():
            _value(item, rules["valuesrules"], path + (key,), report)
    elif isinstance(value, list) and "schema" in rules:
        for i, item in enumerate(value):
            _value(item, rules["schema"], path + (i,), report)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
