"""The `meshspec` command: argument parsing, output and exit codes; the work happens in the modules.

Exit codes: 0 success (warnings allowed), 1 invalid input, 2 usage error, 3 a `diff --fail-on` condition
matched, 4 a cluster unreachable (verify).
Imports stay lazy so that `meshspec validate` starts fast; pulumi is never imported here.
"""

from __future__ import annotations

import argparse
import gc
import os
import sys
from typing import Sequence

EXIT_OK, EXIT_INVALID, EXIT_USAGE, EXIT_GATE, EXIT_INTERNAL = 0, 1, 2, 3, 70


class UsageError(Exception):
    pass


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="meshspec",
        description="Cilium Cluster Mesh global services as code: validate a mesh spec, render identical "
                    "Services and Cilium values for every cluster, see what traffic will do, review changes and "
                    "verify live clusters.")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    validate = commands.add_parser("validate", help="check a mesh spec and report every problem with its location")
    validate.add_argument("specs", metavar="SPEC", nargs="+", help="mesh spec files (YAML); each is checked")
    validate.add_argument("--format", choices=("text", "json", "github", "sarif"), default="text",
                          help="text (default), json, github (workflow annotations) or sarif (2.1.0)")
    validate.set_defaults(run=cmd_validate)

    render = commands.add_parser("render", help="validate, then write one folder of manifests per cluster")
    render.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    render.add_argument("-o", "--out", metavar="DIR", required=True,
                        help="output folder; DIR/<cluster>/ gets one file per object and a kustomization.yaml")
    render.set_defaults(run=cmd_render)

    stacks = commands.add_parser("stacks", help="write one Pulumi stack file per cluster; files you edited are left alone")
    stacks.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    stacks.add_argument("--out", metavar="DIR", help="where to write (default: the Pulumi project's stackConfigDir)")
    stacks.set_defaults(run=cmd_stacks)

    explain = commands.add_parser("explain", help="which clusters serve each client cluster, and what failover does")
    explain.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    explain.add_argument("--down", metavar="CLUSTER[:NAMESPACE/NAME]", action="append", default=[],
                         help="assume CLUSTER has no ready pods (for every service, or one); repeatable")
    explain.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    explain.set_defaults(run=cmd_explain)

    simulate = commands.add_parser("simulate", help="what Cilium's datapath does with an observed cluster state")
    simulate.add_argument("state", metavar="STATE_DIR",
                          help="one folder per cluster (named after it) of Service and EndpointSlice YAML/JSON")
    simulate.add_argument("--cilium-version", metavar="V", default=None,
                          help="the Cilium version to model (default 1.20; 1.14 to 1.20)")
    simulate.add_argument("--observer", metavar="CLUSTER", help="show only what clients in CLUSTER get")
    simulate.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    simulate.set_defaults(run=cmd_simulate)

    diff = commands.add_parser(
        "diff", help="what a spec change does: objects per cluster, traffic before and after, risks",
        description="Compare two mesh specs. OLD and NEW are spec files, or git:REV:PATH (read with "
                    "`git show REV:PATH`, e.g. git:origin/main:examples/mesh.yaml). Exit codes: 0 compared, "
                    "1 a spec is invalid, 2 usage error, 3 --fail-on matched.")
    diff.add_argument("old", metavar="OLD", help="the spec before the change: a file, or git:REV:PATH")
    diff.add_argument("new", metavar="NEW", help="the spec after the change: a file, or git:REV:PATH")
    diff.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                      help="text (default), markdown (a pull-request comment) or json")
    diff.add_argument("--fail-on", choices=("risk", "change"), default=None,
                      help=f"exit {EXIT_GATE} when there is a risk, or when anything differs")
    diff.set_defaults(run=cmd_diff)

    verify = commands.add_parser(
        "verify", help="check the live clusters against the spec, read-only: drift, parity, Cilium, routing")
    verify.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    verify.add_argument("--stacks", metavar="DIR", help="check only the clusters deployed by the Pulumi stacks in "
                        "DIR (a Pulumi project folder, or its stackConfigDir)")
    verify.add_argument("--context", metavar="CLUSTER=CONTEXT", action="append", default=[],
                        help="kubeconfig context for CLUSTER (default: the spec's clusters[].context); repeatable")
    verify.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")
    verify.add_argument("--dump", metavar="DIR", help="also write the observed objects to DIR/<cluster>/, as "
                        "`meshspec simulate` reads them (Secrets are never read)")
    verify.add_argument("--timeout", metavar="SECONDS", type=_positive(float), default=10.0,
                        help="per cluster (default 10)")
    verify.add_argument("--concurrency", metavar="N", type=_positive(int), default=8,
                        help="clusters queried at once (default 8)")
    verify.set_defaults(run=cmd_verify)
    return parser


