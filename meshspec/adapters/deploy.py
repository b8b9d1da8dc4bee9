"""Deploy a mesh with Pulumi: one Kubernetes provider per cluster, one Service per rendered object, and,
when the spec says `cilium.install: true`, Cilium itself on every cluster with one CA for the mesh.

This is the only module that imports pulumi (and pulumi_kubernetes, pulumi_tls). `__main__.py` calls `run()`, which reads the
stack configuration (namespace `meshspec`):

- `meshspec:spec` (required): the spec file, relative to the project directory.
- `meshspec:clusters` (optional): the cluster names this stack manages, e.g. `[cluster-a]`;
  every cluster of the spec when unset.
- `meshspec:adopt` (optional, default false): take over the Services and Namespaces that already
  exist (the provider's `upsertExistingObjects` where the SDK has it, and `enablePatchForce`): see
  adopt_options(). Refused with `spec.cilium.install: true`.
- `meshspec:renderDir` (optional): write the manifests to `<renderDir>/<cluster>/` instead of
  applying them (the provider's `renderYamlToDirectory`), so no cluster is needed. A relative
  path is relative to the project directory. Cilium is not installed in this mode.
- `meshspec:caCert` and `meshspec:caKey` (optional, both or neither): the mesh's CA, in PEM, for
  `cilium.install: true`. Every cluster's `cilium-ca` Secret gets it, and certgen issues the Cluster
  Mesh certificates from it, so every stack of a mesh must get the same pair:

      pulumi config set meshspec:caCert < ca.crt
      pulumi config set --secret meshspec:caKey < ca.key

  Use an RSA key in PKCS#1 PEM (`BEGIN RSA PRIVATE KEY`), as Cilium's own CA is: Helm's
  `buildCustomCert`, which the chart runs on an existing `cilium-ca`, rejects other formats in older
  Helm versions. The `cilium-ca` Secret of a cluster already running Cilium holds such a pair.
  The Secret goes to spec.cilium.namespace, which must exist (kube-system always does).
  Unset, a stack that manages every cluster of the mesh generates the CA once and keeps it, secret,
  in its state; a stack that manages only some clusters refuses to run, because a CA of its own would
  break mTLS between its clusters and the others.

The stack exports `services`: `{cluster: ["namespace/name", ...]}` for the clusters this stack
manages, in spec order (plain strings, known at preview), and, when it installs Cilium, `cilium`:
`{cluster: {release, chart, version, caSecret, caFingerprint}}`; the fingerprint (SHA-256 of the CA
certificate, as `openssl x509 -fingerprint -sha256` prints it) is the same in every stack of a mesh.
"""

from __future__ import annotations

import hashlib
import inspect
import os
import ssl
from dataclasses import dataclass, field
from typing import Any, Sequence

import pulumi
import pulumi_kubernetes as k8s
import pulumi_tls as tls

from ..analysis.verify import with_defaults
from ..artifacts.cilium_values import cluster_values
from ..artifacts.manifests import mesh_namespaces, render_cluster, render_namespace
from ..artifacts.mcs import SERVICE_EXPORT, service_exports
from ..cilium.helm import CA_SECRET, CILIUM_HELM_REPO
from ..formats.diagnostics import to_text
from ..spec.model import Cluster, Mesh

CILIUM_CHART = "cilium"
CILIUM_RELEASE = "cilium"  # the release name `cilium install` uses; the CA Secret's Helm metadata names it
# pulumi-kubernetes' own annotations (pkg/metadata/annotations.go): no await on create or update; and
# force server-side apply conflicts on this object (what the provider option enablePatchForce does for all)
SKIP_AWAIT = "pulumi.com/skipAwait"
PATCH_FORCE = "pulumi.com/patchForce"
CA_COMMON_NAME = "Cilium CA"  # what certgen and the chart name the CA they generate
CA_VALIDITY_HOURS = 3 * 365 * 24
CA_ALLOWED_USES = ["cert_signing", "crl_signing", "digital_signature", "key_encipherment"]


@dataclass(frozen=True)
class MeshCA:
    """The mesh's CA, in PEM. The key is only ever handed on as a secret Output."""

    cert: pulumi.Input[str]
    key: pulumi.Input[str]


