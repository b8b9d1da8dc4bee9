"""The structure of a mesh spec, in cerberus' rule language, and its errors as diagnostics.

Only shape and types live here; rules that need the whole document (names,
uniqueness, CIDR overlap, Kubernetes schemas) are in checks/.
"""

from __future__ import annotations

import re
from typing import Any


from ..diagnostics import Path, Report
from .model import (AFFINITIES, API_VERSION, APISERVER_SERVICE_TYPES, DEFAULT_CILIUM_VERSION,
                    DEFAULT_MAX_CONNECTED_CLUSTERS, DEFAULT_NODE_PORT, KIND)

# Flux's duration pattern (the Kustomization CRD's spec.interval); a render path relative to the repository.
FLUX_DURATION = r"^([0-9]+(\.[0-9]+)?(ms|s|m|h))+$"
GITOPS_PATH = r"^[^/].*[^/]$|^[^/]$"


def _about(description: str, **json_schema: Any) -> dict[str, Any]:
    """A field's description, and JSON Schema keywords only `meshspec schema` uses (const, default,
    minimum...), kept in cerberus' `meta` rule, which validation ignores (formats/schema.py reads it).
    `hint` says what a value matching the field's regex looks like, for validate's message; `unknown`, on a
    mapping, why it holds only the keys it lists, for an unknown key that is no typo of one."""
    return {"meta": {"description": description, **json_schema}}


_PLACEMENT = {
    "global": {"type": "boolean", **_about(
        "Render service.cilium.io/global: \"true\": the Service merges endpoints across clusters.", default=True)},
    "shared": {"type": "boolean", **_about(
        "false renders service.cilium.io/shared: \"false\": this cluster does not publish its endpoints "
        "(it still consumes the others').", default=True)},
    "affinity": {"type": "string", "allowed": list(AFFINITIES), **_about(
        "Which backends clients prefer: local, remote, or none (Cilium's default; no annotation).", default="none")},
}


# MCS-API and EndpointSlice synchronization: a service's own field wins over spec.defaults (not per cluster).
_SERVICE_SWITCHES = {
    "mcs": {"type": "boolean", **_about(
        "Render a ServiceExport (multicluster.x-k8s.io) beside the Service in every cluster that shares it: "
        "MCS-API clusters import it as <name>.<namespace>.svc.clusterset.local. Needs spec.cilium.mcsapi.",
        default=False)},
    "syncEndpointSlices": {"type": "boolean", **_about(
        "Render service.cilium.io/global-sync-endpoint-slices: Cilium writes the other clusters' endpoints "
        "as EndpointSlices here (for headless Services and ingress controllers); unset, Cilium's default: "
        "on for headless global Services. meshspec turns on clustermesh.enableEndpointSliceSynchronization "
        "in the Helm values when a service needs it.")},
}


