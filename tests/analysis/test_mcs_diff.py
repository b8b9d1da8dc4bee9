"""diff on global namespaces and MCS-API exports (analysis/mcs_diff.py)."""

from meshspec.analysis.diff import compare
from meshspec.formats.diff import to_text
from meshspec.spec.check import check_bytes
from tests.support.mcs_specs import mcs_spec


def mesh_of(raw):
    mesh, diagnostics = check_bytes(raw, "mesh.yaml")
    assert mesh is not None, diagnostics
    return mesh


def risks(old, new):
    return [(r.code, r.service, r.clusters) for r in compare(mesh_of(old), mesh_of(new)).risks]


def test_a_namespace_turning_non_global_is_a_risk():
    """pkg/clustermesh/namespace: an annotated "false" namespace stops every export from it."""
    found = risks(mcs_spec(), mcs_spec(namespaces={"global": {"batch": False, "shop": False}}))
    assert ("namespace-not-global", "", ()) in found
    # shop's MCS export goes with it: Cilium marks it NamespaceNotGlobal, and meshspec renders none
    assert ("mcs-export-removed", "shop/checkout", ("cluster-a",)) in found


def test_an_mcs_export_removed_is_a_risk():
    found = risks(mcs_spec(), mcs_spec(services={"checkout": {"mcs": False}}))
    assert found == [("mcs-export-removed", "shop/checkout", ("cluster-a",))]


def test_no_risk_when_nothing_changes_and_the_clusterset_routes_are_apart():
    old = mesh_of(mcs_spec())
    report = compare(old, old)
    assert report.risks == () and not report.traffic
    # the MCS path is its own entry: dropping the export changes the clusterset routes, not the Service's
    changed = compare(old, mesh_of(mcs_spec(services={"checkout": {"mcs": False}})))
    assert [t.service for t in changed.traffic] == ["shop/checkout via checkout.shop.svc.clusterset.local"]
    assert "mcs-export-removed" in to_text(changed)
