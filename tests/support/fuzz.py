"""Generators for the fuzz tests: specs from the spec's own structure definition, ServiceSpecs with the
fields the API server validates, byte-level mutations of real files, and state folders.

Every generator mixes well-formed values with wrong ones, so that cases reach deep checks (routing,
rendering) as well as the loader's and the schema's refusals.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import pathlib

import yaml
from hypothesis import strategies as st

from meshspec.cli import main
from meshspec.spec.structure import SCHEMA

from . import ROOT

OK_EXITS = {0, 1, 2, 3}  # success, invalid input, usage error, diff gate: never 70 (a bug)

WORDS = ["TCP", "UDP", "SCTP", "HTTP", "None", "ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "IPv4",
         "IPv6", "IPv5", "Local", "Cluster", "ClientIP", "clientip", "SingleStack", "PreferDualStack",
         "RequireDualStack", "10.0.0.1", "fd00::1", "not-an-ip", "http", "http-metrics-port", "a" * 64, "",
         "true", "yes", "local", "remote", "none", "cluster-a", "cluster-b", "default", "shop", "web",
         "service.cilium.io/global", "service.cilium.io/lb-l7", "io.cilium/global-service", "x/y", "-bad"]
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2 ** 70), 2 ** 70), st.integers(-3, 70000),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=12), st.sampled_from(WORDS))
ANY = st.recursive(SCALARS, lambda kids: st.lists(kids, max_size=4)
                   | st.dictionaries(st.one_of(st.sampled_from(WORDS), st.text(max_size=6)), kids, max_size=4),
                   max_leaves=16)


def _often(valid: st.SearchStrategy) -> st.SearchStrategy:
    """Mostly `valid`, sometimes anything at all."""
    return st.one_of(valid, valid, valid, ANY)


PORT = st.fixed_dictionaries({}, optional={
    "name": _often(st.sampled_from(["http", "grpc", "metrics", "http-metrics-port", "", "a" * 64, "Http"])),
    "port": _often(st.integers(-1, 70000)),
    "targetPort": _often(st.one_of(st.integers(0, 70000), st.sampled_from(["http", "a" * 16, "8080", ""]))),
    "protocol": _often(st.sampled_from(["TCP", "UDP", "SCTP", "HTTP", "tcp"])),
    "nodePort": _often(st.integers(0, 40000)),
    "appProtocol": _often(st.sampled_from(["http", "kubernetes.io/h2c", "bad proto"])),
})
SERVICE_SPEC = st.fixed_dictionaries({}, optional={
    "type": _often(st.sampled_from(["ClusterIP", "NodePort", "LoadBalancer", "ExternalName", "clusterip"])),
    "selector": _often(st.dictionaries(st.sampled_from(["app", "x/y", "-bad"]), st.sampled_from(["web", "", "-"]),
                                       max_size=2)),
    "ports": _often(st.lists(st.one_of(PORT, PORT, PORT, ANY), max_size=4)),
    "clusterIP": _often(st.sampled_from(["None", "", "10.0.0.1", "not-an-ip", "fd00::1"])),
    "clusterIPs": _often(st.lists(st.sampled_from(["None", "10.0.0.1", "fd00::1", "x"]), max_size=3)),
    "ipFamilies": _often(st.lists(st.sampled_from(["IPv4", "IPv6", "IPv5"]), max_size=3)),
    "ipFamilyPolicy": _often(st.sampled_from(["SingleStack", "PreferDualStack", "RequireDualStack", "Dual"])),
    "sessionAffinity": _often(st.sampled_from(["None", "ClientIP", "clientip"])),
    "sessionAffinityConfig": _often(st.just({"clientIP": {"timeoutSeconds": 10800}})),
    "externalTrafficPolicy": _often(st.sampled_from(["Cluster", "Local", "local"])),
    "internalTrafficPolicy": _often(st.sampled_from(["Cluster", "Local", "Nope"])),
    "externalName": _often(st.sampled_from(["db.example.com", "not a name", ""])),
    "publishNotReadyAddresses": _often(st.booleans()),
    "loadBalancerSourceRanges": _often(st.lists(st.sampled_from(["10.0.0.0/8", "nope"]), max_size=2)),
})
CLUSTER_NAMES = ["cluster-a", "cluster-b", "cluster-c"]
# Keys of the spec's string maps (overrides, labels, annotations), Cilium's among them: an override may not
# set those.
MAP_KEYS = ["app", "x/y", "service.cilium.io/global", "service.cilium.io/lb-algorithm", "io.cilium/shared-service",
            "app.kubernetes.io/managed-by"]
# Helm values, whole or per cluster: the chart's keys, generated ones, a private key, wrong types.
CILIUM_VALUES = st.one_of(
    st.sampled_from([{"ipam": {"mode": "eni"}}, {"k8sServiceHost": "10.0.0.1", "k8sServicePort": 6443},
                     {"cluster": {"id": 9}}, {"clustermesh": 1}, {"tls": {"ca": {"key": "x"}}}, {"ipam": {"mod": 1}},
                     {"k8sServicePort": True}, {"hubble": {"relay": {"enabled": True}}}]),
    st.dictionaries(st.sampled_from(["ipam", "hubble", "cluster", "eni"] + WORDS), ANY, max_size=3))


def from_rules(rules: dict) -> st.SearchStrategy:
    """A value for one cerberus rule set of the spec's structure (mostly conforming)."""
    kind = rules.get("type")
    if "allowed" in rules:
        valid = st.sampled_from(list(rules["allowed"]))
    elif kind == "dict" and "schema" in rules:
        valid = mapping(rules["schema"])
    elif kind == "dict" and "valuesrules" in rules:
        valid = st.dictionaries(st.sampled_from(CLUSTER_NAMES + MAP_KEYS), from_rules(rules["valuesrules"]),
                                max_size=3)
    elif kind == "dict":
        valid = st.dictionaries(st.sampled_from(WORDS), ANY, max_size=3)
    elif kind == "list":
        valid = st.lists(from_rules(rules.get("schema", {})), max_size=4)
    elif kind == "boolean":
        valid = st.booleans()
    elif kind == "strict_integer":
        valid = st.integers(-1, 600)
    elif kind == "string":
        valid = st.sampled_from(WORDS)
    else:
        valid = ANY
    return _often(valid)


