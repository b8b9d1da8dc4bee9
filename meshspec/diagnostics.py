"""Diagnostics: what went wrong and where. Data only; formats/diagnostics.py prints them."""

from __future__ import annotations

from typing import Iterable, Protocol, Union

from .record import record
from .rules import severity

PathPart = Union[str, int]
Path = tuple  # tuple[PathPart, ...]


@record(order=True)
class Diagnostic:
    """One problem found, located: FILE:LINE:COL, severity, code and message."""
    severity: str  # "error" | "warning"
    code: str
    message: str
    file: str
    line: int
    column: int
    path: str = ""

    @property
    def is_error(self) -> bool:
        return self.severity == "error"


class Report(Protocol):
    """How every check reports a problem: a code from rules.RULES, where (a path inside the document it
    checks) and a sentence saying what to do. at_key: point at the key rather than its value."""

    def __call__(self, code: str, path: Path, message: str, at_key: bool = False) -> None: ...


def diagnostic(code: str, message: str, file: str, line: int = 1, column: int = 1, path: str = "") -> Diagnostic:
    """A Diagnostic whose severity is its rule's."""
    return Diagnostic(severity(code), code, message, file, line, column, path)


def format_path(path: Path) -> str:
    """('spec', 'clusters', 0, 'name') -> 'spec.clusters[0].name'"""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def sort_key(d: Diagnostic) -> tuple:
    return (d.file, d.line, d.column, d.severity != "error", d.code, d.message)


def unique_sorted(diagnostics: Iterable[Diagnostic]) -> list[Diagnostic]:
    return sorted(set(diagnostics), key=sort_key)


def has_errors(diagnostics: Iterable[Diagnostic]) -> bool:
    return any(d.is_error for d in diagnostics)
