"""Real Kubernetes control planes for tests, without Docker.

Each control plane is an etcd and a kube-apiserver on 127.0.0.1 (free ports),
with its own CA and serving certificate, token authentication (an admin token
in system:masters), RBAC, service-account signing keys (so ServiceAccounts and
TokenRequest work) and its own service cluster-IP range.  A Mesh of them
writes one kubeconfig with, per cluster, an admin context named after the
cluster (plus aliases such as kind-cluster-a) and a `<name>-readonly` context
whose token belongs to a ServiceAccount that may only get/list Services,
EndpointSlices and Namespaces and get kube-system/cilium-config.  Each cluster
also gets a cilium-config ConfigMap with its cluster-name and cluster-id.

Each cluster also runs a kube-controller-manager with one controller, the
garbage collector: it removes the foregroundDeletion finalizer that a
foreground delete (kubectl delete --cascade=foreground, pulumi-kubernetes'
default) waits on.  No other controller and no scheduler runs: there is no
EndpointSlice controller and no namespace controller (a deleted namespace
stays Terminating), and no pod ever runs.  `default`, `kube-system`,
`kube-public` exist from the start.

The binaries come from tools/e2e/build_controlplane.py, which records them in
<cache>/manifest.json (~/.cache/meshspec-e2e, or $MESHSPEC_E2E_CACHE).

    mesh = start_mesh(workdir)          # three clusters: cluster-a/b/c
    mesh.kubectl("cluster-a", "get", "ns")
    mesh.stop("cluster-b")              # its kube-apiserver is gone
    mesh.start("cluster-b")             # and back, same port and data
    mesh.close()                        # every process ended, every port free

Processes run in their own process groups; close() (and an atexit net for
anything still alive) kills the groups and waits for them.
"""

from __future__ import annotations

import atexit
import concurrent.futures
import json
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

BUILD_HINT = "run `python3 tools/e2e/build_controlplane.py` (needs Go)"
START_TIMEOUT = float(os.environ.get("MESHSPEC_E2E_START_TIMEOUT", "120"))

READONLY_SA = "meshspec-readonly"
READONLY_NAMESPACE = "kube-system"
CILIUM_IMAGE = "quay.io/cilium/cilium:v1.20.1"  # the spec's default version: verify finds no mismatch


class ControlPlaneError(RuntimeError):
    pass


class BinariesMissing(ControlPlaneError):
    pass


class _Abandoned(ControlPlaneError):
    """Another cluster's start failed; this one stopped waiting."""


# ---------------------------------------------------------------- binaries


def cache_root() -> Path:
    env = os.environ.get("MESHSPEC_E2E_CACHE")
    if env:
        return Path(env).expanduser().resolve()
    return Path.home() / ".cache" / "meshspec-e2e"


BUILD_SCRIPT = Path(__file__).resolve().parents[2] / "tools" / "e2e" / "build_controlplane.py"


