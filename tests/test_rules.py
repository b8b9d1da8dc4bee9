"""The rule registry: every code meshspec can report is declared once, and README's table is its."""

import pathlib
import re

import pytest

from meshspec.analysis.state import _KINDS as STATE_KINDS
from meshspec.diagnostics import diagnostic
from meshspec.formats.rules import END, START, rules_markdown
from meshspec.rules import ERROR, RULES, WARNING

ROOT = pathlib.Path(__file__).resolve().parent.parent
SOURCES = {p: p.read_text() for p in (ROOT / "meshspec").rglob("*.py") if p.name != "rules.py"}
# The places a code is emitted from: a report/diagnostic call, a loader error, a diff risk, a verify problem,
# and the Helm values checks' (path, code, message) triples.
EMITTED = re.compile(r'(?:report|diagnostic|_problem|Risk|ImportWarning)\(\s*"([a-z0-9-]+)"|_fatal\(\s*file,\s*"([a-z0-9-]+)"'
                     r'|Problem\([^,()]+, "([a-z0-9-]+)"|^\s*yield \(?[^"\n]*, "([a-z0-9-]+)",\s*f?"'
                     r'|\("([a-z0-9-]+-drift)", ', re.MULTILINE)
# Codes built from a pattern: f"duplicate-{kind.lower()}" for every kind a state folder reads, f"{what}-key",
# f"{what[:-1]}-drift".
FAMILIES = {f"duplicate-{kind.lower()}" for kind in set(STATE_KINDS.values()) if kind != "DaemonSet"} | {
    "label-key", "annotation-key", "annotation-drift", "label-drift"}


def _emitted() -> set[str]:
    return {code for text in SOURCES.values() for match in EMITTED.finditer(text) for code in match.groups() if code}


def test_every_emitted_code_is_declared():
    assert _emitted() - set(RULES) == set()


def test_every_declared_code_is_emitted_somewhere():
    found = _emitted() | FAMILIES
    assert set(RULES) - found == set()


def test_each_rule_says_what_is_wrong_and_what_to_do():
    for rule in RULES.values():
        assert rule.severity in (ERROR, WARNING), rule.code
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.code)
        assert rule.summary.endswith(".") and rule.remediation.endswith("."), rule.code
        assert set(rule.reported_by) <= {"validate", "render", "simulate", "diff", "verify", "import"}


def test_an_undeclared_code_cannot_become_a_diagnostic():
    with pytest.raises(KeyError):
        diagnostic("no-such-rule", "message", "file.yaml")
    assert diagnostic("ignored-field", "m", "f.yaml").severity == WARNING


def test_readme_table_is_generated_from_the_registry():
    readme = (ROOT / "README.md").read_text()
    table = readme.split(START, 1)[1].split(END, 1)[0]
    assert table.strip() == rules_markdown().strip(), \
        "README's code table is stale: run python -m meshspec.formats.rules --update README.md"
