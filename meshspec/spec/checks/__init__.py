"""The rules a mesh spec must follow, one module per part of the spec. Every check reports through a
Checker: a code from rules.RULES, the path inside the spec, and a sentence saying what to do.

Checks look only at well-typed parts of the document, so one pass reports every problem even when
the structure is partly wrong (structure.py reports the wrong types).
"""

from __future__ import annotations

from typing import Any

from ...diagnostics import Diagnostic, Path, Report
from ...record import field, record
from ..load import Document


@record(frozen=False)
class Checker:
    """Collects the diagnostics of one document."""

    doc: Document
    diagnostics: list[Diagnostic] = field(default_factory=list)

    def report(self, code: str, path: Path, message: str, at_key: bool = False) -> None:
        self.diagnostics.append(self.doc.diagnostic(code, path, message, at_key))

    def under(self, prefix: Path) -> Report:
        """A report for a check that sees only the part of the spec at `prefix`."""
        return lambda code, path, message, at_key=False: self.report(code, prefix + tuple(path), message, at_key)

    def line_of(self, path: Path) -> int:
        return self.doc.position(path).line


# --- small helpers over loosely typed data ---------------------------------------------------------

def is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def get_in(data: Any, *keys: str) -> Any:
    for key in keys:
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def as_dict(value: Any) -> dict:
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list:
    return value if isinstance(value, list) else []


def dicts(value: Any) -> list[tuple[int, dict]]:
    return [(i, item) for i, item in enumerate(as_list(value)) if isinstance(item, dict)]


def yaml_text(value: Any) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)