def _wanted_versions() -> dict[str, str]:
    """The versions tools/e2e pins now (its go.mod files, its kubectl pin)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("meshspec_e2e_build_controlplane", BUILD_SCRIPT)
    build = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(build)
    wanted = {name: build.required_version(d, module) for name, (d, module) in build.GO_BINARIES.items()}
    wanted["kubectl"] = f"v{build.KUBECTL_VERSION}"
    return wanted


@dataclass(frozen=True)
class Binaries:
    etcd: Path
    kube_apiserver: Path
    kubectl: Path
    kube_controller_manager: Path
    versions: dict = field(default_factory=dict, compare=False)

    @classmethod
    def find(cls) -> "Binaries":
        """The binaries the build script recorded; BinariesMissing says why not."""
        manifest_path = cache_root() / "manifest.json"
        try:
            manifest = json.loads(manifest_path.read_text())
        except (OSError, ValueError):
            raise BinariesMissing(f"control-plane binaries not built ({manifest_path} missing); {BUILD_HINT}")
        entries = manifest.get("binaries", {})
        paths, versions = {}, {}
        for name in ("etcd", "kube-apiserver", "kubectl", "kube-controller-manager"):
            path = Path(entries.get(name, {}).get("path", ""))
            if not entries.get(name) or not path.is_file() or not os.access(path, os.X_OK):
                raise BinariesMissing(f"control-plane binaries not built ({name} missing); {BUILD_HINT}")
            paths[name.replace("-", "_")] = path
            versions[name] = entries[name].get("version", "")
        stale = [f"{name} {versions[name]} built, {want} wanted" for name, want in _wanted_versions().items()
                 if versions.get(name) != want]
        if stale:
            raise BinariesMissing(f"control-plane binaries are stale ({'; '.join(stale)}); {BUILD_HINT}")
        if not shutil.which("openssl"):
            raise BinariesMissing("the `openssl` command is missing (certificates are made with it)")
        return cls(**paths, versions=versions)


# ---------------------------------------------------------------- processes

_live: set["_Proc"] = set()
_live_lock = threading.Lock()


class _Proc:
    """A child in its own process group, its output in a log file."""

    def __init__(self, name: str, argv: list[str], log: Path, env: dict | None = None):
        self.name, self.argv, self.log = name, argv, log
        self._fh = log.open("ab")
        launch = argv
        # If this process is killed outright (no atexit), the kernel kills the
        # child: PR_SET_PDEATHSIG through util-linux's setpriv.  It fires
        # when the parent *thread* ends, so only from the main thread.
        if _SETPRIV and threading.current_thread() is threading.main_thread():
            launch = [_SETPRIV, "--pdeathsig", "KILL", "--", *argv]
        self.popen = subprocess.Popen(
            launch, stdin=subprocess.DEVNULL, stdout=self._fh, stderr=subprocess.STDOUT,
            start_new_session=True, env=env,
        )
        with _live_lock:
            _live.add(self)

    def alive(self) -> bool:
        return self.popen.poll() is None

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the group, SIGKILL it after `grace` seconds, and wait until
        the process is reaped.  Signals go only to a group whose leader has
        not been reaped yet, so never to a reused pid; a second stop is a no-op."""
        p = self.popen
        try:
            if p.poll() is None:
                _killpg(p.pid, signal.SIGTERM)
                try:
                    p.wait(grace)
                except subprocess.TimeoutExpired:
                    _killpg(p.pid, signal.SIGKILL)
                    p.wait(10)
        finally:
            self._fh.close()
            with _live_lock:
                _live.discard(self)

    def tail(self, lines: int = 30) -> str:
        return _tail(self.log, lines)


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


_SETPRIV = shutil.which("setpriv")


def _interrupt_on_sigterm() -> None:
    """A SIGTERM'd test run unwinds like Ctrl-C (fixtures' finalizers and
    atexit run) instead of dying with the control planes still up; only when
    nobody else handles SIGTERM."""
    if threading.current_thread() is threading.main_thread() and signal.getsignal(signal.SIGTERM) == signal.SIG_DFL:
        signal.signal(signal.SIGTERM, _raise_interrupt)


