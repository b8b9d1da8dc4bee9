"""Rendered Services carry exactly the annotations Cilium reads, and equal the guide's manifests."""

import pytest
import yaml

from meshspec.spec.model import Placement
from meshspec.artifacts.manifests import render_cluster, render_mesh
from meshspec.spec.check import check_file

GUIDE = "tests/artifacts/fixtures/guide"
MANAGED = {"app.kubernetes.io/managed-by": "meshspec"}


def without_managed_label(obj):
    labels = obj["metadata"].pop("labels")
    assert labels == MANAGED
    return obj


@pytest.fixture
def guide_mesh():
    mesh, diagnostics = check_file(f"{GUIDE}/mesh.yaml")
    assert diagnostics == []
    return mesh


@pytest.mark.parametrize("cluster", ["cluster-a", "cluster-b"])
def test_guide_shared_example_renders_the_guides_manifests(guide_mesh, cluster):
    with open(f"{GUIDE}/{cluster}.yaml") as fh:
        expected = yaml.safe_load(fh)
    [service] = render_cluster(guide_mesh, cluster)
    assert without_managed_label(service) == expected


@pytest.mark.parametrize("placement, annotations", [
    # The guide's "Enable a global service" example.
    (Placement(True, True, "none"), {"service.cilium.io/global": "true"}),
    # The guide's affinity examples.
    (Placement(True, True, "local"), {"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"}),
    (Placement(True, True, "remote"), {"service.cilium.io/global": "true", "service.cilium.io/affinity": "remote"}),
    (Placement(True, False, "local"), {"service.cilium.io/global": "true", "service.cilium.io/shared": "false",
                                       "service.cilium.io/affinity": "local"}),
    # Not global: no service.cilium.io/* annotation at all, whatever shared and affinity say.
    (Placement(False, False, "remote"), {}),
])
def test_annotations_as_cilium_reads_them(placement, annotations):
    assert placement.annotations() == annotations


def test_every_object_carries_the_managed_by_label():
    mesh, _ = check_file("examples/mesh.yaml")
    for objects in render_mesh(mesh).values():
        for obj in objects:
            assert obj["metadata"]["labels"]["app.kubernetes.io/managed-by"] == "meshspec"


def test_service_is_identical_across_clusters_but_for_cilium_annotations():
    mesh, _ = check_file("examples/mesh.yaml")
    rendered = render_mesh(mesh)

    def strip(obj):
        annotations = {k: v for k, v in obj["metadata"].get("annotations", {}).items()
                       if not k.startswith("service.cilium.io/")}
        return {**obj, "metadata": {**obj["metadata"], "annotations": annotations}}

    by_service = {}
    for objects in rendered.values():
        for obj in objects:
            by_service.setdefault((obj["metadata"]["namespace"], obj["metadata"]["name"]), []).append(strip(obj))
    for copies in by_service.values():
        assert all(copy == copies[0] for copy in copies)


def test_example_mesh_placements_resolve_defaults_service_and_overrides():
    mesh, _ = check_file("examples/mesh.yaml")
    rendered = {cluster: {o["metadata"]["name"]: o["metadata"].get("annotations", {}) for o in objects}
                for cluster, objects in render_mesh(mesh).items()}
    assert rendered["cluster-a"]["myapp-service"] == {"service.cilium.io/global": "true",
                                                      "service.cilium.io/shared": "false"}
    assert rendered["cluster-b"]["myapp-service"] == {"service.cilium.io/global": "true"}
    assert "inventory" not in rendered["cluster-a"]  # clusters: [cluster-b, cluster-c]
    assert rendered["cluster-c"]["inventory"]["service.cilium.io/affinity"] == "remote"
    assert rendered["cluster-b"]["inventory"] == {"service.cilium.io/global": "true"}
    assert rendered["cluster-a"]["metrics"] == {}


def test_user_labels_and_annotations_are_kept(spec_file):
    mesh, _ = check_file(spec_file("""\
        apiVersion: meshspec/v1alpha1
        kind: Mesh
        metadata: {name: t}
        spec:
          clusters: [{name: c1, id: 1}]
          services:
            - name: web
              labels: {team: web}
              annotations: {example.com/owner: "web team"}
              spec: {ports: [{port: 80}]}
        """))
    [obj] = render_cluster(mesh, "c1")
    assert obj["metadata"]["namespace"] == "default"
    assert obj["metadata"]["labels"] == {"team": "web", **MANAGED}
    assert obj["metadata"]["annotations"] == {"example.com/owner": "web team", "service.cilium.io/global": "true"}


MIXED = "examples/mixed-cloud.yaml"


def test_each_cluster_gets_its_overrides_labels_and_annotations_over_the_services_own():
    mesh, diagnostics = check_file(MIXED)
    assert diagnostics == []
    meta = {cluster: objects[0]["metadata"] for cluster, objects in render_mesh(mesh).items()}
    user = {cluster: {k: v for k, v in m["annotations"].items() if not k.startswith("service.cilium.io/")}
            for cluster, m in meta.items()}
    assert user == {
        "aws-east": {"example.com/owner": "shop-team",
                     "service.beta.kubernetes.io/aws-load-balancer-type": "external",
                     "service.beta.kubernetes.io/aws-load-balancer-scheme": "internal"},
        "gke-west": {"example.com/owner": "shop-team", "networking.gke.io/load-balancer-type": "Internal"},
        "onprem": {"example.com/owner": "shop-team", "metallb.universe.tf/address-pool": "mesh"},
    }
    assert meta["gke-west"]["labels"] == {"app.kubernetes.io/part-of": "shop", "cloud": "gcp", **MANAGED}
    assert meta["aws-east"]["labels"] == meta["onprem"]["labels"] == {"app.kubernetes.io/part-of": "shop", **MANAGED}
    assert meta["onprem"]["annotations"]["service.cilium.io/shared"] == "false"  # its placement still applies


def test_an_override_label_or_annotation_replaces_the_services_value_there_only(spec_file):
    mesh, diagnostics = check_file(spec_file("""\
        apiVersion: meshspec/v1alpha1
        kind: Mesh
        metadata: {name: t}
        spec:
          clusters: [{name: c1, id: 1}, {name: c2, id: 2}]
          services:
            - name: web
              labels: {tier: front}
              annotations: {example.com/lb: shared}
              overrides:
                c2: {labels: {tier: edge}, annotations: {example.com/lb: dedicated}}
              spec: {ports: [{port: 80}]}
        """))
    assert diagnostics == []
    [c1], [c2] = render_cluster(mesh, "c1"), render_cluster(mesh, "c2")
    assert (c1["metadata"]["labels"]["tier"], c2["metadata"]["labels"]["tier"]) == ("front", "edge")
    assert c1["metadata"]["annotations"]["example.com/lb"] == "shared"
    assert c2["metadata"]["annotations"]["example.com/lb"] == "dedicated"
    assert c1["spec"] == c2["spec"]  # nothing of the ServiceSpec differs


def test_only_labels_annotations_and_cilium_placement_differ_between_copies():
    mesh, _ = check_file(MIXED)
    copies = [objects[0] for objects in render_mesh(mesh).values()]
    assert all(copy["spec"] == copies[0]["spec"] for copy in copies)
    assert all({k: v for k, v in copy["metadata"].items() if k not in ("labels", "annotations")}
               == {"name": "web", "namespace": "shop"} for copy in copies)