@dataclass(frozen=True)
class CiliumInstall:
    ca_secret: k8s.core.v1.Secret
    release: k8s.helm.v3.Release
    ca_fingerprint: pulumi.Output[str]


@dataclass(frozen=True)
class Deployed:
    """What deploy() registered on one cluster."""

    services: dict[str, k8s.core.v1.Service] = field(default_factory=dict)
    cilium: CiliumInstall | None = None
    namespaces: dict[str, k8s.core.v1.Namespace] = field(default_factory=dict)
    service_exports: dict[str, k8s.apiextensions.CustomResource] = field(default_factory=dict)


def select_clusters(mesh: Mesh, names: Sequence[str] | None) -> list[Cluster]:
    """The mesh's clusters named in `names` (all when None), in spec order, each once."""
    if names is None:
        return list(mesh.clusters)
    known = [c.name for c in mesh.clusters]
    unknown = [n for n in dict.fromkeys(names) if n not in known]
    if unknown:
        raise pulumi.RunError(
            f"unknown cluster{'s' if len(unknown) > 1 else ''} {', '.join(map(repr, unknown))} in the clusters "
            f"to deploy (meshspec:clusters); mesh {mesh.name!r} has: {', '.join(known)}")
    return [c for c in mesh.clusters if c.name in names]


def provider_keywords() -> frozenset[str]:
    """The keyword arguments the installed pulumi-kubernetes SDK's Provider takes."""
    return frozenset(inspect.signature(k8s.Provider._internal_init).parameters) - {"__self__", "__props__"}


def adopt_options(adopt: bool, keywords: frozenset[str] | None = None) -> dict[str, Any]:
    """The Provider options that make `pulumi up` take over objects that already exist (meshspec:adopt).

    - upsert_existing_objects (pulumi-kubernetes >= 4.29, PR #4278): since 4.29 a Create is client-side and
      fails with AlreadyExists on an existing object; this option restores the upsert. SDKs before 4.29 have
      no such option, and need none: their Create is a server-side apply, which upserts.
    - enable_patch_force: server-side apply takes the fields the spec sets from their current field
      managers (kubectl, another tool) instead of failing with a conflict; fields meshspec does not set
      stay theirs.
    """
    if not adopt:
        return {}
    keywords = provider_keywords() if keywords is None else keywords
    return {option: True for option in ("upsert_existing_objects", "enable_patch_force") if option in keywords}


def adopt_annotations(adopt: bool, keywords: frozenset[str] | None = None) -> dict[str, str]:
    """The annotations each adopted object carries (meshspec:adopt): `pulumi.com/patchForce` where the SDK's
    Provider has no enable_patch_force (pulumi-kubernetes 4.25 has none). Without force, server-side apply
    refuses to take a field another manager set to another value (`Server-Side Apply field conflict
    detected`), which is what adopting a Service someone applied by hand meets (tests/e2e/test_pulumi.py)."""
    if not adopt:
        return {}
    keywords = provider_keywords() if keywords is None else keywords
    return {} if "enable_patch_force" in keywords else {PATCH_FORCE: "true"}