def _string_map(what: str) -> dict[str, Any]:
    return {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": {"type": "string"}, **_about(what)}


_OVERRIDE = {
    **_PLACEMENT,
    "labels": _string_map("Labels merged over the service's own labels in this cluster only."),
    "annotations": _string_map("Annotations merged over the service's own annotations in this cluster only, such "
                               "as a cloud's load-balancer annotations (never service.cilium.io/*: set global, "
                               "shared, affinity)."),
}
# Why an override holds nothing else (cilium-semantics.md section 2, "Ports: matched by name"): unknown-key's
# message says it.
OVERRIDE_ONLY = ("the ServiceSpec (ports, selector, type and the rest) is the same in every cluster: that is what "
                 "makes the Service global, since Cilium pairs each cluster's backends with the others' frontends "
                 "by port name and protocol")


def _cluster_names(description: str) -> dict[str, Any]:
    return {"type": "list", "schema": {"type": "string"}, **_about(description)}


SCHEMA: dict[str, Any] = {
    "apiVersion": {"type": "string", "required": True, **_about("The spec's format.", const=API_VERSION)},
    "kind": {"type": "string", "required": True, **_about("Always Mesh.", const=KIND)},
    "metadata": {
        "type": "dict", "required": True, **_about("The mesh's name and metadata."),
        "schema": {"name": {"type": "string", "required": True, **_about("The mesh's name (DNS-1123).")},
                   "labels": _string_map("Labels of the mesh spec itself (not rendered)."),
                   "annotations": _string_map("Annotations of the mesh spec itself (not rendered).")},
    },
    "spec": {
        "type": "dict", "required": True, **_about("The clusters of the mesh and the Services shared across them."),
        "schema": {
            "defaults": {"type": "dict", "schema": {**_PLACEMENT, **_SERVICE_SWITCHES}, **_about(
                "global, shared and affinity for every service; a service's own fields and its overrides win.")},
            "cilium": {
                "type": "dict", **_about("The Cilium version the mesh runs and, with any key besides version, "
                                         "the Cluster Mesh setup meshspec renders (Helm values per cluster)."),
                "schema": {
                    "version": {"type": "string", **_about(
                        "The Cilium version (chart version) the mesh runs, such as 1.20.1.",
                        default=DEFAULT_CILIUM_VERSION)},
                    "namespace": {"type": "string", "empty": False, **_about(
                        "The namespace Cilium runs in.", default="kube-system")},
                    "install": {"type": "boolean", **_about(
                        "true: the Pulumi program installs the Cilium Helm release; false: values only.",
                        default=False)},
                    "clustermesh": {
                        "type": "dict", **_about("Cluster Mesh settings, the same in every cluster."),
                        "schema": {
                            "apiserver": {
                                "type": "dict", **_about("The clustermesh-apiserver Service peers connect to."),
                                "schema": {
                                    "serviceType": {"type": "string", "allowed": list(APISERVER_SERVICE_TYPES),
                                                    **_about("How peers reach the clustermesh-apiserver.",
                                                             default="NodePort")},
                                    "nodePort": {"type": "strict_integer", **_about(
                                        "The apiserver's nodePort (30000-32767) with serviceType NodePort.",
                                        default=DEFAULT_NODE_PORT)},
                                },
                            },
                            "maxConnectedClusters": {"type": "strict_integer", "allowed": [255, 511], **_about(
                                "255 or 511; bounds cluster IDs and cannot change after installation.",
                                default=DEFAULT_MAX_CONNECTED_CLUSTERS)},
                        },
                    },
                    "values": {"type": "dict", "keysrules": {"type": "string"}, **_about(
                        "Extra Cilium Helm values, merged under the ones meshspec generates.")},
                    "mcsapi": {"type": "boolean", **_about(
                        "true: MCS-API support (ServiceExport/ServiceImport) on in every cluster's values, with "
                        "the key the Cilium version reads: clustermesh.enableMCSAPISupport on 1.17-1.18, "
                        "clustermesh.mcsapi (enabled, installCRDs, corednsAutoConfigure) from 1.19.",
                        default=False)},
                    "defaultGlobalNamespace": {"type": "boolean", **_about(
                        "Whether a Namespace without the clustermesh.cilium.io/global annotation is global "
                        "(Cilium's default, true). false is rendered as clustermesh.defaultGlobalNamespace on "
                        "1.20 and the agent flag clustermesh-default-global-namespace (extraConfig) on 1.19; "
                        "older versions have no global namespaces. With false, meshspec renders clustermesh.cilium.io/global: "
                        "\"true\" on every namespace holding a global Service.", default=True)},
                },
            },
            "namespaces": {
                "type": "dict", **_about("The namespaces the Services use."),
                "schema": {"create": {"type": "boolean", **_about(
                    "true: render (and deploy with Pulumi) a Namespace in each cluster for every namespace its "
                    "Services use; Pulumi never deletes one (retainOnDelete) and skips default, kube-system, "
                    "kube-public and kube-node-lease, which always exist. false: the namespaces are the "
                    "cluster's business.", default=True)},
                    "global": {"type": "dict", "keysrules": {"type": "string"}, "valuesrules": {"type": "boolean"},
                               **_about("Namespace -> rendered as clustermesh.cilium.io/global \"true\" or "
                                        "\"false\" on its Namespace. Cilium exports no Service from a "
                                        "namespace marked false (pkg/clustermesh/namespace).")}},
            },
            "gitops": {
                "type": "dict", **_about("GitOps objects `meshspec render` also writes, to DIR/_gitops/: an Argo CD "
                                         "ApplicationSet and/or one Flux Kustomization per cluster, each pointing "
                                         "a cluster at its folder of the committed render."),
                "schema": {
                    "path": {"type": "string", "required": True, "empty": False, "regex": GITOPS_PATH, **_about(
                        "Where `meshspec render -o` writes, from the repository root (such as rendered): each "
                        "cluster's folder is <path>/<cluster>.", hint="a path from the repository root, such as "
                        "rendered, with no leading or trailing '/'")},
                    "prune": {"type": "boolean", **_about(
                        "Delete what the render no longer holds (Argo CD's automated prune, Flux's prune).",
                        default=True)},
                    "argocd": {
                        "type": "dict", **_about("An ApplicationSet (argoproj.io/v1alpha1): one Application per "
                                                 "cluster, whose destination is the Argo CD cluster named as the "
                                                 "cluster's kubeconfig context (`argocd cluster add CONTEXT`)."),
                        "schema": {
                            "repoURL": {"type": "string", "required": True, "empty": False, **_about(
                                "The Git repository that holds the render.")},
                            "targetRevision": {"type": "string", "empty": False, **_about(
                                "The branch, tag or commit Argo CD follows.", default="HEAD")},
                            "project": {"type": "string", "empty": False, **_about(
                                "The Argo CD project of the Applications.", default="default")},
                            "namespace": {"type": "string", "empty": False, **_about(
                                "The namespace Argo CD runs in.", default="argocd")},
                        },
                    },
                    "flux": {
                        "type": "dict", **_about("One Kustomization (kustomize.toolkit.fluxcd.io/v1) per cluster, "
                                                 "to apply in that cluster, where Flux runs."),
                        "schema": {
                            "namespace": {"type": "string", "empty": False, **_about(
                                "The namespace Flux runs in.", default="flux-system")},
                            "interval": {"type": "string", "regex": FLUX_DURATION, **_about(
                                "How often Flux reconciles, such as 10m or 1h.", default="10m",
                                hint="a duration such as 10m, 1h or 90s")},
                            "sourceRef": {
                                "type": "dict", **_about("The Flux source that holds the render."),
                                "schema": {
                                    "kind": {"type": "string", "allowed": ["GitRepository", "OCIRepository", "Bucket"],
                                             **_about("The source's kind.", default="GitRepository")},
                                    "name": {"type": "string", "required": True, "empty": False, **_about(
                                        "The source's name (flux bootstrap creates flux-system).")},
                                },
                            },
                        },
                    },
                },
            },
            "clusters": {
                "type": "list", "required": True, "empty": False, **_about("Every cluster of the mesh."),
                "schema": {
                    "type": "dict",
                    "schema": {
                        "name": {"type": "string", "required": True, **_about(
                            "The cluster's Cilium name: at most 32 lowercase letters, digits and '-', not "
                            "'default'.")},
                        "id": {"type": "strict_integer", "required": True, **_about(
                            "The cluster's Cilium ID, unique: 1..255 (1..511 with maxConnectedClusters 511).",
                            minimum=1, maximum=511)},
                        "context": {"type": "string", "empty": False, **_about(
                            "The kubeconfig context that reaches the cluster (default: its name).")},
                        "podCIDRs": {"type": "list", "schema": {"type": "string"}, **_about(
                            "The cluster's pod CIDRs; must not overlap another cluster's.")},
                        "clustermesh": {
                            "type": "dict", **_about("Where peers reach this cluster's clustermesh-apiserver."),
                            "schema": {"address": {"type": "string", "empty": False, **_about(
                                           "An IP or DNS name (host only).")},
                                       "port": {"type": "strict_integer", **_about(
                                           "Default: the nodePort with NodePort, 2379 otherwise.")}},
                        },
                        "cilium": {
                            "type": "dict", **_about("This cluster's own Cilium settings (with spec.cilium)."),
                            "schema": {"values": {"type": "dict", "keysrules": {"type": "string"}, **_about(
                                "Cilium Helm values for this cluster only (IPAM, k8sServiceHost...), deep-merged "
                                "over spec.cilium.values; the generated ones still go over both.")}},
                        },
                    },
                },
            },
            "services": {
                "type": "list", **_about("The Services meshspec renders into every cluster where they exist."),
                "schema": {
                    "type": "dict",
                    "schema": {
                        "name": {"type": "string", "required": True, **_about("The Service's name (DNS-1035).")},
                        "namespace": {"type": "string", **_about("The Service's namespace.", default="default")},
                        **_PLACEMENT,
                        **_SERVICE_SWITCHES,
                        "clusters": _cluster_names("The clusters where the Service exists (default: every one)."),
                        "backends": _cluster_names(
                            "The clusters that run its pods (default: every cluster where it exists). Nothing is "
                            "rendered from it; explain and validate model traffic with it."),
                        "allowNoBackends": _cluster_names(
                            "Clusters whose clients are meant to have no backend: validate does not call it an "
                            "error (no-backends) there."),
                        "overrides": {
                            "type": "dict", **_about("Per cluster: global, shared and affinity, and labels and "
                                                     "annotations merged over the service's own there."),
                            "keysrules": {"type": "string"},
                            "valuesrules": {"type": "dict", "schema": _OVERRIDE, **_about(
                                "What differs in one cluster's copy of the Service.", unknown=OVERRIDE_ONLY)},
                        },
                        "labels": _string_map("Labels rendered on the Service in every cluster."),
                        "annotations": _string_map("Annotations rendered on the Service in every cluster "
                                                   "(never service.cilium.io/*: set global, shared, affinity)."),
                        "spec": {"type": "dict", "required": True, **_about(
                            "A Kubernetes ServiceSpec, rendered identically in every cluster.",
                            service_spec=True)},
                    },
                },
            },
        },
    },
}


_TYPES = {
    "boolean": lambda v: isinstance(v, bool),
    # YAML booleans are not IDs, though bool is an int in Python.
    "strict_integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "dict": lambda v: isinstance(v, dict),
    "list": lambda v: isinstance(v, list),
}
_TYPE_WORDS = {
    "boolean": "a boolean (true or false, unquoted)",
    "strict_integer": "an integer",
    "string": "a string",
    "dict": "a mapping",
    "list": "a list",
}


def check_structure(data: dict, report: Report) -> None:
    """Report every structural problem in `data`: one pass, linear in its size.

    SCHEMA is written in cerberus' rule language (type, required, schema, keysrules, valuesrules,
    allowed, regex, empty; `meta` is for `meshspec schema`), and tests/spec/test_structure.py holds this
    walk to cerberus' own verdicts; cerberus
    itself re-sorted its error list on every insert, which took minutes on a file of a few thousand
    wrong items."""
    _mapping(data, SCHEMA, (), report)


def _mapping(value: dict, schema: dict, path: Path, report: Report, why: str | None = None) -> None:
    """`why`: the sentence an unknown key gets that is no typo of a known one (meta `unknown`)."""
    for key, rules in schema.items():
        if rules.get("required") and key not in value:
            report("missing-key", path, f"missing required key '{key}'.")
    for key, item in value.items():
        rules = schema.get(key)
        if rules is None:
            allowed = sorted(schema)
            import difflib  # imported for a typo only: start-up pays nothing
            hint = difflib.get_close_matches(str(key), allowed, n=1)
            suggestion = f"did you mean '{hint[0]}'?" if hint else \
                f"only {', '.join(allowed)} may be set here: {why}." if why else f"expected one of: {', '.join(allowed)}."
            report("unknown-key", path + (key,), f"unknown key '{key}'; {suggestion}", True)
        else:
            _value(item, rules, path + (key,), report)


def _value(value: Any, rules: dict, path: Path, report: Report) -> None:
    field = path[-1] if path else ""
    kind = rules.get("type")
    if value is None or (kind is not None and not _TYPES[kind](value)):
        report("wrong-type", path, f"'{field}' must be {_TYPE_WORDS.get(kind, kind)}, not {_describe(value)}.")
        return
    if rules.get("empty") is False and isinstance(value, (str, list, dict)) and not value:
        report("empty", path, f"'{field}' must not be empty.")
        return  # as cerberus: an empty value is not checked against allowed values or a pattern
    if "allowed" in rules and value not in rules["allowed"]:
        allowed = ", ".join(str(v) for v in rules["allowed"])
        report("bad-value", path, f"'{field}' is {value!r}; allowed values are {allowed}.")
    if "regex" in rules and isinstance(value, str) and not re.fullmatch(rules["regex"], value):
        hint = rules.get("meta", {}).get("hint", f"a value matching {rules['regex']}")
        report("bad-value", path, f"'{field}' is {value!r}; write {hint}.")
    if isinstance(value, dict):
        if "schema" in rules:
            _mapping(value, rules["schema"], path, report, rules.get("meta", {}).get("unknown"))
        for key, item in value.items() if "valuesrules" in rules else ():
            _value(item, rules["valuesrules"], path + (key,), report)
    elif isinstance(value, list) and "schema" in rules:
        for i, item in enumerate(value):
            _value(item, rules["schema"], path + (i,), report)


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, str):
        return f"the string {value!r}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if value is None:
        return "null"
    return "a list" if isinstance(value, list) else "a mapping" if isinstance(value, dict) else type(value).__name__
