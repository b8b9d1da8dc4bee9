"""How long `meshspec explain` and `meshspec simulate` take as the mesh grows.

    /tmp/venv/bin/python bench/bench_routing.py            # 10, 30 and 100 clusters x 1,000 services
    /tmp/venv/bin/python bench/bench_routing.py --quick    # 10 x 100, a few seconds

Not a pytest test. See bench/README.md ("Routing: explain and simulate") for what each number means.

For each size, a fresh Python process (this script re-invoked with --child) times each phase of
`explain` on a spec from bench/generate.py, and another one each phase of `simulate` on a STATE_DIR
from bench/generate_state.py. Every phase is the best of --repeat runs (the minimum), or one run when
that run alone takes more than --single-above seconds; a phase still running after --phase-timeout
seconds is stopped and reported as such. The cost per (cluster x service) pair shows whether a phase
grows linearly in clusters x services: then the figure stays flat from one size to the next.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from machine import default_scratch_dir, describe, fs_type  # noqa: E402
from typing import Any, Callable

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


# --- children: one workload per fresh process ---------------------------------------------------

class Stopped(Exception):
    pass


def _emit(event: dict) -> None:
    print(json.dumps(event), flush=True)


def _maxrss_mb() -> float:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024) if sys.platform == "darwin" else rss / 1024


class Phases:
    """Runs and reports one phase at a time: best of `repeat`, stopped after `timeout` seconds. Each run
    has the cyclic garbage collector off, as `meshspec` has it during a command (cli/main.py); how much of
    a run the collector still took (an explicit gc.collect, none expected) is recorded with gc.callbacks."""

    def __init__(self, repeat: int, single_above: float, timeout: float):
        self.repeat, self.single_above, self.timeout = repeat, single_above, timeout
        self._gc_started = 0.0
        self._in_gc = False
        self.gc_seconds = 0.0
        signal.signal(signal.SIGALRM, self._alarm)
        gc.callbacks.append(self._gc)

    def _alarm(self, signum, frame) -> None:
        # An exception raised inside a gc callback (or a __del__) is swallowed; the timer repeats every
        # 0.1 s after it first fires, so the next tick stops the phase.
        if not self._in_gc:
            raise Stopped()

    def _gc(self, phase: str, info: dict) -> None:
        if phase == "start":
            self._in_gc = True
            self._gc_started = time.perf_counter()
        else:
            self.gc_seconds += time.perf_counter() - self._gc_started
            self._in_gc = False

    def run(self, name: str, fn: Callable[[], Any], info: Callable[[Any], dict] = lambda r: {}) -> Any:
        """fn's result from the last run, or Stopped (the class) when it was stopped or ran out of memory."""
        times: list[float] = []
        cpu: list[float] = []  # user + sys of this process over the same run: what the noise of others spares
        gc_times: list[float] = []
        result = None
        _emit({"start": name})
        for _ in range(self.repeat):
            result = None  # let the previous run's result go before the next run
            gc.collect()
            self.gc_seconds = 0.0
            try:
                signal.setitimer(signal.ITIMER_REAL, self.timeout, 0.1)
                gc.disable()  # as the CLI runs a command
                t, c = time.perf_counter(), time.process_time()
                result = fn()
                times.append(time.perf_counter() - t)
                cpu.append(time.process_time() - c)
                gc.enable()
                signal.setitimer(signal.ITIMER_REAL, 0)
                gc_times.append(self.gc_seconds)
            except Stopped:
                gc.enable()
                signal.setitimer(signal.ITIMER_REAL, 0)
                _emit({"phase": name, "times": times, "gc": gc_times, "stopped": self.timeout,
                       "gc_before_stop": self.gc_seconds, "rss_mb": _maxrss_mb()})
                return Stopped
            except MemoryError:
                gc.enable()
                signal.setitimer(signal.ITIMER_REAL, 0)
                result = None
                gc.collect()
                _emit({"phase": name, "times": times, "gc": gc_times, "error": "MemoryError",
                       "rss_mb": _maxrss_mb()})
                return Stopped
            if times[-1] > self.single_above:
                break
        _emit({"phase": name, "times": times, "cpu": cpu, "gc": gc_times, "rss_mb": _maxrss_mb(), **info(result)})
        return result


