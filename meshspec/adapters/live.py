"""Read-only access to live clusters: the only meshspec module that talks to Kubernetes.

Per cluster, through the user's kubeconfig (KUBECONFIG with several files, contexts, exec credential
plugins: the official `kubernetes` client's loader): one LIST of Services and one LIST of EndpointSlices,
cluster-wide (paginated; one per namespace of interest where listing every namespace is forbidden; no
EndpointSlices for import), one GET of Cilium's `cilium-config` ConfigMap, and one GET of the `cilium`
DaemonSet (its agent image's tag is the Cilium version the cluster runs). Nothing is created, changed
or deleted, no refreshed token is written back to the kubeconfig, and Secrets are never read. The client
library is imported only when a cluster is queried, so the other commands never load it.

Clusters are queried in parallel on a bounded number of daemon threads, each with a deadline: every
request gets what is left of it as its timeout, and a worker still running past it (a hung exec plugin,
say) is abandoned. A cluster that errs or runs out of time is Unreachable; the others are still observed.
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import queue
import threading
import time
from typing import Any, Callable, Iterable, Iterator, Sequence

from ..k8s.cilium_agent import CILIUM_AGENT_CONTAINER, CILIUM_DAEMONSET, DAEMONSET_API, agent_image, minimal_daemonset
from ..k8s.objects import SERVICE_NAME_LABEL
from ..k8s.observed import Obj, Observed, Result, Target, Unreachable, labels, object_key

CILIUM_CONFIG = "cilium-config"
PAGE_SIZE = 500
GRACE_SECONDS = 2.0  # past the timeout, before a worker that ignores its deadline is abandoned

Progress = Callable[[str, str], None]  # (cluster, state): connecting, listing, done or unreachable
DEFAULT_KUBECONFIG = "~/.kube/config"


class KubeconfigError(Exception):
    """The kubeconfig cannot give a cluster's credentials; the message is one sentence saying what to do."""


def kubeconfig_files() -> list[str]:
    """The kubeconfig files the client reads: KUBECONFIG's list (kubectl's rules), else ~/.kube/config."""
    listed = [f for f in os.environ.get("KUBECONFIG", "").split(os.pathsep) if f]
    return [os.path.expanduser(f) for f in listed or [DEFAULT_KUBECONFIG]]


def missing_kubeconfig(contexts: Sequence[str]) -> str | None:
    """A sentence saying what to do when no kubeconfig file exists at all (nothing can be reached then),
    else None."""
    files = kubeconfig_files()
    if any(os.path.isfile(f) for f in files):
        return None
    wanted = f"a kubeconfig with a context for each cluster ({', '.join(dict.fromkeys(contexts))})"
    if os.environ.get("KUBECONFIG"):
        return (f"no kubeconfig: KUBECONFIG names {', '.join(files)}, and none of it exists; point KUBECONFIG "
                f"at {wanted}")
    return (f"no kubeconfig: KUBECONFIG is not set and {DEFAULT_KUBECONFIG} does not exist; set KUBECONFIG to "
            f"{wanted}")


def observe_all(targets: Sequence[Target], keep: Callable[[Obj], bool], namespaces: Sequence[str],
                cilium_namespace: str, *, timeout: float, concurrency: int,
                progress: Progress | None = None, mcs: bool = False, slices: bool = True) -> dict[str, Result]:
    """Every target's Result, in the targets' order. `keep` selects the Services worth reporting;
    `namespaces` are where to list them when listing every namespace is forbidden; `mcs` also lists the
    MCS-API ServiceExports and ServiceImports; slices=False reads no EndpointSlices (import needs none)."""
    done: queue.Queue[tuple[str, Result]] = queue.Queue()
    pending = list(targets)
    running: dict[str, tuple[Target, float]] = {}  # cluster -> (target, when to give up on it)
    results: dict[str, Result] = {}

    def report(cluster: str, state: str) -> None:
        if progress is not None and cluster not in results:
            progress(cluster, state)

    def work(target: Target) -> None:
        try:
            result: Result = observe(target, keep, namespaces, cilium_namespace, timeout, report, mcs, slices)
        except Exception as exc:  # any failure makes this one cluster unreachable, never the run
            result = Unreachable(target.cluster, target.context, describe_error(exc, timeout))
        done.put((target.cluster, result))

    def finish(cluster: str, result: Result) -> None:
        del running[cluster]
        report(cluster, "done" if isinstance(result, Observed) else "unreachable")
        results[cluster] = result

    while pending or running:
        while pending and len(running) < concurrency:
            target = pending.pop(0)
            running[target.cluster] = (target, time.monotonic() + timeout + GRACE_SECONDS)
            threading.Thread(target=work, args=(target,), name=f"meshspec-{target.cluster}", daemon=True).start()
        wait = min(deadline for _, deadline in running.values()) - time.monotonic()
        try:
            cluster, result = done.get(timeout=max(wait, 0.0))
        except queue.Empty:
            for cluster, (target, deadline) in list(running.items()):
                if deadline <= time.monotonic():
                    finish(cluster, Unreachable(cluster, target.context, f"no answer within {timeout:g} s"))
            continue
        if cluster in running:  # not already given up on
            finish(cluster, result)
    return {t.cluster: results[t.cluster] for t in targets}


