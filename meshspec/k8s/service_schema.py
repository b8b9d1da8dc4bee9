"""Kubernetes' own Service schema (shipped by kubernetes-validate) plus the API-server rules a JSON schema
cannot express, reported as `kubernetes-schema` at paths inside the Service object.
"""

from __future__ import annotations

import functools
import json
import importlib.util
import os
from typing import Any, Iterator

from ..diagnostics import Report
from .service_rules import service_rules

Finding = tuple[tuple, str, bool]


@functools.lru_cache(maxsize=None)
def schema_version() -> str:
    """The newest Kubernetes version whose strict schemas kubernetes-validate ships."""
    folders = os.listdir(_schema_folder())
    versions = [f[1:-len("-local-strict")] for f in folders if f.startswith("v") and f.endswith("-local-strict")]
    return max(versions, key=lambda v: tuple(int(p) for p in v.split(".")))


def _schema_folder() -> str:
    # Found without importing kubernetes_validate, whose __init__ pulls in heavy helpers we do not use; a
    # str, not a pathlib.Path: pathlib (with urllib.parse and ntpath) is 4-8 ms of validate's start-up.
    spec = importlib.util.find_spec("kubernetes_validate")
    return os.path.join(spec.submodule_search_locations[0], "kubernetes-json-schema")


def _schema_root():
    """The folder as a pathlib.Path, for the code that reads the full schemas (not validate's path)."""
    import pathlib

    return pathlib.Path(_schema_folder())


# The JSON Schema keywords Kubernetes' Service schema uses; the tests check that no other appears,
# so a newer kubernetes-validate cannot make this checker silently skip a rule. "format" is an
# annotation in draft 2020-12 (jsonschema does not assert it either).
SUPPORTED_KEYWORDS = {"$ref", "additionalProperties", "enum", "format", "items", "oneOf", "properties",
                      "required", "type"}
_TYPES = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "null": lambda v: v is None,
}


# The Service schema with only the definitions it refers to (15 of 862): 37 kB to read on every validate
# instead of 1.8 MB. Used when it was taken from the schema version installed; rewrite it with write_bundle().
BUNDLE = os.path.join(os.path.dirname(os.path.dirname(os.path.realpath(__file__))), "data",
                      "kubernetes-service-schema.json")


@functools.lru_cache(maxsize=None)
def _schemas() -> tuple[dict, dict]:
    """(Service schema, definitions by name) from kubernetes-validate's strict schemas."""
    version = schema_version()
    try:
        with open(BUNDLE, encoding="utf-8") as file:
            bundled = json.loads(file.read())
    except (OSError, ValueError):
        bundled = {}
    if bundled.get("version") == version:
        return bundled["service"], bundled["definitions"]
    return _installed_schemas(version)


def _installed_schemas(version: str) -> tuple[dict, dict]:
    folder = _schema_root() / f"v{version}-local-strict"
    service = json.loads((folder / "service-v1.json").read_text())
    definitions = json.loads((folder / "_definitions.json").read_text())["$defs"]
    return service, definitions


def bundle(version: str) -> dict:
    """What BUNDLE holds for a schema version: the Service schema and the definitions it reaches."""
    service, definitions = _installed_schemas(version)
    reached: dict[str, Any] = {}
    pending = [service]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            name = value.get("$ref", "").rsplit("/", 1)[-1]
            if name and name not in reached:
                reached[name] = definitions[name]
                pending.append(definitions[name])
            pending.extend(value.values())
        elif isinstance(value, list):
            pending.extend(value)
    return {"version": version, "service": service, "definitions": dict(sorted(reached.items()))}


def write_bundle() -> None:
    """Rewrite BUNDLE from the newest schema version installed (after upgrading kubernetes-validate)."""
    with open(BUNDLE, "w", encoding="utf-8") as file:
        file.write(json.dumps(bundle(schema_version()), separators=(",", ":")) + "\n")