def mapping(schema: dict) -> st.SearchStrategy:
    required = {k: from_rules(v) for k, v in schema.items() if v.get("required")}
    optional = {k: from_rules(v) for k, v in schema.items() if not v.get("required")}
    return st.fixed_dictionaries(required, optional=optional)


def _service() -> st.SearchStrategy:
    rules = SCHEMA["spec"]["schema"]["services"]["schema"]["schema"]
    base = mapping({k: v for k, v in rules.items() if k not in ("spec", "name")})
    return st.builds(lambda svc, name, spec: {**svc, "name": name, "spec": spec}, base,
                     _often(st.sampled_from(["web", "api", "Bad_Name"])), _often(SERVICE_SPEC))


def _cluster() -> st.SearchStrategy:
    return st.fixed_dictionaries({"name": _often(st.sampled_from(CLUSTER_NAMES)), "id": _often(st.integers(0, 600))},
                                 optional={"podCIDRs": _often(st.lists(st.sampled_from(["10.1.0.0/16", "10.1.0.0/8",
                                                                                       "nope"]), max_size=2)),
                                           "context": _often(st.sampled_from(["kind-a", ""])),
                                           "clustermesh": _often(st.fixed_dictionaries(
                                               {}, optional={"address": st.sampled_from(["10.0.0.1", "x y"]),
                                                             "port": st.integers(0, 70000)})),
                                           "cilium": _often(st.fixed_dictionaries(
                                               {}, optional={"values": _often(CILIUM_VALUES)}))})


SPECS = st.builds(
    lambda cilium, gitops, defaults, clusters, services, extra: {
        "apiVersion": "meshspec/v1alpha1", "kind": "Mesh", "metadata": {"name": "fuzz"},
        "spec": {"clusters": clusters, "services": services,
                 **({"cilium": cilium} if cilium is not None else {}),
                 **({"gitops": gitops} if gitops is not None else {}),
                 **({"defaults": defaults} if defaults is not None else {})}, **extra},
    st.none() | from_rules(SCHEMA["spec"]["schema"]["cilium"]),
    st.none() | st.none() | from_rules(SCHEMA["spec"]["schema"]["gitops"]),
    st.none() | from_rules(SCHEMA["spec"]["schema"]["defaults"]),
    _often(st.lists(_cluster(), min_size=1, max_size=3)),
    _often(st.lists(_service(), max_size=3)),
    st.just({}) | st.dictionaries(st.sampled_from(["bogus", "apiVersion"]), ANY, max_size=1),
)


def seed_files() -> list[pathlib.Path]:
    """Real specs and state files to mutate."""
    found = [ROOT / "examples" / "mesh.yaml", *sorted((ROOT / "tests").rglob("fixtures/**/*.yaml"))]
    return [p for p in found if p.stat().st_size < 64 * 1024]


# Byte-level mutations: what an editor, a merge or a careless paste does to a file.
TOKENS = [b"!!int x", b"!!bool maybe", b"!!timestamp x", b"!!binary ~", b"&a", b"*a", b"<<: *a", b"9" * 4301,
          b"\xef\xbf\xbe", b"\xed\xa0\x80", b"\x00", b"\t", b"[" * 60, b"{" * 60, b"- ", b": ", b"'", b'"', b"\n",
          b"---\n", b"null", b"~", b"2024-01-01", b"1e999", b".nan", b"0x1F", b"ports: [null]", b"? [a]\n"]