def observe(target: Target, keep: Callable[[Obj], bool], namespaces: Sequence[str], cilium_namespace: str,
            timeout: float, progress: Progress, mcs: bool = False, slices_too: bool = True) -> Observed:
    """One cluster, within `timeout` seconds (TimeoutError past it). Raises on any other failure."""
    from kubernetes import client

    deadline = time.monotonic() + timeout

    def budget() -> float:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no answer within {timeout:g} s")
        return left

    progress(target.cluster, "connecting")
    with _plugin_errors() as plugin_errors, client.ApiClient(_configuration(target, plugin_errors)) as api:
        core, discovery = client.CoreV1Api(api), client.DiscoveryV1Api(api)
        progress(target.cluster, "listing")
        everywhere, listed = _list_scoped(core.list_service_for_all_namespaces, core.list_namespaced_service,
                                          namespaces, budget)
        services = [s for s in listed if keep(s)]
        keys = {object_key(s) for s in services}
        slices: list[Obj] = []
        if services and slices_too:
            # Only the slices of the kept Services, filtered by the API server where it honours the selector.
            names = ",".join(sorted({name for _, name in keys}))
            _, listed = _list_scoped(discovery.list_endpoint_slice_for_all_namespaces,
                                     discovery.list_namespaced_endpoint_slice, sorted({ns for ns, _ in keys}),
                                     budget, label_selector=f"{SERVICE_NAME_LABEL} in ({names})")
            slices = [s for s in listed if (object_key(s)[0], labels(s).get(SERVICE_NAME_LABEL)) in keys]
        config_map, why = _read_optional(lambda: core.read_namespaced_config_map(
            CILIUM_CONFIG, cilium_namespace, _preload_content=False, _request_timeout=budget()))
        daemonset, image_why = _read_optional(lambda: client.AppsV1Api(api).read_namespaced_daemon_set(
            CILIUM_DAEMONSET, cilium_namespace, _preload_content=False, _request_timeout=budget()))
        present, namespace_objects = _namespace_names(core, namespaces, budget)
        exports = imports = None
        if mcs:
            custom = client.CustomObjectsApi(api)
            exports = _list_mcs(custom, "serviceexports", namespaces, budget)
            imports = _list_mcs(custom, "serviceimports", namespaces, budget)
    image = agent_image(daemonset) if daemonset is not None else None
    if daemonset is not None and image is None:
        image_why = f"the {CILIUM_DAEMONSET} DaemonSet has no {CILIUM_AGENT_CONTAINER} container"
    return Observed(target.cluster, target.context, tuple(services), tuple(slices), config_map, why,
                    None if everywhere else tuple(namespaces), present, cilium_image=image,
                    cilium_image_error=image_why, service_exports=exports, service_imports=imports,
                    namespace_objects=namespace_objects)


def _namespace_names(core: Any, namespaces: Sequence[str], budget: Callable[[], float]
                     ) -> tuple[frozenset[str] | None, tuple[Obj, ...]]:
    """Which of `namespaces` the cluster has (a GET each: there are few, and `get namespaces` is what
    the read-only role grants), None when reading them is forbidden; and those Namespaces, for their
    clustermesh.cilium.io/global annotation."""
    from kubernetes.client.exceptions import ApiException

    present, objects = set(), []
    for namespace in namespaces:
        try:
            response = core.read_namespace(namespace, _preload_content=False, _request_timeout=budget())
        except ApiException as exc:
            if exc.status == 403:
                return None, ()
            if exc.status != 404:
                raise
        else:
            present.add(namespace)
            try:
                objects.append(_strip(json.loads(response.data)))
            except (TypeError, ValueError):  # an answer without a body still says it exists
                pass
    return frozenset(present), tuple(objects)