def _positive(kind: type):
    def parse(text: str):
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if value <= 0:
            raise argparse.ArgumentTypeError(f"{text} must be above 0")
        return value
    return parse


# diff and verify are imported only when they run: they cost 60 ms, which every other command would pay.
def cmd_diff(args: argparse.Namespace) -> int:
    from .diff import cmd_diff

    return cmd_diff(args)


def cmd_verify(args: argparse.Namespace) -> int:
    from .verify import cmd_verify

    return cmd_verify(args)


def cmd_validate(args: argparse.Namespace) -> int:
    from . import __version__
    from .diagnostics import has_errors, summary, to_json, to_text
    from .reports import to_github, to_sarif

    for spec in args.specs:  # every file exists before any output, so a usage error prints nothing else
        _require_file(spec)
    results = [(spec, *_check(spec)) for spec in args.specs]
    diagnostics = [d for _, _, found in results for d in found]
    formats = {"json": to_json, "github": to_github, "sarif": lambda ds: to_sarif(ds, __version__)}
    sys.stdout.write(formats.get(args.format, to_text)(diagnostics))
    if args.format != "json":
        for spec, mesh, found in results:
            extra = f" ({len(mesh.clusters)} clusters, {len(mesh.services)} services)" if mesh else ""
            print(summary(spec, found) + extra, file=sys.stderr)
    return EXIT_INVALID if has_errors(diagnostics) else EXIT_OK


def cmd_stacks(args: argparse.Namespace) -> int:
    from .diagnostics import to_text
    from .load import LoadError
    from .stacks import find_project, format_report, plan_stacks, spec_path_in_project, stack_config_dir, write_stacks

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
    if os.path.exists(out) and not os.path.isdir(out):
        raise UsageError(f"{out} exists and is not a folder")
    out = os.path.relpath(out)
    report = write_stacks(plan_stacks(mesh, spec_path_in_project(args.spec, project)), out)
    sys.stdout.write(format_report(report, out))
    print(f"stack files for {len(mesh.clusters)} clusters in {out}/: {len(report.created)} created, "
          f"{len(report.updated)} updated, {len(report.unchanged)} unchanged, {len(report.kept)} kept")
    return EXIT_OK


def cmd_render(args: argparse.Namespace) -> int:
    from .output import render_files, write_tree

    mesh, _ = checked_mesh(args.spec, "nothing rendered")
    if mesh is None:
        return EXIT_INVALID
    if os.path.exists(args.out) and not os.path.isdir(args.out):
        raise UsageError(f"{args.out} exists and is not a folder")
    counts = write_tree(render_files(mesh), args.out)
    print(f"rendered {len(mesh.services)} services for {len(mesh.clusters)} clusters into {args.out}/ "
          f"({counts['written']} written, {counts['unchanged']} unchanged, {counts['removed']} stale removed)")
    return EXIT_OK


def cmd_explain(args: argparse.Namespace) -> int:
    from .cilium import parse_version
    from .explain import explain
    from .present import explain_json, explain_text

    mesh, _ = checked_mesh(args.spec, "nothing explained")
    if mesh is None:
        return EXIT_INVALID
    down = [_parse_down(text, mesh) for text in args.down]
    explanations = explain(mesh, parse_version(mesh.cilium.version), down)
    if args.format == "json":
        sys.stdout.write(explain_json(explanations))
    else:
        sys.stdout.write(explain_text(explanations, [c.name for c in mesh.clusters]))
    return EXIT_OK


