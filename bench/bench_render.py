"""meshspec end-to-end benchmark against the PyYAML C-emitter floor.

    /tmp/venv/bin/python bench/bench_render.py            # 100 clusters x 1,000 services
    /tmp/venv/bin/python bench/bench_render.py --quick    # 10 x 100, a few seconds

Not a pytest test. See bench/README.md for what each number means.

Every measurement that matters runs in a fresh Python process (this script
re-invoked with --child), so timings are cold-cache for meshspec's own lazy
state and the peak RSS reported is that of one meshspec run alone.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import default_scratch_dir, describe, fs_type  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
EXAMPLE = os.path.join(REPO, "examples", "mesh.yaml")
TARGET_RATIO = 1.5
TARGET_RSS_MB = 1024
TARGET_CLI_VALIDATE_S = 0.3

# The options meshspec.output.to_yaml uses, so the floor emits the same bytes per object.
DUMP_OPTS = dict(sort_keys=True, default_flow_style=False, allow_unicode=True, width=120)


# --- children: one measurement per fresh process ------------------------------------------------

def _maxrss_mb() -> float:
    # Linux reports ru_maxrss in KiB (macOS in bytes).
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


def child_meshspec(spec: str, out_dir: str) -> dict:
    """One meshspec run: load, validate (+ build the model), render to bytes, write the tree."""
    sys.path.insert(0, REPO)
    t = time.perf_counter()
    from meshspec.spec.load import load_file
    from meshspec.artifacts.files import KUSTOMIZATION, render_files, write_tree
    from meshspec.spec.check import check_document
    from meshspec.diagnostics import has_errors
    from meshspec.formats.diagnostics import to_text
    t_import = time.perf_counter() - t

    t0 = time.perf_counter()
    doc = load_file(spec)  # check_file(spec) == check_document(load_file(spec)); split to time each half
    t1 = time.perf_counter()
    mesh, diagnostics = check_document(doc)
    t2 = time.perf_counter()
    if mesh is None or has_errors(diagnostics):
        sys.stderr.write(to_text(diagnostics))
        raise SystemExit("the generated spec does not validate")
    files = render_files(mesh)
    t3 = time.perf_counter()
    counts = write_tree(files, out_dir)
    t4 = time.perf_counter()
    bare = out_dir + "-bare"
    t5 = time.perf_counter()
    _bare_write(files, bare)  # the same bytes, same layout, plain open/write: the file system's own cost
    t_bare = time.perf_counter() - t5
    n_files = sum(len(f) for f in files.values())
    n_bytes = sum(len(b) for f in files.values() for b in f.values())
    distinct = len({id(b) for f in files.values() for name, b in f.items() if name != KUSTOMIZATION})
    return {
        "import": t_import, "load": t1 - t0, "validate": t2 - t1, "render": t3 - t2, "write": t4 - t3,
        "bare_write": t_bare, "total": t4 - t0, "maxrss_mb": _maxrss_mb(), "files": n_files, "bytes": n_bytes,
        "distinct_contents": distinct, "written": counts["written"], "warnings": len(diagnostics),
        "clusters": len(mesh.clusters), "services": len(mesh.services),
    }


def _bare_write(files: dict, out_dir: str) -> None:
    for cluster, cluster_files in files.items():
        folder = os.path.join(out_dir, cluster)
        os.makedirs(folder)
        for name, content in cluster_files.items():
            with open(os.path.join(folder, name), "wb") as fh:
                fh.write(content)


def child_floor(spec: str, repeat: int, per_object_repeat: int) -> dict:
    """The floor: PyYAML's C emitter serializing the very Service dicts meshspec renders. Only dumps are timed."""
    sys.path.insert(0, REPO)
    import yaml
    from meshspec.artifacts.manifests import render_mesh, render_service
    from meshspec.spec.check import check_file

    dumper = getattr(yaml, "CSafeDumper", None)
    if dumper is None:
        raise SystemExit("PyYAML was built without libyaml: no C emitter, no floor to compare with")
    mesh, _ = check_file(spec)
    objects = [obj for per_cluster in render_mesh(mesh).values() for obj in per_cluster]

    def best(fn, n: int) -> tuple[list[float], int]:
        times, size = [], 0
        for _ in range(n):
            t = time.perf_counter()
            size = fn()
            times.append(time.perf_counter() - t)
        return times, size

    dump_all, all_bytes = best(lambda: len(yaml.dump_all(objects, Dumper=dumper, **DUMP_OPTS)), repeat)
    per_object, obj_bytes = best(lambda: sum(len(yaml.dump(o, Dumper=dumper, **DUMP_OPTS)) for o in objects),
                                 per_object_repeat)
    # What meshspec actually has to serialize: one copy per (Service, distinct placement).
    distinct: list[dict] = []
    for service in mesh.services:
        for placement in dict.fromkeys(service.placements.values()):
            distinct.append(render_service(service, placement))
    distinct_times, distinct_bytes = best(lambda: len(yaml.dump_all(distinct, Dumper=dumper, **DUMP_OPTS)), repeat)
    return {
        "objects": len(objects), "dump_all": dump_all, "dump_all_bytes": all_bytes,
        "per_object": per_object, "per_object_bytes": obj_bytes,
        "distinct_objects": len(distinct), "distinct_dump_all": distinct_times, "distinct_bytes": distinct_bytes,
        "maxrss_mb": _maxrss_mb(),
    }


