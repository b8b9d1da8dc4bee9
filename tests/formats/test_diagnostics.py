"""Diagnostics for CI: GitHub workflow commands and SARIF 2.1.0.

The SARIF schema cannot be downloaded here, so SARIF_ESSENTIALS transcribes, by hand, the parts of the
OASIS SARIF 2.1.0 schema (sarif-schema-2.1.0.json) that meshspec's output uses: required properties,
types, enums and minimums, and `additionalProperties: false` as the real schema has it, with each
object's property names taken from the spec (only the ones relevant here are listed).
"""

import json
import os
import re

import jsonschema
import pytest

from tests.support.specs import VALID_SPEC
from meshspec import __version__
from meshspec.diagnostics import Diagnostic
from meshspec.rules import RULES
from meshspec.formats.diagnostics import SARIF_SCHEMA, relative_path, to_github, to_sarif
from meshspec.spec.check import check_file


def closed(properties: dict, required: list[str] = ()) -> dict:
    return {"type": "object", "properties": properties, "required": list(required), "additionalProperties": False}


MESSAGE = {"type": "object", "properties": {"text": {"type": "string"}, "id": {"type": "string"}},
           "anyOf": [{"required": ["text"]}, {"required": ["id"]}]}
ARTIFACT_LOCATION = closed({"uri": {"type": "string", "format": "uri-reference"}, "uriBaseId": {"type": "string"},
                            "index": {"type": "integer", "minimum": -1}, "description": MESSAGE})
REGION = closed({"startLine": {"type": "integer", "minimum": 1}, "startColumn": {"type": "integer", "minimum": 1},
                 "endLine": {"type": "integer", "minimum": 1}, "endColumn": {"type": "integer", "minimum": 1}})
PHYSICAL_LOCATION = {**closed({"artifactLocation": ARTIFACT_LOCATION, "region": REGION, "address": {},
                               "contextRegion": REGION}),
                     "anyOf": [{"required": ["address"]}, {"required": ["artifactLocation"]}]}
LOCATION = closed({"physicalLocation": PHYSICAL_LOCATION, "message": MESSAGE, "id": {"type": "integer"},
                   "logicalLocations": {"type": "array", "items": closed({
                       "name": {"type": "string"}, "fullyQualifiedName": {"type": "string"},
                       "kind": {"type": "string"}})}})
RESULT = closed({
    "ruleId": {"type": "string"}, "ruleIndex": {"type": "integer", "minimum": -1},
    "level": {"enum": ["none", "note", "warning", "error"]}, "message": MESSAGE,
    "locations": {"type": "array", "items": LOCATION}, "kind": {"type": "string"},
}, ["message"])
RULE = closed({"id": {"type": "string"}, "name": {"type": "string"}, "shortDescription": MESSAGE,
               "fullDescription": MESSAGE, "help": MESSAGE, "helpUri": {"type": "string"},
               "defaultConfiguration": closed({"level": {"enum": ["none", "note", "warning", "error"]},
                                               "enabled": {"type": "boolean"}, "rank": {"type": "number"}})}, ["id"])
DRIVER = closed({"name": {"type": "string"}, "version": {"type": "string"},
                 "informationUri": {"type": "string"}, "rules": {"type": "array", "items": RULE}}, ["name"])
RUN = closed({"tool": closed({"driver": DRIVER}, ["driver"]),
              "results": {"type": "array", "items": RESULT},
              "columnKind": {"enum": ["utf16CodeUnits", "unicodeCodePoints"]}}, ["tool"])
SARIF_ESSENTIALS = closed({"$schema": {"type": "string", "format": "uri"}, "version": {"const": "2.1.0"},
                           "runs": {"type": ["array", "null"], "items": RUN}}, ["version", "runs"])


@pytest.fixture
def invalid_spec_diagnostics(spec_file, tmp_path, monkeypatch):
    spec_file(VALID_SPEC.replace("id: 2", "id: 0").replace("      namespace: default",
                                                           "      namespace: default\n      sharde: true"))
    monkeypatch.chdir(tmp_path)  # the repository root, as in CI
    _, diagnostics = check_file("mesh.yaml")
    assert {d.severity for d in diagnostics} == {"error"} and len(diagnostics) == 2
    return diagnostics


# --- GitHub workflow commands ---------------------------------------------------------------------

def test_github_annotation_per_diagnostic():
    diagnostics = [Diagnostic("error", "cluster-id", "cluster id 0 is out of range", "examples/mesh.yaml", 10, 11),
                   Diagnostic("warning", "ignored-field", "has no effect", "examples/mesh.yaml", 15, 7)]
    assert to_github(diagnostics) == (
        "::error file=examples/mesh.yaml,line=10,col=11,title=cluster-id::cluster id 0 is out of range\n"
        "::warning file=examples/mesh.yaml,line=15,col=7,title=ignored-field::has no effect\n")


def test_github_escaping_of_data_and_properties():
    d = Diagnostic("error", "odd:code", "100% sure,\r\nsecond line: yes", "dir,1/a:b%.yaml", 1, 2)
    assert to_github([d]) == ("::error file=dir%2C1/a%3Ab%25.yaml,line=1,col=2,title=odd%3Acode"
                              "::100%25 sure,%0D%0Asecond line: yes\n")


