"""meshspec validate SPEC...: every problem, located; exit 1 on errors."""

from __future__ import annotations

import argparse
import sys

from ..command import check_spec, require_file
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("specs", metavar="SPEC", nargs="+", help="mesh spec files (YAML); each is checked")
    parser.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text",
                        help="text (default), json, github (workflow annotations) or sarif (2.1.0)")
    parser.add_argument("--strict", action="store_true", help="exit 1 on warnings too, not only on errors (for CI)")


def run(args: argparse.Namespace) -> int:
    from ... import __version__
    from ...diagnostics import has_errors
    from ...formats.diagnostics import summary, to_github, to_json, to_sarif, to_text

    for spec in args.specs:  # every file exists before any output, so a usage error prints nothing else
        require_file(spec)
    results = [(spec, *check_spec(spec)) for spec in args.specs]
    diagnostics = [d for _, _, found in results for d in found]
    formats = {"json": to_json, "github": to_github, "sarif": lambda ds: to_sarif(ds, __version__)}
    sys.stdout.write(formats.get(args.format, to_text)(diagnostics))
    if args.format != "json":
        for spec, mesh, found in results:
            extra = f" ({len(mesh.clusters)} clusters, {len(mesh.services)} services)" if mesh else ""
            print(summary(spec, found) + extra, file=sys.stderr)
    if has_errors(diagnostics):
        return EXIT_INVALID
    if args.strict and diagnostics:  # every diagnostic that is not an error is a warning
        print(f"meshspec validate --strict: failing on {_count(len(diagnostics), 'warning')}", file=sys.stderr)
        return EXIT_INVALID
    return EXIT_OK


def _count(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"