def deploy(mesh: Mesh, clusters: Sequence[str] | None = None, render_dir: str | None = None,
           ca: MeshCA | None = None, adopt: bool = False) -> dict[str, Deployed]:
    """Register every Service of `mesh` on its cluster's provider and, when the spec installs Cilium,
    the CA Secret and the Cilium release before them.

    `ca` is the mesh's CA; when None and Cilium is installed, mesh_ca() generates one or refuses.
    Returns {cluster: Deployed}, in spec order. The rendered dicts are passed as they are: the SDK
    maps their Kubernetes camelCase keys through the typed Args, so `targetPort` and
    `externalTrafficPolicy` reach the provider unchanged and label/annotation/selector keys are
    left alone (tests/adapters/test_deploy.py checks this).
    """
    selected = select_clusters(mesh, clusters)
    install = mesh.cilium.managed and mesh.cilium.install
    if adopt and install and not render_dir:
        # Checked before anything is registered: adopting would replace a running mesh's CA in cilium-ca
        # with this stack's (breaking mTLS with every peer), and a Helm Release cannot adopt an existing
        # release of the same name (the install fails: the name is in use).
        raise pulumi.RunError(
            "meshspec:adopt takes over existing Services and Namespaces, not Cilium: with spec.cilium.install "
            "true it would overwrite the running cilium-ca Secret and collide with the existing 'cilium' Helm "
            "release. Set spec.cilium.install: false while adopting (Cilium keeps running as installed), "
            "or leave meshspec:adopt unset on clusters without Cilium")
    if install and render_dir:
        # A Helm Release cannot be rendered to a directory (pulumi/pulumi-kubernetes#1716), and the CA
        # Secret would be written there with its key in plain text.
        pulumi.log.info("meshspec:renderDir is set: Cilium is not installed and no CA is used; "
                        "`meshspec render` writes each cluster's cilium-values.yaml for Helm")
        install = False
    ca = mesh_ca(mesh, selected, ca) if install else None  # before any registration: it may refuse
    # Rendered files stay the objects `meshspec render` writes: no provider annotation goes into them.
    applied_annotations = {} if render_dir else adopt_annotations(adopt)
    deployed: dict[str, Deployed] = {}
    namespaces_of = mesh_namespaces(mesh)
    for cluster in selected:
        provider = k8s.Provider(
            cluster.name,
            # The provider refuses `context` next to `renderYamlToDirectory` ("\"context\" arg is not
            # compatible with \"renderYamlToDirectory\" arg"), and rendering reaches no cluster anyway.
            context=None if render_dir else cluster.context,
            # Only a change of this replaces the provider (and every Service on it), so a
            # rotated or edited kubeconfig does not.
            cluster_identifier=cluster.name,
            render_yaml_to_directory=os.path.join(render_dir, cluster.name) if render_dir else None,
            **adopt_options(adopt),
        )
        cilium = install_cilium(mesh, cluster, provider, ca) if ca else None
        namespaces = {
            name: k8s.core.v1.Namespace(
                f"{cluster.name}/{name}",  # a URN includes the type, so no Service's name can clash with it
                metadata=_annotated(render_namespace(name, mesh)["metadata"], applied_annotations),
                # Deleting a Namespace deletes everything in it, which meshspec does not own: `pulumi destroy`
                # and a namespace no Service uses any more only drop it from the stack.
                opts=pulumi.ResourceOptions(provider=provider, retain_on_delete=True))
            for name in namespaces_of[cluster.name]}
        services: dict[str, k8s.core.v1.Service] = {}
        for obj in render_cluster(mesh, cluster.name):
            meta = obj["metadata"]
            key = f"{meta['namespace']}/{meta['name']}"
            # Global Services only work once Cilium (and its Cluster Mesh) runs.
            needs = ([cilium.release] if cilium else []) + (
                [namespaces[meta["namespace"]]] if meta["namespace"] in namespaces else [])
            spec = obj["spec"]
            if not render_dir:
                # Without it the provider waits up to 10 minutes for local ready endpoints (and, for a
                # LoadBalancer, an ingress IP), then fails the update. A global Service of a cluster
                # that only consumes remote backends has no local endpoints by design.
                meta = _annotated(meta, {SKIP_AWAIT: "true", **applied_annotations})
                # The API server's defaults the spec implies (type ClusterIP, sessionAffinity None, protocol
                # TCP, targetPort = port), which verify expects, made explicit: server-side apply only
                # owns, and on adoption only takes over, the fields it sends, so a Service made by hand
                # with sessionAffinity ClientIP would keep it, and verify would report spec drift that no
                # `pulumi up` repairs. On a new Service the values are the ones the API server would set.
                spec = with_defaults(spec)
            # Kubernetes names and namespaces never contain "/", so the logical name is unambiguous.
            services[key] = k8s.core.v1.Service(
                f"{cluster.name}/{key}",
                metadata=meta,
                spec=spec,
                opts=pulumi.ResourceOptions(provider=provider, depends_on=needs or None),
            )
        exports = deploy_service_exports(mesh, cluster, provider, services, applied_annotations)
        deployed[cluster.name] = Deployed(services, cilium, namespaces, exports)
    return deployed


def _annotated(metadata: dict[str, Any], annotations: dict[str, str]) -> dict[str, Any]:
    """metadata with `annotations` added (a copy; the same dict when there are none to add)."""
    if not annotations:
        return metadata
    return {**metadata, "annotations": {**metadata.get("annotations", {}), **annotations}}