def _raise_interrupt(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


@atexit.register
def _kill_leftovers() -> None:
    with _live_lock:
        procs = list(_live)
    for p in procs:
        try:
            p.stop(grace=2)
        except Exception:  # noqa: BLE001 - best effort at interpreter exit
            pass


def _tail(path: Path, lines: int = 30) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def free_ports(n: int) -> list[int]:
    """n distinct free TCP ports on 127.0.0.1 (held together, then released)."""
    socks = []
    try:
        for _ in range(n):
            s = socket.socket()
            s.bind(("127.0.0.1", 0))
            socks.append(s)
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex((host, port)) == 0


# ---------------------------------------------------------------- certificates


def _openssl(*args: str, cwd: Path) -> None:
    r = subprocess.run(["openssl", *args], cwd=cwd, capture_output=True, text=True)
    if r.returncode != 0:
        raise ControlPlaneError(f"openssl {' '.join(args)} failed: {r.stderr.strip()}")


def make_pki(d: Path, cluster: str) -> None:
    """ca.crt/ca.key, serving.crt/serving.key (127.0.0.1, localhost and the
    in-cluster names), sa.key/sa.pub for service-account tokens."""
    d.mkdir(parents=True, exist_ok=True)
    ec = ("-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes")
    _openssl("req", "-x509", *ec, "-keyout", "ca.key", "-out", "ca.crt", "-days", "7",
             "-subj", f"/CN={cluster}-ca", "-addext", "basicConstraints=critical,CA:TRUE",
             "-addext", "keyUsage=critical,keyCertSign,cRLSign", cwd=d)
    sans = ",".join(["IP:127.0.0.1", "DNS:localhost", "DNS:kubernetes", "DNS:kubernetes.default",
                     "DNS:kubernetes.default.svc", "DNS:kubernetes.default.svc.cluster.local"])
    _openssl("req", "-x509", *ec, "-keyout", "serving.key", "-out", "serving.crt", "-days", "7",
             "-CA", "ca.crt", "-CAkey", "ca.key", "-subj", f"/CN={cluster}-apiserver",
             "-addext", f"subjectAltName={sans}", "-addext", "basicConstraints=critical,CA:FALSE",
             "-addext", "keyUsage=critical,digitalSignature,keyEncipherment",
             "-addext", "extendedKeyUsage=serverAuth", cwd=d)
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", "sa.key", cwd=d)
    _openssl("pkey", "-in", "sa.key", "-pubout", "-out", "sa.pub", cwd=d)


# ---------------------------------------------------------------- control planes


@dataclass(frozen=True)
class ClusterSpec:
    name: str
    cluster_id: int
    service_cidr: str
    aliases: tuple[str, ...] = ()  # extra admin context names, e.g. kind-cluster-a


DEFAULT_CLUSTERS = tuple(
    ClusterSpec(f"cluster-{x}", i, f"10.{95 + i}.0.0/16", (f"kind-cluster-{x}",))
    for i, x in enumerate("abc", start=1)
)


@dataclass
class ControlPlane:
    name: str
    url: str
    ca_file: Path
    admin_token: str
    readonly_token: str | None
    cluster_id: int
    service_cidr: str
    data_dir: Path
    apiserver_port: int
    etcd_port: int
    etcd_peer_port: int
    controller_manager_port: int
    aliases: tuple[str, ...] = ()
    etcd: _Proc | None = field(default=None, repr=False)
    apiserver: _Proc | None = field(default=None, repr=False)
    controller_manager: _Proc | None = field(default=None, repr=False)

    @property
    def apiserver_log(self) -> Path:
        return self.data_dir / "kube-apiserver.log"

    @property
    def etcd_log(self) -> Path:
        return self.data_dir / "etcd.log"

    @property
    def controller_manager_log(self) -> Path:
        return self.data_dir / "kube-controller-manager.log"

    @property
    def ports(self) -> tuple[int, ...]:
        return (self.apiserver_port, self.etcd_port, self.etcd_peer_port, self.controller_manager_port)

    def processes(self) -> list[_Proc]:
        """In stop order: the controller manager, then kube-apiserver, then etcd."""
        return [p for p in (self.controller_manager, self.apiserver, self.etcd) if p is not None]

    def get(self, path: str, token: str | None = None, timeout: float = 5) -> tuple[int, bytes]:
        """GET path over HTTPS with the admin token (or `token`)."""
        ctx = ssl.create_default_context(cafile=str(self.ca_file))
        req = urllib.request.Request(self.url + path, headers={"Authorization": f"Bearer {token or self.admin_token}"})
        try:
            with urllib.request.urlopen(req, context=ctx, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


def _start_etcd(cp: ControlPlane, bins: Binaries) -> None:
    etcd_url = f"http://127.0.0.1:{cp.etcd_port}"
    peer_url = f"http://127.0.0.1:{cp.etcd_peer_port}"
    cp.etcd = _Proc(f"{cp.name}/etcd", [
        str(bins.etcd), "--name", cp.name, "--data-dir", str(cp.data_dir / "etcd"),
        "--listen-client-urls", etcd_url, "--advertise-client-urls", etcd_url,
        "--listen-peer-urls", peer_url, "--initial-advertise-peer-urls", peer_url,
        "--initial-cluster", f"{cp.name}={peer_url}", "--initial-cluster-state", "new",
        "--unsafe-no-fsync", "--log-level", "warn",
    ], cp.etcd_log)


def _check_alive(cp: ControlPlane, abort: threading.Event | None = None) -> None:
    if abort is not None and abort.is_set():
        raise _Abandoned(f"{cp.name}: start abandoned")
    for p in (cp.etcd, cp.apiserver, cp.controller_manager):
        if p is not None and not p.alive():
            raise ControlPlaneError(
                f"{p.name} exited with code {p.popen.returncode} before {cp.name} was ready; "
                f"tail of {p.log}:\n{p.tail()}")


def _wait_etcd(cp: ControlPlane, deadline: float, budget: float, abort: threading.Event | None = None) -> None:
    last = ""
    while True:
        _check_alive(cp, abort)
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{cp.etcd_port}/health", timeout=2) as r:
                if json.loads(r.read()).get("health") == "true":
                    return
        except (OSError, ValueError) as e:
            last = str(e)
        if time.monotonic() > deadline:
            raise ControlPlaneError(f"{cp.name}: etcd not healthy after {budget:g}s ({last}); "
                                    f"tail of {cp.etcd_log}:\n{_tail(cp.etcd_log)}")
        time.sleep(0.1)


def _all(fn, items, abort: threading.Event) -> None:
    """fn(item) for every item, in threads; the first failure (or an
    interrupt here) sets `abort` so the others stop waiting; raise the first
    real error."""
    def run(item):
        try:
            fn(item)
        except BaseException:
            abort.set()
            raise

    pool = concurrent.futures.ThreadPoolExecutor(len(items))
    try:
        futures = [pool.submit(run, i) for i in items]
        concurrent.futures.wait(futures)
    except BaseException:
        abort.set()
        raise
    finally:
        pool.shutdown(wait=True)
    errors = [f.exception() for f in futures if f.exception() is not None]
    if errors:
        raise next((e for e in errors if not isinstance(e, _Abandoned)), errors[0])


def _start_apiserver(cp: ControlPlane, bins: Binaries) -> None:
    d = cp.data_dir
    etcd_url = f"http://127.0.0.1:{cp.etcd_port}"
    pki = d / "pki"
    cp.apiserver = _Proc(f"{cp.name}/kube-apiserver", [
        str(bins.kube_apiserver),
        "--etcd-servers", etcd_url,
        "--bind-address", "127.0.0.1", "--advertise-address", "127.0.0.1",
        "--secure-port", str(cp.apiserver_port),
        "--cert-dir", str(d / "apiserver-certs"),
        "--tls-cert-file", str(pki / "serving.crt"), "--tls-private-key-file", str(pki / "serving.key"),
        "--client-ca-file", str(pki / "ca.crt"),
        "--token-auth-file", str(d / "tokens.csv"),
        "--authorization-mode", "Node,RBAC",
        "--service-account-issuer", f"https://{cp.name}.meshspec-e2e.invalid",
        "--service-account-key-file", str(pki / "sa.pub"),
        "--service-account-signing-key-file", str(pki / "sa.key"),
        "--service-cluster-ip-range", cp.service_cidr,
        # 127.0.0.1 is not a valid Endpoints address, and no pod could use it.
        "--endpoint-reconciler-type", "none",
        "--allow-privileged=false", "--profiling=false",
    ], cp.apiserver_log)


def _wait_ready(cp: ControlPlane, deadline: float, budget: float, abort: threading.Event | None = None) -> None:
    def probe() -> str | None:
        status, body = cp.get("/readyz", timeout=2)
        return None if status == 200 else f"/readyz {status}: {body.decode(errors='replace')[-400:]}"

    _poll(cp, probe, "/readyz", "kube-apiserver not ready", cp.apiserver_log, deadline, budget, abort)


def _poll(cp: ControlPlane, probe: Callable[[], str | None], endpoint: str, failure: str, log: Path,
          deadline: float, budget: float, abort: threading.Event | None) -> None:
    """Call `probe` (None: healthy; else what it saw) every 0.25 s until it passes, the process dies or
    `deadline` passes; then the error names what was seen last and the log's tail."""
    last = ""
    while True:
        _check_alive(cp, abort)
        try:
            last = probe()
            if last is None:
                return
        except urllib.error.HTTPError as e:
            last = f"{endpoint} {e.code}: {e.read().decode(errors='replace')[-400:]}"
        except (OSError, ssl.SSLError) as e:
            last = f"{endpoint}: {e}"
        if time.monotonic() > deadline:
            raise ControlPlaneError(f"{cp.name}: {failure} after {budget:g}s ({last}); tail of {log}:\n{_tail(log)}")
        time.sleep(0.25)


def _write_admin_kubeconfig(cp: ControlPlane) -> Path:
    """A kubeconfig with only this cluster's admin credentials (for kube-controller-manager)."""
    path = cp.data_dir / "admin.kubeconfig"
    config = {"apiVersion": "v1", "kind": "Config",
              "clusters": [{"name": cp.name, "cluster": {"server": cp.url, "certificate-authority": str(cp.ca_file)}}],
              "users": [{"name": "admin", "user": {"token": cp.admin_token}}],
              "contexts": [{"name": cp.name, "context": {"cluster": cp.name, "user": "admin"}}],
              "current-context": cp.name}
    path.write_text(json.dumps(config, indent=2) + "\n")
    path.chmod(0o600)
    return path


def _start_controller_manager(cp: ControlPlane, bins: Binaries) -> None:
    """Only the garbage collector; the admin credentials (no per-controller service accounts, so no
    service-account key is needed); no leader election (one instance). Its health endpoint is served on
    127.0.0.1 with a self-signed certificate, and /healthz is readable without credentials (the default
    --authorization-always-allow-paths)."""
    kubeconfig = _write_admin_kubeconfig(cp)
    cp.controller_manager = _Proc(f"{cp.name}/kube-controller-manager", [
        str(bins.kube_controller_manager),
        "--kubeconfig", str(kubeconfig),
        "--controllers", "garbage-collector-controller",
        "--leader-elect=false",
        "--use-service-account-credentials=false",
        "--bind-address", "127.0.0.1", "--secure-port", str(cp.controller_manager_port),
        "--cert-dir", str(cp.data_dir / "controller-manager-certs"),
        "--profiling=false",
    ], cp.controller_manager_log)


def _wait_controller_manager(cp: ControlPlane, deadline: float, budget: float,
                             abort: threading.Event | None = None) -> None:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # its own self-signed serving certificate; only /healthz is read

    def probe() -> str | None:
        with urllib.request.urlopen(f"https://127.0.0.1:{cp.controller_manager_port}/healthz",
                                    context=ctx, timeout=2) as r:
            return None if r.status == 200 else f"/healthz {r.status}"

    _poll(cp, probe, "/healthz", "kube-controller-manager not healthy", cp.controller_manager_log,
          deadline, budget, abort)


def _setup_objects(cluster_name: str, cluster_id: int) -> str:
    """The read-only ServiceAccount and its RBAC, cilium-config and the cilium DaemonSet (YAML stream)."""
    docs = [
        {"apiVersion": "v1", "kind": "ServiceAccount",
         "metadata": {"name": READONLY_SA, "namespace": READONLY_NAMESPACE}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole",
         "metadata": {"name": READONLY_SA},
         "rules": [
             {"apiGroups": [""], "resources": ["services", "namespaces"], "verbs": ["get", "list"]},
             {"apiGroups": ["discovery.k8s.io"], "resources": ["endpointslices"], "verbs": ["get", "list"]},
         ]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding",
         "metadata": {"name": READONLY_SA},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": READONLY_SA},
         "subjects": [{"kind": "ServiceAccount", "name": READONLY_SA, "namespace": READONLY_NAMESPACE}]},
        # cilium-config and the cilium DaemonSet only, and only in kube-system: a Role with resourceNames.
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "Role",
         "metadata": {"name": f"{READONLY_SA}-cilium-config", "namespace": "kube-system"},
         "rules": [{"apiGroups": [""], "resources": ["configmaps"], "resourceNames": ["cilium-config"],
                    "verbs": ["get"]},
                   {"apiGroups": ["apps"], "resources": ["daemonsets"], "resourceNames": ["cilium"],
                    "verbs": ["get"]}]},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "RoleBinding",
         "metadata": {"name": f"{READONLY_SA}-cilium-config", "namespace": "kube-system"},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": f"{READONLY_SA}-cilium-config"},
         "subjects": [{"kind": "ServiceAccount", "name": READONLY_SA, "namespace": READONLY_NAMESPACE}]},
        {"apiVersion": "v1", "kind": "ConfigMap",
         "metadata": {"name": "cilium-config", "namespace": "kube-system"},
         "data": {"cluster-name": cluster_name, "cluster-id": str(cluster_id)}},
        # The cilium DaemonSet, whose agent image tag verify reads as the Cilium version the cluster runs
        # (no controller runs here, so it never gets pods).
        {"apiVersion": "apps/v1", "kind": "DaemonSet", "metadata": {"name": "cilium", "namespace": "kube-system"},
         "spec": {"selector": {"matchLabels": {"k8s-app": "cilium"}},
                  "template": {"metadata": {"labels": {"k8s-app": "cilium"}},
                               "spec": {"containers": [{"name": "cilium-agent", "image": CILIUM_IMAGE}]}}}},
    ]
    # JSON documents are YAML documents.
    return "\n---\n".join(json.dumps(d) for d in docs) + "\n"