def child_explain(spec: str, phases: Phases) -> None:
    sys.path.insert(0, REPO)
    from meshspec.cilium.versions import parse_version
    from meshspec.diagnostics import has_errors
    from meshspec.analysis.explain import explain
    from meshspec.formats.routing import explain_json, explain_text
    from meshspec.spec.check import check_file

    checked = phases.run("check_file", lambda: check_file(spec))
    if checked is Stopped:
        return
    mesh, diagnostics = checked
    if mesh is None or has_errors(diagnostics):
        raise SystemExit("the generated spec does not validate")
    # What `meshspec explain` does; older meshspec kept the version on the Mesh itself.
    version = parse_version(mesh.cilium.version if hasattr(mesh, "cilium") else mesh.cilium_version)
    clusters = [c.name for c in mesh.clusters]
    explanations = phases.run("explain", lambda: explain(mesh, version),
                              lambda r: {"services": len(r), "serving_entries": sum(
                                  len(s) for e in r for s in e.normal.values() if s)})
    if explanations is Stopped:
        return
    phases.run("explain_json", lambda: explain_json(explanations), lambda r: {"bytes": len(r.encode())})
    phases.run("explain_text", lambda: explain_text(explanations, clusters), lambda r: {"bytes": len(r.encode())})


def child_simulate(state_dir: str, spec: str, phases: Phases) -> None:
    sys.path.insert(0, REPO)
    from meshspec.cilium.versions import DEFAULT_VERSION, parse_version
    from meshspec.diagnostics import has_errors
    from meshspec.formats.routing import simulate_json
    from meshspec.cilium.routing import route_service
    from meshspec.analysis.state import load_state

    loaded = phases.run("load_state", lambda: load_state(state_dir),
                        lambda r: {"warnings": len(r[1]), "errors": sum(d.is_error for d in r[1])})
    if loaded is Stopped:
        # Measure the later phases anyway, on the same State built without reading files (not timed).
        state = _state_in_process(spec)
        _emit({"note": "state built in-process from the generated objects with meshspec.state.cluster_service"})
    else:
        state, diagnostics = loaded
        if has_errors(diagnostics):
            _emit({"note": f"load_state reported errors, e.g. {diagnostics[0].code}: {diagnostics[0].message}"})
            return
    del loaded
    version = parse_version(DEFAULT_VERSION)
    observers = list(state.clusters)

    def routing():  # what cmd_simulate does
        return [(ns, name, route_service(copies, observers, version)) for (ns, name), copies in state.services.items()]

    routes = phases.run("routing", routing, lambda r: {"services": len(r)})
    if routes is Stopped:
        return
    phases.run("simulate_json", lambda: simulate_json(str(version), routes), lambda r: {"bytes": len(r.encode())})
    codec_floors(version, routes, phases)


def codec_floors(version, routes, phases: Phases) -> None:
    """The output half of simulate's codec floor: one dump of the output's data with the encoder meshspec
    writes it with (orjson when installed, else json.dumps compact). Building the data is not timed."""
    from meshspec.formats import routing as formats

    payload = {"cilium_version": str(version), "services": [
        {"namespace": ns, "name": name, "observers": {c: formats.observer_json(v) for c, v in views.items()}}
        for ns, name, views in routes]}
    orjson = formats._orjson() if hasattr(formats, "_orjson") else None
    dump = orjson.dumps if orjson else lambda p: json.dumps(p, separators=(",", ":"))
    phases.run("floor_dumps", lambda: dump(payload), lambda r: {"bytes": len(r), "encoder": "orjson" if orjson
                                                                  else "json"})


def child_floor(state_dir: str, repeat: int) -> None:
    """The input half of simulate's codec floor: json.loads of every state file, one file at a time (as
    meshspec reads them), with the GC off; reading the files is not timed."""
    files = [os.path.join(state_dir, c, n) for c in sorted(os.listdir(state_dir))
             for n in sorted(os.listdir(os.path.join(state_dir, c)))]
    times, cpu = [], []
    for _ in range(repeat):
        total = total_cpu = 0.0
        for file in files:
            with open(file, encoding="utf-8") as fh:
                text = fh.read()
            gc.disable()
            t, c = time.perf_counter(), time.process_time()
            json.loads(text)
            total += time.perf_counter() - t
            total_cpu += time.process_time() - c
            gc.enable()
        times.append(total)
        cpu.append(total_cpu)
    _emit({"phase": "floor_loads", "times": times, "cpu": cpu, "gc": [0.0] * len(times), "rss_mb": _maxrss_mb(),
           "bytes": sum(os.path.getsize(f) for f in files)})