def run_child(*args: str) -> dict:
    proc = subprocess.run([sys.executable, os.path.abspath(__file__), "--child", *args],
                          capture_output=True, text=True, cwd=REPO)
    if proc.returncode != 0:
        sys.stderr.write(proc.stderr)
        raise SystemExit(f"child {args[0]} failed with exit code {proc.returncode} (traceback above)")
    return json.loads(proc.stdout.strip().splitlines()[-1])


# --- CLI timings ------------------------------------------------------------------------------------

def time_cli(args: list[str], repeat: int, expect_rc: int = 0, before=None) -> list[float]:
    env = dict(os.environ, PYTHONPATH=REPO)
    times = []
    for _ in range(repeat):
        if before:
            before()
        t = time.perf_counter()
        proc = subprocess.run([sys.executable, *args], capture_output=True, text=True, cwd=REPO, env=env)
        times.append(time.perf_counter() - t)
        if proc.returncode != expect_rc:
            sys.stderr.write(proc.stdout + proc.stderr)
            raise SystemExit(f"{' '.join(args)} exited {proc.returncode}")
    return times


# --- report -----------------------------------------------------------------------------------------

def machine() -> str:
    import yaml
    return (describe() + f"; PyYAML {yaml.__version__} (libyaml: {getattr(yaml, '__with_libyaml__', False)}); "
            f"temp dir {tempfile.gettempdir()} on {fs_type(tempfile.gettempdir())}")


def _default_write_dir() -> str:
    return default_scratch_dir()