def check_service(obj: dict[str, Any], report: Report) -> None:
    """Report everything the Kubernetes API would reject in this Service object."""
    service, definitions = _schemas()
    for path, message, at_key in (*_check(obj, service, (), definitions), *service_rules(obj.get("spec"))):
        report("kubernetes-schema", path, message, at_key)


def _check(value: Any, schema: dict, path: tuple, defs: dict) -> Iterator[Finding]:
    """A draft 2020-12 validator for SUPPORTED_KEYWORDS: small, and 20x faster to start than jsonschema."""
    if "$ref" in schema:
        yield from _check(value, defs[schema["$ref"].rsplit("/", 1)[1]], path, defs)
    if "oneOf" in schema:
        matches = sum(not any(_check(value, option, path, defs)) for option in schema["oneOf"])
        if matches != 1:
            kinds = sorted({t for o in schema["oneOf"] for t in _as_list(o.get("type")) if t != "null"})
            yield path, f"'{_field(path)}' must be {' or '.join(map(_a, kinds))}, not {value!r}", False
    if "type" in schema and not any(_TYPES[t](value) for t in _as_list(schema["type"])):
        kinds = [t for t in _as_list(schema["type"]) if t != "null"]
        yield path, f"'{_field(path)}' must be {' or '.join(map(_a, kinds))}, not {value!r}", False
        return
    if "enum" in schema and value not in schema["enum"]:
        yield path, f"'{_field(path)}' is {value!r}; Kubernetes accepts {', '.join(map(str, schema['enum']))}", False
    if isinstance(value, dict):
        yield from _check_object(value, schema, path, defs)
    if isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            yield from _check(item, schema["items"], path + (i,), defs)


def _check_object(value: dict, schema: dict, path: tuple, defs: dict) -> Iterator[Finding]:
    properties = schema.get("properties", {})
    for name in schema.get("required", ()):
        if name not in value:
            yield path, f"the Kubernetes {_what(path)} needs '{name}'", False
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        if key in properties:
            yield from _check(item, properties[key], path + (key,), defs)
        elif extra is False:
            import difflib  # imported for a typo only: start-up pays nothing
            hint = difflib.get_close_matches(str(key), sorted(properties), n=1)
            suggestion = f"; did you mean '{hint[0]}'?" if hint else ""
            yield path + (key,), f"unknown field '{key}' in the Kubernetes {_what(path)}{suggestion}", True
        elif isinstance(extra, dict):
            yield from _check(item, extra, path + (key,), defs)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def _field(path: tuple) -> str:
    for part in reversed(path):
        if isinstance(part, str):
            return part
    return "value"


def _what(path: tuple) -> str:
    if "ports" in path:
        return "ServicePort"
    return "ServiceSpec" if path[:1] == ("spec",) else "Service"


def _a(kind: Any) -> str:
    if isinstance(kind, list):
        return " or ".join(map(_a, kind))
    return {"integer": "an integer", "object": "a mapping", "array": "a list"}.get(kind, f"a {kind}")


def service_spec_definitions() -> tuple[str, dict[str, Any]]:
    """(the name of Kubernetes' ServiceSpec definition, it and every definition it refers to), for a JSON
    Schema that embeds it (`meshspec schema`); references inside are `#/$defs/<name>`."""
    _, definitions = _schemas()
    root = "io.k8s.api.core.v1.ServiceSpec"
    found: dict[str, Any] = {}
    pending = [root]
    while pending:
        name = pending.pop()
        if name not in found:
            found[name] = definitions[name]
            pending += [ref.rsplit("/", 1)[-1] for ref in _refs(definitions[name])]
    return root, dict(sorted(found.items()))


def _refs(schema: Any) -> Iterator[str]:
    if isinstance(schema, dict):
        for key, value in schema.items():
            if key == "$ref":
                yield value
            else:
                yield from _refs(value)
    elif isinstance(schema, list):
        for value in schema:
            yield from _refs(value)
