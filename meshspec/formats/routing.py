"""Routing results as text tables a reviewer reads at a glance, and as JSON (the documented contracts)."""

from __future__ import annotations

import functools
import json
from itertools import accumulate
from json.encoder import encode_basestring_ascii as _string  # what json.dumps writes for a str
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator, Mapping, Sequence

from ..cilium.annotations import PASSED_THROUGH, not_modelled
from ..cilium.routing import ObserverView
from ..record import record

if TYPE_CHECKING:  # simulate does not need the explain engine loaded
    from ..analysis.explain import Explanation

NONE = "NO BACKENDS"


def _compact(payload: Any) -> str:
    """json.dumps(payload, separators=(",", ":")) + "\n", byte for byte. With orjson installed (`pip install
    meshspec[fast]`) it encodes first, 3-4x faster on simulate's 100s of MB: for this data (dicts with str
    keys, lists, str, int, bool, None; never floats) its output is the same bytes as long as it is all
    ASCII without DEL, which json escapes (ensure_ascii) and orjson writes raw. Any other output, or
    anything orjson refuses (lone surrogates, huge ints), goes through the standard library. The caller
    passes the only reference to `payload`, so it is freed as soon as it is encoded (at 100 clusters the
    data, the bytes and the text are 300 MB each)."""
    orjson = _orjson()
    if orjson is not None:
        try:
            out = orjson.dumps(payload, option=orjson.OPT_APPEND_NEWLINE)
        except TypeError:  # orjson.JSONEncodeError
            out = b"\x7f"
        if out.isascii() and b"\x7f" not in out:
            del payload
            return out.decode("ascii")
        del out
    return json.dumps(payload, separators=(",", ":")) + "\n"


@functools.cache
def _orjson() -> Any:
    """The orjson module, or None; imported on first use (it pulls in uuid and platform, which text
    output does not need)."""
    try:
        import orjson
    except ImportError:  # pragma: no cover - depends on the environment
        return None
    return orjson


# --- explain ---------------------------------------------------------------------------------------

def explain_json(explanations: Iterable[Explanation]) -> str:
    """`failures`: for each cluster that runs the service's pods, the clients whose serving clusters change
    when it has none ready, and their serving clusters then ([] = no backend), as the text's `if` lines."""
    services = []
    for e in explanations:
        observers = {cluster: {"exists": False} if serving is None else {"exists": True, "backends": serving}
                     for cluster, serving in e.normal.items()}
        entry = {"namespace": e.service.namespace, "name": e.service.name, "observers": observers,
                 "failures": {failed: dict(changes) for failed, changes in e.failures.items()}}
        entry.update({"via": e.via} if e.via else {})
        entry.update({"notes": list(e.notes)} if e.notes else {})
        services.append(entry)
    return _compact({"services": services})


def explain_markdown(explanations: Iterable[Explanation], spec: str, version: str) -> str:
    """For a pull-request comment: per service, a table of client clusters, who serves them, and what
    changes when one cluster has no ready pods."""
    explanations = list(explanations)
    out = [f"**meshspec explain** `{spec}`: {len(explanations)} services, Cilium {version}", ""]
    for e in explanations:
        out += [f"#### `{e.service.key}`" + (f" via `{e.via}`" if e.via else ""), "", _md(_placements(e)), "",
                *(f"_{_md(note)}_\n" for note in e.notes),
                "| client cluster | served by | when one cluster has no ready pods |", "|---|---|---|"]
        for client, served in e.normal.items():
            failures = "<br>".join(f"{failed} down: {_md_names(changes[client])}"
                                   for failed, changes in e.failures.items() if client in changes)
            out.append(f"| {client} | {_md_names(served)} | {failures} |")
        out.append("")
    out.append("<sub>served by: the clusters whose pods get the client's new connections; — the Service does not "
               "exist there; **none**: no backend. An empty last cell: whichever cluster fails, the client keeps "
               "its other serving clusters.</sub>")
    return "\n".join(out) + "\n"


def _md_names(serving: Sequence[str] | None) -> str:
    return "—" if serving is None else ", ".join(serving) or "**none**"


def _md(text: str) -> str:
    return text.replace("|", "\\|")


def explain_text(explanations: Iterable[Explanation], clusters: Sequence[str]) -> str:
    blocks = []
    for e in explanations:
        lines = [f"{e.service.key}{' via ' + e.via if e.via else ''}  ({_placements(e)})"]
        lines += [f"  note: {note}" for note in e.notes]
        lines += [f"  not modelled: {key}={value}, {PASSED_THROUGH.get(key, 'an annotation Cilium does not read')}"
                  for key, value in not_modelled(e.service.annotations).items()]
        lines += _matrix(e.normal, clusters)
        for failed, changes in e.failures.items():
            lines.append(f"  if {failed} has no ready pods: {_failure(changes)}")
        blocks.append("\n".join(lines))
    legend = "x = serves this client's new connections; - = the Service does not exist in that client cluster"
    return "\n\n".join(blocks) + f"\n\n{legend}\n"


