"""Diagnostics as text (FILE:LINE:COL: severity: message [code]), JSON, GitHub Actions workflow commands (annotations on the pull request's files) and
SARIF 2.1.0 (GitHub code scanning and other SARIF viewers).

Both name files by their path relative to the current directory, which in CI is the repository root.
"""

from __future__ import annotations

import json
import os
from typing import Any, Iterable

from ..diagnostics import Diagnostic
from ..rules import RULES

SARIF_VERSION = "2.1.0"
SARIF_SCHEMA = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
# Severity -> SARIF level and GitHub workflow command; anything else is a SARIF "note", a GitHub "notice".
_LEVELS = {"error": "error", "warning": "warning"}


def to_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "".join(f"{d.file}:{d.line}:{d.column}: {d.severity}: {d.message} [{d.code}]\n" for d in diagnostics)


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    from dataclasses import asdict  # only JSON output pays for importing dataclasses (record.py)

    return json.dumps([asdict(d) for d in diagnostics], indent=2) + "\n"


def summary(file: str, diagnostics: list[Diagnostic]) -> str:
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    if not errors:
        return f"{file}: valid" + (f" ({count(warnings, 'warning')})" if warnings else "")
    return f"{file}: {count(errors, 'error')}, {count(warnings, 'warning')}"


def count(n: int, word: str) -> str:
    """'1 error', '2 errors'."""
    return f"{n} {word}" + ("" if n == 1 else "s")


def to_github(diagnostics: Iterable[Diagnostic]) -> str:
    """One `::error` / `::warning` workflow command per diagnostic."""
    lines = []
    for d in diagnostics:
        command = _LEVELS.get(d.severity, "notice")
        properties = f"file={_property(relative_path(d.file))},line={d.line},col={d.column},title={_property(d.code)}"
        lines.append(f"::{command} {properties}::{_data(d.message)}\n")
    return "".join(lines)


def _data(text: str) -> str:
    # The escaping of @actions/core (command.ts escapeData): a message ends at a line break.
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(text: str) -> str:
    # escapeProperty: ',' separates properties and ':' ends them.
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def to_sarif(diagnostics: Iterable[Diagnostic], tool_version: str) -> str:
    """A SARIF 2.1.0 log with one run: a rule per diagnostic code, a result per diagnostic."""
    diagnostics = list(diagnostics)
    codes = sorted({d.code for d in diagnostics})
    index = {code: i for i, code in enumerate(codes)}
    rules = [_rule(code) for code in codes]
    run = {
        "tool": {"driver": {"name": "meshspec", "version": tool_version, "rules": rules}},
        # PyYAML marks count characters, not UTF-16 code units.
        "columnKind": "unicodeCodePoints",
        "results": [_result(d, index[d.code]) for d in diagnostics],
    }
    return json.dumps({"$schema": SARIF_SCHEMA, "version": SARIF_VERSION, "runs": [run]}, indent=2) + "\n"


def _rule(code: str) -> dict[str, Any]:
    rule = RULES[code]
    return {"id": code, "shortDescription": {"text": rule.summary}, "help": {"text": rule.remediation},
            "defaultConfiguration": {"level": _LEVELS[rule.severity]}}


def _result(d: Diagnostic, rule_index: int) -> dict[str, Any]:
    path = relative_path(d.file)
    # pathlib and urllib.parse are imported here: only SARIF output needs them, and together they are
    # 4-8 ms of every validate's start-up
    if os.path.isabs(path):
        from pathlib import Path

        location: dict[str, Any] = {"uri": Path(path).as_uri()}
    else:
        import urllib.parse

        location = {"uri": urllib.parse.quote(path), "uriBaseId": "%SRCROOT%"}
    result: dict[str, Any] = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": _LEVELS.get(d.severity, "note"),
        "message": {"text": d.message},
        "locations": [{"physicalLocation": {
            "artifactLocation": location,
            "region": {"startLine": max(d.line, 1), "startColumn": max(d.column, 1)},
        }}],
    }
    if d.path:
        result["locations"][0]["logicalLocations"] = [{"fullyQualifiedName": d.path}]
    return result


def relative_path(file: str) -> str:
    """file relative to the current directory with '/' separators; absolute when it lies outside."""
    if os.path.isabs(file):
        relative = os.path.relpath(file)
        file = file if relative == os.pardir or relative.startswith(os.pardir + os.sep) else relative
    return file.replace(os.sep, "/")
