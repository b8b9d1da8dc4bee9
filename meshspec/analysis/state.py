"""Observed cluster state, read from a folder, for `meshspec simulate STATE_DIR`.

STATE_DIR holds one folder per cluster, named after the cluster. The YAML or JSON files directly inside
hold that cluster's Kubernetes objects: single documents, multi-document streams or Lists, e.g.
`kubectl get svc,endpointslices -A -o yaml > STATE_DIR/<cluster>/dump.yaml`. Only core/v1 Services and
discovery.k8s.io EndpointSlices are read, and for global namespaces and MCS-API (analysis/mcs_state.py)
Namespaces and multicluster.x-k8s.io ServiceExports and ServiceImports, and the `cilium` DaemonSet's agent
image (k8s/cilium_agent.py: its tag is the Cilium version the cluster runs; `verify --dump` writes it);
every other kind (Secrets included) is dropped unread. Hidden
entries, sub-folders and files with other extensions are skipped.

The objects are converted by k8s/objects.py, which live verification shares. `meshspec import --from`
reads the same folders for their Service objects as written, and each cluster's cilium-config.yaml
(load_objects).
"""

from __future__ import annotations

import os
from typing import Any, Callable, Sequence

from ..cilium.routing import ClusterService, EndpointSlice
from ..diagnostics import Diagnostic, Path, Report, diagnostic, format_path, unique_sorted
from ..k8s.cilium_agent import DAEMONSET_API, CiliumAgent, parse_agent
from ..k8s.names import cluster_name_problem
from ..k8s.objects import (MCS_GROUP, SERVICE_NAME_LABEL, MetaObject, check_mapping, fast_service,
                           fast_slice, get_items, get_typed, parse_meta_object, parse_service, parse_slice)
from ..record import field, record
from ..spec.load import Document, LoadError, load_documents, load_json_fast, read_text

# A `kubectl get svc,endpointslices -A -o json` dump of a cluster with ~1,000 Services is ~4.2 MB.
MAX_STATE_FILE_BYTES = 256 * 1024 * 1024
EXTENSIONS = (".yaml", ".yml", ".json")
# (apiVersion, kind) read; the EndpointSlice fields used here are the same in v1beta1.
_KINDS = {("v1", "Service"): "Service", ("discovery.k8s.io/v1", "EndpointSlice"): "EndpointSlice",
          ("discovery.k8s.io/v1beta1", "EndpointSlice"): "EndpointSlice", ("v1", "Namespace"): "Namespace",
          (DAEMONSET_API, "DaemonSet"): "DaemonSet",
          **{(f"{MCS_GROUP}/{v}", k): k for v in ("v1alpha1", "v1beta1") for k in ("ServiceExport", "ServiceImport")}}


class StateError(Exception):
    """STATE_DIR is not a state folder at all (the CLI exits 2)."""


@record
class State:
    """An observed cluster state: every cluster's Services with their EndpointSlices, and its MCS objects."""
    clusters: tuple[str, ...]  # sorted cluster folder names
    # (namespace, name) -> {cluster: that cluster's copy}; both levels sorted
    services: dict[tuple[str, str], dict[str, ClusterService]]
    # MCS-API and global namespaces: kind -> cluster -> (namespace, name) -> object; Namespace keys are ("", name)
    objects: dict[str, dict[str, dict[tuple[str, str], MetaObject]]] = field(default_factory=dict)
    # cluster -> the image of its cilium DaemonSet's agent, for the clusters whose folder has it
    cilium_images: dict[str, str] = field(default_factory=dict)


# --- the folder -----------------------------------------------------------------------------------

# What one cluster folder holds: its Services by (namespace, name), the problems found reading it, and its
# Namespaces, ServiceExports, ServiceImports and cilium DaemonSet by (kind, namespace, name).
ClusterRead = tuple[dict[tuple[str, str], ClusterService], list[Diagnostic],
                    dict[tuple[str, str, str], MetaObject | CiliumAgent]]
# Reads the named cluster folders of STATE_DIR, in order: read_clusters, or the same split over processes.
ReadClusters = Callable[[str, Sequence[str]], list[ClusterRead]]