MUTATION = st.tuples(st.sampled_from(["insert", "delete", "replace", "duplicate-line"]), st.floats(0, 1),
                     st.integers(1, 40), st.one_of(st.sampled_from(TOKENS), st.binary(max_size=8)))


def mutate(data: bytes, mutations: list[tuple]) -> bytes:
    for kind, where, size, token in mutations:
        at = int(where * len(data))
        if kind == "insert":
            data = data[:at] + token + data[at:]
        elif kind == "delete":
            data = data[:at] + data[at + size:]
        elif kind == "replace":
            data = data[:at] + token + data[at + len(token):]
        else:
            start = data.rfind(b"\n", 0, at) + 1
            end = data.find(b"\n", at)
            end = len(data) if end < 0 else end + 1
            data = data[:end] + data[start:end] + data[end:]
    return data


def run(*argv: str) -> tuple[int, str, str]:
    """meshspec in process, as a user runs it; a bug surfaces as its exception (MESHSPEC_DEBUG)."""
    out, err = io.StringIO(), io.StringIO()
    previous = os.environ.get("MESHSPEC_DEBUG")
    os.environ["MESHSPEC_DEBUG"] = "1"
    try:
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(list(argv))
    finally:
        if previous is None:
            os.environ.pop("MESHSPEC_DEBUG", None)
        else:
            os.environ["MESHSPEC_DEBUG"] = previous
    # What meshspec prints must survive a UTF-8 terminal or pipe.
    out.getvalue().encode("utf-8")
    err.getvalue().encode("utf-8")
    return code, out.getvalue(), err.getvalue()


def dump(doc: object) -> bytes:
    try:
        return yaml.safe_dump(doc, allow_unicode=True, sort_keys=False).encode("utf-8", "surrogatepass")
    except (yaml.YAMLError, ValueError):
        return json.dumps(doc, default=str).encode("utf-8", "surrogatepass")


# --- what `meshspec import` reads: Service objects and cilium-config, as a cluster (or a dump) serves them --

ANNOTATION_KEYS = ["service.cilium.io/global", "io.cilium/global-service", "service.cilium.io/shared",
                   "io.cilium/shared-service", "service.cilium.io/affinity", "io.cilium/service-affinity",
                   "service.cilium.io/lb-l7", "service.cilium.io/bogus", "example.com/owner", "bad key!",
                   "kubectl.kubernetes.io/last-applied-configuration", "pulumi.com/skipAwait"]
FLAG_VALUES = ["true", "True", "TRUE", "false", "yes", "1", "local", "Local", "remote", "none", "", "x" * 70,
               '{"spec": {"ports": [{"port": 80, "nodePort": 30080}]}}', "{"]
SERVICE_OBJECT = st.fixed_dictionaries({
    "apiVersion": st.just("v1"), "kind": st.just("Service"),
    "metadata": _often(st.fixed_dictionaries(
        {"name": _often(st.sampled_from(["web", "api", "db", "Web", "a" * 70, ""]))},
        optional={"namespace": _often(st.sampled_from(["shop", "default", "data", "Bad_NS"])),
                  "annotations": _often(st.dictionaries(st.sampled_from(ANNOTATION_KEYS), st.sampled_from(FLAG_VALUES),
                                                        max_size=5)),
                  "labels": _often(st.dictionaries(st.sampled_from(["app", "team", "app.kubernetes.io/managed-by",
                                                                    "x/y/z"]),
                                                   st.sampled_from(["web", "meshspec", "", "-bad", "a" * 70]),
                                                   max_size=3))})),
    "spec": _often(SERVICE_SPEC)})
CILIUM_DATA = st.fixed_dictionaries({}, optional={
    "cluster-name": _often(st.sampled_from(["cluster-a", "cluster-b", "default", "Bad Name", "", "a" * 40])),
    "cluster-id": _often(st.sampled_from(["1", "2", "0", "255", "256", "511", "-1", "x", ""])),
    "cluster-pool-ipv4-cidr": _often(st.sampled_from(["10.0.0.0/8", "10.1.0.0/16 10.2.0.0/16", "10.1.0.1/16",
                                                      "nope", ""])),
    "cluster-pool-ipv6-cidr": _often(st.sampled_from(["fd00::/104", "fd00::1/104", "zz"]))})
CILIUM_CONFIG = st.one_of(st.none(), st.builds(
    lambda data: {"apiVersion": "v1", "kind": "ConfigMap",
                  "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data}, _often(CILIUM_DATA)))
