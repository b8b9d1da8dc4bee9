"""Time the Pulumi program under mocks: 10 clusters x 500 services (not a pytest test).

    /tmp/venv/bin/python bench/bench_pulumi.py [--clusters 10] [--services 500] [--repeat 3]

The Pulumi CLI and provider binaries are not available here, so this measures
the program side only: meshspec.deploy registering one provider per cluster and
every Service on it, through pulumi.runtime.set_mocks, until every
registration has resolved. Each run is a fresh process.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)


def child(spec: str) -> dict:
    sys.path.insert(0, REPO)
    t0 = time.perf_counter()
    import pulumi
    from pulumi.runtime.mocks import MockMonitor

    from meshspec.adapters.deploy import deploy
    from meshspec.spec.check import check_file

    t_import = time.perf_counter()
    mesh, diagnostics = check_file(spec)
    assert mesh is not None, diagnostics
    t_check = time.perf_counter()

    class Mocks(pulumi.runtime.Mocks):
        count = 0

        def new_resource(self, args):
            Mocks.count += 1
            return f"{args.name}_id", dict(args.inputs)

        def call(self, args):
            raise NotImplementedError(args.token)

    mocks = Mocks()
    pulumi.runtime.set_mocks(mocks, project="meshspec", stack="bench", preview=False, monitor=MockMonitor(mocks))

    @pulumi.runtime.test
    def program():
        deploy(mesh)

    program()
    t_done = time.perf_counter()
    return {"import": t_import - t0, "check": t_check - t_import, "program": t_done - t_check,
            "resources": Mocks.count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--clusters", type=int, default=10)
    parser.add_argument("--services", type=int, default=500)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--child", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    sys.path.insert(0, HERE)
    from generate import generate

    with tempfile.TemporaryDirectory() as tmp:
        spec = os.path.join(tmp, "mesh.yaml")
        with open(spec, "w") as fh:
            fh.write(generate(args.clusters, args.services))
        runs = [json.loads(subprocess.run([sys.executable, __file__, "--child", spec], check=True,
                                          capture_output=True, text=True).stdout) for _ in range(args.repeat)]
    best = min(runs, key=lambda r: r["program"])
    print(f"Pulumi program under mocks, {args.clusters} clusters x {args.services} services "
          f"({best['resources']:,} resources registered), best of {args.repeat} fresh processes:\n")
    print("| phase | seconds |\n|---|---:|")
    print(f"| import pulumi + pulumi_kubernetes + meshspec | {best['import']:.2f} |")
    print(f"| load + validate the spec | {best['check']:.2f} |")
    print(f"| program: providers + Services registered and resolved | {best['program']:.2f} |")
    print(f"\nper resource: {best['program'] / best['resources'] * 1000:.2f} ms")


if __name__ == "__main__":
    main()
