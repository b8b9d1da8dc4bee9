"""meshspec simulate STATE_DIR: what Cilium's datapath does with an observed cluster state."""

from __future__ import annotations

import argparse
import sys

from ..command import UsageError, leave_for_exit
from ..status import EXIT_INVALID, EXIT_OK

# Below this much state, forking costs more than it saves (10 clusters x 1,000 Services are 40 MB).
AUTO_JOBS_BYTES = 16 << 20
MAX_AUTO_JOBS = 4
# How much more work this process takes than each child, since it does not pickle its part and bring it
# back (measured at 100 clusters: the pickle costs a child 15% of its reading; its routed text, 10%).
READ_FIRST_SHARE = 1.15
WRITE_FIRST_SHARE = 1.1


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
    parser.add_argument("--jobs", metavar="N", type=_jobs, default=None,
                        help="processes to read the state and route its Services in (Linux; the output is the same "
                        f"whatever N is). Default: one per usable CPU, at most {MAX_AUTO_JOBS}, when the state's "
                        f"files hold over {AUTO_JOBS_BYTES >> 20} MB; 1: this process alone")


def run(args: argparse.Namespace) -> int:
    from ...analysis.simulate import routed, running_versions, selected
    from ...analysis.state import StateError, load_state
    from ...cilium.versions import DEFAULT_VERSION
    from ...diagnostics import has_errors
    from ...formats.diagnostics import to_text
    from ...formats.routing import SIMULATE_JSON, SIMULATE_TEXT

    version = _version(args.cilium_version or DEFAULT_VERSION)
    split = _Split(args.jobs)
    try:
        state, diagnostics = load_state(args.state, read=split.read_clusters)
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
    layout = SIMULATE_JSON if args.format == "json" else SIMULATE_TEXT
    split.write(layout, str(version), services,
                lambda group: routed(group, observers, version, args.left_out, versions))
    leave_for_exit(state, services)
    return EXIT_OK


class _Split:
    """How simulate shares its work between processes (adapters/processes.py): the cluster folders are read
    in contiguous groups of about equal bytes, then the Services routed and written in contiguous runs, the
    first run printed as it is routed and the others' text, routed meanwhile in children, after it."""

    def __init__(self, jobs: int | None):
        self.jobs = jobs
        self.parts = 1  # decided when the state's size is known

    def read_clusters(self, state_dir: str, clusters):
        """analysis.state.read_clusters, in groups of about equal bytes when the work is split."""
        from ...analysis.state import read_clusters, state_bytes

        weights = [] if self.jobs == 1 else [state_bytes(state_dir, c) for c in clusters]
        self.parts = self.jobs or (_auto_jobs() if sum(weights) > AUTO_JOBS_BYTES else 1)
        if self.parts == 1 or len(clusters) < 2:
            return read_clusters(state_dir, clusters)
        from ...adapters.processes import map_groups, split

        groups = split(clusters, weights, self.parts, READ_FIRST_SHARE)
        return map_groups(lambda group: read_clusters(state_dir, group), groups)

    def write(self, layout, version: str, services, route) -> None:
        out = sys.stdout
        out.write(layout.head(version))
        if self.parts == 1 or len(services) < 2:
            _write_body(layout, route(services), out.write)
        else:
            self._write_split(layout, services, route, out)
        out.write(layout.tail)

    def _write_split(self, layout, services, route, out) -> None:
        from ...adapters.processes import ForkedText, split

        # A Service costs about as much as it has copies to route (observers times frontends aside).
        first, *others = split(services, [len(copies) for _, copies in services], self.parts, WRITE_FIRST_SHARE)
        children = [ForkedText(lambda write, group=group: _write_body(layout, route(group), write), out)
                    for group in others]
        try:
            _write_body(layout, route(first), out.write)  # printed as it is routed, as with one process
            for child in children:
                out.write(layout.separator)
                child.write_to(out)
        finally:
            for child in children:
                child.close()


def _auto_jobs() -> int:
    from ...adapters.processes import usable_cpus

    return min(usable_cpus(), MAX_AUTO_JOBS)


def _write_body(layout, routes, write) -> None:
    for chunk in layout.body(routes):
        write(chunk)


def _jobs(text: str) -> int:
    try:
        jobs = int(text)
    except ValueError:
        jobs = 0
    if jobs < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of processes (1 or more)")
    return jobs


def _version(text: str):
    from ...cilium.versions import VersionError, parse_version

    try:
        return parse_version(text)
    except VersionError as exc:
        raise UsageError(f"--cilium-version: {exc}") from None


def _filters(args: argparse.Namespace) -> str:
    parts = [f"--namespace {ns}" for ns in args.namespace] + (["--global-only"] if args.global_only else [])
    return " ".join(parts) or "(no filter)"
