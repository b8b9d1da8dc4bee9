"""verify's MCS-API checks: the ServiceExports the spec renders, and the conditions Cilium sets on them
(pkg/clustermesh/mcsapi/serviceimport_controller.go: Valid, Ready, and Conflict, which the v1alpha1 API
of older mcs-api releases calls Conflicted)."""

from __future__ import annotations

from typing import Any, Mapping, Sequence

from ..artifacts.manifests import mesh_namespaces
from ..artifacts.mcs import SERVICE_EXPORT, namespace_annotations, service_exports
from ..cilium.annotations import GLOBAL_NAMESPACE
from ..k8s.observed import Obj, object_key
from ..spec.model import Mesh

CONFLICT_TYPES = ("Conflict", "Conflicted")


def conditions(obj: Mapping[str, Any]) -> dict[str, Mapping[str, Any]]:
    found = (obj.get("status") or {}).get("conditions") or []
    return {c.get("type"): c for c in found if isinstance(c, Mapping)}


def export_problems(mesh: Mesh, cluster: str, live: Sequence[Obj] | None,
                    Problem: Any) -> list:  # noqa: N803
    """`Problem` is verify.Problem, passed in: verify imports this module."""
    wanted = {object_key(obj) for obj in service_exports(mesh, cluster)}
    if live is None:
        return []  # not readable: verify notes it
    present = {object_key(obj): obj for obj in live}
    problems = []
    for key in sorted(wanted - set(present)):
        problems.append(Problem(cluster, "missing-serviceexport", *key, "", SERVICE_EXPORT, None,
                                f"missing ServiceExport: the spec exports this Service from {cluster} (mcs: true), "
                                "which has none, so no cluster imports its endpoints"))
    for key, obj in sorted(present.items()):
        found = conditions(obj)
        conflict = next((found[t] for t in CONFLICT_TYPES if t in found), None)
        if conflict is not None and str(conflict.get("status")) == "True":
            problems.append(Problem(cluster, "serviceexport-conflict", *key, f"status.conditions[{conflict['type']}]",
                                    "False", "True", f"ServiceExport conflict ({conflict.get('reason')}): "
                                    f"{conflict.get('message') or 'no message'}"))
        valid = found.get("Valid")
        if valid is not None and str(valid.get("status")) == "False":
            problems.append(Problem(cluster, "serviceexport-invalid", *key, "status.conditions[Valid]", "True",
                                    "False", f"ServiceExport not valid ({valid.get('reason')}): "
                                    f"{valid.get('message') or 'no message'}"))
    return problems


def namespace_problems(mesh: Mesh, cluster: str, live: Sequence[Obj], Problem: Any) -> list:  # noqa: N803
    """A Namespace meshspec renders whose clustermesh.cilium.io/global differs from the spec: Cilium
    exports its Services, or not, by it (pkg/clustermesh/namespace)."""
    found = {(obj.get("metadata") or {}).get("name"): obj for obj in live}
    problems = []
    for namespace in mesh_namespaces(mesh)[cluster]:
        obj = found.get(namespace)
        if obj is None:
            continue  # not read, or missing: verify's missing-namespace
        expected = namespace_annotations(mesh, namespace).get(GLOBAL_NAMESPACE)
        actual = ((obj.get("metadata") or {}).get("annotations") or {}).get(GLOBAL_NAMESPACE)
        if expected != actual:
            problems.append(Problem(cluster, "annotation-drift", namespace, "",
                                    f"metadata.annotations[{GLOBAL_NAMESPACE}]", expected, actual,
                                    f"annotation drift: Namespace {namespace} has {GLOBAL_NAMESPACE} "
                                    f"{'absent' if actual is None else repr(actual)}; the spec says "
                                    f"{'absent' if expected is None else repr(expected)}"))
    return problems
