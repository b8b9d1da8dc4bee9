"""meshspec diff OLD NEW: what a spec change does, for a reviewer and for a CI gate."""

from __future__ import annotations

import argparse
import sys

from ..command import UsageError, check_spec
from ..status import EXIT_GATE, EXIT_INVALID, EXIT_OK

DESCRIPTION = ("Compare two mesh specs. OLD and NEW are spec files, or git:REV:PATH (read with `git show REV:PATH`, "
               "e.g. git:origin/main:examples/mesh.yaml). Exit codes: 0 compared, 1 a spec is invalid, 2 usage "
               "error, 3 --fail-on matched.")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.description = DESCRIPTION
    parser.add_argument("old", metavar="OLD", help="the spec before the change: a file, or git:REV:PATH")
    parser.add_argument("new", metavar="NEW", help="the spec after the change: a file, or git:REV:PATH")
    parser.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                        help="text (default), markdown (a pull-request comment) or json")
    parser.add_argument("--fail-on", choices=("risk", "change"), default=None,
                        help=f"exit {EXIT_GATE} when there is a risk, or when anything differs")


def run(args: argparse.Namespace) -> int:
    from ...analysis.diff import compare
    from ...formats.diagnostics import summary as diagnostics_summary, to_text as diagnostics_text
    from ...formats.diff import RENDERERS, summary

    loaded = [(ref, *load_spec(ref)) for ref in (args.old, args.new)]
    invalid = [(ref, diagnostics) for ref, mesh, diagnostics in loaded if mesh is None]
    for ref, diagnostics in invalid:
        sys.stderr.write(diagnostics_text(diagnostics))
        print(diagnostics_summary(ref, diagnostics) + "; nothing compared", file=sys.stderr)
    if invalid:
        return EXIT_INVALID
    report = compare(loaded[0][1], loaded[1][1], args.old, args.new)
    sys.stdout.write(RENDERERS[args.format](report))
    if (args.fail_on == "risk" and report.risks) or (args.fail_on == "change" and report.changed):
        print(f"meshspec diff: --fail-on {args.fail_on}: {summary(report)}", file=sys.stderr)
        return EXIT_GATE
    return EXIT_OK


def load_spec(ref: str):
    """A spec file, checked as the other commands check it (with the Pulumi stacks deploying it), or a
    spec at a git revision, checked alone (the stacks at that revision are not checked out)."""
    from ...adapters.git import GIT, GitError, git_show
    from ...spec.check import check_bytes

    if not ref.startswith(GIT):
        return check_spec(ref)
    try:
        return check_bytes(git_show(ref), ref)
    except GitError as exc:
        raise UsageError(str(exc)) from None
