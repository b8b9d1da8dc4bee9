"""Diagnostics: what went wrong, where, and how to print it."""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from typing import Iterable, Union

PathPart = Union[str, int]
Path = tuple  # tuple[PathPart, ...]


@dataclass(frozen=True, order=True)
class Diagnostic:
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


def to_text(diagnostics: Iterable[Diagnostic]) -> str:
    return "".join(f"{d.file}:{d.line}:{d.column}: {d.severity}: {d.message} [{d.code}]\n" for d in diagnostics)


def to_json(diagnostics: Iterable[Diagnostic]) -> str:
    return json.dumps([asdict(d) for d in diagnostics], indent=2) + "\n"


def summary(file: str, diagnostics: list[Diagnostic]) -> str:
    errors = sum(d.is_error for d in diagnostics)
    warnings = len(diagnostics) - errors
    if not errors:
        return f"{file}: valid" + (f" ({_count(warnings, 'warning')})" if warnings else "")
    return f"{file}: {_count(errors, 'error')}, {_count(warnings, 'warning')}"


def _count(n: int, word: str) -> str:
    return f"{n} {word}" + ("" if n == 1 else "s")