# Listed as v1alpha1: the CRDs of every Cilium with MCS-API serve it (1.20's mcs-api v0.5.0 CRDs serve
# v1alpha1 and v1beta1 with one schema; cilium/mcs.py service_export_api_version), so one read fits all.
MCS_API = ("multicluster.x-k8s.io", "v1alpha1")


def _list_mcs(custom: Any, plural: str, namespaces: Sequence[str], budget: Callable[[], float]
              ) -> tuple[Obj, ...] | None:
    """ServiceExports or ServiceImports: cluster-wide, else in each of `namespaces`; None without the
    CRD (404) or with no right to read them (403)."""
    from kubernetes.client.exceptions import ApiException

    group, version = MCS_API
    try:
        _, items = _list_scoped(functools.partial(custom.list_cluster_custom_object, group, version, plural),
                                lambda ns, **kw: custom.list_namespaced_custom_object(group, version, ns, plural, **kw),
                                namespaces, budget)
    except ApiException as exc:
        if exc.status in (403, 404):
            return None
        raise
    return tuple(items)


def _configuration(target: Target, plugin_errors: Callable[[], list[str]]) -> Any:
    import urllib3
    from kubernetes import client, config
    from kubernetes.config.kube_config import KubeConfigMerger

    # Read KUBECONFIG now: the library reads it once, at import. Its loader merges a list of files.
    files = os.pathsep.join(kubeconfig_files())
    merged = KubeConfigMerger(files).config  # the files merged as kubectl merges them
    listed = merged.value.get("contexts") if merged is not None and isinstance(merged.value, dict) else None
    names = [c.get("name") for c in (getattr(c, "value", c) for c in listed or ()) if isinstance(c, dict)]
    if target.context not in names:
        raise KubeconfigError(
            f"context {target.context!r} is not in the kubeconfig ({', '.join(kubeconfig_files())}); add it, or "
            f"pass --context {target.cluster}=CONTEXT with one of its contexts ({', '.join(names) or 'none'})")
    configuration = client.Configuration()
    config.load_kube_config(config_file=files, context=target.context, client_configuration=configuration,
                            persist_config=False)
    failed = plugin_errors()
    if failed:
        raise KubeconfigError(
            f"the exec credential plugin of context {target.context!r} failed ({failed[0]}); install the command "
            f"the kubeconfig's user names under exec, or fix it, and check that `kubectl --context "
            f"{target.context} get namespaces` works")
    configuration.retries = False  # one try per request: the deadline, not urllib3, decides
    if not configuration.verify_ssl:  # insecure-skip-tls-verify: the user chose it; urllib3 would warn per request
        urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
    return configuration