def test_github_paths_are_relative_to_the_repository(invalid_spec_diagnostics):
    absolute = [Diagnostic("error", "x", "m", os.path.abspath("mesh.yaml"), 1, 1)]
    assert to_github(absolute).startswith("::error file=mesh.yaml,")
    for line in to_github(invalid_spec_diagnostics).splitlines():
        assert re.fullmatch(r"::error file=[^,:]+,line=\d+,col=\d+,title=[-a-z]+::[^\r\n]+", line), line


def test_no_diagnostics_no_output():
    assert to_github([]) == ""


# --- SARIF ----------------------------------------------------------------------------------------

def sarif(diagnostics):
    log = json.loads(to_sarif(diagnostics, __version__))
    jsonschema.validate(log, SARIF_ESSENTIALS, format_checker=jsonschema.FormatChecker())
    return log


def test_sarif_log_from_real_diagnostics(invalid_spec_diagnostics):
    log = sarif(invalid_spec_diagnostics)
    assert log["$schema"] == SARIF_SCHEMA and log["version"] == "2.1.0"
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("meshspec", __version__)
    assert [rule["id"] for rule in driver["rules"]] == sorted({d.code for d in invalid_spec_diagnostics})
    for rule in driver["rules"]:  # the rule text a code-scanning view shows comes from the registry
        declared = RULES[rule["id"]]
        assert rule["shortDescription"]["text"] == declared.summary
        assert rule["help"]["text"] == declared.remediation
        assert rule["defaultConfiguration"]["level"] == declared.severity
    assert len(run["results"]) == len(invalid_spec_diagnostics)
    for result, d in zip(run["results"], invalid_spec_diagnostics):
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"] == d.code
        assert (result["level"], result["message"]["text"]) == ("error", d.message)
        [location] = result["locations"]
        physical = location["physicalLocation"]
        assert physical["artifactLocation"] == {"uri": "mesh.yaml", "uriBaseId": "%SRCROOT%"}
        assert physical["region"] == {"startLine": d.line, "startColumn": d.column}
        assert location["logicalLocations"] == [{"fullyQualifiedName": d.path}]


def test_sarif_levels_rules_once_and_uris():
    diagnostics = [Diagnostic("warning", "ignored-field", "a", "my specs/mesh.yaml", 3, 4, "spec.x"),
                   Diagnostic("warning", "ignored-field", "b", "my specs/mesh.yaml", 5, 6),
                   Diagnostic("error", "cluster-id", "c", "/elsewhere/mesh.yaml", 1, 1)]
    [run] = sarif(diagnostics)["runs"]
    assert [rule["id"] for rule in run["tool"]["driver"]["rules"]] == ["cluster-id", "ignored-field"]
    assert [r["level"] for r in run["results"]] == ["warning", "warning", "error"]
    assert [r["ruleIndex"] for r in run["results"]] == [1, 1, 0]
    locations = [r["locations"][0]["physicalLocation"]["artifactLocation"] for r in run["results"]]
    assert locations[0] == {"uri": "my%20specs/mesh.yaml", "uriBaseId": "%SRCROOT%"}
    assert locations[2] == {"uri": "file:///elsewhere/mesh.yaml"}  # outside the repository: absolute
    assert "logicalLocations" not in run["results"][1]["locations"][0]


def test_sarif_without_diagnostics_is_a_valid_empty_run():
    [run] = sarif([])["runs"]
    assert run["results"] == [] and run["tool"]["driver"]["rules"] == []


def test_essentials_schema_rejects_what_sarif_rejects():
    """The hand-written schema must bite: the mistakes it exists to catch fail it."""
    good = json.loads(to_sarif([Diagnostic("error", "cluster-id", "m", "f.yaml", 1, 1)], "1"))
    for broken in (
        {**good, "version": "2.0.0"},
        {k: v for k, v in good.items() if k != "runs"},
        {**good, "runs": [{"tool": {"driver": {}}}]},
        {**good, "runs": [{**good["runs"][0], "results": [{"ruleId": "c"}]}]},
        {**good, "runs": [{**good["runs"][0], "results": [{"message": {"text": "m"}, "level": "fatal"}]}]},
        {**good, "runs": [{**good["runs"][0], "results": [{"message": {"text": "m"}, "locations": [
            {"physicalLocation": {"region": {"startLine": 0}}}]}]}]},
        {**good, "runs": [{**good["runs"][0], "results": [{"message": {"txt": "m"}}]}]},
    ):
        with pytest.raises(jsonschema.ValidationError):
            jsonschema.validate(broken, SARIF_ESSENTIALS)


@pytest.mark.parametrize("file, expected", [
    ("examples/mesh.yaml", "examples/mesh.yaml"),
    (os.path.abspath("examples/mesh.yaml"), "examples/mesh.yaml"),
    ("/elsewhere/mesh.yaml", "/elsewhere/mesh.yaml"),
])
def test_relative_path(file, expected):
    assert relative_path(file) == expected
