"""`meshspec diff` reports as text, markdown (a pull-request comment, with a Mermaid graph per
service) and JSON."""

from __future__ import annotations

import dataclasses
import json
import re
from typing import Any, Callable, Iterable

from ..analysis.diff import DiffReport, ObjectChange, Serving, ServiceTraffic, SettingChange, names
from .diagnostics import count

MARKDOWN_DIFF_BUDGET = 40_000  # characters of raw YAML diff in a PR comment (GitHub caps comments at 65,536)


def summary(r: DiffReport) -> str:
    if not r.changed:
        return "no changes"
    line = (f"{count(len(r.objects), 'object')} changed in {count(len(r.changed_clusters), 'cluster')}, "
            f"{count(len(r.risks), 'risk')}")
    return line + (f"; traffic changes for {count(len(r.traffic), 'service')}" if r.traffic else "")


def to_text(r: DiffReport) -> str:
    lines = [f"{r.old} -> {r.new}: {summary(r)}"]
    if r.risks:
        lines += ["", "risks:"] + [f"  {risk.message} [{risk.code}]" for risk in r.risks]
    if r.settings:
        lines += ["", "mesh:"] + [f"  {_setting(s)}" for s in r.settings]
    if r.objects:
        lines += ["", "objects:"]
        for o in r.objects:
            lines.append(f"  {o.cluster}: {o.change} {o.file}")
            lines += [f"    annotation {a.key}: {_value(a.before)} -> {_value(a.after)}" for a in o.annotations]
    if r.traffic:
        lines += ["", "traffic (client cluster: serving clusters before -> after):"]
        for t in r.traffic:
            lines.append(f"  {t.service}")
            for row in t.clients:
                now = f"{names(row.before)} -> {names(row.after)}" if row.before != row.after \
                    else f"{names(row.before)} (unchanged)"
                lines.append(f"    {row.client}: {now}")
                lines += [f"      if {f.down} has no ready pods: {names(f.before)} -> {names(f.after)}"
                          for f in row.failures]
    if r.objects:
        lines += ["", "rendered YAML:", "".join(o.diff for o in r.objects).rstrip("\n")]
    return "\n".join(lines) + "\n"


def to_json(r: DiffReport) -> str:
    doc = {
        "old": r.old, "new": r.new,
        "summary": {"changed": r.changed, "objects": len(r.objects), "clusters": len(r.changed_clusters),
                    "risks": len(r.risks), "services": len(r.traffic)},
        "risks": [dataclasses.asdict(x) for x in r.risks],
        "settings": [dataclasses.asdict(x) for x in r.settings],
        "objects": [dataclasses.asdict(x) for x in r.objects],
        "traffic": [dataclasses.asdict(x) for x in r.traffic],
    }
    return json.dumps(doc, indent=2) + "\n"


def to_markdown(r: DiffReport) -> str:
    head = f"**meshspec diff** `{r.old}` → `{r.new}`: {summary(r)}"
    if not r.changed:
        return head + "\n"
    out = [head, ""]
    if r.risks:
        out += ["#### Risks", ""] + [f"- :warning: `{risk.code}`: {_md(risk.message)}" for risk in r.risks] + [""]
    if r.settings:
        out += ["#### Mesh", ""] + [f"- {_md(_setting(s))}" for s in r.settings] + [""]
    for t in r.traffic:
        out += [f"#### Traffic: `{t.service}`", "",
                "| client cluster | before | after | when one cluster has no ready pods |", "|---|---|---|---|"]
        for row in t.clients:
            failures = "<br>".join(f"{f.down} down: {_md_names(f.before)} → {_md_names(f.after)}"
                                   for f in row.failures)
            out.append(f"| {row.client} | {_md_names(row.before)} | {_md_names(row.after)} | {failures} |")
        out += ["", _fence(mermaid(t, r.old_clusters, r.new_clusters), "mermaid"), "",
                "<sub>client → serving cluster; ==> new, -.-> gone; red: no backends; dashed: no Service there"
                "</sub>", ""]
    if r.objects:
        out += ["#### Objects", "", "| cluster | file | change | annotations |", "|---|---|---|---|"]
        for o in r.objects:
            notes = "<br>".join(f"`{a.key}`: {_md_value(a.before)} → {_md_value(a.after)}" for a in o.annotations)
            out.append(f"| {o.cluster} | `{o.file}` | {o.change} | {notes} |")
        out += ["", *_details(r.objects)]
    return "\n".join(out).rstrip("\n") + "\n"