def _placements(e: Explanation) -> str:
    parts = []
    for cluster, p in e.service.placements.items():
        if not p.is_global:
            parts.append(f"{cluster}: local only")
            continue
        traits = ["global"] + (["not shared"] if not p.shared else []) + \
            ([f"prefers {p.affinity}"] if p.affinity != "none" else [])
        parts.append(f"{cluster}: {', '.join(traits)}")
    missing = [c for c in e.normal if c not in e.service.placements]
    if missing:
        parts.append(f"absent from {', '.join(missing)}")
    return "; ".join(parts)


def _matrix(serving: Mapping[str, list[str] | None], clusters: Sequence[str]) -> list[str]:
    corner = "client \\ serving"
    label = max(len(corner), *(len(c) for c in clusters))
    width = max(len(c) for c in clusters)
    rows = ["  " + corner.ljust(label + 2) + "  ".join(c.ljust(width) for c in clusters).rstrip()]
    padded = {mark: mark.ljust(width) for mark in "-x."}
    for client, served in serving.items():
        serves = set(served or ())
        marks = [padded["-" if served is None else "x" if c in serves else "."] for c in clusters]
        suffix = f"  {NONE}" if served == [] else ""
        rows.append(("  " + client.ljust(label + 2) + "  ".join(marks)).rstrip() + suffix)
    return rows


def _failure(changes: Mapping[str, list[str]]) -> str:
    if not changes:
        return "no client loses service; each keeps its other serving clusters"
    return "; ".join(f"{client} -> {', '.join(served) or NONE}" for client, served in changes.items())


# --- simulate --------------------------------------------------------------------------------------

def observer_json(view: ObserverView) -> dict[str, Any]:
    if not view.exists:
        return {"exists": False}
    flags = view.flags
    return {"exists": True, "global": flags.is_global, "shared": flags.shared, "affinity": flags.affinity,
            "frontends": {key: _frontend_json(route, view.left_out.get(key)) for key, route in view.frontends.items()}}


def _frontend_json(route, left_out) -> dict[str, Any]:
    out: dict[str, Any] = {"backends": [b.endpoint for b in route.backends]}  # sorted by endpoint
    if left_out is not None:  # simulate --left-out
        out["left_out"] = [{"endpoint": lo.endpoint, "cluster": lo.cluster, "reason": lo.reason} for lo in left_out]
    return out


def simulate_json(version: str, routes: Iterable[tuple[str, str, Mapping[str, ObserverView]]]) -> str:
    return "".join(simulate_json_chunks(version, routes))


def simulate_json_chunks(version: str, routes: Iterable[tuple[str, str, Mapping[str, ObserverView]]]) -> Iterator[str]:
    """simulate's JSON in pieces, one per Service, whose concatenation is exactly the one json.dumps of the
    whole document (compact separators): `routes` may be lazy, so neither every Service's routing nor the
    whole output (336 MB at 100 clusters) is ever held at once."""
    return SIMULATE_JSON.chunks(version, routes)


def _simulate_json_head(version: str) -> str:
    return '{"cilium_version":' + _compact(version)[:-1] + ',"services":['


def simulate_json_service(ns: str, name: str, views: Mapping[str, ObserverView]) -> str:
    """One Service's entry in simulate's JSON, as json.dumps (compact) writes it."""
    piece = _service_json(ns, name, views)
    if piece is None:
        # Compact: json's C encoder is 6x faster than its indenting one. The entry is built in the call, so
        # _compact holds its only reference and frees it once encoded.
        piece = _compact({"namespace": ns, "name": name,
                          "observers": {c: observer_json(v) for c, v in views.items()}})[:-1]
    return piece


@record
class Layout:
    """A document made of one piece per Service: head(version), the pieces with `separator` between them,
    then `tail`. A caller may render runs of Services apart (in other processes) and join them this way."""

    head: Callable[[str], str]
    service: Callable[[str, str, Mapping[str, ObserverView]], str]
    separator: str
    tail: str

    def chunks(self, version: str, routes: Iterable[tuple[str, str, Mapping[str, ObserverView]]]) -> Iterator[str]:
        yield self.head(version)
        yield from self.body(routes)
        yield self.tail

    def body(self, routes: Iterable[tuple[str, str, Mapping[str, ObserverView]]]) -> Iterator[str]:
        """The pieces of `routes` with the separator between them, as they are routed."""
        for i, route in enumerate(routes):
            if i and self.separator:
                yield self.separator  # on its own: a piece is 100s of KBs at scale, not worth copying for a comma
            yield self.service(*route)


_BOOLS = {True: "true", False: "false"}


