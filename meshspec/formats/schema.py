"""The mesh spec as a JSON Schema (draft 2020-12), for editors (yaml-language-server), kubeconform-style
checks and anything else that reads JSON Schema.

It is generated from spec/structure.py's cerberus schema, the one `meshspec validate` checks structure
with, and its descriptions (cerberus' `meta` rule); `services[].spec` embeds Kubernetes' strict ServiceSpec
from kubernetes-validate, the schema validate checks it against. What only the checks know (unique
names, CIDR overlap, routing) stays with `meshspec validate`.

    python -m meshspec.formats.schema > mesh.schema.json     # what `meshspec schema` prints
"""

from __future__ import annotations

import json
import sys
from typing import Any

from ..k8s.service_schema import service_spec_definitions
from ..spec.model import API_VERSION
from ..spec.structure import SCHEMA

DIALECT = "https://json-schema.org/draft/2020-12/schema"
SCHEMA_ID = "https://meshspec.dev/schemas/meshspec-v1alpha1.json"  # a name, not fetched
_TYPES = {"string": "string", "boolean": "boolean", "strict_integer": "integer", "integer": "integer",
          "dict": "object", "list": "array"}
_NOT_JSON = {"service_spec", "hint", "unknown"}  # markers in `meta` for this module, not JSON Schema keywords


def json_schema() -> dict[str, Any]:
    service_spec, definitions = service_spec_definitions()
    root = _mapping(SCHEMA, service_spec)
    return {"$schema": DIALECT, "$id": SCHEMA_ID, "title": f"meshspec mesh spec ({API_VERSION})",
            "description": "A Cilium Cluster Mesh of clusters and the global Services shared across them "
                           "(meshspec validate checks the rules a schema cannot express).",
            **root, "$defs": definitions}


def _mapping(fields: dict[str, Any], service_spec: str) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "object",
                              "properties": {name: _field(rules, service_spec) for name, rules in fields.items()},
                              "additionalProperties": False}
    required = [name for name, rules in fields.items() if rules.get("required")]
    if required:
        schema["required"] = required
    return schema


def _field(rules: dict[str, Any], service_spec: str) -> dict[str, Any]:
    meta = dict(rules.get("meta", {}))
    if meta.get("service_spec"):
        return {"$ref": f"#/$defs/{service_spec}", "description": meta["description"]}
    kind = rules.get("type")
    schema: dict[str, Any] = {}
    if kind == "dict" and "schema" in rules:
        schema = _mapping(rules["schema"], service_spec)
    elif kind == "dict":
        schema = {"type": "object"}
        if "valuesrules" in rules:
            schema["additionalProperties"] = _field(rules["valuesrules"], service_spec)
    elif kind == "list":
        schema = {"type": "array"}
        if "schema" in rules:
            schema["items"] = _field(rules["schema"], service_spec)
        if rules.get("empty") is False:
            schema["minItems"] = 1
    else:
        schema = {"type": _TYPES[kind]}
        if rules.get("empty") is False:
            schema["minLength"] = 1
    if "regex" in rules:
        schema["pattern"] = rules["regex"]
    if "allowed" in rules:
        schema["enum"] = list(rules["allowed"])
    # Descriptions first: editors show them on hover and in completion.
    return {**{k: v for k, v in meta.items() if k not in _NOT_JSON}, **schema}


def to_json(schema: dict[str, Any]) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(to_json(json_schema()))