def load_state(state_dir: str, read: ReadClusters | None = None) -> tuple[State, list[Diagnostic]]:
    """Every cluster's Services with their EndpointSlices, and every problem found, sorted. `read` reads the
    cluster folders (read_clusters when not given)."""
    entries, clusters = _cluster_folders(state_dir)
    diagnostics = [diagnostic("stray-file", "this file is not read: objects go in a cluster folder, "
                              f"{state_dir}/<cluster>/.", e)
                   for e in entries if os.path.isfile(e) and e.lower().endswith(EXTENSIONS)]
    services: dict[tuple[str, str], dict[str, ClusterService]] = {}
    objects: dict[str, dict[str, dict[tuple[str, str], MetaObject]]] = {}
    images: dict[str, str] = {}
    for cluster, (found, problems, meta) in zip(clusters, (read or read_clusters)(state_dir, clusters), strict=True):
        diagnostics += problems
        for key, svc in found.items():
            copies = services.get(key)
            if copies is None:
                services[key] = {cluster: svc}
            else:
                copies[cluster] = svc
        for (kind, namespace, name), obj in sorted(meta.items()):
            if isinstance(obj, CiliumAgent):
                images.setdefault(cluster, obj.image)  # one per cluster; by namespace order if a dump has more
            else:
                objects.setdefault(kind, {}).setdefault(cluster, {})[namespace, name] = obj
    return State(clusters, dict(sorted(services.items())), objects, images), unique_sorted(diagnostics)


def read_clusters(state_dir: str, clusters: Sequence[str]) -> list[ClusterRead]:
    """Each named cluster folder of STATE_DIR read, in order. A folder's reading depends on nothing outside it,
    so the clusters may be split into groups read side by side (adapters/processes.py) and concatenated."""
    reads = []
    for cluster in clusters:
        problems: list[Diagnostic] = []
        meta: dict[tuple[str, str, str], MetaObject | CiliumAgent] = {}
        reads.append((_load_cluster(os.path.join(state_dir, cluster), cluster, problems, meta), problems, meta))
    return reads


def state_bytes(state_dir: str, cluster: str) -> int:
    """The size of the files a cluster folder's reading reads: what it costs, for splitting the work."""
    total = 0
    for file in _files(os.path.join(state_dir, cluster), []):
        try:
            total += os.path.getsize(file)
        except OSError:
            pass
    return total


def _cluster_folders(state_dir: str) -> tuple[list[str], tuple[str, ...]]:
    """The visible entries of STATE_DIR (paths) and its cluster folders (names), sorted; StateError when it
    is not a state folder."""
    if not os.path.isdir(state_dir):
        raise StateError(f"{state_dir}: no such folder" if not os.path.exists(state_dir)
                         else f"{state_dir} is not a folder; give the folder holding one folder per cluster")
    entries = [os.path.join(state_dir, e) for e in _listdir(state_dir)]
    clusters = tuple(os.path.basename(e) for e in entries if os.path.isdir(e))
    if not clusters:
        raise StateError(f"{state_dir} holds no cluster folder; put each cluster's objects in {state_dir}/<cluster>/")
    return entries, clusters


def _listdir(folder: str) -> list[str]:
    """Visible entries, sorted."""
    try:
        return sorted(e for e in os.listdir(folder) if not e.startswith("."))
    except OSError as exc:
        raise StateError(f"{folder}: cannot read the folder: {exc.strerror}") from None


def _load_cluster(folder: str, cluster: str, diagnostics: list[Diagnostic],
                  meta: dict[tuple[str, str, str], MetaObject | CiliumAgent] | None = None
                  ) -> dict[tuple[str, str], ClusterService]:
    """The cluster's Services, in the order read; its Namespaces, ServiceExports, ServiceImports and cilium
    DaemonSet go into `meta`."""
    problem = cluster_name_problem(cluster)
    if problem:
        diagnostics.append(diagnostic("cluster-name", problem, folder))
    # kind -> (namespace, name) -> the first definition read: (object, its document, its path there). Where it
    # is, FILE:LINE, is worked out only for a second one (a cluster dump has 100,000s of objects, no repeats).
    first: dict[str, dict[tuple[str, str], tuple[Any, Document, Path]]] = {}
    for file in _files(folder, diagnostics):
        for kind, item, doc, at in _read_file(file, diagnostics):
            key = (item.namespace, item.name)
            if isinstance(item, CiliumAgent):  # the first one read is the cluster's version; never a problem
                if meta is not None:
                    meta.setdefault((kind,) + key, item)
                continue
            defined = first.get(kind)
            if defined is None:
                defined = first[kind] = {}
            if key in defined:
                _reporter(_positioned(doc), at, diagnostics)(
                    f"duplicate-{kind.lower()}", ("metadata", "name"), f"{kind} {key[0]}/{key[1]} is already "
                    f"defined at {_defined_at(*defined[key][1:])}; a cluster holds one {kind} of a name.")
                continue
            defined[key] = (item, doc, at)
    services: dict[tuple[str, str], ClusterService] = {k: svc for k, (svc, _, _) in first.pop("Service", {}).items()}
    slices = first.pop("EndpointSlice", {})
    if meta is not None:
        for kind, defined in first.items():
            for (namespace, name), (obj, _, _) in defined.items():
                meta[kind, namespace, name] = obj
    owned: dict[tuple[str, str], list[EndpointSlice]] = {}
    for (namespace, name), (es, doc, at) in sorted(slices.items()):
        owner = (namespace, es.service)
        if es.service is not None and owner in services:
            found = owned.get(owner)
            if found is None:
                owned[owner] = [es.slice]
            else:
                found.append(es.slice)
        else:
            # Without its Service the slice feeds no frontend, and Cilium exports nothing for it.
            why = (f"is labelled for Service {namespace}/{es.service}, which is not in cluster {cluster!r}"
                   if es.service is not None else f"has no '{SERVICE_NAME_LABEL}' label, so it belongs to no Service")
            diagnostics.append(_positioned(doc).diagnostic(
                "orphan-endpointslice", at + ("metadata", "labels", SERVICE_NAME_LABEL),
                f"EndpointSlice {namespace}/{name} {why}; it is ignored."))
    # Each copy was built by parse_service above for this dict alone and nothing else holds it yet, so its
    # slices are set in place: the frozen dataclass' __init__ again, per copy, was 87k calls at scale.
    for key, found in owned.items():
        vars(services[key])["slices"] = tuple(found)
    return services


