"""meshspec stacks SPEC: one Pulumi stack file per cluster; files the user edited are left alone."""

from __future__ import annotations

import argparse
import os
import sys

from ..command import UsageError, checked_mesh, require_folder_or_absent
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    parser.add_argument("--out", metavar="DIR", help="where to write (default: the Pulumi project's stackConfigDir)")


def run(args: argparse.Namespace) -> int:
    from ...artifacts.stacks import format_report, plan_stacks, spec_path_in_project, write_stacks
    from ...formats.diagnostics import to_text
    from ...spec.load import LoadError
    from ...spec.project import find_project, stack_config_dir

    mesh, _ = checked_mesh(args.spec, "no stack files written")
    if mesh is None:
        return EXIT_INVALID
    project = find_project(os.path.dirname(os.path.abspath(args.spec)))
    if project is None:
        raise UsageError(f"no Pulumi.yaml at or above {args.spec}; meshspec:spec is a path from the Pulumi project folder")
    try:
        out = args.out or stack_config_dir(project)
    except LoadError as exc:
        sys.stderr.write(to_text([exc.diagnostic]))
        return EXIT_INVALID
    require_folder_or_absent(out)
    out = os.path.relpath(out)
    report = write_stacks(plan_stacks(mesh, spec_path_in_project(args.spec, project)), out)
    sys.stdout.write(format_report(report, out))
    print(f"stack files for {len(mesh.clusters)} clusters in {out}/: {len(report.created)} created, "
          f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, {len(report.kept)} kept")
    return EXIT_OK