class Mesh:
    """Control planes started together, and one kubeconfig for all of them."""

    def __init__(self, workdir: Path, binaries: Binaries, clusters: dict[str, ControlPlane]):
        self.workdir = workdir
        self.binaries = binaries
        self.clusters = clusters
        self.kubeconfig = workdir / "kubeconfig"
        self.kube_cache = workdir / "kubectl-cache"
        self.start_seconds: float | None = None
        self.controller_manager_seconds: float | None = None  # of start_seconds: the controller managers' start

    def __getitem__(self, name: str) -> ControlPlane:
        return self.clusters[name]

    def __iter__(self):
        return iter(self.clusters.values())

    @property
    def names(self) -> list[str]:
        return list(self.clusters)

    def context(self, cluster: str, readonly: bool = False) -> str:
        self.clusters[cluster]  # KeyError for a cluster that is not in the mesh
        return f"{cluster}-readonly" if readonly else cluster

    def write_kubeconfig(self) -> Path:
        clusters, users, contexts = [], [], []
        for cp in self:
            clusters.append({"name": cp.name, "cluster": {"server": cp.url, "certificate-authority": str(cp.ca_file)}})
            users.append({"name": f"{cp.name}-admin", "user": {"token": cp.admin_token}})
            for ctx in (cp.name, *cp.aliases):
                contexts.append({"name": ctx, "context": {"cluster": cp.name, "user": f"{cp.name}-admin"}})
            if cp.readonly_token:
                users.append({"name": f"{cp.name}-readonly", "user": {"token": cp.readonly_token}})
                contexts.append({"name": f"{cp.name}-readonly",
                                 "context": {"cluster": cp.name, "user": f"{cp.name}-readonly"}})
        config = {"apiVersion": "v1", "kind": "Config", "clusters": clusters, "users": users,
                  "contexts": contexts, "current-context": next(iter(self.clusters)), "preferences": {}}
        tmp = self.kubeconfig.with_suffix(".tmp")
        tmp.write_text(json.dumps(config, indent=2) + "\n")
        tmp.chmod(0o600)
        os.replace(tmp, self.kubeconfig)
        return self.kubeconfig

    def kubectl_argv(self, cluster: str, *args: str, readonly: bool = False,
                     context: str | None = None) -> list[str]:
        return [str(self.binaries.kubectl), "--kubeconfig", str(self.kubeconfig),
                "--context", context or self.context(cluster, readonly),
                "--cache-dir", str(self.kube_cache), *args]

    def kubectl(self, cluster: str, *args: str, readonly: bool = False, context: str | None = None,
                check: bool = True, input: str | None = None, timeout: float = 60) -> subprocess.CompletedProcess:
        """Run kubectl against one cluster: its admin context, its -readonly
        one, or `context` (an alias such as kind-cluster-a)."""
        argv = self.kubectl_argv(cluster, *args, readonly=readonly, context=context)
        r = subprocess.run(argv, input=input, capture_output=True, text=True, timeout=timeout,
                           env={**os.environ, "KUBECONFIG": str(self.kubeconfig)})
        if check and r.returncode != 0:
            raise ControlPlaneError(f"kubectl {' '.join(args)} on {cluster} exited {r.returncode}: "
                                    f"{r.stderr.strip() or r.stdout.strip()}")
        return r

    def stop(self, cluster: str, etcd: bool = False) -> None:
        """Kill one cluster's kube-apiserver (and its etcd too, with etcd=True)."""
        cp = self.clusters[cluster]
        if cp.apiserver:
            cp.apiserver.stop()
        if etcd and cp.etcd:
            cp.etcd.stop()

    def start(self, cluster: str, timeout: float = START_TIMEOUT) -> None:
        """Start a stopped cluster again (same ports, certificates and data)."""
        cp = self.clusters[cluster]
        if cp.etcd is None or not cp.etcd.alive():
            raise ControlPlaneError(f"{cluster}: etcd is not running; only a stopped kube-apiserver can be restarted")
        if cp.apiserver is None or not cp.apiserver.alive():
            _start_apiserver(cp, self.binaries)
        _wait_ready(cp, time.monotonic() + timeout, timeout)

    def close(self) -> None:
        """End every process of every cluster; controller managers and apiservers first, then etcds."""
        errors = []
        for cp in self:
            for p in cp.processes():
                try:
                    p.stop()
                except Exception as e:  # noqa: BLE001 - stop the rest, then report
                    errors.append(f"{p.name}: {e}")
        if errors:
            raise ControlPlaneError("teardown: " + "; ".join(errors))

    def __enter__(self) -> "Mesh":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def start_mesh(workdir: Path, specs: tuple[ClusterSpec, ...] = DEFAULT_CLUSTERS,
               binaries: Binaries | None = None, timeout: float = START_TIMEOUT) -> Mesh:
    """Start one control plane per spec, all at once; wait until every one is
    ready, its read-only ServiceAccount and cilium-config exist and the
    kubeconfig has both contexts.  On any failure everything started is
    stopped before the error propagates."""
    t0 = time.monotonic()
    binaries = binaries or Binaries.find()
    workdir = Path(workdir)
    workdir.mkdir(parents=True, exist_ok=True)
    ports = free_ports(4 * len(specs))
    clusters: dict[str, ControlPlane] = {}
    for i, spec in enumerate(specs):
        d = workdir / spec.name
        d.mkdir()
        api_port, etcd_port, peer_port, kcm_port = ports[4 * i:4 * i + 4]
        admin_token = secrets.token_hex(24)
        (d / "tokens.csv").write_text(f'{admin_token},admin,admin,"system:masters"\n')
        clusters[spec.name] = ControlPlane(
            name=spec.name, url=f"https://127.0.0.1:{api_port}", ca_file=d / "pki" / "ca.crt",
            admin_token=admin_token, readonly_token=None, cluster_id=spec.cluster_id,
            service_cidr=spec.service_cidr, data_dir=d, apiserver_port=api_port,
            etcd_port=etcd_port, etcd_peer_port=peer_port, controller_manager_port=kcm_port, aliases=spec.aliases)
    mesh = Mesh(workdir, binaries, clusters)
    try:
        for cp in mesh:
            make_pki(cp.data_dir / "pki", cp.name)
        _interrupt_on_sigterm()
        # Processes are started from this thread, the waits run in threads.
        abort = threading.Event()
        deadline = time.monotonic() + timeout
        for cp in mesh:
            _start_etcd(cp, binaries)
        _all(lambda cp: _wait_etcd(cp, deadline, timeout, abort), list(mesh), abort)
        for cp in mesh:
            _start_apiserver(cp, binaries)
        _all(lambda cp: _wait_ready(cp, deadline, timeout, abort), list(mesh), abort)
        mesh.write_kubeconfig()
        _all(lambda cp: _provision(mesh, cp), list(mesh), abort)
        mesh.write_kubeconfig()
        t_kcm = time.monotonic()
        for cp in mesh:
            _start_controller_manager(cp, binaries)
        _all(lambda cp: _wait_controller_manager(cp, deadline, timeout, abort), list(mesh), abort)
        mesh.controller_manager_seconds = round(time.monotonic() - t_kcm, 2)
    except BaseException:
        try:
            mesh.close()
        except ControlPlaneError:
            pass
        raise
    mesh.start_seconds = round(time.monotonic() - t0, 2)
    return mesh


