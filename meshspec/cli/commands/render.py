"""meshspec render SPEC -o DIR: validate, then write one folder of manifests per cluster."""

from __future__ import annotations

import argparse
import sys

from ..command import checked_mesh, require_folder_or_absent
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    parser.add_argument("-o", "--out", metavar="DIR", required=True,
                        help="output folder; DIR/<cluster>/ gets one file per object and a kustomization.yaml")


def run(args: argparse.Namespace) -> int:
    from ...artifacts.files import BlockedPaths, render_files, write_tree
    from ...diagnostics import diagnostic
    from ...formats.diagnostics import to_text

    mesh, _ = checked_mesh(args.spec, "nothing rendered")
    if mesh is None:
        return EXIT_INVALID
    require_folder_or_absent(args.out)
    try:
        counts = write_tree(render_files(mesh), args.out)
    except BlockedPaths as exc:
        sys.stderr.write(to_text(diagnostic("render-blocked", b.reason, b.path) for b in exc.blocked))
        print(f"{args.out}: {len(exc.blocked)} paths in the way; nothing rendered", file=sys.stderr)
        return EXIT_INVALID
    print(f"rendered {len(mesh.services)} services for {len(mesh.clusters)} clusters into {args.out}/ "
          f"({counts['written']} written, {counts['unchanged']} unchanged, {counts['removed']} stale removed)")
    return EXIT_OK