def _defined_at(doc: Document, at: Path) -> str:
    """FILE:LINE of an object's name; FILE alone if read without positions (a JSON file read fast)."""
    return f"{doc.file}:{doc.position(at + ('metadata', 'name')).line}" if doc.positioned else doc.file


Item = tuple[str, Any, Document, Path]  # (kind, ClusterService | NamedSlice, its document, its path there)


def _read_file(file: str, diagnostics: list[Diagnostic]) -> list[Item]:
    """The Services and EndpointSlices of one file. JSON (what `kubectl -o json` dumps at scale) is read
    without positions first; only a file with a problem is read again to locate it."""
    try:
        text = read_text(file, MAX_STATE_FILE_BYTES)
        fast = load_json_fast(text, file) if file.lower().endswith(".json") else None
    except LoadError as exc:
        diagnostics.append(exc.diagnostic)
        return []
    found: list[Diagnostic] = []
    if fast is not None:
        items = _parse_docs(fast, found)
        if not found:
            return items
    try:
        docs = load_documents(text, file)
    except LoadError as exc:
        # Valid JSON that YAML refuses (a U+FFFE, say): its problems, unlocated, rather than a YAML error.
        diagnostics.extend(found or [exc.diagnostic])
        return []
    return _parse_docs(docs, diagnostics)


def _parse_docs(docs: list[Document], diagnostics: list[Diagnostic]) -> list[Item]:
    items = []
    for doc in docs:
        for at, kind, obj in _objects(doc, diagnostics):
            if kind == "Service" or kind == "EndpointSlice":
                # The fast conversion first: a well-formed object needs no reporter (100,000s at scale).
                item = fast_service(obj) if kind == "Service" else fast_slice(obj)
                if item is None:
                    report = _reporter(doc, at, diagnostics)
                    item = parse_service(obj, report) if kind == "Service" else parse_slice(obj, report)
            elif kind == "DaemonSet":
                item = parse_agent(obj)  # None: another DaemonSet, not read
                if item is None:
                    continue
            else:
                item = parse_meta_object(kind, obj, _reporter(doc, at, diagnostics))
            if item.name:
                items.append((kind, item, doc, at))
    return items


def _positioned(doc: Document) -> Document:
    """The same document read with positions (for a problem found only after a fast read)."""
    if doc.positioned:
        return doc
    try:
        return load_documents(read_text(doc.file, MAX_STATE_FILE_BYTES), doc.file)[0]
    except LoadError:  # valid JSON that YAML refuses (a U+FFFE, say): report at 1:1 rather than not at all
        return doc


def _files(folder: str, diagnostics: list[Diagnostic]) -> list[str]:
    try:
        names = _listdir(folder)
    except StateError as exc:
        diagnostics.append(diagnostic("unreadable", str(exc), folder))
        return []
    paths = [os.path.join(folder, n) for n in names if n.lower().endswith(EXTENSIONS)]
    return [p for p in paths if os.path.isfile(p)]


def _reporter(doc: Document, base: Path, diagnostics: list[Diagnostic]) -> Report:
    def report(code: str, path: Path, message: str, at_key: bool = False) -> None:
        diagnostics.append(doc.diagnostic(code, base + tuple(path), message))
    return report


def _objects(doc: Document, diagnostics: list[Diagnostic]) -> list[tuple[Path, str, dict]]:
    """The Services and EndpointSlices of one document, Lists flattened, with their paths. Loader problems
    inside objects of other kinds are dropped with them: those objects (Secrets above all) are not read."""
    found: list[tuple[Path, str, dict]] = []
    ignored: list[str] = []
    _walk(doc, doc.data, (), None, diagnostics, found, ignored)
    diagnostics.extend(p for p in doc.problems if not any(_within(p.path, prefix) for prefix in ignored))
    return found


