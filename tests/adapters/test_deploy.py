"""The Pulumi program under mocks: what a user would see registered and exported per cluster.

No provider logic runs under mocks, so these tests check what the program hands the engine:
providers, Service inputs exactly as the provider would receive them, and stack outputs.

Two things the mock API does not show directly are read from the RegisterResource requests
themselves (RecordingMonitor): the resources each one depends on (`dependencies`, the URNs the
engine orders operations by: explicit depends_on plus every resource whose outputs are among its
inputs), and `additionalSecretOutputs`. Secretness of an input is visible in MockResourceArgs: a
secret arrives wrapped in Pulumi's secret signature (see `secret_value`), exactly as the engine
receives it and stores it encrypted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import logging
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pulumi
import pytest
import yaml
from pulumi.runtime import rpc
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs

from meshspec.artifacts.cilium_values import cluster_values
from meshspec.cilium.helm import CILIUM_HELM_REPO
from meshspec.adapters.deploy import MeshCA, adopt_annotations, adopt_options, ca_fingerprint, deploy, provider_keywords, run
from meshspec.spec.model import Mesh, build_mesh
from meshspec.analysis.verify import with_defaults
from meshspec.artifacts.manifests import render_cluster
from meshspec.cilium.annotations import SHARED
from tests.support import ROOT as REPOSITORY

ROOT = REPOSITORY
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "deploy"
EXAMPLE = ROOT / "examples" / "mesh.yaml"
PROVIDER = "pulumi:providers:kubernetes"
SERVICE = "kubernetes:core/v1:Service"
NAMESPACE = "kubernetes:core/v1:Namespace"
SECRET = "kubernetes:core/v1:Secret"
RELEASE = "kubernetes:helm.sh/v3:Release"
PRIVATE_KEY = "tls:index/privateKey:PrivateKey"
SELF_SIGNED_CERT = "tls:index/selfSignedCert:SelfSignedCert"


def pem(kind: str, body: bytes) -> str:
    return f"-----BEGIN {kind}-----\n{base64.b64encode(body).decode()}\n-----END {kind}-----\n"


# What the mocked tls provider "generates", and a CA a user would put in stack config.
GENERATED_KEY = pem("RSA PRIVATE KEY", b"generated key")
GENERATED_CERT = pem("CERTIFICATE", b"generated cert")
CONFIG_KEY = pem("RSA PRIVATE KEY", b"configured key")
CONFIG_CERT = pem("CERTIFICATE", b"configured cert")


class Recorder(pulumi.runtime.Mocks):
    """Records every resource registration; state echoes the inputs, plus the PEM the tls provider computes."""

    def __init__(self) -> None:
        self.registered: list[MockResourceArgs] = []
        self.monitor = RecordingMonitor(self)  # a fresh one: a monitor accumulates registrations

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        self.registered.append(args)
        state = dict(args.inputs)
        if args.typ == PRIVATE_KEY:
            state["privateKeyPem"] = GENERATED_KEY
        elif args.typ == SELF_SIGNED_CERT:
            state["certPem"] = GENERATED_CERT
        return f"{args.name}_id", state

    def call(self, args: Any) -> dict:
        raise NotImplementedError(f"unexpected invoke {args.token}")

    def of_type(self, typ: str) -> dict[str, MockResourceArgs]:
        return {r.name: r for r in self.registered if r.typ == typ}

    def providers(self) -> dict[str, MockResourceArgs]:
        return self.of_type(PROVIDER)

    def services(self) -> dict[str, MockResourceArgs]:
        return self.of_type(SERVICE)


class RecordingMonitor(MockMonitor):
    """Keeps what MockResourceArgs leaves out of each RegisterResource request, by logical name."""

    def __init__(self, mocks: Recorder) -> None:
        super().__init__(mocks)
        self.dependencies: dict[str, set[str]] = {}
        self.secret_outputs: dict[str, set[str]] = {}
        self.retained: set[str] = set()  # retainOnDelete

    def RegisterResource(self, request):
        self.dependencies[request.name] = {urn_name(urn) for urn in request.dependencies}
        self.secret_outputs[request.name] = set(request.additionalSecretOutputs)
        if request.retainOnDelete:
            self.retained.add(request.name)
        return super().RegisterResource(request)


def start_mocks() -> Recorder:
    """A fresh recorder and monitor, and a new root Stack."""
    recorder = Recorder()
    pulumi.runtime.reset_options()  # a new root Stack, so exports do not leak between tests
    pulumi.runtime.set_mocks(recorder, project="meshspec", stack="test", preview=False, monitor=recorder.monitor)
    return recorder


@pytest.fixture
def mocks():
    yield start_mocks()
    pulumi.runtime.set_all_config({})


def execute(program: Callable[[], Any]) -> Any:
    """Run `program` as a Pulumi program and wait until every registration has completed."""
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _program() -> None:
        result["value"] = program()

    _program()
    return result.get("value")


def load_mesh(path: Path) -> Mesh:
    return build_mesh(yaml.safe_load(path.read_text()))


def set_config(secret: tuple[str, ...] = (), **values: Any) -> None:
    """Stack config in the meshspec namespace; the keys in `secret` were set with --secret."""
    pulumi.runtime.set_all_config(
        {f"meshspec:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()},
        [f"meshspec:{k}" for k in secret])


def exports() -> dict[str, Any]:
    return pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]


def provider_name(ref: str) -> str:
    """'urn:...::<name>::<id>' -> '<name>'"""
    return ref.split("::")[-2]


def urn_name(urn: str) -> str:
    """'urn:pulumi:<stack>::<project>::<type>::<name>' -> '<name>'"""
    return urn.split("::")[-1]


def secret_value(value: Any) -> Any:
    """The value inside Pulumi's secret wrapper; fails when `value` is not a secret.

    A secret input reaches the monitor as {SIG: SECRET_SIG, "value": ...}: that marker is what makes
    the engine encrypt it in state and mask it in logs and diffs.
    """
    assert isinstance(value, dict) and value.get(rpc._special_sig_key) == rpc._special_secret_sig, value
    return value["value"]


def without_secrets(value: Any) -> Any:
    """`value` with every secret-wrapped part replaced by a placeholder: what would show in plain text."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return "[secret]"
        return {k: without_secrets(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [without_secrets(v) for v in value]
    return value


def exported() -> dict[str, Any]:
    """The stack outputs as the engine would receive them: nested Outputs resolved, secrets still wrapped."""
    result: dict[str, Any] = {}

    async def serialize() -> None:
        result["value"] = rpc.deserialize_properties(await rpc.serialize_properties(exports(), {}))

    execute(lambda: asyncio.ensure_future(serialize()))
    return result["value"]


def plain_text(mocks: Recorder) -> str:
    """Every registered input and every stack output with secrets masked: what state and logs show."""
    registered = [without_secrets(dict(r.inputs)) for r in mocks.registered]
    return json.dumps([registered, without_secrets(exported())], sort_keys=True)


def example_with(**cilium: Any) -> Mesh:
    """The example mesh with spec.cilium keys replaced."""
    data = yaml.safe_load(EXAMPLE.read_text())
    data["spec"]["cilium"].update(cilium)
    return build_mesh(data)


# --- deploy() -------------------------------------------------------------------------------------

def test_one_provider_per_cluster_named_after_it(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    providers = mocks.providers()
    assert sorted(providers) == ["cluster-a", "cluster-b", "cluster-c"]
    for name, provider in providers.items():
        assert provider.inputs["context"] == f"kind-{name}"
        assert provider.inputs["clusterIdentifier"] == name
        assert "renderYamlToDirectory" not in provider.inputs


def test_every_service_is_registered_on_its_own_cluster_provider(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    services = mocks.services()
    assert sorted(services) == sorted([
        "cluster-a/default/myapp-service", "cluster-a/shop/checkout", "cluster-a/monitoring/metrics",
        "cluster-b/default/myapp-service", "cluster-b/shop/checkout", "cluster-b/shop/inventory",
        "cluster-b/monitoring/metrics",
        "cluster-c/default/myapp-service", "cluster-c/shop/checkout", "cluster-c/shop/inventory",
        "cluster-c/monitoring/metrics",
    ])
    for logical, service in services.items():
        cluster, namespace, name = logical.split("/")
        assert provider_name(service.provider) == cluster
        # Explicit: the real provider would otherwise auto-name with a random suffix.
        assert service.inputs["metadata"]["name"] == name
        assert service.inputs["metadata"]["namespace"] == namespace


def test_service_inputs_equal_the_rendered_objects(mocks):
    mesh = load_mesh(EXAMPLE)
    execute(lambda: deploy(mesh))
    services = mocks.services()
    for cluster in mesh.clusters:
        for obj in render_cluster(mesh, cluster.name):
            logical = f"{cluster.name}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            assert services[logical].inputs == as_applied(obj)
    # The spec's per-cluster override: cluster-a consumes but does not share its endpoints.
    assert services["cluster-a/default/myapp-service"].inputs["metadata"]["annotations"][SHARED] == "false"
    assert SHARED not in services["cluster-b/default/myapp-service"].inputs["metadata"]["annotations"]


def test_camel_case_fields_and_user_keys_arrive_intact(mocks):
    mesh = load_mesh(FIXTURES / "fields.yaml")
    execute(lambda: deploy(mesh))
    web = mocks.services()["east/edge/web"].inputs
    spec = web["spec"]
    assert spec["externalTrafficPolicy"] == "Local"
    assert spec["ipFamilyPolicy"] == "PreferDualStack"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 600}}
    assert spec["ports"] == [{"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]
    # Keys the user chose are map keys, not field names: no case conversion.
    assert spec["selector"] == {"app_name": "web"}
    assert web["metadata"]["labels"]["team_name"] == "web"
    assert web["metadata"]["annotations"]["example.com/owner_id"] == "42"
    assert web == as_applied(render_cluster(mesh, "east")[0])


def as_applied(obj: dict) -> dict:
    """A rendered object as deploy() applies it: with pulumi.com/skipAwait, and the API server's defaults
    that verify expects (with_defaults) made explicit."""
    meta = obj["metadata"]
    return {**obj, "metadata": {**meta, "annotations": {**meta.get("annotations", {}), "pulumi.com/skipAwait": "true"}},
            "spec": with_defaults(obj["spec"])}


def test_applied_services_set_the_defaults_verify_expects_and_rendered_ones_do_not(mocks):
    """Server-side apply takes over only the fields it sends: adopting a hand-made Service with sessionAffinity
    ClientIP left it so, and verify reported spec drift no `pulumi up` repaired (tests/e2e/test_pulumi.py)."""
    execute(lambda: deploy(load_mesh(EXAMPLE), ca=MeshCA(cert=CONFIG_CERT, key=CONFIG_KEY)))
    checkout = mocks.services()["cluster-a/shop/checkout"].inputs["spec"]
    assert (checkout["type"], checkout["sessionAffinity"]) == ("ClusterIP", "None")
    assert [(p["protocol"], p["targetPort"]) for p in checkout["ports"]] == [("TCP", 8080), ("TCP", 9090)]
    inventory = mocks.services()["cluster-b/shop/inventory"].inputs["spec"]
    assert inventory["ports"][0]["targetPort"] == 8080  # the spec leaves it out: the port
    assert mocks.services()["cluster-a/default/myapp-service"].inputs["spec"]["type"] == "LoadBalancer"
    rendering = start_mocks()
    execute(lambda: deploy(load_mesh(EXAMPLE), render_dir="out/pulumi"))
    rendered = rendering.services()["cluster-a/shop/checkout"].inputs["spec"]
    assert "sessionAffinity" not in rendered and "type" not in rendered


def test_applied_services_skip_the_providers_await_and_rendered_ones_do_not(mocks):
    # pulumi-kubernetes 4.25's Service await (pkg/await/service.go) wants ready local endpoints, and an
    # ingress IP for a LoadBalancer, or fails the update after 10 minutes (tests/e2e/test_pulumi.py):
    # a global Service whose backends run only in other clusters never has local endpoints.
    execute(lambda: deploy(load_mesh(EXAMPLE), ca=MeshCA(cert=CONFIG_CERT, key=CONFIG_KEY)))
    services = mocks.services()
    assert services and all(s.inputs["metadata"]["annotations"]["pulumi.com/skipAwait"] == "true"
                            for s in services.values())
    rendering = start_mocks()
    execute(lambda: deploy(load_mesh(EXAMPLE), render_dir="out/pulumi"))
    assert [n for n, s in rendering.services().items() if "pulumi.com/skipAwait" in s.inputs["metadata"].get("annotations", {})] == []


def test_clusters_restrict_what_is_deployed(mocks):
    ca = MeshCA(cert=CONFIG_CERT, key=CONFIG_KEY)
    deployed = execute(lambda: deploy(load_mesh(EXAMPLE), clusters=["cluster-c", "cluster-b", "cluster-c"], ca=ca))
    assert list(deployed) == ["cluster-b", "cluster-c"]  # spec order, once each
    assert sorted(mocks.providers()) == ["cluster-b", "cluster-c"]
    assert {name.split("/")[0] for name in mocks.services()} == {"cluster-b", "cluster-c"}


def test_render_dir_is_per_cluster(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE), render_dir="out/pulumi"))
    for name, provider in mocks.providers().items():
        assert provider.inputs["renderYamlToDirectory"] == os.path.join("out/pulumi", name)


def test_a_rendering_provider_gets_no_context(mocks):
    # pulumi-kubernetes' CheckConfig refuses context, cluster or kubeconfig next to renderYamlToDirectory:
    # '"context" arg is not compatible with "renderYamlToDirectory" arg' (4.25.0, tests/e2e/test_pulumi.py).
    execute(lambda: deploy(load_mesh(EXAMPLE), render_dir="out/pulumi"))
    providers = mocks.providers()
    assert sorted(providers) == CLUSTERS
    for provider in providers.values():
        assert not {"context", "cluster", "kubeconfig"} & set(provider.inputs), provider.inputs


def test_unknown_cluster_fails_before_registering_anything(mocks):
    with pytest.raises(pulumi.RunError) as err:
        execute(lambda: deploy(load_mesh(EXAMPLE), clusters=["cluster-a", "cluster-x"]))
    assert str(err.value) == ("unknown cluster 'cluster-x' in the clusters to deploy (meshspec:clusters); "
                              "mesh 'demo' has: cluster-a, cluster-b, cluster-c")
    assert mocks.registered == []


# --- Cilium: the mesh's CA, each cluster's CA Secret and release -----------------------------------------

CLUSTERS = ["cluster-a", "cluster-b", "cluster-c"]


def reveal(value: Any) -> Any:
    """`value` with every secret wrapper removed: the plain content the provider would get."""
    if isinstance(value, dict):
        if value.get(rpc._special_sig_key) == rpc._special_secret_sig:
            return reveal(value["value"])
        return {k: reveal(v) for k, v in value.items()}
    if isinstance(value, list):
        return [reveal(v) for v in value]
    return value


def pem_body(text: str) -> str:
    return text.splitlines()[1]  # the base64 line: what would show if the PEM leaked


def assert_key_is_secret(mocks: Recorder, secret_name: str, key: str) -> None:
    secret = mocks.of_type(SECRET)[secret_name]
    masked = without_secrets(secret.inputs["stringData"])
    # The key is secret on its own or as part of a secret stringData; either way never plain.
    assert masked == "[secret]" or masked["ca.key"] == "[secret]", masked
    assert {"data", "stringData"} <= mocks.monitor.secret_outputs[secret_name]
    # The scan is meaningful: the key is in the registered inputs, only ever inside a secret.
    assert pem_body(key) in json.dumps([dict(r.inputs) for r in mocks.registered])
    assert pem_body(key) not in plain_text(mocks)


def test_a_cilium_release_per_cluster_with_that_cluster_values(mocks):
    mesh = load_mesh(EXAMPLE)
    execute(lambda: deploy(mesh))
    releases = mocks.of_type(RELEASE)
    assert sorted(releases) == [f"{c}/kube-system/cilium" for c in CLUSTERS]
    for cluster in mesh.clusters:
        release = releases[f"{cluster.name}/kube-system/cilium"]
        assert provider_name(release.provider) == cluster.name
        assert release.inputs["values"] == cluster_values(mesh, cluster)
        assert release.inputs["chart"] == "cilium"
        assert release.inputs["version"] == "1.20.1"
        assert release.inputs["namespace"] == "kube-system"
        assert release.inputs["name"] == "cilium"  # explicit: the provider would otherwise add a suffix
        assert release.inputs["repositoryOpts"] == {"repo": CILIUM_HELM_REPO}
    assert releases["cluster-b/kube-system/cilium"].inputs["values"]["cluster"] == {"name": "cluster-b", "id": 2}


MIXED = ROOT / "examples" / "mixed-cloud.yaml"


def test_each_clusters_service_carries_its_overrides_labels_and_annotations(mocks):
    mesh = load_mesh(MIXED)
    execute(lambda: deploy(mesh))
    services = mocks.services()
    meta = {c: services[f"{c}/shop/web"].inputs["metadata"] for c in ("aws-east", "gke-west", "onprem")}
    assert meta["aws-east"]["annotations"]["service.beta.kubernetes.io/aws-load-balancer-type"] == "external"
    assert meta["gke-west"]["annotations"]["networking.gke.io/load-balancer-type"] == "Internal"
    assert meta["onprem"]["annotations"]["metallb.universe.tf/address-pool"] == "mesh"
    assert not any(k.startswith("service.beta.kubernetes.io/") for c in ("gke-west", "onprem")
                   for k in meta[c]["annotations"])
    assert meta["gke-west"]["labels"]["cloud"] == "gcp" and "cloud" not in meta["aws-east"]["labels"]
    for cluster in mesh.clusters:
        [obj] = render_cluster(mesh, cluster.name)
        assert services[f"{cluster.name}/shop/web"].inputs == as_applied(obj)
    assert len({json.dumps(s.inputs["spec"], sort_keys=True) for s in services.values()}) == 1


def test_each_clusters_release_gets_its_own_cilium_values_over_the_meshs(mocks):
    mesh = load_mesh(MIXED)
    execute(lambda: deploy(mesh))
    releases = mocks.of_type(RELEASE)
    values = {c: releases[f"{c}/kube-system/cilium"].inputs["values"] for c in ("aws-east", "gke-west", "onprem")}
    assert [values[c]["ipam"]["mode"] for c in values] == ["eni", "kubernetes", "cluster-pool"]
    assert [values[c]["k8sServicePort"] for c in values] == [443, 443, 6443]
    assert values["aws-east"]["eni"] == {"enabled": True} and "eni" not in values["gke-west"]
    assert all(v["hubble"] == {"relay": {"enabled": True}} for v in values.values())  # spec.cilium.values
    for cluster in mesh.clusters:
        assert values[cluster.name] == cluster_values(mesh, cluster)


def test_the_release_follows_spec_cilium_namespace_and_version(mocks):
    mesh = example_with(namespace="cilium", version="1.19.3")
    execute(lambda: deploy(mesh, clusters=["cluster-a"], ca=MeshCA(cert=CONFIG_CERT, key=CONFIG_KEY)))
    (name, release), = mocks.of_type(RELEASE).items()
    assert name == "cluster-a/cilium/cilium"
    assert (release.inputs["namespace"], release.inputs["version"]) == ("cilium", "1.19.3")
    (name, secret), = mocks.of_type(SECRET).items()
    assert name == "cluster-a/cilium/cilium-ca"
    assert secret.inputs["metadata"]["namespace"] == "cilium"
    assert secret.inputs["metadata"]["annotations"]["meta.helm.sh/release-namespace"] == "cilium"


def test_each_cluster_gets_the_ca_secret_with_the_key_kept_secret(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    secrets = mocks.of_type(SECRET)
    assert sorted(secrets) == [f"{c}/kube-system/cilium-ca" for c in CLUSTERS]
    for name, secret in secrets.items():
        assert provider_name(secret.provider) == name.split("/")[0]
        assert secret.inputs["metadata"] == {
            "name": "cilium-ca", "namespace": "kube-system",
            # So the chart's own cilium-ca (Hubble TLS by Helm) adopts this Secret instead of failing.
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": "cilium", "meta.helm.sh/release-namespace": "kube-system",
                            "helm.sh/resource-policy": "keep"}}
        assert reveal(secret.inputs["stringData"]) == {"ca.crt": GENERATED_CERT, "ca.key": GENERATED_KEY}
        assert_key_is_secret(mocks, name, GENERATED_KEY)


def test_a_generated_ca_is_one_key_and_one_certificate_for_the_whole_mesh(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    keys, certs = mocks.of_type(PRIVATE_KEY), mocks.of_type(SELF_SIGNED_CERT)
    assert list(keys) == ["cilium-ca-key"] and list(certs) == ["cilium-ca"]
    # RSA: its PEM is PKCS#1, the only key format older Helm's buildCustomCert accepts.
    assert keys["cilium-ca-key"].inputs == {"algorithm": "RSA", "rsaBits": 2048}
    cert = certs["cilium-ca"].inputs
    assert secret_value(cert["privateKeyPem"]) == GENERATED_KEY
    assert {k: v for k, v in cert.items() if k != "privateKeyPem"} == {
        "isCaCertificate": True, "setSubjectKeyId": True,
        "allowedUses": ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"],
        "subject": {"commonName": "Cilium CA"}, "validityPeriodHours": 3 * 365 * 24}
    # The engine keeps the generated key secret in state (the mock monitor does not apply this itself).
    assert {"privateKeyPem", "privateKeyPemPkcs8", "privateKeyOpenssh"} <= mocks.monitor.secret_outputs["cilium-ca-key"]
    for name in mocks.of_type(SECRET):
        assert {"cilium-ca-key", "cilium-ca"} <= mocks.monitor.dependencies[name]


def test_order_is_ca_secret_then_release_then_services_on_each_cluster(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    dependencies = mocks.monitor.dependencies
    services = mocks.services()
    for cluster in CLUSTERS:
        secret, release = f"{cluster}/kube-system/cilium-ca", f"{cluster}/kube-system/cilium"
        assert dependencies[release] == {secret}
        on_cluster = [name for name in services if name.startswith(f"{cluster}/")]
        assert on_cluster
        for name in on_cluster:
            namespace = name.split("/")[1]
            assert dependencies[name] == {release} | ({f"{cluster}/{namespace}"} if namespace != "default" else set())


# --- namespaces (issue 13, section 3) --------------------------------------------------------------

def test_every_namespace_its_services_use_is_created_on_each_cluster_and_never_deleted(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    namespaces = mocks.of_type(NAMESPACE)
    # default always exists: creating it would fail; kube-system and the others likewise.
    assert sorted(namespaces) == ["cluster-a/monitoring", "cluster-a/shop", "cluster-b/monitoring",
                                  "cluster-b/shop", "cluster-c/monitoring", "cluster-c/shop"]
    for logical, namespace in namespaces.items():
        cluster, name = logical.split("/")
        assert provider_name(namespace.provider) == cluster
        assert namespace.inputs["metadata"]["name"] == name  # explicit: the provider would auto-suffix it
        assert logical in mocks.monitor.retained  # pulumi destroy must not delete a namespace and all in it


def test_services_wait_for_their_namespace(mocks):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["spec"].pop("cilium")
    execute(lambda: deploy(build_mesh(data)))
    dependencies = mocks.monitor.dependencies
    assert dependencies["cluster-b/shop/inventory"] == {"cluster-b/shop"}
    assert dependencies["cluster-b/monitoring/metrics"] == {"cluster-b/monitoring"}
    assert dependencies["cluster-b/default/myapp-service"] == set()


def test_namespaces_create_false_creates_none(mocks):
    data = yaml.safe_load(EXAMPLE.read_text())
    data["spec"]["namespaces"] = {"create": False}
    execute(lambda: deploy(build_mesh(data)))
    assert mocks.of_type(NAMESPACE) == {}
    assert len(mocks.services()) == 11


def test_a_configured_ca_is_the_ca_of_every_stack(mocks, project_dir):
    seen = {}
    for clusters in (["cluster-a"], ["cluster-b"], None):  # two stack-per-cluster stacks, one whole-mesh stack
        recorder = start_mocks()
        config = {"clusters": clusters} if clusters else {}
        set_config(secret=("caKey",), spec="examples/mesh.yaml", caCert=CONFIG_CERT, caKey=CONFIG_KEY, **config)
        execute(run)
        assert not recorder.of_type(PRIVATE_KEY) and not recorder.of_type(SELF_SIGNED_CERT)
        for name, secret in recorder.of_type(SECRET).items():
            seen[name] = reveal(secret.inputs["stringData"])
            assert_key_is_secret(recorder, name, CONFIG_KEY)
        assert {c: v["caFingerprint"] for c, v in exported()["cilium"].items()} == {
            c: ca_fingerprint(CONFIG_CERT) for c in clusters or CLUSTERS}
    assert len(seen) == 3
    assert all(data == {"ca.crt": CONFIG_CERT, "ca.key": CONFIG_KEY} for data in seen.values())


def test_a_stack_of_some_clusters_without_ca_config_refuses_to_run(mocks, project_dir):
    set_config(spec="examples/mesh.yaml", clusters=["cluster-a"])
    with pytest.raises(pulumi.RunError) as err:
        execute(run)
    message = str(err.value)
    assert message.startswith("spec.cilium.install needs the mesh's CA, and this stack does not manage every "
                              "cluster of mesh 'demo' (not cluster-b, cluster-c), so it cannot generate one")
    assert "  pulumi config set meshspec:caCert < ca.crt\n  pulumi config set --secret meshspec:caKey < ca.key\n" \
        in message
    assert mocks.registered == []


@pytest.mark.parametrize("config, message", [
    ({"caCert": CONFIG_CERT}, "meshspec:caCert and meshspec:caKey go together, and only meshspec:caCert is set"),
    ({"caKey": CONFIG_KEY}, "meshspec:caCert and meshspec:caKey go together, and only meshspec:caKey is set"),
    ({"caCert": "ca.crt", "caKey": CONFIG_KEY}, "meshspec:caCert must be the CA certificate in PEM"),
    ({"caCert": CONFIG_CERT + CONFIG_CERT, "caKey": CONFIG_KEY}, "meshspec:caCert must be the CA certificate in PEM"),
    ({"caCert": "Certificate:\n    Data: ...\n" + CONFIG_CERT, "caKey": CONFIG_KEY},
     "meshspec:caCert must be the CA certificate in PEM"),
], ids=["cert-only", "key-only", "not-pem", "two-certificates", "openssl-text-dump"])
def test_a_malformed_ca_config_is_refused(mocks, project_dir, config, message):
    set_config(secret=("caKey",), spec="examples/mesh.yaml", **config)
    with pytest.raises(pulumi.RunError, match=message):
        execute(run)
    assert mocks.registered == []


@pytest.mark.parametrize("mesh", [example_with(install=False), load_mesh(FIXTURES / "fields.yaml")],
                         ids=["install-false", "no-spec-cilium"])
def test_without_install_there_is_no_ca_and_no_release(mocks, mesh):
    first = mesh.clusters[0].name
    execute(lambda: deploy(mesh, clusters=[first]))  # no CA needed, so a partial stack is fine
    assert mocks.of_type(SECRET) == mocks.of_type(RELEASE) == {}
    assert mocks.of_type(PRIVATE_KEY) == mocks.of_type(SELF_SIGNED_CERT) == {}
    namespaces = set(mocks.of_type(NAMESPACE))
    assert mocks.services() and all(mocks.monitor.dependencies[name] <= namespaces for name in mocks.services())


def test_render_dir_installs_no_cilium_and_says_so(mocks, caplog):
    caplog.set_level(logging.INFO)
    execute(lambda: deploy(load_mesh(EXAMPLE), clusters=["cluster-a"], render_dir="out/pulumi"))
    assert mocks.of_type(SECRET) == mocks.of_type(RELEASE) == {}
    assert mocks.of_type(PRIVATE_KEY) == mocks.of_type(SELF_SIGNED_CERT) == {}
    assert len(mocks.services()) == 3
    assert any(r.levelname == "INFO" and "meshspec:renderDir is set: Cilium is not installed" in r.getMessage()
               and "cilium-values.yaml" in r.getMessage() for r in caplog.records)


def test_ca_fingerprint_matches_openssl(tmp_path):
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    key, cert = tmp_path / "ca.key", tmp_path / "ca.crt"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=Cilium CA", "-days", "1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    openssl = subprocess.run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(cert)],
                             check=True, capture_output=True, text=True).stdout
    assert openssl.strip().split("=", 1)[1] == ca_fingerprint(cert.read_text())
    digest = hashlib.sha256(b"generated cert").hexdigest().upper()
    assert ca_fingerprint(GENERATED_CERT).replace(":", "") == digest


# --- run(): the program as `pulumi up` runs it ------------------------------------------------------

@pytest.fixture
def project_dir(monkeypatch):
    monkeypatch.chdir(ROOT)  # pulumi runs the program in the directory holding Pulumi.yaml


def test_run_deploys_the_configured_spec_and_exports_services(mocks, project_dir):
    set_config(spec="examples/mesh.yaml")
    execute(run)
    assert sorted(mocks.providers()) == ["cluster-a", "cluster-b", "cluster-c"]
    assert len(mocks.services()) == 11
    assert exports()["services"] == {
        "cluster-a": ["default/myapp-service", "shop/checkout", "monitoring/metrics"],
        "cluster-b": ["default/myapp-service", "shop/checkout", "shop/inventory", "monitoring/metrics"],
        "cluster-c": ["default/myapp-service", "shop/checkout", "shop/inventory", "monitoring/metrics"],
    }
    # Every stack of the mesh shows the same fingerprint; the key is in no output.
    assert exported()["cilium"] == {c: {
        "release": "kube-system/cilium", "chart": "cilium", "version": "1.20.1", "caSecret": "kube-system/cilium-ca",
        "caFingerprint": ca_fingerprint(GENERATED_CERT)} for c in CLUSTERS}
    assert pem_body(GENERATED_KEY) not in plain_text(mocks)


def test_run_honours_clusters_and_render_dir(mocks, project_dir):
    set_config(spec="examples/mesh.yaml", clusters=["cluster-b"], renderDir="out/pulumi")
    execute(run)
    assert {n: p.inputs.get("renderYamlToDirectory") for n, p in mocks.providers().items()} == {
        "cluster-b": os.path.join("out/pulumi", "cluster-b")}
    assert exports()["services"] == {
        "cluster-b": ["default/myapp-service", "shop/checkout", "shop/inventory", "monitoring/metrics"]}
    assert "cilium" not in exports()  # render mode installs no Cilium, so this partial stack needs no CA


# --- adoption (issue 13, section 2) -----------------------------------------------------------------

FIELDS_SPEC = "tests/adapters/fixtures/deploy/fields.yaml"  # no spec.cilium: nothing of Cilium's to adopt


def test_adopt_sets_the_providers_upsert_and_force_options(mocks, project_dir):
    set_config(spec=FIELDS_SPEC, adopt=True)
    execute(run)
    providers = mocks.providers()
    assert sorted(providers) == ["east", "west"]
    for provider in providers.values():
        # pulumi-kubernetes >= 4.29 fails a Create on an existing object (AlreadyExists) without this option;
        # an SDK before 4.29 has no such option, and its server-side apply Create upserts anyway.
        if "upsert_existing_objects" in provider_keywords():
            assert provider.inputs["upsertExistingObjects"] == "true"  # provider config arrives as strings
        else:
            assert "upsertExistingObjects" not in provider.inputs
        if "enable_patch_force" in provider_keywords():  # not in the pinned 4.25 SDK
            assert provider.inputs["enablePatchForce"] == "true"  # the spec's fields win SSA conflicts
        else:
            assert "enablePatchForce" not in provider.inputs


def test_without_adopt_existing_objects_are_not_taken_over(mocks, project_dir):
    set_config(spec=FIELDS_SPEC)
    execute(run)
    for provider in mocks.providers().values():
        assert "upsertExistingObjects" not in provider.inputs and "enablePatchForce" not in provider.inputs


def test_adopted_objects_force_server_side_apply_conflicts_where_the_provider_cannot(mocks, project_dir):
    """pulumi-kubernetes 4.25 has no enablePatchForce option; without force its server-side apply Create fails on
    a field another manager set to another value (`Server-Side Apply field conflict detected`, shown against the
    real engine by tests/e2e/test_pulumi.py). The annotation forces it per object."""
    set_config(spec=FIELDS_SPEC, adopt=True)
    execute(run)
    adopted = [*mocks.services().values(), *mocks.of_type(NAMESPACE).values()]
    assert adopted and mocks.of_type(NAMESPACE)
    forced = "enable_patch_force" not in provider_keywords()
    for obj in adopted:
        assert (obj.inputs["metadata"]["annotations"].get("pulumi.com/patchForce") == "true") is forced, obj.name


@pytest.mark.parametrize("config", [{}, {"adopt": True, "renderDir": "out/pulumi"}], ids=["no-adopt", "render"])
def test_without_adopt_or_when_rendering_nothing_is_forced(mocks, project_dir, config):
    set_config(spec=FIELDS_SPEC, **config)
    execute(run)
    for obj in [*mocks.services().values(), *mocks.of_type(NAMESPACE).values()]:
        assert "pulumi.com/patchForce" not in obj.inputs["metadata"].get("annotations", {}), obj.name
    assert adopt_annotations(True, frozenset()) == {"pulumi.com/patchForce": "true"}
    assert adopt_annotations(True, frozenset({"enable_patch_force"})) == {}
    assert adopt_annotations(False, frozenset()) == {}


def test_adopt_passes_only_what_the_installed_sdk_has():
    # pulumi-kubernetes 4.25 (the pinned SDK and the engine's provider here) has neither option: its
    # server-side apply Create upserts. A newer SDK gets both.
    pinned = provider_keywords() - {"upsert_existing_objects", "enable_patch_force"}
    assert adopt_options(True, pinned) == {}
    assert adopt_options(True, pinned | {"upsert_existing_objects", "enable_patch_force"}) == {
        "upsert_existing_objects": True, "enable_patch_force": True}
    assert adopt_options(False) == {}


def test_adopt_with_cilium_install_is_refused_before_anything_is_registered(mocks, project_dir):
    set_config(spec="examples/mesh.yaml", adopt=True)  # install: true
    with pytest.raises(pulumi.RunError) as err:
        execute(run)
    assert "cilium-ca Secret" in str(err.value) and "'cilium' Helm release" in str(err.value)
    assert mocks.registered == []


def test_a_malformed_adopt_is_refused(mocks, project_dir):
    set_config(spec=FIELDS_SPEC, adopt="maybe")
    with pytest.raises(pulumi.RunError, match="meshspec:adopt must be true or false"):
        execute(run)


def test_every_keyword_meshspec_passes_the_provider_is_in_the_installed_sdk():
    """The dependency floor (pyproject.toml): pulumi-kubernetes 4.16 added cluster_identifier (PR #3068)."""
    import re
    text = (ROOT / "meshspec" / "adapters" / "deploy.py").read_text()
    call = text[text.index("provider = k8s.Provider("):]
    call = call[:call.index("\n        )")]
    passed = set(re.findall(r"^\s+([a-z_]+)=", call, re.M)) | {"upsert_existing_objects", "enable_patch_force"}
    assert {"context", "cluster_identifier", "render_yaml_to_directory"} <= passed
    missing = passed - provider_keywords() - {"upsert_existing_objects", "enable_patch_force"}  # see adopt_options
    assert not missing
    floor = re.search(r'"pulumi-kubernetes>=([0-9.]+)', (ROOT / "pyproject.toml").read_text()).group(1)
    assert tuple(map(int, floor.split("."))) >= (4, 16)


def test_run_with_an_invalid_spec_fails_with_located_diagnostics(mocks, project_dir):
    set_config(spec="tests/adapters/fixtures/deploy/invalid.yaml")
    with pytest.raises(pulumi.RunError) as err:
        execute(run)
    message = str(err.value)
    assert message.startswith("meshspec:spec tests/adapters/fixtures/deploy/invalid.yaml is not a valid mesh spec:\n")
    assert "invalid.yaml:9:13: error: cluster name 'east' is already used" in message
    assert "invalid.yaml:10:11: error: cluster id 0 is out of range" in message
    assert mocks.registered == []


def test_run_deploys_a_spec_with_warnings_and_logs_them(mocks, project_dir, caplog):
    set_config(spec="tests/adapters/fixtures/deploy/warning.yaml")
    execute(run)
    assert list(mocks.services()) == ["east/edge/web"]
    assert any("warning.yaml:17:9: warning: override for 'west' has no effect" in r.getMessage()
               for r in caplog.records if r.levelname == "WARNING")


def test_run_with_a_missing_spec_file_fails_with_a_diagnostic(mocks, project_dir):
    set_config(spec="no/such/mesh.yaml")
    with pytest.raises(pulumi.RunError, match=r"no/such/mesh\.yaml:1:1: error: "):
        execute(run)


def test_run_without_spec_config_names_the_key(mocks, project_dir):
    with pytest.raises(pulumi.ConfigMissingError, match="meshspec:spec"):
        execute(run)


def test_run_with_an_unknown_configured_cluster_fails_clearly(mocks, project_dir):
    set_config(spec="examples/mesh.yaml", clusters=["cluster-a", "cluster-z"])
    with pytest.raises(pulumi.RunError, match=r"unknown cluster 'cluster-z'.*has: cluster-a, cluster-b, cluster-c"):
        execute(run)
    assert mocks.registered == []


@pytest.mark.parametrize("clusters", ["cluster-a", json.dumps("cluster-a"), json.dumps([]), json.dumps([1])])
def test_run_rejects_malformed_clusters_config(mocks, project_dir, clusters):
    pulumi.runtime.set_all_config({"meshspec:spec": "examples/mesh.yaml", "meshspec:clusters": clusters})
    with pytest.raises(pulumi.RunError, match="meshspec:clusters must be a non-empty list of cluster names"):
        execute(run)
    assert mocks.registered == []


# --- project and stack files ------------------------------------------------------------------------

def stack_files() -> list[Path]:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return sorted((ROOT / project["stackConfigDir"]).glob("Pulumi.*.yaml"))


def test_project_file():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "meshspec"  # the config namespace run() reads
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (ROOT / "__main__.py").is_file()
    # Schemas are only valid for the project's own (bare) keys; namespaced keys may only carry values.
    for key, value in project.get("config", {}).items():
        assert ":" not in key or not (isinstance(value, dict) and "type" in value), key


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: p.name)
def test_stack_refers_to_a_valid_spec_and_its_clusters(stack_file):
    from meshspec.spec.check import check_file

    config = yaml.safe_load(stack_file.read_text())["config"]
    assert set(config) <= {"meshspec:spec", "meshspec:clusters", "meshspec:renderDir", "meshspec:caCert",
                           "meshspec:caKey", "pulumi:disable-default-providers"}
    assert config["pulumi:disable-default-providers"] == ["kubernetes"]
    mesh, diagnostics = check_file(str(ROOT / config["meshspec:spec"]))
    assert mesh is not None, diagnostics
    clusters = config.get("meshspec:clusters")
    if clusters is not None:
        assert clusters and set(clusters) <= {c.name for c in mesh.clusters}


def test_there_is_a_rendering_dev_stack_and_a_stack_per_example_cluster():
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml"): yaml.safe_load(p.read_text())["config"]
              for p in stack_files()}
    assert stacks["dev"]["meshspec:spec"] == "examples/mesh.yaml"
    assert stacks["dev"]["meshspec:renderDir"] == "out/pulumi"
    for cluster in load_mesh(EXAMPLE).clusters:
        assert stacks[cluster.name]["meshspec:clusters"] == [cluster.name]


# --- the real CLI ----------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("pulumi") is None, reason="the pulumi CLI is not installed")
@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtualenv to stand in for .venv")
def test_pulumi_preview_of_the_dev_stack(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("meshspec", "examples", "stacks"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".venv").symlink_to(sys.prefix)
    env = {**os.environ, "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(), "PULUMI_CONFIG_PASSPHRASE": "",
           "PULUMI_SKIP_UPDATE_CHECK": "true"}
    (tmp_path / "state").mkdir()

    def pulumi_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pulumi", *args, "--non-interactive"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)

    init = pulumi_cli("stack", "init", "dev")
    assert init.returncode == 0, init.stderr
    preview = pulumi_cli("preview", "--stack", "dev")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "cluster-a/default/myapp-service" in preview.stdout


# --- MCS-API ServiceExports and global namespaces (issue 14) ------------------------------------------

SERVICE_EXPORT_TYPE = "kubernetes:multicluster.x-k8s.io/v1beta1:ServiceExport"  # Cilium 1.20, the default


def mcs_mesh(version: str | None = None, **spec: Any) -> Mesh:
    data = yaml.safe_load(EXAMPLE.read_text())
    data["spec"].pop("cilium")
    data["spec"]["cilium"] = {"mcsapi": True, "defaultGlobalNamespace": False,
                              **({"version": version} if version else {})}
    data["spec"].update(spec)
    for service in data["spec"]["services"]:
        if service["name"] == "checkout":
            service["mcs"] = True
            service["syncEndpointSlices"] = True
    return build_mesh(data)


def test_a_service_export_beside_each_shared_mcs_service_after_the_service(mocks):
    """mcsAPIServiceImportReconciler marks a ServiceExport without its Service Valid=False NoService
    (pkg/clustermesh/mcsapi/serviceimport_controller.go), so the export waits for the Service."""
    mesh = mcs_mesh()
    execute(lambda: deploy(mesh))
    exports = mocks.of_type(SERVICE_EXPORT_TYPE)
    checkout = next(s for s in mesh.services if s.name == "checkout")
    expected = sorted(f"{c}/shop/checkout/ServiceExport" for c, p in checkout.placements.items() if p.shared)
    assert sorted(exports) == expected and expected
    for logical, export in exports.items():
        cluster = logical.split("/")[0]
        assert provider_name(export.provider) == cluster
        assert export.inputs["metadata"]["name"] == "checkout" and export.inputs["metadata"]["namespace"] == "shop"
        assert export.inputs["spec"] == {"exportedAnnotations": {
            "service.cilium.io/global-sync-endpoint-slices": "true"}}
        assert mocks.monitor.dependencies[logical] == {f"{cluster}/shop/checkout"}


def test_the_service_export_of_a_cilium_1_19_mesh_is_v1alpha1_the_only_version_its_crds_serve(mocks):
    """pkg/clustermesh/mcsapi/crdinstall.go of 1.17-1.19 installs the v1alpha1 mcs-api CRDs; v1beta1 is
    read from 1.20 (cilium/cilium#45928)."""
    execute(lambda: deploy(mcs_mesh(version="1.19.4")))
    assert not mocks.of_type(SERVICE_EXPORT_TYPE)
    assert mocks.of_type("kubernetes:multicluster.x-k8s.io/v1alpha1:ServiceExport")


def test_namespaces_holding_global_services_are_annotated_global_when_the_default_is_false(mocks):
    """pkg/clustermesh/namespace IsGlobalNamespaceByObject: with clustermesh-default-global-namespace
    false only an annotated namespace exports."""
    execute(lambda: deploy(mcs_mesh(namespaces={"global": {"monitoring": False}})))
    namespaces = mocks.of_type(NAMESPACE)
    annotations = {name: ns.inputs["metadata"]["annotations"].get("clustermesh.cilium.io/global")
                   for name, ns in namespaces.items()}
    assert annotations["cluster-a/shop"] == "true"
    assert annotations["cluster-a/monitoring"] == "false"
