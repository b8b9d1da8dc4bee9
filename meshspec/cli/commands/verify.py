"""meshspec verify SPEC: the live clusters against the spec, read-only: drift, parity, Cilium, routing."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Sequence

from ...diagnostics import Diagnostic
from ...spec.model import Mesh
from ..command import UsageError, add_cluster_options, checked_mesh, require_folder_or_absent
from ..status import EXIT_INVALID, EXIT_OK, EXIT_UNREACHABLE


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    parser.add_argument("--stacks", metavar="DIR", help="check only the clusters deployed by the Pulumi stacks in "
                        "DIR (a Pulumi project folder, or its stackConfigDir)")
    parser.add_argument("--context", metavar="CLUSTER=CONTEXT", action="append", default=[],
                        help="kubeconfig context for CLUSTER (default: the spec's clusters[].context); repeatable")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    parser.add_argument("--dump", metavar="DIR", help="also write the observed objects to DIR/<cluster>/, as "
                        "`meshspec simulate` reads them (Secrets are never read)")
    add_cluster_options(parser, "queried")


def run(args: argparse.Namespace) -> int:
    from ...adapters.live import missing_kubeconfig, observe_all, write_dump
    from ...analysis.verify import keeper, verify
    from ...formats.diagnostics import to_text
    from ...formats.verify import count, report_json, report_text
    from ...k8s.observed import Target
    from ..progress import ProgressLines

    mesh, diagnostics = checked_mesh(args.spec, "nothing verified")
    if mesh is None:
        return EXIT_INVALID
    if args.dump:
        require_folder_or_absent(args.dump, "--dump")
    contexts = parse_contexts(mesh, args.context)
    selected = None
    if args.stacks:
        selected, stack_diagnostics = stack_clusters(mesh, args.spec, args.stacks)
        sys.stderr.write(to_text(d for d in stack_diagnostics if d not in diagnostics))
    targets = [Target(c.name, contexts.get(c.name, c.context)) for c in mesh.clusters
               if selected is None or c.name in selected]
    no_kubeconfig = missing_kubeconfig([t.context for t in targets])
    if no_kubeconfig:
        raise UsageError(no_kubeconfig)
    progress = ProgressLines([t.cluster for t in targets], sys.stderr)
    try:
        namespaces = sorted({s.namespace for s in mesh.services} | {mesh.cilium.namespace})
        results = observe_all(targets, keeper(mesh), namespaces, mesh.cilium.namespace, timeout=args.timeout,
                              concurrency=args.concurrency, progress=progress,
                              mcs=mesh.cilium.mcsapi or any(s.mcs for s in mesh.services))
    finally:
        progress.close()
    report = verify(mesh, results)
    if args.dump:
        from ...artifacts.files import BlockedPaths

        try:
            written = write_dump(args.dump, results.values())
        except BlockedPaths as exc:
            raise UsageError(f"--dump {args.dump}: nothing written, because meshspec writes only over files an "
                             "earlier dump wrote: " + "; ".join(f"{b.path}: {b.reason}" for b in exc.blocked)) from None
        print(f"wrote {len(written)} files to {args.dump}/ (read them with `meshspec simulate {args.dump}`)",
              file=sys.stderr)
    sys.stdout.write(report_json(report) if args.format == "json" else report_text(report))
    print(f"verify: {count(len(targets), 'cluster')} checked, {count(len(report.problems), 'problem')}, "
          f"{len(report.unreachable)} unreachable", file=sys.stderr)
    return exit_code(report)


def exit_code(report) -> int:
    """0 all well, 1 problems, 4 a cluster unreachable (the others were still checked)."""
    return EXIT_UNREACHABLE if report.unreachable else EXIT_INVALID if report.problems else EXIT_OK


def parse_contexts(mesh: Mesh, pairs: Sequence[str]) -> dict[str, str]:
    """--context CLUSTER=CONTEXT, repeated -> {cluster: context}."""
    known = [c.name for c in mesh.clusters]
    contexts = {}
    for text in pairs:
        cluster, sep, context = text.partition("=")
        if not (sep and cluster and context):
            raise UsageError(f"--context {text}: write CLUSTER=CONTEXT")
        if cluster not in known:
            raise UsageError(f"--context {text}: unknown cluster {cluster!r}; the mesh has {', '.join(known)}")
        contexts[cluster] = context
    return contexts


def stack_clusters(mesh: Mesh, spec: str, folder: str) -> tuple[set[str], list[Diagnostic]]:
    """The clusters that the stacks in `folder` (a Pulumi project folder or its stackConfigDir) deploy
    from `spec`, as `pulumi up` would (stacks that only render to files deploy nothing), and the problems
    of those stack files."""
    from ...spec.load import LoadError
    from ...spec.project import PROJECT_FILES, deployed_clusters, find_project, stack_config_dir

    if not os.path.isdir(folder):
        raise UsageError(f"--stacks {folder}: no such folder")
    is_project = any(os.path.isfile(os.path.join(folder, name)) for name in PROJECT_FILES)
    project = folder if is_project else find_project(folder)
    try:
        if project is None or not os.path.samefile(stack_config_dir(project), folder) and not is_project:
            raise UsageError(f"--stacks {folder}: neither a Pulumi project folder nor its stackConfigDir")
        clusters, diagnostics = deployed_clusters(mesh, spec, project)
    except LoadError as exc:
        raise UsageError(f"--stacks {folder}: {exc.diagnostic.message}") from None
    if not clusters:
        raise UsageError(f"--stacks {folder}: no stack there deploys {spec}")
    return clusters, diagnostics