def _state_in_process(spec: str):
    """The State load_state would return for the generated STATE_DIR, from the same objects."""
    sys.path.insert(0, HERE)
    from generate_state import cluster_objects, load_mesh
    from meshspec.analysis.state import State
    from meshspec.k8s.objects import SERVICE_NAME_LABEL, cluster_service

    services: dict = {}
    clusters = []
    for cluster, listing in cluster_objects(load_mesh(spec)):
        clusters.append(cluster)
        slices: dict = {}
        for obj in listing["items"]:
            if obj["kind"] == "EndpointSlice":
                meta = obj["metadata"]
                slices.setdefault((meta["namespace"], meta["labels"][SERVICE_NAME_LABEL]), []).append(obj)
        for obj in listing["items"]:
            if obj["kind"] == "Service":
                key = (obj["metadata"]["namespace"], obj["metadata"]["name"])
                services.setdefault(key, {})[cluster] = cluster_service(obj, slices.get(key, ()))
    order = sorted(clusters)
    return State(tuple(order), {k: dict(sorted(v.items(), key=lambda kv: order.index(kv[0])))
                                for k, v in sorted(services.items())})


def child_state(spec: str, out: str, fmt: str) -> None:
    sys.path.insert(0, HERE)
    from generate_state import load_mesh, write_state
    from meshspec.analysis.state import MAX_STATE_FILE_BYTES as MAX_BYTES

    counts = write_state(load_mesh(spec), out, fmt, split="auto", max_file_bytes=MAX_BYTES)
    _emit({"state": counts, "max_bytes": MAX_BYTES})


def run_child(args: list[str], timeout: float, mem_gb: float) -> list[dict]:
    """Run this script as a child; its events, in order. A child over `timeout` is killed."""
    def limit():
        if mem_gb > 0:
            size = int(mem_gb * 1024 ** 3)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))

    proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), "--child", *args], cwd=REPO,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, preexec_fn=limit)
    try:
        out, err = proc.communicate(timeout=timeout)
        killed = False
    except subprocess.TimeoutExpired:
        proc.kill()  # only the child this function started
        out, err = proc.communicate()
        killed = True
    events = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    if killed:
        events.append({"killed": timeout})
    elif proc.returncode != 0:
        sys.stderr.write(err)
        events.append({"failed": proc.returncode, "stderr": err.strip().splitlines()[-1:] or [""]})
    return events


# --- parent -------------------------------------------------------------------------------------

def time_cli(args: list[str], repeat: int, single_above: float, timeout: float) -> dict:
    """Wall time, CPU time (user + sys) and peak RSS (the child's own, from wait4) of `python ARGS > /dev/null`."""
    env = dict(os.environ, PYTHONPATH=REPO)
    times: list[float] = []
    cpu: list[float] = []
    rss: list[float] = []
    for _ in range(repeat):
        t = time.perf_counter()
        with tempfile.TemporaryFile() as err:
            proc = subprocess.Popen([sys.executable, *args], stdout=subprocess.DEVNULL, stderr=err, cwd=REPO, env=env)
            deadline = time.monotonic() + timeout
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    break
                if time.monotonic() > deadline:
                    proc.kill()  # only the child this function started
                    os.wait4(proc.pid, 0)
                    proc.returncode = -9
                    return {"times": times, "cpu": cpu, "rss": rss, "stopped": timeout}
                time.sleep(0.005)
            proc.returncode = os.waitstatus_to_exitcode(status)
            times.append(time.perf_counter() - t)
            cpu.append(usage.ru_utime + usage.ru_stime)
            rss.append(usage.ru_maxrss / (1024 * 1024) if sys.platform == "darwin" else usage.ru_maxrss / 1024)
            if proc.returncode != 0:
                err.seek(0)
                return {"times": times, "cpu": cpu, "rss": rss,
                        "error": f"exit {proc.returncode}: {err.read().decode(errors='replace').strip()[-300:]}"}
        if times[-1] > single_above:
            break
    return {"times": times, "cpu": cpu, "rss": rss}


def _has_jobs() -> bool:
    """Whether the meshspec measured has `simulate --jobs` (a before/after comparison may run an older one)."""
    return os.path.exists(os.path.join(REPO, "meshspec", "adapters", "processes.py"))


