"""meshspec import: the Services that run in the clusters (read-only, as verify reads them) or in a dump
folder -> a mesh spec that reproduces them. (`import` is a Python keyword, hence this module's name.)"""

from __future__ import annotations

import argparse
import os
import sys

from ..command import UsageError, add_cluster_options
from ..status import EXIT_INVALID, EXIT_OK, EXIT_UNREACHABLE


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--context", metavar="CONTEXT", action="append", default=[],
                        help="a kubeconfig context to read, one per cluster; repeatable (the clusters come out in "
                        "this order)")
    parser.add_argument("--kubeconfig", metavar="FILE", help="the kubeconfig file (default: KUBECONFIG, else "
                        "~/.kube/config)")
    parser.add_argument("--from", dest="from_dir", metavar="DIR", help="read a dump folder instead of clusters: "
                        "one folder per cluster, as `meshspec verify --dump` writes it")
    parser.add_argument("--namespace", metavar="NS", action="append", default=[],
                        help="import only Services of namespace NS; repeatable (default: every namespace)")
    parser.add_argument("--all", action="store_true", help="import every Service of the --namespace namespaces, "
                        "not only the global ones")
    parser.add_argument("--name", default="imported", help="the mesh's name, metadata.name (default imported)")
    parser.add_argument("--cilium-namespace", metavar="NS", default="kube-system",
                        help="where Cilium's cilium-config ConfigMap is (default kube-system)")
    parser.add_argument("-o", "--output", metavar="FILE", help="write the spec to FILE (default: stdout); only "
                        "over a file an earlier import wrote, unless --force")
    parser.add_argument("--force", action="store_true", help="with -o, replace a file import did not write "
                        "(never a symlink)")
    add_cluster_options(parser, "read")


def run(args: argparse.Namespace) -> int:
    from ...analysis.importing import import_mesh, is_valid_mesh_name

    if bool(args.context) == bool(args.from_dir):
        raise UsageError("give the clusters to read, --context CONTEXT (repeatable), or a dump folder, --from DIR")
    if args.all and not args.namespace:
        raise UsageError("--all imports every Service of the namespaces given: add --namespace NS")
    if not is_valid_mesh_name(args.name):
        raise UsageError(f"--name {args.name}: a mesh's name is a DNS-1123 label (lowercase letters, digits, '-')")
    repeated = sorted({c for c in args.context if args.context.count(c) > 1})
    if repeated:
        raise UsageError(f"--context {repeated[0]} is given twice; each context is one cluster")
    if args.output and os.path.isdir(args.output):
        raise UsageError(f"-o {args.output} is a folder; give the spec file to write")
    reads, origin = _from_dump(args) if args.from_dir else _from_clusters(args)
    if reads is None:
        return EXIT_UNREACHABLE
    imported = import_mesh(reads, name=args.name, namespaces=args.namespace, all_services=args.all)
    for warning in imported.warnings:
        print(f"meshspec import: {warning.text()}", file=sys.stderr)
    if not _valid(imported):
        return EXIT_INVALID
    text = imported.text(origin)
    from ...formats.diagnostics import count

    services = len(imported.document["spec"]["services"])
    summary = (f"import: {count(len(reads), 'cluster')}, {count(services, 'service')}, "
               f"{count(len(imported.warnings), 'warning')}")
    if args.output:
        _write(args.output, text.encode("utf-8"), args.force)
        print(f"{summary}; wrote {args.output} (next: meshspec validate {args.output})", file=sys.stderr)
    else:
        sys.stdout.write(text)
        print(summary, file=sys.stderr)
    return EXIT_OK


def _origin(kind: str, names: list[str], args: argparse.Namespace) -> str:
    what = "every Service" if args.all else "the global Services"
    where = f"namespaces {', '.join(args.namespace)}" if args.namespace else "every namespace"
    return f"{kind} {', '.join(names)} ({what} of {where})"


def _from_clusters(args: argparse.Namespace):
    """ClusterReads of every context, or None (having said why) when one is unreachable."""
    from ...adapters.live import missing_kubeconfig, observe_all
    from ...analysis.importing import ClusterRead
    from ...k8s.observed import Observed, Target
    from ..progress import ProgressLines

    if args.kubeconfig:
        if not os.path.isfile(args.kubeconfig):
            raise UsageError(f"--kubeconfig {args.kubeconfig}: no such file")
        os.environ["KUBECONFIG"] = args.kubeconfig  # what the client's loader reads (this process only)
    no_kubeconfig = missing_kubeconfig(args.context)
    if no_kubeconfig:
        raise UsageError(no_kubeconfig)
    targets = [Target(context, context) for context in args.context]
    wanted = set(args.namespace)
    namespaces = sorted(wanted | {args.cilium_namespace})
    progress = ProgressLines(args.context, sys.stderr)
    try:
        # Every Service of the namespaces asked for: a global Service's copy in a cluster where it is not
        # annotated is imported too (import_mesh selects). No EndpointSlices: a spec holds none.
        results = observe_all(targets, lambda obj: _keep(obj, wanted), namespaces, args.cilium_namespace,
                              timeout=args.timeout, concurrency=args.concurrency, progress=progress,
                              slices=False)
    finally:
        progress.close()
    unreachable = [r for r in results.values() if not isinstance(r, Observed)]
    for result in unreachable:
        print(f"meshspec import: context {result.context}: unreachable: {result.reason}", file=sys.stderr)
    if unreachable:
        print(f"import: {len(unreachable)} of {len(targets)} clusters unreachable; nothing written (a spec "
              "without them would misplace every Service)", file=sys.stderr)
        return None, ""
    reads = []
    for context in args.context:
        result = results[context]
        if result.namespaces is not None:
            print(f"meshspec import: context {context}: warning: listing Services in every namespace is "
                  f"forbidden: read {', '.join(result.namespaces)} only [import-skipped]", file=sys.stderr)
        reads.append(ClusterRead(context, result.services, result.cilium_config, result.cilium_config_error,
                                 result.cilium_image))
    return reads, _origin("contexts", args.context, args)


def _keep(obj: dict, namespaces: set[str]) -> bool:
    from ...k8s.observed import object_key

    return not namespaces or object_key(obj)[0] in namespaces


def _from_dump(args: argparse.Namespace):
    from ...analysis.importing import ClusterRead
    from ...analysis.state import StateError, load_objects
    from ...formats.diagnostics import to_text

    try:
        folders, diagnostics = load_objects(args.from_dir)
    except StateError as exc:
        raise UsageError(f"--from {exc}") from None
    sys.stderr.write(to_text(diagnostics))
    reads = [ClusterRead(f.cluster, f.services, f.cilium_config, f.cilium_config_error) for f in folders]
    return reads, _origin("the dump folder", [args.from_dir], args)


def _valid(imported) -> bool:
    """The spec validates: import's own promise (a failure here is a bug, reported as such)."""
    from ...diagnostics import has_errors
    from ...formats.diagnostics import to_text

    if has_errors(imported.diagnostics):
        sys.stderr.write(to_text(imported.diagnostics))
        print("import: the imported spec does not validate, which is a bug in meshspec; nothing written",
              file=sys.stderr)
        return False
    return True


def _write(path: str, content: bytes, force: bool) -> None:
    from ...analysis.importing import HEADER
    from ...artifacts.files import plan_file, write_file

    why = plan_file(path, content, HEADER, force)
    if why is not None:
        raise UsageError(f"-o {path}: nothing written: {why}")
    write_file(path, content)
