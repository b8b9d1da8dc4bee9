"""The structure of a mesh spec, as a cerberus schema, and its errors as diagnostics.

Only shape and types live here; rules that need the whole document (names,
uniqueness, CIDR overlap, Kubernetes schemas) are in checks/.
"""

from __future__ import annotations

import difflib
import functools
from typing import Any, Iterator

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


@functools.cache
def _validator() -> Any:
    """The cerberus validator, built on first use: importing cerberus (it reads its own version with
    importlib.metadata) and checking SCHEMA took most of `meshspec validate`'s start-up."""
    import cerberus

    class _Validator(cerberus.Validator):
        # cerberus' "integer" accepts True/False (bool is an int in Python); YAML booleans are not IDs.
        types_mapping = {
            **cerberus.Validator.types_mapping,
            "strict_integer": cerberus.TypeDefinition("strict_integer", (int,), (bool,)),
        }

    return _Validator(SCHEMA)

_TYPE_WORDS = {
    "boolean": "a boolean (true or false, unquoted)",
    "strict_integer": "an integer",
    "string": "a string",
    "dict": "a mapping",
    "list": "a list",
}


def check_structure(data: dict, report: Report) -> None:
    """Report every structural problem in `data`."""
    if isinstance(data, dict) and _conforms_mapping(data, SCHEMA):
        return  # nothing cerberus would report, and cerberus is not even imported
    validator = _validator()
    if validator.validate(data):
        return
    for error in _leaf_errors(validator._errors):
        _report(error, report)


# --- valid documents without cerberus -------------------------------------------------------------------
# Most specs are valid. These functions answer "would cerberus find nothing?" for the rules SCHEMA uses
# (RULES; the tests check that SCHEMA uses no other, and compare the answer with cerberus' on mutated
# specs). Any doubt answers False, and cerberus then finds and words the errors.
RULES = {"type", "required", "empty", "allowed", "schema", "keysrules", "valuesrules"}
_TYPES = {
    "string": lambda v: type(v) is str,
    "boolean": lambda v: type(v) is bool,
    "strict_integer": lambda v: type(v) is int,  # bool is its own type
    "dict": lambda v: type(v) is dict,
    "list": lambda v: type(v) is list,
}


def _conforms(value: Any, rules: dict) -> bool:
    if not _TYPES[rules["type"]](value):  # None too: cerberus' nullable is False by default
        return False
    if "allowed" in rules and value not in rules["allowed"]:
        return False
    if rules.get("empty") is False and not value:
        return False
    if "schema" in rules:
        schema = rules["schema"]
        if not (_conforms_mapping(value, schema) if type(value) is dict else all(_conforms(v, schema) for v in value)):
            return False
    if "keysrules" in rules and not all(_conforms(k, rules["keysrules"]) for k in value):
        return False
    return "valuesrules" not in rules or all(_conforms(v, rules["valuesrules"]) for v in value.values())


def _conforms_mapping(value: dict, schema: dict) -> bool:
    if any(rules.get("required") and key not in value for key, rules in schema.items()):
        return False
    return all(key in schema and _conforms(item, schema[key]) for key, item in value.items())


def _leaf_errors(errors: Any) -> Iterator[Any]:
    for error in errors:
        if error.is_group_error:
            yield from _leaf_errors(error.child_errors)
        else:
            yield error


def _report(error: Any, report: Report) -> None:  # a cerberus.errors.ValidationError
    import cerberus.errors

    path: Path = tuple(error.document_path)
    field = path[-1] if path else ""
    code = error.code
    if code == cerberus.errors.UNKNOWN_FIELD.code:
        allowed = sorted(_schema_at(path[:-1]))
        hint = difflib.get_close_matches(str(field), allowed, n=1)
        suggestion = f"did you mean '{hint[0]}'?" if hint else f"expected one of: {', '.join(allowed)}."
        report("unknown-key", path, f"unknown key '{field}'; {suggestion}", True)
    elif code == cerberus.errors.REQUIRED_FIELD.code:
        report("missing-key", path[:-1], f"missing required key '{field}'.")
    elif code == cerberus.errors.BAD_TYPE.code:
        report("wrong-type", path, f"'{field}' must be {_TYPE_WORDS.get(error.constraint, error.constraint)}, "
               f"not {_describe(error.value)}.")
    elif code == cerberus.errors.UNALLOWED_VALUE.code:
        allowed = ", ".join(str(v) for v in error.constraint)
        report("bad-value", path, f"'{field}' is {error.value!r}; allowed values are {allowed}.")
    elif code == cerberus.errors.EMPTY_NOT_ALLOWED.code:
        report("empty", path, f"'{field}' must not be empty.")
    else:
        report("invalid", path, f"'{field}': {error.rule} {error.constraint}")


def _schema_at(path: Path) -> dict:
    """The mapping schema that applies to the mapping at `path`."""
    rules: dict = {"schema": SCHEMA}
    for part in path:
        if isinstance(part, int):
            rules = rules.get("schema", {})
            continue
        if "schema" in rules:
            rules = rules["schema"].get(part, {})
        else:
            rules = rules.get("valuesrules", {})
    return rules.get("schema", {}) if "type" in rules else rules.get("schema", rules)


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
