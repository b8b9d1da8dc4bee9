"""meshspec explain SPEC: which clusters serve each client cluster, and what failover does."""

from __future__ import annotations

import argparse
import sys

from ..command import UsageError, checked_mesh
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("spec", metavar="SPEC", help="the mesh spec (YAML)")
    parser.add_argument("--down", metavar="CLUSTER[:NAMESPACE/NAME]", action="append", default=[],
                        help="assume CLUSTER has no ready pods (for every service, or one); repeatable")
    parser.add_argument("--format", choices=("text", "json", "markdown"), default="text",
                        help="text (default), json, or markdown (a pull-request comment)")


def run(args: argparse.Namespace) -> int:
    from ...analysis.explain import explain
    from ...cilium.versions import parse_version
    from ...formats.routing import explain_json, explain_markdown, explain_text

    mesh, _ = checked_mesh(args.spec, "nothing explained")
    if mesh is None:
        return EXIT_INVALID
    down = [_parse_down(text, mesh) for text in args.down]
    explanations = explain(mesh, parse_version(mesh.cilium.version), down)
    if args.format == "json":
        sys.stdout.write(explain_json(explanations))
    elif args.format == "markdown":
        sys.stdout.write(explain_markdown(explanations, args.spec, mesh.cilium.version))
    else:
        sys.stdout.write(explain_text(explanations, [c.name for c in mesh.clusters]))
    return EXIT_OK


def _parse_down(text: str, mesh):
    from ...spec.routes import Down

    cluster, _, service = text.partition(":")
    if cluster not in [c.name for c in mesh.clusters]:
        raise UsageError(f"--down {text}: unknown cluster {cluster!r}; the mesh has "
                         f"{', '.join(c.name for c in mesh.clusters)}")
    if service and service not in [s.key for s in mesh.services]:
        raise UsageError(f"--down {text}: the spec has no service {service!r} (write NAMESPACE/NAME)")
    return Down(cluster, service or None)