def _provision(mesh: Mesh, cp: ControlPlane) -> None:
    mesh.kubectl(cp.name, "apply", "--server-side", "--field-manager=meshspec-e2e", "-f", "-",
                 input=_setup_objects(cp.name, cp.cluster_id))
    r = mesh.kubectl(cp.name, "create", "token", READONLY_SA, "-n", READONLY_NAMESPACE, "--duration=24h")
    cp.readonly_token = r.stdout.strip()


def main(argv: list[str] | None = None) -> int:
    """`python tests/support/controlplane.py [--hold]`: start the three
    clusters, print their kubeconfig and start time; with --hold keep them
    until Ctrl-C (for poking at them by hand)."""
    import argparse
    import tempfile

    p = argparse.ArgumentParser(description=main.__doc__)
    p.add_argument("--hold", action="store_true", help="keep running until interrupted")
    p.add_argument("--keep", action="store_true", help="keep the work directory (logs) afterwards")
    args = p.parse_args(argv)
    workdir = Path(tempfile.mkdtemp(prefix="meshspec-e2e-"))
    try:
        with start_mesh(workdir) as mesh:
            print(f"{len(mesh.clusters)} control planes ready in {mesh.start_seconds:.1f}s "
                  f"({mesh.controller_manager_seconds:.1f}s of it for the kube-controller-managers)")
            for cp in mesh:
                print(f"  {cp.name}: {cp.url} (service CIDR {cp.service_cidr}, logs in {cp.data_dir})")
            print(f"export KUBECONFIG={mesh.kubeconfig}")
            if args.hold:
                try:
                    signal.pause()
                except KeyboardInterrupt:
                    pass
    finally:
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
