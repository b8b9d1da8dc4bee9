"""verify on MCS-API ServiceExports (analysis/mcs_verify.py): missing ones, and Cilium's Conflict and Valid
conditions (pkg/clustermesh/mcsapi/serviceimport_controller.go sets them)."""

import copy

from meshspec.analysis.verify import verify
from meshspec.artifacts.manifests import render_cluster
from meshspec.artifacts.mcs import service_exports
from meshspec.k8s.observed import Observed
from meshspec.spec.check import check_bytes
from tests.support.mcs_specs import mcs_spec

EXPORT_KINDS = {"missing-serviceexport", "serviceexport-conflict", "serviceexport-invalid"}


def mesh_of():
    mesh, diagnostics = check_bytes(mcs_spec(), "mesh.yaml")
    assert mesh is not None, diagnostics
    return mesh


def live(mesh, cluster, exports):
    return Observed(cluster, cluster, tuple(render_cluster(mesh, cluster)), (), None, "forbidden",
                    service_exports=exports)


def problems(mesh, exports_of):
    results = {c.name: live(mesh, c.name, exports_of(c.name)) for c in mesh.clusters}
    return [(p.cluster, p.kind, p.namespace, p.name, p.message) for p in verify(mesh, results).problems
            if p.kind in EXPORT_KINDS]


def with_conditions(obj, *conditions):
    obj = copy.deepcopy(obj)
    obj["status"] = {"conditions": [dict(zip(("type", "status", "reason", "message"), c)) for c in conditions]}
    return obj


def test_the_rendered_exports_with_cilium_healthy_conditions_are_no_problem():
    mesh = mesh_of()
    healthy = lambda c: tuple(with_conditions(e, ("Valid", "True", "Valid", ""), ("Ready", "True", "Ready", ""),
                                              ("Conflict", "False", "NoConflicts", ""))
                              for e in service_exports(mesh, c))
    assert problems(mesh, healthy) == []


def test_a_missing_service_export_is_a_problem():
    mesh = mesh_of()
    (found,) = problems(mesh, lambda c: ())
    assert found[:4] == ("cluster-a", "missing-serviceexport", "shop", "checkout")


def test_a_conflict_condition_is_a_problem_with_cilium_message():
    mesh = mesh_of()
    message = 'Conflicting sessionAffinity. 1/2 clusters disagree. Using "None" from oldest service export in ' \
              'cluster "cluster-b".'
    conflicted = lambda c: tuple(with_conditions(e, ("Conflict", "True", "SessionAffinityConflict", message))
                                 for e in service_exports(mesh, c))
    (found,) = problems(mesh, conflicted)
    assert found[1] == "serviceexport-conflict" and "SessionAffinityConflict" in found[4] and message in found[4]


def test_the_v1alpha1_conflicted_condition_counts_too():
    mesh = mesh_of()
    conflicted = lambda c: tuple(with_conditions(e, ("Conflicted", "True", "PortConflict", "ports"))
                                 for e in service_exports(mesh, c))
    assert [p[1] for p in problems(mesh, conflicted)] == ["serviceexport-conflict"]


def test_valid_false_namespace_not_global_is_a_problem():
    mesh = mesh_of()
    invalid = lambda c: tuple(with_conditions(e, ("Valid", "False", "NamespaceNotGlobal",
                                                  "Namespace is not global, Service cannot be exported"))
                              for e in service_exports(mesh, c))
    (found,) = problems(mesh, invalid)
    assert found[1] == "serviceexport-invalid" and "NamespaceNotGlobal" in found[4]


def test_unreadable_service_exports_are_a_note():
    mesh = mesh_of()
    results = {c.name: live(mesh, c.name, None) for c in mesh.clusters}
    report = verify(mesh, results)
    assert not [p for p in report.problems if p.kind in EXPORT_KINDS]
    assert any("ServiceExports" in note for note in report.notes["cluster-a"])


def test_a_namespace_without_the_global_annotation_the_spec_renders_is_drift():
    """With defaultGlobalNamespace false, shop must carry clustermesh.cilium.io/global "true"
    (pkg/clustermesh/namespace), or Cilium exports none of its Services."""
    mesh = mesh_of()
    results = {c.name: Observed(c.name, c.name, tuple(render_cluster(mesh, c.name)), (), None, "forbidden",
                                service_exports=tuple(service_exports(mesh, c.name)),
                                namespace_objects=({"metadata": {"name": "shop"}},))
               for c in mesh.clusters}
    drift = [(p.cluster, p.namespace, p.field, p.expected, p.actual) for p in verify(mesh, results).problems
             if p.kind == "annotation-drift"]
    assert ("cluster-a", "shop", "metadata.annotations[clustermesh.cilium.io/global]", "true", None) in drift