def fmt(times: list[float]) -> tuple[str, str]:
    return f"{min(times):.3f}", f"{statistics.median(times):.3f}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="meshspec end-to-end benchmark vs the PyYAML C-emitter floor")
    parser.add_argument("--clusters", type=int, default=100)
    parser.add_argument("--services", type=int, default=1000)
    parser.add_argument("--quick", action="store_true", help="10 clusters x 100 services")
    parser.add_argument("--repeat", type=int, default=3, help="runs per in-process measurement (best of N)")
    parser.add_argument("--per-object-repeat", type=int, default=1,
                        help="runs of the per-object yaml.dump floor variant (slow; default 1)")
    parser.add_argument("--cli-repeat", type=int, default=5, help="runs of `meshspec validate` on the example")
    parser.add_argument("--write-dir", metavar="DIR", default=_default_write_dir(),
                        help="where rendered trees are written (default: /dev/shm if it is a tmpfs, else the temp "
                             "dir); pass a disk-backed folder to include real disk I/O")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (spec and last rendered tree)")
    parser.add_argument("--json", metavar="FILE", help="also write every raw measurement here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "meshspec":
            result = child_meshspec(rest[0], rest[1])
        elif kind == "floor":
            result = child_floor(rest[0], int(rest[1]), int(rest[2]))
        else:
            raise SystemExit(f"unknown child {kind}")
        print(json.dumps(result))
        return 0

    if args.quick:
        args.clusters, args.services = 10, 100
    sys.path.insert(0, HERE)
    from generate import generate

    started = time.perf_counter()
    info = machine() + f"; rendered trees written to {args.write_dir} ({fs_type(args.write_dir)})"
    work = tempfile.mkdtemp(prefix="meshspec-bench-")
    outs = tempfile.mkdtemp(prefix="meshspec-bench-out-", dir=args.write_dir)
    try:
        spec = os.path.join(work, "mesh.yaml")
        text = generate(args.clusters, args.services)
        with open(spec, "w", encoding="utf-8") as fh:
            fh.write(text)
        print(f"spec: {args.clusters} clusters x {args.services} services, {len(text):,} bytes -> {spec}",
              file=sys.stderr)

        # a. meshspec end to end, one fresh process per run, each into a fresh output dir.
        runs = []
        for i in range(args.repeat):
            out = os.path.join(outs, f"out-{i}")
            runs.append(run_child("meshspec", spec, out))
            shutil.rmtree(out + "-bare")
            print(f"meshspec run {i + 1}/{args.repeat}: total {runs[-1]['total']:.3f} s, "
                  f"peak RSS {runs[-1]['maxrss_mb']:.0f} MB", file=sys.stderr)
            if not args.keep or i < args.repeat - 1:
                shutil.rmtree(out)

        # b. the floor, in its own process.
        print("floor: dumping every rendered Service with PyYAML's C emitter ...", file=sys.stderr)
        floor = run_child("floor", spec, str(args.repeat), str(args.per_object_repeat))

        # d. CLI wall times (include interpreter start-up and imports).
        cli_validate = time_cli(["-m", "meshspec", "validate", EXAMPLE], args.cli_repeat)
        startup = time_cli(["-c", "pass"], args.cli_repeat)
        cli_validate_big = time_cli(["-m", "meshspec", "validate", spec], 1)
        cli_out = os.path.join(outs, "cli-out")
        cli_render = time_cli(["-m", "meshspec", "render", spec, "-o", cli_out], 1,
                              before=lambda: shutil.rmtree(cli_out, ignore_errors=True))
        if not args.keep:
            shutil.rmtree(cli_out, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(outs, ignore_errors=True)
        else:
            print(f"kept {work} and {outs}", file=sys.stderr)

    keys = ("import", "load", "validate", "render", "write", "bare_write", "total", "maxrss_mb")
    col = {k: [r[k] for r in runs] for k in keys}
    floor_all, floor_each = min(floor["dump_all"]), min(floor["per_object"])
    floor_best = min(floor_all, floor_each)
    floor_name = "dump_all" if floor_all <= floor_each else "per-object dump"
    floor_med = statistics.median(floor["dump_all"] if floor_all <= floor_each else floor["per_object"])
    total_best, total_med = min(col["total"]), statistics.median(col["total"])
    ratio = total_best / floor_best
    distinct_floor = min(floor["distinct_dump_all"])
    peak = max(col["maxrss_mb"])
    r0 = runs[0]
    n = len(runs)

    def row(name, times, note):
        best, med = fmt(times)
        return f"| {name} | {best} | {med} | {note} |"

    lines = [
        f"### meshspec: {r0['clusters']} clusters x {r0['services']} services "
        f"({r0['files']:,} files, {r0['bytes'] / 1e6:.1f} MB)",
        "",
        f"Machine: {info}.",
        "",
        f"| Phase | Seconds (best of {n}) | Median | Notes |",
        "|---|---:|---:|---|",
        row("load", col["load"], f"`load_file`: read + compose with CSafeLoader + build dicts with positions "
                                 f"({len(text) / 1e3:.0f} kB spec)"),
        row("validate", col["validate"], "`check_document`: cerberus structure, Cilium/Kubernetes rules, "
                                         "build the model"),
        row("render", col["render"], f"`render_files`: {r0['distinct_contents']:,} distinct objects serialized "
                                     f"(one per Service x distinct placement), shared across {r0['files']:,} files"),
        row("write", col["write"], f"`write_tree` into a fresh dir on {fs_type(args.write_dir)} "
                                   f"({r0['written']:,} files written)"),
        row("(bare write, same files)", col["bare_write"], "plain `open`/`write` of the same bytes and layout: "
                                                            "the file system's share of `write`; not in the total"),
        row("**meshspec total**", col["total"], f"load + validate + render + write, in-process, imports excluded "
                                                f"(imports: {min(col['import']):.3f} s)"),
        row("floor: `yaml.dump_all`", floor["dump_all"], f"CSafeDumper, {floor['objects']:,} Service dicts from "
                                                          f"`render_mesh`, same options as meshspec, dump only "
                                                          f"({floor['dump_all_bytes'] / 1e6:.1f} MB)"),
        row("floor: per-object `yaml.dump`", floor["per_object"], f"same objects, one `yaml.dump` each "
                                                                  f"(best of {len(floor['per_object'])})"),
        f"| **ratio total / floor** | {ratio:.2f}x | {total_med / floor_med:.2f}x | target <= {TARGET_RATIO}x: "
        f"**{'met' if ratio <= TARGET_RATIO else 'NOT met'}** (floor = best {floor_name}) |",
        row("(distinct-object floor)", floor["distinct_dump_all"],
            f"`dump_all` of only the {floor['distinct_objects']:,} distinct objects meshspec serializes; "
            f"total / this = {total_best / distinct_floor:.1f}x"),
        f"| peak RSS, meshspec run | {peak:.0f} MB | {statistics.median(col['maxrss_mb']):.0f} MB | whole process "
        f"(interpreter + imports included), max over {n} runs; target < {TARGET_RSS_MB} MB: "
        f"**{'met' if peak < TARGET_RSS_MB else 'NOT met'}** |",
        row("CLI `meshspec validate examples/mesh.yaml`", cli_validate,
            f"wall, subprocess, best of {len(cli_validate)}; target < {TARGET_CLI_VALIDATE_S} s: "
            f"**{'met' if min(cli_validate) < TARGET_CLI_VALIDATE_S else 'NOT met'}** "
            f"(bare `python -c pass`: {min(startup):.3f} s)"),
        row("CLI `meshspec validate` (generated spec)", cli_validate_big, "wall, subprocess, 1 run"),
        row("CLI `meshspec render` (generated spec)", cli_render, "wall, subprocess, 1 run, into a fresh dir"),
        "",
        f"Benchmark wall time: {time.perf_counter() - started:.0f} s.",
    ]
    print("\n".join(lines))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "meshspec_runs": runs, "floor": floor, "cli_validate_example": cli_validate,
                       "python_startup": startup, "cli_validate_big": cli_validate_big, "cli_render_big": cli_render},
                      fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
