"""What the commands share: the usage error, reading the spec they work on, argument types."""

from __future__ import annotations

import argparse
import os
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only commands that read a spec load the model
    from ..spec.model import Mesh


class UsageError(Exception):
    """The command line is wrong (exit 2); the message says how."""


# What a command leaves for the end of the process to free all at once (main.console): freeing simulate's
# state of 100 clusters object by object took 0.2-0.3 s after its output was written.
LEFT_FOR_EXIT: list[object] = []


def leave_for_exit(*objects: object) -> None:
    """Keep `objects` alive until the process exits (console) or main() runs again (a caller in-process). A
    command that calls this starts no thread and registers no atexit handler: the exit skips both."""
    LEFT_FOR_EXIT.extend(objects)


def require_file(spec: str) -> None:
    if not os.path.exists(spec):
        raise UsageError(f"{spec}: no such file")
    if os.path.isdir(spec):
        raise UsageError(f"{spec} is a folder; give the mesh spec file")


def check_spec(spec: str):
    """The spec checked as every command checks it: with the Pulumi stacks that deploy it, if any."""
    from ..spec.check import check_file

    require_file(spec)
    return check_file(spec, stacks=True)


def checked_mesh(spec: str, nothing_done: str) -> tuple[Mesh | None, list]:
    """(Mesh, diagnostics) with the diagnostics printed to stderr; the Mesh is None when the spec is
    invalid, and then the summary says what was not done."""
    from ..formats.diagnostics import summary, to_text

    mesh, diagnostics = check_spec(spec)
    sys.stderr.write(to_text(diagnostics))
    if mesh is None:
        print(f"{summary(spec, diagnostics)}; {nothing_done}", file=sys.stderr)
    return mesh, diagnostics


def require_folder_or_absent(path: str, flag: str = "") -> None:
    """`path` may be created as a folder: it is one, or nothing is there."""
    if os.path.exists(path) and not os.path.isdir(path):
        raise UsageError(f"{flag} {path}: exists and is not a folder" if flag else f"{path} exists and is not a folder")


def positive(kind: type):
    """An argparse type: a number above 0."""
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value
    return parse


def add_cluster_options(parser: argparse.ArgumentParser, verb: str) -> None:
    """--timeout and --concurrency, for the commands that reach clusters (verify, import)."""
    parser.add_argument("--timeout", metavar="SECONDS", type=positive(float), default=10.0,
                        help="per cluster (default 10)")
    parser.add_argument("--concurrency", metavar="N", type=positive(int), default=8,
                        help=f"clusters {verb} at once (default 8)")