def deploy_service_exports(mesh: Mesh, cluster: Cluster, provider: k8s.Provider,
                           services: dict[str, k8s.core.v1.Service], annotations: dict[str, str]
                           ) -> dict[str, k8s.apiextensions.CustomResource]:
    """A ServiceExport (MCS-API, artifacts/mcs.py) beside each exported Service, after it: Cilium marks an
    export without its Service Valid=False NoService. pulumi-kubernetes has no typed ServiceExport, so a
    CustomResource; its CRD comes with Cilium's MCS-API support (clustermesh.mcsapi.installCRDs)."""
    exports = {}
    for obj in service_exports(mesh, cluster.name):
        meta = obj["metadata"]
        key = f"{meta['namespace']}/{meta['name']}"
        exports[key] = k8s.apiextensions.CustomResource(
            f"{cluster.name}/{key}/{SERVICE_EXPORT}",  # the Service of the same name has the URN without it
            api_version=obj["apiVersion"], kind=obj["kind"], metadata=_annotated(meta, annotations),
            **({"spec": obj["spec"]} if "spec" in obj else {}),
            opts=pulumi.ResourceOptions(provider=provider, depends_on=[services[key]] if key in services else None))
    return exports


def mesh_ca(mesh: Mesh, clusters: Sequence[Cluster], configured: MeshCA | None) -> MeshCA:
    """The configured CA; else one generated here, if this stack manages every cluster of the mesh.

    The generated key and certificate are resources, kept in the stack's state (the key as a secret):
    they are created on the first `pulumi up` and reused by every later one.
    """
    if configured is not None:
        return configured
    managed = {c.name for c in clusters}
    missing = [c.name for c in mesh.clusters if c.name not in managed]
    if missing:
        raise pulumi.RunError(
            f"spec.cilium.install needs the mesh's CA, and this stack does not manage every cluster of mesh "
            f"{mesh.name!r} (not {', '.join(missing)}), so it cannot generate one: every cluster must trust "
            f"the same CA. Give every stack of the mesh the same CA:\n"
            f"  pulumi config set meshspec:caCert < ca.crt\n"
            f"  pulumi config set --secret meshspec:caKey < ca.key\n"
            f"(the {CA_SECRET} Secret of a cluster already running Cilium holds such a pair, in ca.crt and ca.key)")
    key = tls.PrivateKey(f"{CA_SECRET}-key", algorithm="RSA", rsa_bits=2048)  # PKCS#1 PEM: see the docstring
    cert = tls.SelfSignedCert(
        CA_SECRET,
        private_key_pem=key.private_key_pem,
        is_ca_certificate=True,
        set_subject_key_id=True,
        allowed_uses=CA_ALLOWED_USES,
        subject=tls.SelfSignedCertSubjectArgs(common_name=CA_COMMON_NAME),
        validity_period_hours=CA_VALIDITY_HOURS,
    )
    return MeshCA(cert=cert.cert_pem, key=key.private_key_pem)


def install_cilium(mesh: Mesh, cluster: Cluster, provider: k8s.Provider, ca: MeshCA) -> CiliumInstall:
    """The `cilium-ca` Secret certgen reuses (--ca-reuse-secret), then the Cilium release that needs it."""
    namespace = mesh.cilium.namespace
    ca_secret = k8s.core.v1.Secret(
        f"{cluster.name}/{namespace}/{CA_SECRET}",
        metadata={
            "name": CA_SECRET,
            "namespace": namespace,
            # With chart defaults (Hubble TLS by Helm) the chart also renders `cilium-ca`, from this
            # Secret's own data (a `lookup`). Without this metadata Helm refuses to install over an
            # existing object it does not own; with it, Helm adopts it. `keep` stops a later upgrade
            # that no longer renders it from deleting it.
            "labels": {"app.kubernetes.io/managed-by": "Helm"},
            "annotations": {"meta.helm.sh/release-name": CILIUM_RELEASE,
                            "meta.helm.sh/release-namespace": namespace,
                            "helm.sh/resource-policy": "keep"},
        },
        string_data={"ca.crt": ca.cert, "ca.key": pulumi.Output.secret(ca.key)},
        # The SDK marks these secret too; explicit, so the key's secrecy does not rest on it.
        opts=pulumi.ResourceOptions(provider=provider, additional_secret_outputs=["data", "stringData"]),
    )
    release = k8s.helm.v3.Release(
        f"{cluster.name}/{namespace}/{CILIUM_RELEASE}",
        name=CILIUM_RELEASE,  # explicit: the provider would otherwise add a random suffix
        chart=CILIUM_CHART,
        version=mesh.cilium.version,
        namespace=namespace,
        repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=CILIUM_HELM_REPO),
        values=cluster_values(mesh, cluster),
        opts=pulumi.ResourceOptions(provider=provider, depends_on=[ca_secret]),
    )
    return CiliumInstall(ca_secret, release, pulumi.Output.from_input(ca.cert).apply(ca_fingerprint))