def _default_jobs() -> int:
    """How many processes `meshspec simulate` uses for a large state on this machine."""
    if not _has_jobs():
        return 1
    sys.path.insert(0, REPO)
    from meshspec.adapters.processes import can_fork, usable_cpus
    from meshspec.cli.commands.simulate import MAX_AUTO_JOBS

    return min(usable_cpus(), MAX_AUTO_JOBS) if can_fork() else 1


def machine() -> str:
    return describe()


def spec_text(clusters: int, services: int) -> tuple[str, bool]:
    """bench/generate.py's spec, and whether clusters had to be given a `clustermesh.address`. Since
    meshspec requires one per cluster of a multi-cluster mesh (`peer-address`), a generator that does not
    write it gets one here (172.18.x.y, kind's node network), so the spec validates."""
    sys.path.insert(0, HERE)
    import yaml
    from generate import generate

    text = generate(clusters, services)
    doc = yaml.load(text, Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    missing = [c for c in doc["spec"]["clusters"] if "address" not in (c.get("clustermesh") or {})]
    if not missing:
        return text, False
    for c in missing:
        c.setdefault("clustermesh", {})["address"] = f"172.18.{c['id'] // 250}.{c['id'] % 250 + 2}"
    return yaml.dump(doc, Dumper=getattr(yaml, "CSafeDumper", yaml.SafeDumper), sort_keys=False,
                     default_flow_style=None, width=120), True


def _default_state_parent() -> str:
    return default_scratch_dir()


PHASES = [
    # (key, label, counted toward the target)
    ("check_file", "`check_file` (context: load + validate the spec)", False),
    ("explain", "explain: engine, `explain(mesh, version)` incl. failure analysis", True),
    ("explain_json", "explain: `explain_json`", True),
    ("explain_text", "explain: `explain_text`", True),
    ("load_state", "simulate: `load_state(STATE_DIR)`", True),
    ("routing", "simulate: routing, `route_service` per service over every cluster", True),
    ("simulate_json", "simulate: `simulate_json`", True),
    ("floor_loads", "codec floor: `json.loads` of every state file", False),
    ("floor_dumps", "codec floor: one dump of simulate's output data (meshspec's encoder)", False),
    ("cli_explain", "CLI `python -m meshspec explain SPEC --format json >/dev/null` (wall)", True),
    ("cli_simulate", "CLI `python -m meshspec simulate DIR --format json >/dev/null` (wall, default --jobs)", True),
    ("cli_simulate_1", "CLI `python -m meshspec simulate DIR --format json --jobs 1 >/dev/null` (wall)", False),
]
SIMULATE_RATIO, SIMULATE_RSS_MB, EXPLAIN_S, EXPLAIN_RSS_MB = 2.0, 1024, 3.0, 400  # issue 15's goals


def _cell(result: dict | None) -> tuple[str, float | None]:
    """('1.234', seconds) or ('> 60 (stopped)', None); the seconds are the median of the runs."""
    if result is None:
        return "n/a", None
    times = result.get("times", [])
    if "stopped" in result:
        return f"> {result['stopped']:.0f} (stopped)", None
    if "error" in result:
        return f"{result['error'].split(':')[0]}", None
    if not times:
        return "n/a", None
    best = statistics.median(times)
    return (f"{best:.3f}" if best < 100 else f"{best:.0f}") + ("" if len(times) > 1 else " (1 run)"), best


def _cpu(result: dict | None) -> float | None:
    """The median CPU time (user + sys) of the runs, when recorded and the phase finished."""
    if not result or "stopped" in result or "error" in result or not result.get("cpu"):
        return None
    return statistics.median(result["cpu"])


def _gc_share(results: dict, sizes: list[tuple[int, int]], key: str) -> str:
    """The cyclic GC's share of the best run, at the largest size where the phase finished."""
    for c, s in reversed(sizes):
        r = results.get((c, s), {}).get(key) or {}
        times, gcs = r.get("times") or [], r.get("gc") or []
        if "stopped" in r and not times and "gc_before_stop" in r:
            return f"{r['gc_before_stop'] / r['stopped']:.0%} of the first {r['stopped']:.0f} s" + (
                "" if (c, s) == sizes[-1] else f" ({c}x{s})")
        if times and len(gcs) == len(times) and "stopped" not in r:
            best = min(range(len(times)), key=times.__getitem__)
            return f"{gcs[best] / times[best]:.0%}" + ("" if (c, s) == sizes[-1] else f" ({c}x{s})")
    return "-"


def report(sizes: list[tuple[int, int]], results: dict, notes: list[str], info: str, repeat: int,
           wall: float) -> str:
    lines = [f"### meshspec routing: explain and simulate, {', '.join(f'{c} x {s:,}' for c, s in sizes)} "
             f"(clusters x services)", "", f"Machine: {info}.", "",
             f"Seconds are the median of {repeat} runs (\"1 run\" when one run took over the "
             "single-run threshold), each with Python's cyclic GC off, as the CLI runs. µs/pair = seconds / (clusters x services) x 10^6: flat from one size to the "
             "next means linear growth in clusters x services." + (
                 " Growth = µs/pair at the largest size / at the smallest: 1x is linear; clusters grew "
                 f"{sizes[-1][0] / sizes[0][0]:.0f}x, so about {sizes[-1][0] / sizes[0][0]:.0f}x means quadratic "
                 "in clusters." if len(sizes) > 1 and sizes[-1][0] != sizes[0][0] else "") +
             " GC share = the part of the best run spent in Python's cyclic garbage collector, at the largest "
             "size where the phase finished (not measured for the CLI).", ""]
    head = "| Phase | " + " | ".join(f"{c}x{s} s | µs/pair" for c, s in sizes) + " | Growth | GC share |"
    lines += [head, "|---|" + "---:|---:|" * len(sizes) + "---:|---:|"]
    for key, label, _ in PHASES:
        cells, per_pair = [], []
        for c, s in sizes:
            text, best = _cell(results.get((c, s), {}).get(key))
            pp = best / (c * s) * 1e6 if best is not None else None
            per_pair.append(pp)
            cells.append(f"{text} | {pp:.2f}" if pp is not None else f"{text} | -")
        growth = f"{per_pair[-1] / per_pair[0]:.1f}x" if len(sizes) > 1 and None not in (per_pair[0], per_pair[-1]) \
            and per_pair[0] > 0 else "-"
        lines.append(f"| {label} | " + " | ".join(cells) + f" | {growth} | {_gc_share(results, sizes, key)} |")
    # Sizes and memory.
    lines += ["", "| Output and memory | " + " | ".join(f"{c}x{s}" for c, s in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]

    def row(label: str, fn: Callable[[dict, int, int], str]) -> None:
        lines.append(f"| {label} | " + " | ".join(fn(results.get((c, s), {}), c, s) for c, s in sizes) + " |")

    def size_of(key: str, field: str = "bytes"):
        def fn(r, c, s):
            v = (r.get(key) or {}).get(field)
            return f"{v / 1e6:.1f} MB ({v / (c * s):,.0f} B/pair)" if v else "-"
        return fn

    row("explain JSON", size_of("explain_json"))
    row("explain text", size_of("explain_text"))
    row("simulate JSON", size_of("simulate_json"))
    row("STATE_DIR (input of simulate)", lambda r, c, s: (
        f"{r['state']['bytes'] / 1e6:.0f} MB, {r['state']['files']} files" if r.get("state") else "-"))
    row("serving entries in `explain` (sum over clients of serving clusters)",
        lambda r, c, s: f"{r['explain']['serving_entries']:,}" if (r.get("explain") or {}).get("serving_entries")
        else "-")
    row("peak RSS, explain process", lambda r, c, s: f"{r['rss_explain']:.0f} MB" if r.get("rss_explain") else "-")
    row("peak RSS, simulate process", lambda r, c, s: f"{r['rss_simulate']:.0f} MB" if r.get("rss_simulate") else "-")
    cli_keys = {"cli_explain": "explain", "cli_simulate": "simulate", "cli_simulate_1": "simulate --jobs 1"}
    for key, name in cli_keys.items():
        row(f"CPU seconds (user + sys, its children's included), CLI {name}, median",
            lambda r, c, s, key=key: f"{_cpu(r.get(key)):.3f}" if _cpu(r.get(key)) is not None else "-")
    for key, name in cli_keys.items():
        row(f"peak RSS, CLI {name} (its largest process, max over runs)", lambda r, c, s, key=key:
            f"{max(r[key]['rss']):.0f} MB" if (r.get(key) or {}).get("rss") else "-")

    def floor(r: dict) -> float | None:
        parts = [_cell(r.get(k))[1] for k in ("floor_loads", "floor_dumps")]
        return None if None in parts else sum(parts)

    def ratio(keys: tuple[str, ...], floor_of: Callable[[dict], float | None]):
        def fn(r, c, s):
            parts = [_cell(r.get(k))[1] for k in keys]
            base = floor_of(r)
            return f"{sum(parts) / base:.2f}x" if None not in parts and base else "-"
        return fn

    lines += ["", "| Ratio to the codec floor | " + " | ".join(f"{c}x{s}" for c, s in sizes) + " |",
              "|---|" + "---:|" * len(sizes)]
    row("codec floor, seconds (loads of the state + one dump of the output)",
        lambda r, c, s: f"{floor(r):.3f}" if floor(r) else "-")
    row("`load_state` / `json.loads` floor", ratio(("load_state",), lambda r: _cell(r.get("floor_loads"))[1]))
    row("`simulate_json` / dump floor", ratio(("simulate_json",), lambda r: _cell(r.get("floor_dumps"))[1]))
    row("in-process simulate (state + routing + JSON) / floor", ratio(("load_state", "routing", "simulate_json"), floor))
    row(f"**CLI simulate / floor** (default --jobs: {_default_jobs()} processes here)", ratio(("cli_simulate",), floor))
    row("CLI simulate --jobs 1 / floor", ratio(("cli_simulate_1",), floor))

    def cpu_floor(r: dict) -> float | None:
        parts = [_cpu(r.get(k)) for k in ("floor_loads", "floor_dumps")]
        return None if None in parts else sum(parts)

    row("codec floor, CPU seconds", lambda r, c, s: f"{cpu_floor(r):.3f}" if cpu_floor(r) else "-")
    for key, name in (("cli_simulate", "**CLI simulate / floor, CPU time**"),
                      ("cli_simulate_1", "CLI simulate --jobs 1 / floor, CPU time")):
        row(name, lambda r, c, s, key=key: f"{_cpu(r.get(key)) / cpu_floor(r):.2f}x"
            if _cpu(r.get(key)) and cpu_floor(r) else "-")
    row("µs per pair, CLI simulate (wall / CPU)", lambda r, c, s: (
        f"{_cell(r.get('cli_simulate'))[1] / (c * s) * 1e6:.0f} / {_cpu(r.get('cli_simulate')) / (c * s) * 1e6:.0f}"
        if _cell(r.get("cli_simulate"))[1] and _cpu(r.get("cli_simulate")) else "-"))
    c, s = sizes[-1]
    big = results.get((c, s), {})
    verdicts = []
    cli_sim, cli_exp, base = _cell(big.get("cli_simulate"))[1], _cell(big.get("cli_explain"))[1], floor(big)
    if cli_sim is not None and base:
        rss = max((big.get("cli_simulate") or {}).get("rss") or [0])
        cpu_sim, cpu_base = _cpu(big.get("cli_simulate")), cpu_floor(big)
        if cpu_sim and cpu_base:
            verdicts.append(f"simulate CPU time {cpu_sim / cpu_base:.2f}x the floor's")
        verdicts.append(f"simulate {cli_sim / base:.2f}x its codec floor (goal <= {SIMULATE_RATIO:.0f}x) and "
                        f"{rss:.0f} MB (goal < {SIMULATE_RSS_MB} MB): " + (
                            "**met**" if cli_sim / base <= SIMULATE_RATIO and rss < SIMULATE_RSS_MB else "**not met**"))
    if cli_exp is not None:
        rss = max((big.get("cli_explain") or {}).get("rss") or [0])
        verdicts.append(f"explain {cli_exp:.2f} s, CPU {_cpu(big.get('cli_explain')) or 0:.2f} s (goal < {EXPLAIN_S:.0f} s) and {rss:.0f} MB (goal < "
                        f"{EXPLAIN_RSS_MB} MB): " + ("**met**" if cli_exp < EXPLAIN_S and rss < EXPLAIN_RSS_MB
                                                      else "**not met**"))
    lines += ["", f"Goals at {c} x {s:,} (issue 15): " + ("; ".join(verdicts) if verdicts else "not measured") + "."]
    lines += [f"- {n}" for n in notes]
    lines += ["", f"Benchmark wall time: {wall:.0f} s."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="meshspec explain and simulate, timed per phase at several sizes")
    parser.add_argument("--clusters", default="10,30,100", help="comma-separated cluster counts (default 10,30,100)")
    parser.add_argument("--services", type=int, default=1000, help="services per spec (default 1000)")
    parser.add_argument("--quick", action="store_true", help="10 clusters x 100 services")
    parser.add_argument("--repeat", type=int, default=3, help="runs per phase, best of N (default 3)")
    parser.add_argument("--single-above", type=float, default=20.0, metavar="S",
                        help="one run only when a run takes longer than S seconds (default 20)")
    parser.add_argument("--phase-timeout", type=float, default=60.0, metavar="S",
                        help="stop a phase still running after S seconds (default 60)")
    parser.add_argument("--cli-timeout", type=float, default=None, metavar="S",
                        help="stop the CLI run after S seconds (default: 2 x --phase-timeout)")
    parser.add_argument("--mem-limit-gb", type=float, default=12.0,
                        help="address-space limit of each child process, 0 for none (default 12)")
    parser.add_argument("--format", choices=("json", "yaml"), default="json", help="STATE_DIR format (default json)")
    parser.add_argument("--state-dir", metavar="DIR", default=_default_state_parent(),
                        help="where STATE_DIRs are written (default /dev/shm if a tmpfs)")
    parser.add_argument("--reuse-dir", metavar="DIR", help="keep specs and STATE_DIRs in DIR (mesh-CxS.yaml, "
                        "state-CxS) and reuse those already there: generating 100 x 1,000 takes minutes")
    parser.add_argument("--skip", default="", help="comma-separated: explain, simulate, cli")
    parser.add_argument("--keep", action="store_true", help="keep the specs and STATE_DIRs")
    parser.add_argument("--json", metavar="FILE", help="also write every raw measurement here")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.child:
        kind, rest = args.child[0], args.child[1:]
        if kind == "state":
            child_state(*rest)
            return 0
        if kind == "floor":
            child_floor(rest[0], int(rest[1]))
            return 0
        phases = Phases(int(rest[-3]), float(rest[-2]), float(rest[-1]))
        if kind == "explain":
            child_explain(rest[0], phases)
        elif kind == "simulate":
            child_simulate(rest[0], rest[1], phases)
        else:
            raise SystemExit(f"unknown child {kind}")
        return 0

    sizes = [(10, 100)] if args.quick else [(int(c), args.services) for c in args.clusters.split(",")]
    skip = set(filter(None, args.skip.split(",")))
    cli_timeout = args.cli_timeout or 2 * args.phase_timeout
    child_timeout = 10 * args.phase_timeout + 300  # a safety net: the child stops its own phases
    timing = [str(args.repeat), str(args.single_above), str(args.phase_timeout)]
    started = time.perf_counter()
    info = machine() + f"; STATE_DIRs on {fs_type(args.state_dir)}"
    work = tempfile.mkdtemp(prefix="meshspec-bench-routing-")
    states = tempfile.mkdtemp(prefix="meshspec-bench-state-", dir=args.state_dir)
    results: dict = {}
    notes: list[str] = []

    def log(msg: str) -> None:
        print(f"[{time.perf_counter() - started:6.0f} s] {msg}", file=sys.stderr, flush=True)

    def collect(events: list[dict], into: dict, what: str, c: int, s: int) -> None:
        for e in events:
            if "phase" in e:
                into[e["phase"]] = e
                text, _ = _cell(e)
                extra = f", {e['bytes'] / 1e6:.1f} MB" if "bytes" in e else ""
                log(f"{c}x{s} {e['phase']}: {text} s{extra} (runs: {', '.join(f'{t:.3f}' for t in e['times'])})")
            elif "note" in e:
                notes.append(f"{c} x {s:,}: {e['note']}.")
                log(f"{c}x{s} note: {e['note']}")
            elif "killed" in e or "failed" in e:
                notes.append(f"{c} x {s:,}: the {what} process " + (
                    f"was killed after {e['killed']:.0f} s" if "killed" in e else
                    f"failed (exit {e['failed']}: {e['stderr'][0]})") + ".")
                log(notes[-1])
        rss = [e["rss_mb"] for e in events if "rss_mb" in e and not e.get("phase", "").startswith("floor")]
        if rss:
            into[f"rss_{what}"] = max(rss)

    try:
        for c, s in sizes:
            r = results.setdefault((c, s), {})
            spec = os.path.join(args.reuse_dir or work, f"mesh-{c}x{s}.yaml")
            text, patched = spec_text(c, s)
            if not (args.reuse_dir and os.path.exists(spec)):
                with open(spec, "w", encoding="utf-8") as fh:
                    fh.write(text)
            if patched and not any(n.startswith("bench/generate.py") for n in notes):
                notes.append("bench/generate.py wrote no `clustermesh.address` per cluster, which meshspec "
                             "requires (`peer-address`); the benchmark added one to each cluster.")
            log(f"{c}x{s}: spec {os.path.getsize(spec):,} bytes")
            if "explain" not in skip:
                collect(run_child(["explain", spec, *timing], child_timeout, args.mem_limit_gb), r, "explain", c, s)
            if "cli" not in skip:
                log(f"{c}x{s}: CLI explain ...")
                r["cli_explain"] = time_cli(["-m", "meshspec", "explain", spec, "--format", "json"],
                                            args.repeat, args.single_above, cli_timeout)
                log(f"{c}x{s} cli_explain: {_cell(r['cli_explain'])[0]} s (CPU {_cpu(r['cli_explain']) or 0:.3f}), "
                    f"{max(r['cli_explain']['rss'] or [0]):.0f} MB")
            if "simulate" in skip and "cli" in skip:
                continue
            state_dir = os.path.join(args.reuse_dir or states, f"state-{c}x{s}")
            if args.reuse_dir and os.path.isdir(state_dir):
                files = [os.path.join(d, f) for d, _, names in os.walk(state_dir) for f in names]
                st = {"state": {"bytes": sum(map(os.path.getsize, files)), "files": len(files), "split_clusters": 0}}
                log(f"{c}x{s}: reusing {state_dir}")
            else:
                log(f"{c}x{s}: writing STATE_DIR (not timed) ...")
                events = run_child(["state", spec, state_dir, args.format], child_timeout, args.mem_limit_gb)
                st = next(e for e in events if "state" in e)
            r["state"] = st["state"]
            if st["state"]["split_clusters"]:
                notes.append(f"{c} x {s:,}: a one-file `kubectl get svc,endpointslices -A -o {args.format}` dump "
                             f"reaches {st['state']['largest_unsplit']:,} bytes, over meshspec's "
                             f"{st['max_bytes']:,} per file (`file-too-large`), in "
                             f"{st['state']['split_clusters']} of {c} clusters; those got two files "
                             "(services and endpointslices) instead.")
            log(f"{c}x{s}: STATE_DIR {st['state']['bytes'] / 1e6:.0f} MB in {st['state']['files']} files")
            if "simulate" not in skip:
                collect(run_child(["simulate", state_dir, spec, *timing], child_timeout, args.mem_limit_gb),
                        r, "simulate", c, s)
                collect(run_child(["floor", state_dir, str(args.repeat)], child_timeout, args.mem_limit_gb),
                        r, "floor", c, s)
            if "cli" not in skip:
                log(f"{c}x{s}: CLI simulate ...")
                r["cli_simulate"] = time_cli(["-m", "meshspec", "simulate", state_dir, "--format", "json"],
                                             args.repeat, args.single_above, cli_timeout)
                log(f"{c}x{s} cli_simulate: {_cell(r['cli_simulate'])[0]} s (CPU {_cpu(r['cli_simulate']) or 0:.3f}), "
                    f"{max(r['cli_simulate']['rss'] or [0]):.0f} MB")
                if _has_jobs():
                    r["cli_simulate_1"] = time_cli(["-m", "meshspec", "simulate", state_dir, "--format", "json",
                                                    "--jobs", "1"], args.repeat, args.single_above, cli_timeout)
                    log(f"{c}x{s} cli_simulate_1: {_cell(r['cli_simulate_1'])[0]} s (CPU "
                        f"{_cpu(r['cli_simulate_1']) or 0:.3f}), {max(r['cli_simulate_1']['rss'] or [0]):.0f} MB")
            if not args.keep and not args.reuse_dir:
                shutil.rmtree(state_dir, ignore_errors=True)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
            shutil.rmtree(states, ignore_errors=True)
        else:
            log(f"kept {work} and {states}")

    print(report(sizes, results, notes, info, args.repeat, time.perf_counter() - started))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"machine": info, "sizes": sizes, "notes": notes,
                       "results": {f"{c}x{s}": r for (c, s), r in results.items()}}, fh, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
