"""meshspec simulate STATE_DIR: what Cilium's datapath does with an observed cluster state."""

from __future__ import annotations

import argparse
import sys

from ..command import UsageError
from ..status import EXIT_INVALID, EXIT_OK


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("state", metavar="STATE_DIR",
                        help="one folder per cluster (named after it) of Service and EndpointSlice YAML/JSON")
    parser.add_argument("--cilium-version", metavar="V", default=None,
                        help="the Cilium version to model in every cluster (1.14 to 1.20); without it each cluster "
                        "whose folder has the cilium DaemonSet (verify --dump writes it) is modelled with the "
                        "version of its image tag, the others with 1.20")
    parser.add_argument("--observer", metavar="CLUSTER", help="show only what clients in CLUSTER get")
    parser.add_argument("--namespace", metavar="NS", action="append", default=[],
                        help="show only the Services in namespace NS; repeatable")
    parser.add_argument("--global-only", action="store_true",
                        help="show only global Services (service.cilium.io/global in at least one cluster)")
    parser.add_argument("--left-out", action="store_true",
                        help="also list, per frontend, every endpoint new connections do not reach, with the reason "
                        "(not ready, terminating, not shared, port name mismatch, affinity, duplicate IP, ...)")
    parser.add_argument("--format", choices=("text", "json"), default="text", help="output format (default text)")


def run(args: argparse.Namespace) -> int:
    from ...analysis.simulate import routed, running_versions, selected
    from ...analysis.state import StateError, load_state
    from ...cilium.versions import DEFAULT_VERSION
    from ...diagnostics import has_errors
    from ...formats.diagnostics import to_text
    from ...formats.routing import simulate_json_chunks, simulate_text_chunks

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
    services = selected(state, set(args.namespace), args.global_only)
    if not services:
        print(f"{args.state}: no Service matches {_filters(args)}; found {len(state.services)} Services",
              file=sys.stderr)
    observers = [args.observer] if args.observer else list(state.clusters)
    versions = {} if args.cilium_version else running_versions(state)
    for cluster, running in sorted(versions.items()):
        if cluster in observers and running.minor_version != version.minor_version:
            print(f"{cluster} runs Cilium {running} (its cilium DaemonSet's image {state.cilium_images[cluster]}): "
                  "its clients are routed with that version", file=sys.stderr)
    chunks = simulate_json_chunks if args.format == "json" else simulate_text_chunks
    # Printed as each Service is routed: at 100 clusters the whole output is 336 MB.
    for chunk in chunks(str(version), routed(services, observers, version, args.left_out, versions)):
        sys.stdout.write(chunk)
    return EXIT_OK


def _version(text: str):
    from ...cilium.versions import VersionError, parse_version

    try:
        return parse_version(text)
    except VersionError as exc:
        raise UsageError(f"--cilium-version: {exc}") from None


def _filters(args: argparse.Namespace) -> str:
    parts = [f"--namespace {ns}" for ns in args.namespace] + (["--global-only"] if args.global_only else [])
    return " ".join(parts) or "(no filter)"