def ca_fingerprint(cert_pem: str) -> str:
    """SHA-256 of the certificate, as `openssl x509 -noout -fingerprint -sha256` prints it."""
    digest = hashlib.sha256(ssl.PEM_cert_to_DER_cert(cert_pem.strip())).hexdigest().upper()
    return ":".join(digest[i:i + 2] for i in range(0, len(digest), 2))


def run() -> None:
    """The Pulumi program: stack config -> validated spec -> resources and the stack outputs."""
    from ..spec.check import check_file  # lazy: deploy() itself needs no validation machinery

    config = pulumi.Config("meshspec")
    spec = config.require("spec")
    mesh, diagnostics = check_file(os.path.join(os.getcwd(), spec))
    if mesh is None:
        raise pulumi.RunError(f"meshspec:spec {spec} is not a valid mesh spec:\n{to_text(diagnostics)}")
    if diagnostics:
        pulumi.log.warn(to_text(diagnostics).rstrip("\n"))
    ca = _configured_ca(config)
    adopt = _configured_adopt(config)
    deployed = deploy(mesh, _configured_clusters(config), config.get("renderDir") or None, ca, adopt)
    pulumi.export("services", {cluster: list(d.services) for cluster, d in deployed.items()})
    cilium = {cluster: _cilium_output(mesh, d.cilium) for cluster, d in deployed.items() if d.cilium}
    if cilium:
        pulumi.export("cilium", cilium)


def _cilium_output(mesh: Mesh, cilium: CiliumInstall) -> dict[str, Any]:
    namespace = mesh.cilium.namespace
    return {"release": f"{namespace}/{CILIUM_RELEASE}", "chart": CILIUM_CHART, "version": mesh.cilium.version,
            "caSecret": f"{namespace}/{CA_SECRET}", "caFingerprint": cilium.ca_fingerprint}


def _configured_ca(config: pulumi.Config) -> MeshCA | None:
    cert = config.get("caCert")
    key = config.get_secret("caKey")
    if cert is None and key is None:
        return None
    if cert is None or key is None:
        raise pulumi.RunError(f"meshspec:caCert and meshspec:caKey go together, and only "
                              f"meshspec:{'caKey' if cert is None else 'caCert'} is set")
    try:
        if cert.count("-----BEGIN CERTIFICATE-----") != 1:
            raise ValueError("not one certificate")
        ca_fingerprint(cert)
    except ValueError:  # binascii.Error is one too
        raise pulumi.RunError("meshspec:caCert must be the CA certificate in PEM, one certificate: "
                              "pulumi config set meshspec:caCert < ca.crt") from None
    return MeshCA(cert=cert, key=key)


def _configured_adopt(config: pulumi.Config) -> bool:
    try:
        adopt = config.get_bool("adopt")
    except pulumi.ConfigTypeError:
        raise pulumi.RunError("meshspec:adopt must be true or false") from None
    if adopt and "upsert_existing_objects" not in provider_keywords():
        pulumi.log.info("meshspec:adopt: this pulumi-kubernetes SDK predates upsertExistingObjects (4.29); its "
                        "server-side apply Create already takes over existing objects")
    return bool(adopt)


def _configured_clusters(config: pulumi.Config) -> list[str] | None:
    problem = pulumi.RunError("meshspec:clusters must be a non-empty list of cluster names, e.g. [cluster-a]; "
                              "leave it unset to manage every cluster of the spec")
    try:
        value = config.get_object("clusters")
    except pulumi.ConfigTypeError:
        raise problem from None
    if value is None:
        return None
    # An empty list would make the next `pulumi up` delete every Service, so refuse it.
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise problem
    return value
