"""`meshspec verify` reports as text (problems per cluster, then the routing table) and JSON."""

from __future__ import annotations

import json
from dataclasses import asdict

from ..analysis.verify import VerifyReport
from ..k8s.observed import Unreachable
from .routing import observer_json, simulate_text


def count(n: int, noun: str) -> str:
    """For example "1 problem" or "3 problems"."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def report_text(report: VerifyReport) -> str:
    """Problems grouped per cluster, then the routing table."""
    lines = []
    for cluster, result in report.results.items():
        problems = [p for p in report.problems if p.cluster == cluster]
        if isinstance(result, Unreachable):
            lines.append(f"{cluster} (context {result.context}): UNREACHABLE: {result.reason}")
        else:
            status = count(len(problems), "problem") if problems else "ok"
            lines.append(f"{cluster} (context {result.context}): {status}")
        lines += [f"  {p.namespace}/{p.name}: {p.message}" for p in problems]
        lines += [f"  note: {note}" for note in report.notes.get(cluster, [])]
    text = "\n".join(lines) + "\n"
    if report.routes:
        text += "\nRouting on the observed state:\n" + simulate_text(report.cilium_version, report.routes)
    return text


def report_json(report: VerifyReport) -> str:
    """The documented structure: see README, `meshspec verify`."""
    return json.dumps({
        "ok": report.ok,
        "clusters": [{"name": c, "context": r.context,
                      "status": "unreachable" if isinstance(r, Unreachable)
                      else "problems" if any(p.cluster == c for p in report.problems) else "ok",
                      "notes": report.notes.get(c, [])} for c, r in report.results.items()],
        "problems": [asdict(p) for p in report.problems],
        "unreachable": [{"cluster": u.cluster, "context": u.context, "reason": u.reason} for u in report.unreachable],
        "routing": {"cilium_version": report.cilium_version,
                    "services": [{"namespace": ns, "name": name,
                                  "observers": {c: observer_json(v) for c, v in views.items()}}
                                 for ns, name, views in report.routes]},
    }, indent=2) + "\n"