def _walk(doc: Document, obj: Any, at: Path, inherited: tuple[str, str] | None, diagnostics: list[Diagnostic],
          found: list[tuple[Path, str, dict]], ignored: list[str]) -> None:
    # A function of its own, not a closure: a recursive closure is a reference cycle holding the document,
    # so every file's parsed JSON stayed alive until a full GC (off during commands; 2 s at exit).
    api_version, kind = (obj.get("apiVersion"), obj.get("kind")) if type(obj) is dict else (None, None)
    if not (type(api_version) is str and type(kind) is str and api_version and kind):  # the checked path
        report = _reporter(doc, at, diagnostics)
        if not check_mapping(obj, (), "a Kubernetes object", report):
            return
        fallback = inherited or ("", "")
        api_version = get_typed(obj, "apiVersion", (), str, report, required=inherited is None) or fallback[0]
        kind = get_typed(obj, "kind", (), str, report, required=inherited is None) or fallback[1]
        if not (api_version and kind):
            return
    if kind == "List" or (kind.endswith("List") and "items" in obj):
        # kubectl's `kind: List` items carry their own kind; a typed list's (ServiceList) may not.
        item_type = (api_version, kind[:-len("List")]) if kind != "List" else None
        for i, item in get_items(obj, "items", (), _reporter(doc, at, diagnostics)):
            # An item that names a kind read here is found without a call per item (170k at 100 clusters).
            versioned = (item.get("apiVersion"), item.get("kind")) if type(item) is dict else None
            read = _KINDS.get(versioned) if versioned and type(versioned[0]) is str and type(versioned[1]) is str \
                else None
            if read is not None:
                found.append((at + ("items", i), read, item))
            else:
                _walk(doc, item, at + ("items", i), item_type, diagnostics, found, ignored)
    elif (api_version, kind) in _KINDS:
        found.append((at, _KINDS[api_version, kind], obj))
    else:
        ignored.append(format_path(at))


def _within(path: str, prefix: str) -> bool:
    return not prefix or path == prefix or path.startswith((prefix + ".", prefix + "["))


# --- the objects themselves, for `meshspec import --from` ---------------------------------------------

CILIUM_CONFIG_FILE = "cilium-config.yaml"  # what `verify --dump` writes when the ConfigMap was readable


@record
class ClusterObjects:
    """One cluster folder's Services as written (camelCase JSON), and its cilium-config ConfigMap."""

    cluster: str  # the folder's name
    services: tuple[dict, ...]
    cilium_config: dict | None
    cilium_config_error: str | None


def load_objects(state_dir: str) -> tuple[list[ClusterObjects], list[Diagnostic]]:
    """Every cluster folder's Service objects (a Service with a problem is reported and left out, as is a
    second one of the same name) and the ConfigMap named cilium-config in its cilium-config.yaml, if any."""
    _, clusters = _cluster_folders(state_dir)
    diagnostics: list[Diagnostic] = []
    out = []
    for cluster in clusters:
        folder = os.path.join(state_dir, cluster)
        services: dict[tuple[str, str], dict] = {}
        for file in _files(folder, diagnostics):
            for kind, item, doc, at in _read_file(file, diagnostics):
                obj = _at(doc.data, at)
                if kind == "Service" and (item.namespace, item.name) not in services and _well_formed(obj):
                    services[(item.namespace, item.name)] = obj
        config, why = _cilium_config(os.path.join(folder, CILIUM_CONFIG_FILE), diagnostics)
        out.append(ClusterObjects(cluster, tuple(services.values()), config, why))
    return out, unique_sorted(diagnostics)


def _at(data: Any, path: Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _well_formed(obj: Any) -> bool:
    """A Service the checked path has nothing to report on (the fast path converts it)."""
    found: list[str] = []
    parse_service(obj, lambda code, path, message, at_key=False: found.append(code))
    return not found


def _cilium_config(file: str, diagnostics: list[Diagnostic]) -> tuple[dict | None, str | None]:
    if not os.path.isfile(file):
        return None, f"the dump has no {CILIUM_CONFIG_FILE}"
    try:
        docs = load_documents(read_text(file, MAX_STATE_FILE_BYTES), file)
    except LoadError as exc:
        diagnostics.append(exc.diagnostic)
        return None, f"{file} cannot be read"
    for doc in docs:
        stack = [doc.data]
        while stack:
            obj = stack.pop(0)
            if not isinstance(obj, dict):
                continue
            if obj.get("kind") == "ConfigMap" and isinstance(obj.get("metadata"), dict) \
                    and obj["metadata"].get("name") == "cilium-config":
                return obj, None
            if isinstance(obj.get("items"), list):
                stack.extend(obj["items"])
    return None, f"{file} holds no ConfigMap cilium-config"