def cmd_simulate(args: argparse.Namespace) -> int:
    from .cilium import DEFAULT_VERSION
    from .diagnostics import has_errors, to_text
    from .present import simulate_json, simulate_text
    from .routing import route_service
    from .state import StateError, load_state

    version = _version(args.cilium_version or DEFAULT_VERSION)
    try:
        state, diagnostics = load_state(args.state)
    except StateError as exc:
        raise UsageError(str(exc)) from None
    sys.stderr.write(to_text(diagnostics))
    if has_errors(diagnostics):
        print(f"{args.state}: the state has errors; nothing simulated", file=sys.stderr)
        return EXIT_INVALID
    if args.observer and args.observer not in state.clusters:
        raise UsageError(f"--observer {args.observer}: no such cluster folder; found {', '.join(state.clusters)}")
    observers = [args.observer] if args.observer else list(state.clusters)
    routes = [(ns, name, route_service(copies, observers, version)) for (ns, name), copies in state.services.items()]
    render = simulate_json if args.format == "json" else simulate_text
    sys.stdout.write(render(str(version), routes))
    return EXIT_OK


def _version(text: str):
    from .cilium import VersionError, parse_version

    try:
        return parse_version(text)
    except VersionError as exc:
        raise UsageError(f"--cilium-version: {exc}") from None


def _parse_down(text: str, mesh):
    from .explain import Down

    cluster, _, service = text.partition(":")
    if cluster not in [c.name for c in mesh.clusters]:
        raise UsageError(f"--down {text}: unknown cluster {cluster!r}; the mesh has "
                         f"{', '.join(c.name for c in mesh.clusters)}")
    if service and service not in [s.key for s in mesh.services]:
        raise UsageError(f"--down {text}: the spec has no service {service!r} (write NAMESPACE/NAME)")
    return Down(cluster, service or None)


def checked_mesh(spec: str, nothing_done: str):
    """(Mesh, diagnostics) with the diagnostics printed to stderr; the Mesh is None when the spec is
    invalid, and then the summary says what was not done."""
    from .diagnostics import summary, to_text

    mesh, diagnostics = _check(spec)
    sys.stderr.write(to_text(diagnostics))
    if mesh is None:
        print(f"{summary(spec, diagnostics)}; {nothing_done}", file=sys.stderr)
    return mesh, diagnostics


def _require_file(spec: str) -> None:
    if not os.path.exists(spec):
        raise UsageError(f"{spec}: no such file")
    if os.path.isdir(spec):
        raise UsageError(f"{spec} is a folder; give the mesh spec file")


def _check(spec: str):
    """Validate the spec, and the Pulumi stacks that deploy it, if any."""
    _require_file(spec)
    from .diagnostics import has_errors, unique_sorted
    from .stacks import check_stack_coverage
    from .validate import check_file

    mesh, diagnostics = check_file(spec)
    if mesh is not None:
        diagnostics = unique_sorted(diagnostics + check_stack_coverage(mesh, spec))
        if has_errors(diagnostics):
            mesh = None
    return mesh, diagnostics


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)  # exits 2 on usage errors
    # meshspec builds large trees of small objects and few cycles: the cyclic GC spent up to 70% of large
    # runs walking them, for nothing. A command is short-lived; the GC is back on when it returns.
    gc.disable()
    try:
        return args.run(args)
    except UsageError as exc:
        print(f"meshspec {args.command}: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return EXIT_OK
    except Exception as exc:  # a bug in meshspec: say so plainly, keep the traceback for those who ask
        if os.environ.get("MESHSPEC_DEBUG"):
            raise
        print(f"meshspec {args.command}: internal error: {type(exc).__name__}: {exc}\n"
              "This is a bug in meshspec; rerun with MESHSPEC_DEBUG=1 for the traceback and report it.",
              file=sys.stderr)
        return EXIT_INTERNAL
    finally:
        gc.enable()


if __name__ == "__main__":
    sys.exit(main())
