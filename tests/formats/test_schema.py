"""`meshspec schema`: a JSON Schema (draft 2020-12) that jsonschema reads, that accepts every valid spec of
the repository and rejects what validate rejects for structure, with a description on every field."""

import json
import re

import jsonschema
import pytest
import yaml

from meshspec.cli import main
from meshspec.formats.schema import json_schema, to_json
from meshspec.spec.check import check_file
from tests.support import ROOT
from tests.support.specs import VALID_SPEC

SCHEMA_FILE = ROOT / "mesh.schema.json"


def printed(capsys):
    assert main(["schema"]) == 0
    return json.loads(capsys.readouterr().out)


@pytest.fixture(scope="module")
def validator():
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def mesh_specs():
    """Every file of the repository that is a mesh spec meshspec accepts (examples and test fixtures)."""
    found = []
    for path in sorted([*(ROOT / "examples").glob("*.yaml"), *(ROOT / "tests").glob("**/fixtures/**/*.yaml")]):
        text = path.read_text()
        if re.search(r"^kind: Mesh$", text, re.M) and check_file(str(path))[0] is not None:
            found.append(path)
    return found


def test_meshspec_schema_prints_a_draft_2020_12_schema(capsys):
    schema = printed(capsys)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    jsonschema.Draft202012Validator.check_schema(schema)


def test_the_committed_schema_is_what_meshspec_schema_prints():
    assert SCHEMA_FILE.read_text() == to_json(json_schema()), "run: meshspec schema > mesh.schema.json"


def test_the_example_points_its_editor_at_the_schema():
    first = (ROOT / "examples" / "mesh.yaml").read_text().splitlines()[0]
    assert first == "# yaml-language-server: $schema=../mesh.schema.json"


def test_every_spec_of_the_repository_is_accepted(validator):
    specs = mesh_specs()
    assert len(specs) >= 12  # examples/mesh.yaml and the fixtures, not an empty glob
    for path in specs:
        errors = [e.message for e in validator.iter_errors(yaml.safe_load(path.read_text()))]
        assert errors == [], path
    assert validator.is_valid(yaml.safe_load(VALID_SPEC))


@pytest.mark.parametrize("where, change, word", [
    ("spec.services.0", {"sharde": True}, "Additional properties"),
    ("spec", {"cluster": []}, "Additional properties"),
    ("spec.clusters.0", {"id": "1"}, "is not of type 'integer'"),
    ("spec.clusters.0", {"id": True}, "is not of type 'integer'"),
    ("spec.services.0", {"shared": "yes"}, "is not of type 'boolean'"),
    ("spec.services.0", {"affinity": "nearest"}, "is not one of"),
    ("spec.services.0", {"overrides": {"cluster-a": {"spec": {"type": "NodePort"}}}}, "Additional properties"),
    ("spec.services.0", {"overrides": {"cluster-a": {"labels": {"cloud": 1}}}}, "is not of type 'string'"),
    ("spec.clusters.0", {"cilium": {"values": []}}, "is not of type 'object'"),
    ("spec.services.0.spec.ports.0", {"prot": 80}, "Additional properties"),  # Kubernetes' ServiceSpec
    ("spec.services.0.spec.ports.0", {"port": "http"}, "is not of type 'integer'"),
    ("", {"kind": "Cluster"}, "was expected"),
])
def test_unknown_keys_and_wrong_types_are_rejected_as_validate_rejects_them(validator, spec_file, where, change, word):
    data = yaml.safe_load(VALID_SPEC)
    target = data
    for part in filter(None, where.split(".")):
        target = target[int(part)] if part.isdigit() else target[part]
    target.update(change)
    errors = [e.message for e in validator.iter_errors(data)]
    assert len(errors) == 1 and word in errors[0], errors
    assert check_file(spec_file(yaml.safe_dump(data)))[0] is None  # validate agrees: not a valid spec


def test_missing_required_keys_are_rejected(validator):
    data = yaml.safe_load(VALID_SPEC)
    del data["spec"]["clusters"][0]["id"]
    assert [e.message for e in validator.iter_errors(data)] == ["'id' is a required property"]


def test_every_field_has_a_description_for_completion():
    schema = json_schema()

    def fields(node, path):
        for name, sub in node.get("properties", {}).items():
            yield f"{path}.{name}", sub
            yield from fields(sub.get("items", sub), f"{path}.{name}")
        if isinstance(node.get("additionalProperties"), dict):
            yield from fields(node["additionalProperties"], path + ".*")

    found = dict(fields({k: v for k, v in schema.items() if k != "$defs"}, ""))
    assert {".spec.services.allowNoBackends", ".spec.clusters.id", ".spec.services.spec"} <= set(found)
    assert [path for path, sub in found.items() if not sub.get("description")] == []
    assert found[".spec.services.affinity"]["default"] == "none"
    assert "description" in schema["$defs"]["io.k8s.api.core.v1.ServicePort"]["properties"]["targetPort"]


def test_the_schema_describes_per_cluster_labels_annotations_and_cilium_values():
    spec = json_schema()["properties"]["spec"]["properties"]
    override = spec["services"]["items"]["properties"]["overrides"]["additionalProperties"]
    assert sorted(override["properties"]) == ["affinity", "annotations", "global", "labels", "shared"]
    assert override["additionalProperties"] is False
    assert override["properties"]["annotations"]["additionalProperties"] == {"type": "string"}
    assert "this cluster only" in override["properties"]["labels"]["description"]
    assert "never service.cilium.io/*" in override["properties"]["annotations"]["description"]
    values = spec["clusters"]["items"]["properties"]["cilium"]["properties"]["values"]
    assert values["type"] == "object" and "deep-merged over spec.cilium.values" in values["description"]
