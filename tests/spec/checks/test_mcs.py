"""validate on MCS-API exports and global namespaces (spec/checks/mcs.py)."""

from meshspec.spec.check import check_bytes
from tests.support.mcs_specs import mcs_spec


def codes(raw: bytes) -> list[tuple[str, str]]:
    mesh, diagnostics = check_bytes(raw, "mesh.yaml")
    return [(d.code, d.path) for d in diagnostics]


def test_a_global_service_in_a_namespace_marked_non_global_is_warned_about_at_the_mark():
    """pkg/clustermesh/namespace: an annotated "false" namespace exports nothing, whatever the default."""
    assert ("namespace-not-global", "spec.namespaces.global.batch") in codes(mcs_spec())


def test_no_warning_once_the_namespace_is_global():
    assert not [c for c in codes(mcs_spec(namespaces={"global": {"batch": True}})) if c[0] == "namespace-not-global"]


def test_mcs_without_mcsapi_is_a_warning_with_the_fix():
    mesh, diagnostics = check_bytes(mcs_spec(cilium={"defaultGlobalNamespace": False}), "mesh.yaml")
    (d,) = [d for d in diagnostics if d.code == "mcs-without-mcsapi"]
    assert d.severity == "warning" and d.path == "spec.services[0].mcs"
    assert "spec.cilium.mcsapi: true" in d.message
    assert mesh is not None


def test_default_false_and_an_unrendered_namespace_is_warned_about():
    raw = mcs_spec(services={"jobs": {"namespace": "default"}}, namespaces={"create": True})
    found = [c for c in codes(raw) if c[0] == "namespace-unannotated"]
    assert found == [("namespace-unannotated", "spec.cilium.defaultGlobalNamespace")]
    # one warning for one cause: not namespace-not-global on the service as well
    assert ("namespace-not-global", "spec.services[1].namespace") not in codes(raw)


def test_the_sync_annotation_next_to_the_field_is_ignored_field():
    raw = mcs_spec(services={"checkout": {"syncEndpointSlices": True, "annotations": {
        "service.cilium.io/global-sync-endpoint-slices": "false"}}})
    assert ("ignored-field", "spec.services[0].annotations.service.cilium.io/global-sync-endpoint-slices") in codes(raw)


def test_wrong_types_are_structure_errors():
    mesh, diagnostics = check_bytes(mcs_spec(namespaces={"global": {"shop": "yes"}},
                                             services={"checkout": {"mcs": "true"}}), "mesh.yaml")
    assert mesh is None
    assert {d.code for d in diagnostics} == {"wrong-type"}