def _service_json(ns: str, name: str, views: Mapping[str, ObserverView]) -> str | None:
    """One Service's entry as json.dumps writes it (compact), written directly: every observer lists much
    the same backends, so each frontend's shared sorted exports are encoded once and each observer's list
    is slices of that text (Route.backend_runs). None when a view holds what only the general path writes
    (--left-out, or a value not of the types below)."""
    if type(ns) is not str or type(name) is not str:
        return None
    encoded: dict[int, tuple[Any, str, list[int]]] = {}  # id(shared backends) -> (them, their text, offsets)
    heads: dict[int, tuple[Any, str]] = {}  # id(flags) -> (them, what a view with them writes before its frontends)
    # Every piece goes into one list joined once: an observer's text is KBs, a Service's 100s of KBs at scale.
    parts = [f'{{"namespace":{_string(ns)},"name":{_string(name)},"observers":{{']
    for cluster, view in views.items():
        if type(cluster) is not str or view.left_out:
            return None
        if len(parts) > 1:
            parts.append(",")
        if not view.exists:
            parts.append(_string(cluster) + ':{"exists":false}')
            continue
        flags = view.flags
        head = heads.get(id(flags))
        if head is None or head[0] is not flags:
            if type(flags.is_global) is not bool or type(flags.shared) is not bool or type(flags.affinity) is not str:
                return None
            head = heads[id(flags)] = (flags, f'{{"exists":true,"global":{_BOOLS[flags.is_global]},"shared":'
                                              f'{_BOOLS[flags.shared]},"affinity":{_string(flags.affinity)},'
                                              '"frontends":{')
        parts += (_string(cluster), ":", head[1])
        first = True
        for key, route in view.frontends.items():
            if type(key) is not str:
                return None
            parts += ("" if first else ",", _string(key), ':{"backends":[', _backends_text(route, encoded), "]}")
            first = False
        parts.append("}}")
    parts.append("}}")
    return "".join(parts)


def _backends_text(route, encoded: dict[int, tuple[Any, str, list[int]]]) -> str:
    runs = route.backend_runs()
    if len(runs) == 1:  # most clients: one run, often every exported backend
        return _run_text(*runs[0], encoded)
    return ",".join([text for text in (_run_text(*run, encoded) for run in runs) if text])


def _run_text(backends: Sequence, start: int, end: int, encoded: dict[int, tuple[Any, str, list[int]]]) -> str:
    if start == end:
        return ""
    if len(backends) <= 4:
        return ",".join([_string(b.endpoint) for b in backends[start:end]])
    known = encoded.get(id(backends))
    if known is None or known[0] is not backends:
        strings = [_string(b.endpoint) for b in backends]
        known = encoded[id(backends)] = (backends, ",".join(strings),
                                         list(accumulate((len(t) + 1 for t in strings), initial=0)))
    _, text, offsets = known
    return text[offsets[start]:offsets[end] - 1]  # the whole text itself, not a copy, for the whole run


def simulate_text(version: str, routes: Iterable[tuple[str, str, Mapping[str, ObserverView]]]) -> str:
    return "".join(simulate_text_chunks(version, routes))


def simulate_text_chunks(version: str, routes: Iterable[tuple[str, str, Mapping[str, ObserverView]]]) -> Iterator[str]:
    """simulate's text, a block per Service, as it is routed (see simulate_json_chunks)."""
    return SIMULATE_TEXT.chunks(version, routes)


def simulate_text_service(ns: str, name: str, views: Mapping[str, ObserverView]) -> str:
    """One Service's block of simulate's text, with the blank line before it."""
    lines = [f"{ns}/{name}"]
    width = max(len(c) for c in views)
    for cluster, view in views.items():
        label = "  " + cluster.ljust(width)
        if not view.exists:
            lines.append(f"{label}  no Service here: clients cannot reach it")
            continue
        flags = view.flags
        traits = "global" if flags.is_global else "local only"
        if flags.is_global:
            traits += ("" if flags.shared else ", not shared") + \
                (f", affinity {flags.affinity}" if flags.affinity != "none" else "")
        lines.append(f"{label}  {traits}")
        if not view.frontends:
            lines.append(" " * (width + 4) + "no frontends (headless): no load-balancing in the datapath")
        for key, route in view.frontends.items():
            shown = ", ".join(f"{b.endpoint} ({b.cluster})" for b in route.backends) or NONE
            lines.append(" " * (width + 4) + f"{key} -> {shown}")
            lines += [" " * (width + 6) + f"left out: {lo.endpoint} ({lo.cluster}): {lo.reason}"
                      for lo in view.left_out.get(key, ())]
        for note in view.notes:
            lines.append(" " * (width + 4) + f"note: {note}")
    return "\n\n" + "\n".join(lines)


SIMULATE_JSON = Layout(_simulate_json_head, simulate_json_service, ",", "]}\n")
SIMULATE_TEXT = Layout(lambda version: f"Cilium {version}", simulate_text_service, "", "\n")
