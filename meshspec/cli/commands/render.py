"""meshspec render SPEC -o DIR: validate, then write one folder of manifests per cluster (or, with --check,
say whether DIR already holds exactly that)."""

from __future__ import annotations

import argparse
import sys

from ..command import checked_mesh, require_folder_or_absent
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    parser.add_argument("-o", "--out", metavar="DIR", required=True,
                        help="output folder; DIR/<cluster>/ gets one file per object and a kustomization.yaml")
    parser.add_argument("--check", action="store_true",
                        help=f"write nothing; exit {EXIT_INVALID} listing each file a render would change, add "
                        "or remove, 0 when DIR is up to date (for CI on a committed render)")


def run(args: argparse.Namespace) -> int:
    from ...artifacts.files import BlockedPaths, render_files, write_tree
    from ...artifacts.gitops import gitops_files
    from ...diagnostics import diagnostic
    from ...formats.diagnostics import to_text

    mesh, _ = checked_mesh(args.spec, "nothing checked" if args.check else "nothing rendered")
    if mesh is None:
        return EXIT_INVALID
    require_folder_or_absent(args.out)
    files = {**render_files(mesh), **gitops_files(mesh)}
    if args.check:
        return check(files, args.out, args.spec)
    try:
        counts = write_tree(files, args.out)
    except BlockedPaths as exc:
        sys.stderr.write(to_text(diagnostic("render-blocked", b.reason, b.path) for b in exc.blocked))
        print(f"{args.out}: {len(exc.blocked)} paths in the way; nothing rendered", file=sys.stderr)
        return EXIT_INVALID
    print(f"rendered {len(mesh.services)} services for {len(mesh.clusters)} clusters into {args.out}/ "
          f"({counts['written']} written, {counts['unchanged']} unchanged, {counts['removed']} stale removed)")
    return EXIT_OK


def check(files, out: str, spec: str) -> int:
    """--check: one line per file that differs, then a summary; exit 1 when anything differs."""
    from ...artifacts.files import plan_tree

    changes = plan_tree(files, out)
    total = sum(len(c) for c in files.values())
    if not changes:
        print(f"{out}/ is up to date: {total} files are what `meshspec render` writes")
        return EXIT_OK
    for label, paths in (("changed", changes.changed), ("new", changes.added), ("removed", changes.removed),
                         ("blocked", changes.blocked)):
        for path in paths:
            print(f"{label:<8} {out.rstrip('/')}/{path}")
    print(f"{out}/ is out of date: {len(changes.changed)} changed, {len(changes.added)} new, "
          f"{len(changes.removed)} removed; run `meshspec render {spec} -o {out}` and commit the result",
          file=sys.stderr)
    return EXIT_INVALID
