"""meshspec stacks SPEC: one Pulumi stack file per cluster; files the user edited are left alone. With
--list, the stacks that deploy SPEC instead (CI builds its job matrix from it)."""

from __future__ import annotations

import argparse
import json
import os
import sys

from ..command import UsageError, checked_mesh, require_folder_or_absent
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    parser.add_argument("--out", metavar="DIR", help="where to write (default: the Pulumi project's stackConfigDir)")
    parser.add_argument("--list", action="store_true", help="write nothing; list the stacks whose `pulumi up` "
                        "deploys SPEC to clusters (not the ones with meshspec:renderDir)")
    parser.add_argument("--format", choices=("text", "json"), default="text",
                        help="with --list: text (a stack and its clusters per line) or json (an array of stack "
                        "names, for a CI matrix)")


def run(args: argparse.Namespace) -> int:
    from ...artifacts.stacks import format_report, plan_stacks, spec_path_in_project, write_stacks
    from ...formats.diagnostics import to_text
    from ...spec.load import LoadError
    from ...spec.project import find_project, stack_config_dir

    mesh, _ = checked_mesh(args.spec, "no stacks listed" if args.list else "no stack files written")
    if mesh is None:
        return EXIT_INVALID
    project = find_project(os.path.dirname(os.path.abspath(args.spec)))
    if project is None:
        raise UsageError(f"no Pulumi.yaml at or above {args.spec}; meshspec:spec is a path from the Pulumi project folder")
    try:
        if args.list:
            return list_stacks(mesh, args.spec, project, args.format)
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


def list_stacks(mesh, spec: str, project: str, format: str) -> int:
    from ...spec.project import deploying_stacks

    # The stack files' problems are validate's to report (check_spec already printed any errors).
    deploying, _ = deploying_stacks(mesh, spec, project)
    if format == "json":
        print(json.dumps([name for name, _ in deploying]))
    else:
        for name, clusters in deploying:
            print(f"{name}: {', '.join(clusters)}")
    if not deploying:
        print(f"no stack deploys {spec}; `meshspec stacks {spec}` writes one per cluster", file=sys.stderr)
    return EXIT_OK