def mermaid(t: ServiceTraffic, old_clusters: Iterable[str], new_clusters: Iterable[str]) -> str:
    """Before and after side by side: an arrow from each client cluster to each cluster serving it."""
    edges = [{(c, s) for c, served in side.items() for s in served or ()} for side in (t.before, t.after)]
    lines = ["flowchart LR"]
    classes: dict[str, list[str]] = {"nobackends": [], "absent": []}
    sides = (("old", "before", old_clusters, t.before), ("new", "after", new_clusters, t.after))
    for i, (side, label, clusters, serving) in enumerate(sides):
        lines.append(f"  subgraph {side} [{label}]")
        for cluster in clusters:
            lines.append(f'    {_node(side, cluster)}["{cluster}"]')
            if serving.get(cluster) is None:
                classes["absent"].append(_node(side, cluster))
            elif not serving[cluster]:
                classes["nobackends"].append(_node(side, cluster))
        only_here = "-.->" if i == 0 else "==>"  # an arrow that goes away is dotted, one that appears thick
        lines += [f"    {_node(side, client)} {'-->' if (client, server) in edges[1 - i] else only_here} "
                  f"{_node(side, server)}" for client, server in sorted(edges[i])]
        lines.append("  end")
    lines += ["  classDef nobackends fill:#fdd,stroke:#c00,color:#900",
              "  classDef absent stroke-dasharray:4 4,color:#888"]
    lines += [f"  class {','.join(nodes)} {name}" for name, nodes in classes.items() if nodes]
    return "\n".join(lines)


def _node(side: str, cluster: str) -> str:
    return f"{side}_{cluster.replace('-', '_')}"  # unique: Cilium cluster names have no '_'


def _details(objects: Iterable[ObjectChange]) -> list[str]:
    objects = list(objects)
    shown, size = [], 0
    for o in objects:
        if shown and size + len(o.diff) > MARKDOWN_DIFF_BUDGET:
            break
        shown.append(o)
        size += len(o.diff)
    body = "".join(o.diff for o in shown).rstrip("\n")
    more = len(objects) - len(shown)
    note = [f"{more} more files not shown: run `meshspec diff` locally for the full diff.", ""] if more else []
    return [f"<details><summary>Rendered YAML diff ({count(len(objects), 'file')})</summary>", "",
            _fence(body, "diff"), "", *note, "</details>"]


def _fence(text: str, lang: str) -> str:
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    ticks = "`" * max(3, longest + 1)
    return f"{ticks}{lang}\n{text}\n{ticks}"


def _md_names(serving: Serving) -> str:
    return "—" if serving is None else ", ".join(serving) or "**none**"


def _value(value: Any) -> str:
    return "(unset)" if value is None else json.dumps(value)


def _md_value(value: str | None) -> str:
    return "—" if value is None else "`" + _md(json.dumps(value)).replace("`", "'") + "`"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def _setting(s: SettingChange) -> str:
    if s.setting == "id" and s.before is None:
        return f"cluster {s.where} added (id {s.after})"
    if s.setting == "id" and s.after is None:
        return f"cluster {s.where} removed (id {s.before})"
    return f"{s.where}: {s.setting} {_value(s.before)} -> {_value(s.after)}"


RENDERERS: dict[str, Callable[[DiffReport], str]] = {"text": to_text, "markdown": to_markdown, "json": to_json}