class _PerThread(logging.Handler):
    """ERROR records logged on the root logger, by thread. The client's kubeconfig loader logs a failing
    exec credential plugin with logging.error() and goes on without credentials; logging.error() on a
    root logger without handlers would also print it as a stray `ERROR:root:` line."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: dict[int, list[str]] = {}

    def emit(self, record: logging.LogRecord) -> None:
        self.records.setdefault(record.thread or 0, []).append(record.getMessage())


_HANDLER = _PerThread()
_capture_lock = threading.Lock()
_capturing = 0


@contextlib.contextmanager
def _plugin_errors() -> Iterator[Callable[[], list[str]]]:
    """While a cluster is observed, root ERROR records of this thread are collected, not printed; the
    function yielded returns (and forgets) them."""
    global _capturing
    root, me = logging.getLogger(), threading.get_ident()
    with _capture_lock:
        if _capturing == 0:
            root.addHandler(_HANDLER)
        _capturing += 1
    _HANDLER.records.pop(me, None)
    try:
        yield lambda: _HANDLER.records.pop(me, [])
    finally:
        _HANDLER.records.pop(me, None)
        with _capture_lock:
            _capturing -= 1
            if _capturing == 0:
                root.removeHandler(_HANDLER)


def _list(call: Callable[..., Any], budget: Callable[[], float], **options: Any) -> list[Obj]:
    """Every item of one LIST, page by page."""
    items: list[Obj] = []
    token = None
    while True:
        page = json.loads(call(limit=PAGE_SIZE, _continue=token, _preload_content=False,
                               _request_timeout=budget(), **options).data)
        items += [_strip(item) for item in page.get("items") or []]
        token = (page.get("metadata") or {}).get("continue")
        if not token:
            return items


def _list_scoped(everywhere: Callable[..., Any], in_namespace: Callable[..., Any], namespaces: Sequence[str],
                 budget: Callable[[], float], **options: Any) -> tuple[bool, list[Obj]]:
    """One cluster-wide LIST, or, when that is forbidden (namespace-scoped RBAC), one LIST per namespace.
    True with the items when the cluster-wide one worked."""
    from kubernetes.client.exceptions import ApiException

    try:
        return True, _list(everywhere, budget, **options)
    except ApiException as exc:
        if exc.status != 403:
            raise
    return False, [item for namespace in namespaces
                   for item in _list(functools.partial(in_namespace, namespace), budget, **options)]


def _read_optional(call: Callable[[], Any]) -> tuple[Obj | None, str | None]:
    """A GET whose 403 or 404 means "not readable" rather than a failure of the cluster."""
    from kubernetes.client.exceptions import ApiException

    try:
        return _strip(json.loads(call().data)), None
    except ApiException as exc:
        if exc.status in (403, 404):
            return None, describe_error(exc)
        raise


def _strip(obj: Obj) -> Obj:
    (obj.get("metadata") or {}).pop("managedFields", None)
    return obj


def describe_error(exc: BaseException, timeout: float | None = None) -> str:
    """One line saying why a request failed, for people."""
    import urllib3.exceptions
    from kubernetes.client.exceptions import ApiException
    from kubernetes.config.config_exception import ConfigException

    if isinstance(exc, ApiException):
        try:
            message = json.loads(exc.body or "{}").get("message") or ""
        except (ValueError, AttributeError):  # not a Status object
            message = ""
        return f"HTTP {exc.status} {exc.reason}" + (f": {message}" if message else "")
    if isinstance(exc, urllib3.exceptions.NewConnectionError):  # before timeouts: urllib3 makes it one
        conn = getattr(exc, "conn", None)
        where = f" to {conn.host}:{conn.port}" if conn is not None else ""
        return f"cannot connect{where}: {str(exc).split(': ', 1)[-1]}"
    if isinstance(exc, (TimeoutError, urllib3.exceptions.TimeoutError)):
        return f"no answer within {timeout:g} s" if timeout else f"timed out: {exc}"
    if isinstance(exc, KubeconfigError):
        return str(exc)
    if isinstance(exc, ConfigException):
        return f"kubeconfig: {exc}"
    return f"{type(exc).__name__}: {exc}"


# --- the dump --------------------------------------------------------------------------------------

DUMP_HEADER = "# Written by meshspec verify --dump: what this cluster served. The next dump replaces it.\n"


def write_dump(folder: str, results: Iterable[Result]) -> list[str]:
    """The observed objects as `meshspec simulate` reads them: FOLDER/<cluster>/services.yaml and
    endpointslices.yaml (kind: List), plus cilium-config.yaml when it was readable (simulate skips it) and
    cilium-daemonset.yaml, the cilium DaemonSet reduced to its agent image, when it was read (simulate
    routes the cluster with the Cilium version of its tag).
    Unreachable clusters get no folder. Written as render writes (artifacts/files.py): only over files
    an earlier dump wrote, never through a symlink; anything else in the way raises BlockedPaths and
    nothing is written. Returns the files written or already up to date."""
    import yaml

    from ..artifacts.files import write_tree

    tree: dict[str, dict[str, bytes]] = {}
    for result in results:
        if not isinstance(result, Observed):
            continue
        files = {"services.yaml": ("v1", "Service", result.services),
                 "endpointslices.yaml": ("discovery.k8s.io/v1", "EndpointSlice", result.slices)}
        if result.cilium_config is not None:
            files["cilium-config.yaml"] = ("v1", "ConfigMap", (result.cilium_config,))
        if result.cilium_image is not None:  # simulate routes the cluster with the version its tag names
            files["cilium-daemonset.yaml"] = (DAEMONSET_API, "DaemonSet", (minimal_daemonset(result.cilium_image),))
        if result.namespace_objects:  # simulate reads their clustermesh.cilium.io/global
            files["namespaces.yaml"] = ("v1", "Namespace", result.namespace_objects)
        for name, kind, items in (("serviceexports.yaml", "ServiceExport", result.service_exports),
                                  ("serviceimports.yaml", "ServiceImport", result.service_imports)):
            if items is not None:
                files[name] = ("/".join(MCS_API), kind, items)
        tree[result.cluster] = {
            name: (DUMP_HEADER + yaml.safe_dump({"apiVersion": "v1", "kind": "List", "items": [
                {"apiVersion": api_version, "kind": kind, **item} for item in items]},
                sort_keys=False, allow_unicode=True)).encode("utf-8")
            for name, (api_version, kind, items) in files.items()}
    write_tree(tree, folder, DUMP_HEADER)
    return [os.path.join(folder, cluster, name) for cluster, files in tree.items() for name in files]
