"""meshspec.analysis.importing: Service objects as the API serves them -> a spec that reproduces them.
Small objects built here, and the three-cluster dump in fixtures/import (README.md there)."""

from __future__ import annotations

import copy
import json
import pathlib
import random

import pytest
import yaml

from meshspec.analysis.importing import ClusterRead, import_mesh, normalized_spec
from meshspec.analysis.state import load_objects
from meshspec.spec.check import check_bytes
from tests.support.importing import rendered_views, view

DUMP = pathlib.Path(__file__).parent / "fixtures" / "import"
GLOBAL = "service.cilium.io/global"


def service(name, namespace="shop", annotations=None, labels=None, **spec):
    """A Service as the API server returns it: allocated and defaulted fields filled in."""
    body = {"type": "ClusterIP", "clusterIP": "10.96.0.7", "clusterIPs": ["10.96.0.7"], "ipFamilies": ["IPv4"],
            "ipFamilyPolicy": "SingleStack", "sessionAffinity": "None", "internalTrafficPolicy": "Cluster",
            "selector": {"app": name}, "ports": [{"port": 80, "targetPort": 80, "protocol": "TCP"}], **spec}
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "uid": "x", "resourceVersion": "1",
                         "annotations": dict(annotations or {}), "labels": dict(labels or {})},
            "spec": body}


def config(name, cluster_id, **data):
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "cilium-config"},
            "data": {"cluster-name": name, "cluster-id": str(cluster_id), **data}}


def clusters(*services_per_cluster, configs=None):
    """One ClusterRead per argument, contexts kind-a, kind-b...; cilium-config names them a, b..."""
    reads = []
    for i, services in enumerate(services_per_cluster):
        letter = "abcdefgh"[i]
        cm = config(f"cluster-{letter}", i + 1) if configs is None else configs[i]
        reads.append(ClusterRead(f"kind-{letter}", tuple(services), cm, None if cm else "HTTP 403 Forbidden"))
    return reads


def imported(reads, **options):
    """The document, its warnings as text, and the check that it validates with no error."""
    result = import_mesh(reads, **options)
    text = result.text("test")
    mesh, diagnostics = check_bytes(text.encode(), "imported.yaml")
    assert mesh is not None and not [d for d in diagnostics if d.is_error], diagnostics
    return result.document, [w.text() for w in result.warnings], mesh


def entry(document, name):
    return next(s for s in document["spec"]["services"] if s["name"] == name)


# --- clusters from cilium-config --------------------------------------------------------------------

def test_clusters_take_name_id_and_pod_cidrs_from_cilium_config_in_the_order_given():
    # Cilium's chart: cluster-name, cluster-id, cluster-pool-ipv4-cidr / -ipv6-cidr (lists joined with " ")
    reads = clusters([], [], configs=[
        config("east", 7, **{"cluster-pool-ipv4-cidr": "10.1.0.0/16 10.5.0.0/16"}),
        config("west", 3, **{"cluster-pool-ipv4-cidr": "10.2.0.0/16", "cluster-pool-ipv6-cidr": "fd00:2::/104"})])
    document, warnings, _ = imported(reads)
    assert document["spec"]["clusters"] == [
        {"name": "east", "id": 7, "context": "kind-a", "podCIDRs": ["10.1.0.0/16", "10.5.0.0/16"]},
        {"name": "west", "id": 3, "context": "kind-b", "podCIDRs": ["10.2.0.0/16", "fd00:2::/104"]}]
    assert warnings == []


def test_the_cilium_version_the_clusters_run_becomes_spec_cilium_version():
    # verify reads the same image tag (adapters/live.py); without spec.cilium.version explain and validate
    # would model meshspec's default release instead of the one that runs.
    images = ["quay.io/cilium/cilium:v1.18.4@sha256:" + "0" * 64, "quay.io/cilium/cilium:v1.18.6",
              "quay.io/cilium/cilium:v1.19.2", None]
    reads = [ClusterRead(r.source, r.services, r.cilium_config, r.cilium_config_error, image)
             for r, image in zip(clusters([], [], [], []), images)]
    document, warnings, mesh = imported(reads)
    assert document["spec"]["cilium"] == {"version": "1.18.4"}  # the majority's minor; a patch apart agrees
    assert str(mesh.cilium.version) == "1.18.4"
    assert warnings == ["cluster-c: cilium: warning: runs Cilium 1.19.2, most clusters 1.18.4: the spec says "
                        "1.18.4 (spec.cilium.version), and verify reports this cluster until its Cilium minor "
                        "release matches [import-differs]"]


def test_no_readable_image_leaves_the_cilium_version_out():
    reads = [ClusterRead(r.source, r.services, r.cilium_config, r.cilium_config_error, "cilium:latest")
             for r in clusters([], [])]
    document, warnings, _ = imported(reads)
    assert "cilium" not in document["spec"] and warnings == []


def test_an_unreadable_cilium_config_is_a_warning_naming_the_guessed_name_and_id():
    document, warnings, _ = imported(clusters([], [], configs=[config("east", 2), None]))
    assert document["spec"]["clusters"][1] == {"name": "kind-b", "id": 1, "context": "kind-b"}
    assert warnings == [
        "kind-b: cilium-config: warning: cilium-config is not readable (HTTP 403 Forbidden): the cluster is named "
        "'kind-b' after 'kind-b'; check it against the cluster's Cilium cluster.name [import-guessed]",
        "kind-b: cilium-config: warning: cilium-config is not readable (HTTP 403 Forbidden): id 1 is guessed (the "
        "smallest free one); check it against the cluster's Cilium cluster.id [import-guessed]"]


def test_cilium_defaults_and_clashes_are_guessed_so_the_spec_validates():
    # Cilium's own defaults (cluster-name "default", cluster-id "0") are not a mesh's; a context such as an
    # EKS ARN is no cluster name; the same name or id twice cannot both be right.
    reads = [ClusterRead("arn:aws:eks:eu-west-1:1:cluster/Prod", (), config("default", 0)),
             ClusterRead("kind-b", (), config("west", 5)),
             ClusterRead("kind-c", (), config("west", 5))]
    document, warnings, _ = imported(reads)
    assert [(c["name"], c["id"]) for c in document["spec"]["clusters"]] == \
        [("aws-eks-eu-west-1-1-cluster-prod", 1), ("west", 5), ("kind-c", 2)]
    assert len(warnings) == 4 and all("[import-guessed]" in w for w in warnings)
    assert "cluster-name 'west' is also the name of kind-b's cluster" in warnings[1]
    assert warnings[3].startswith("kind-c: cilium-config: warning: cluster-id 5 is also the id of west: id 2 is guessed")


def test_overlapping_or_malformed_pod_cidrs_are_left_out_with_a_warning():
    # Cilium's default clusterPoolIPv4PodCIDRList is the same 10.0.0.0/8 everywhere: Cluster Mesh needs others.
    reads = clusters([], [], configs=[config("a", 1, **{"cluster-pool-ipv4-cidr": "10.0.0.0/8"}),
                                      config("b", 2, **{"cluster-pool-ipv4-cidr": "10.0.0.0/8 nonsense"})])
    document, warnings, _ = imported(reads)
    assert "podCIDRs" not in document["spec"]["clusters"][1]
    assert warnings == [
        "b: cilium-config: warning: cluster-pool-ipv4-cidr 10.0.0.0/8 overlaps a's pod CIDRs, which Cluster Mesh "
        "does not allow; podCIDRs leaves it out [import-skipped]",
        "b: cilium-config: warning: cluster-pool-ipv4-cidr 'nonsense' is not a CIDR; podCIDRs leaves it out "
        "[import-skipped]"]


# --- which Services, and their placement ------------------------------------------------------------

def test_global_services_are_imported_as_cilium_reads_them_aliases_and_case_included():
    a = [service("web", annotations={"io.cilium/global-service": "True", "io.cilium/shared-service": "false"}),
         service("plain")]
    b = [service("web", annotations={GLOBAL: "true", "service.cilium.io/affinity": "Local"}), service("plain")]
    document, _, _ = imported(clusters(a, b))
    assert [s["name"] for s in document["spec"]["services"]] == ["web"]
    web = entry(document, "web")
    # shared: 1 false, 1 true (a tie: Cilium's default wins); affinity: local in b only (global in both)
    assert web["overrides"] == {"cluster-a": {"shared": False}, "cluster-b": {"affinity": "local"}}
    assert "clusters" not in web


def test_placement_is_defaults_plus_the_service_majority_plus_the_fewest_overrides():
    local = {GLOBAL: "true", "service.cilium.io/affinity": "local"}
    unshared = {**local, "service.cilium.io/shared": "false"}
    reads = clusters([service("a", annotations=local), service("b", annotations=unshared), service("c", annotations=local)],
                     [service("a", annotations=local), service("b", annotations=unshared), service("c", annotations=local)],
                     [service("a", annotations=unshared), service("b", annotations=local), service("c", annotations=local)])
    document, _, mesh = imported(reads)
    assert document["spec"]["defaults"] == {"affinity": "local"}  # every copy: one key instead of three
    assert entry(document, "a") == {**entry(document, "a"), "overrides": {"cluster-c": {"shared": False}}}
    assert entry(document, "b")["shared"] is False and entry(document, "b")["overrides"] == {"cluster-c": {"shared": True}}
    assert "overrides" not in entry(document, "c") and "shared" not in entry(document, "c")
    for cluster, copies in zip(("cluster-a", "cluster-b", "cluster-c"), reads):
        assert rendered_views(mesh)[cluster] == view(copies.services)


def test_a_service_missing_from_some_clusters_lists_where_it_is():
    reads = clusters([service("web", annotations={GLOBAL: "true"})], [], [service("web", annotations={GLOBAL: "true"})])
    document, _, _ = imported(reads)
    assert entry(document, "web")["clusters"] == ["cluster-a", "cluster-c"]


def test_a_copy_without_the_annotation_is_a_global_false_override():
    reads = clusters([service("web", annotations={GLOBAL: "true"})], [service("web")], [service("web", annotations={GLOBAL: "true"})])
    document, _, mesh = imported(reads)
    assert entry(document, "web")["overrides"] == {"cluster-b": {"global": False}}
    assert rendered_views(mesh)["cluster-b"] == view(reads[1].services)


def test_annotation_values_the_spec_cannot_write_back_are_warnings():
    reads = clusters([service("web", annotations={GLOBAL: "true", "service.cilium.io/affinity": "none"})],
                     [service("web", annotations={GLOBAL: "yes", "service.cilium.io/shared": "false"})])
    document, warnings, _ = imported(reads)
    assert entry(document, "web")["overrides"] == {"cluster-b": {"global": False}}
    assert warnings == [
        "cluster-a: shop/web: warning: annotation service.cilium.io/affinity: 'none' is not imported as it is: Cilium reads "
        "it as affinity none, which the spec renders as no annotation [import-skipped]",
        "cluster-b: shop/web: warning: annotation service.cilium.io/global: 'yes' is not imported as it is: Cilium reads it "
        "as not global, which the spec renders as no annotation [import-skipped]",
        "cluster-b: shop/web: warning: annotation service.cilium.io/shared: 'false' is not imported as it is: Cilium "
        "ignores it on a Service that is not global, which the spec renders as no annotation [import-skipped]"]


def test_all_imports_every_service_of_the_namespaces_but_the_api_servers_own():
    reads = clusters([service("web", annotations={GLOBAL: "true"}), service("plain"),
                      service("kubernetes", namespace="default"), service("other", namespace="else")])
    document, _, _ = imported(reads, namespaces=["shop", "default"], all_services=True)
    assert [(s["name"], s.get("global")) for s in document["spec"]["services"]] == [("plain", False), ("web", None)]


# --- the ServiceSpec --------------------------------------------------------------------------------

def test_server_set_and_defaulted_fields_are_left_out():
    # SetDefaults_Service (pkg/apis/core/v1/defaults.go) and the registry's allocations
    live = service("web", type="LoadBalancer", externalTrafficPolicy="Cluster", allocateLoadBalancerNodePorts=True,
                   healthCheckNodePort=None, publishNotReadyAddresses=False,
                   ports=[{"name": "http", "port": 80, "targetPort": 80, "protocol": "TCP", "nodePort": 31234}])
    assert normalized_spec(live["spec"]) == {"ports": [{"name": "http", "port": 80}], "selector": {"app": "web"},
                                             "type": "LoadBalancer"}


def test_what_the_user_chose_stays_even_where_it_looks_like_a_default_elsewhere():
    live = service("db", clusterIP="None", clusterIPs=["None"], sessionAffinity="ClientIP",
                   sessionAffinityConfig={"clientIP": {"timeoutSeconds": 3600}}, ipFamilyPolicy="PreferDualStack",
                   ports=[{"port": 5432, "targetPort": "pg", "protocol": "UDP"}, {"port": 81, "targetPort": 8081}])
    assert normalized_spec(live["spec"]) == {
        "clusterIP": "None", "ipFamilyPolicy": "PreferDualStack",
        "ports": [{"port": 5432, "protocol": "UDP", "targetPort": "pg"}, {"port": 81, "targetPort": 8081}],
        "selector": {"app": "db"}, "sessionAffinity": "ClientIP",
        "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 3600}}}


def node_port_service(number, **extra):
    return service("web", annotations={GLOBAL: "true", **extra.pop("annotations", {})}, type="NodePort",
                   ports=[{"port": 80, "targetPort": 80, "protocol": "TCP", "nodePort": number}], **extra)


@pytest.mark.parametrize("numbers, kept", [((30080, 30080), 30080), ((30080, 31999), None), ((30080,), None)])
def test_a_node_port_is_kept_when_every_copy_has_the_same_one(numbers, kept):
    # The allocator picks at random: the same number in two clusters or more was fixed on purpose.
    document, warnings, _ = imported(clusters(*[[node_port_service(n)] for n in numbers]))
    assert entry(document, "web")["spec"]["ports"][0].get("nodePort") == kept
    assert warnings == []  # an allocated nodePort is no difference


def test_a_node_port_kubectl_applied_is_kept_even_in_one_cluster():
    applied = {"kubectl.kubernetes.io/last-applied-configuration": json.dumps(
        {"spec": {"type": "NodePort", "ports": [{"port": 80, "nodePort": 30080}]}})}
    document, _, _ = imported(clusters([node_port_service(30080, annotations=applied)]))
    assert entry(document, "web")["spec"]["ports"][0]["nodePort"] == 30080
    assert "annotations" not in entry(document, "web")  # last-applied itself is kubectl's, not the spec's


def test_copies_that_differ_give_a_warning_per_field_and_the_majority_copy():
    reads = clusters([service("web", annotations={GLOBAL: "true"}, selector={"app": "web"})],
                     [service("web", annotations={GLOBAL: "true"}, selector={"app": "web2"}, type="NodePort")],
                     [service("web", annotations={GLOBAL: "true"}, selector={"app": "web"})])
    document, warnings, _ = imported(reads)
    assert entry(document, "web")["spec"]["selector"] == {"app": "web"}
    assert warnings == [
        'cluster-b: shop/web: warning: spec.selector.app is "web2" here but "web" in cluster-a, cluster-c; the spec '
        "renders one ServiceSpec for every cluster, and takes the majority's [import-differs]",
        'cluster-b: shop/web: warning: spec.type is "NodePort" here but absent in cluster-a, cluster-c; the spec '
        "renders one ServiceSpec for every cluster, and takes the majority's [import-differs]"]


def test_a_tie_goes_to_the_earliest_cluster_given():
    reads = clusters([service("web", annotations={GLOBAL: "true"}, selector={"app": "one"})],
                     [service("web", annotations={GLOBAL: "true"}, selector={"app": "two"})])
    document, warnings, _ = imported(reads)
    assert entry(document, "web")["spec"]["selector"] == {"app": "one"}
    assert [w.split(":")[0] for w in warnings] == ["cluster-b"]


# --- labels and annotations -------------------------------------------------------------------------

def test_labels_and_annotations_are_kept_but_ciliums_kubectls_pulumis_and_meshspecs_own():
    annotations = {GLOBAL: "true", "io.cilium/shared-service": "true", "service.cilium.io/lb-algorithm": "maglev",
                   "kubectl.kubernetes.io/last-applied-configuration": "{}", "pulumi.com/skipAwait": "true",
                   "example.com/owner": "team-a"}
    labels = {"app.kubernetes.io/managed-by": "meshspec", "team": "a"}
    document, _, _ = imported(clusters([service("web", annotations=annotations, labels=labels)]))
    web = entry(document, "web")
    assert web["annotations"] == {"example.com/owner": "team-a", "service.cilium.io/lb-algorithm": "maglev"}
    assert web["labels"] == {"team": "a"}


def test_labels_and_annotations_that_differ_per_cluster_are_overrides_and_round_trip():
    # services[].overrides.<cluster>.labels / .annotations, merged over the service's own
    lbs = ("internal", "internal", "external")
    reads = clusters(*[[service("web", annotations={GLOBAL: "true", "cloud/lb": lb, **({"only/here": "x"} if i == 1 else {})},
                                labels={"team": "a", "zone": f"z{i}"})] for i, lb in enumerate(lbs)])
    document, warnings, mesh = imported(reads)
    web = entry(document, "web")
    assert web["annotations"] == {"cloud/lb": "internal"} and web["labels"] == {"team": "a", "zone": "z0"}
    assert web["overrides"] == {"cluster-b": {"labels": {"zone": "z1"}, "annotations": {"only/here": "x"}},
                                "cluster-c": {"labels": {"zone": "z2"}, "annotations": {"cloud/lb": "external"}}}
    assert warnings == []
    for cluster, read in zip(("cluster-a", "cluster-b", "cluster-c"), reads):
        assert rendered_views(mesh)[cluster] == view(read.services)


def test_ciliums_annotations_cannot_differ_per_cluster_so_the_majority_is_kept_with_a_warning():
    reads = clusters(*[[service("web", annotations={GLOBAL: "true", "service.cilium.io/lb-algorithm": v})]
                       for v in ("maglev", "maglev", "random")])
    document, warnings, _ = imported(reads)
    assert entry(document, "web")["annotations"] == {"service.cilium.io/lb-algorithm": "maglev"}
    assert warnings == ['cluster-c: shop/web: warning: annotation service.cilium.io/lb-algorithm is "random" here '
                        "but \"maglev\" in cluster-a; Cilium's annotations cannot differ per cluster in the spec, "
                        "which takes the majority's [import-differs]"]


# --- the whole document -----------------------------------------------------------------------------

def test_the_output_is_the_same_bytes_whatever_the_order_objects_come_in():
    folders, _ = load_objects(str(DUMP))
    reads = [ClusterRead(f.cluster, f.services, f.cilium_config, f.cilium_config_error) for f in folders]
    first = import_mesh(reads).text("the dump")
    shuffled = []
    for read in reads:
        services = [copy.deepcopy(s) for s in read.services]
        random.Random(7).shuffle(services)
        shuffled.append(ClusterRead(read.source, tuple(services), read.cilium_config, read.cilium_config_error))
    assert import_mesh(shuffled).text("the dump") == first
    assert first.startswith("# Written by meshspec import from the dump.\n")
    assert "202" not in first.split("apiVersion")[0]  # no timestamp in the header


def test_the_dump_round_trips_per_cluster_where_the_copies_agree():
    folders, diagnostics = load_objects(str(DUMP))
    assert diagnostics == []
    reads = [ClusterRead(f.cluster, f.services, f.cilium_config, f.cilium_config_error) for f in folders]
    document, warnings, mesh = imported(reads)
    names = {c["context"]: c["name"] for c in document["spec"]["clusters"]}
    assert names == {"cluster-a": "east", "cluster-b": "west", "cluster-c": "cluster-c"}
    assert [s["name"] for s in document["spec"]["services"]] == ["cart", "checkout", "web"]
    rendered = rendered_views(mesh)
    for read in reads:
        wanted = {k: v for k, v in view(read.services).items() if k[1] not in ("internal", "kubernetes")}
        if read.source == "cluster-c":  # its web has targetPort 8081; the majority's 8080 is imported
            assert wanted[("shop", "web")]["ports"] == [("http", 80, "TCP", 8081)]
            wanted[("shop", "web")]["ports"] = [("http", 80, "TCP", 8080)]
        assert rendered[names[read.source]] == wanted
    assert sum("[import-differs]" in w for w in warnings) == 1


def test_a_service_the_spec_cannot_hold_is_left_out_with_a_warning():
    broken = service("web", annotations={GLOBAL: "true"}, type="Sideways")
    document, warnings, _ = imported(clusters([broken, service("ok", annotations={GLOBAL: "true"})]))
    assert [s["name"] for s in document["spec"]["services"]] == ["ok"]
    assert len(warnings) == 1 and warnings[0].startswith("shop/web: warning: not imported: the spec cannot hold it")


def test_values_no_api_server_serves_never_crash_the_import():
    # A hand-edited dump: YAML's dates, integer keys, a port that is a string.
    import datetime

    odd = service("web", annotations={GLOBAL: "true"}, selector={1: "a", "1": "b"}, ports=["80"],
                  externalName=datetime.date(2020, 1, 1))
    document, warnings, _ = imported(clusters([odd], [service("web", annotations={GLOBAL: "true"})]))
    assert document["spec"]["services"] == []
    assert warnings[-1].startswith("shop/web: warning: not imported: the spec cannot hold it as read")


def test_the_header_says_where_from_and_the_yaml_reads_back_as_the_document():
    result = import_mesh(clusters([service("web", annotations={GLOBAL: "true"})]))
    text = result.text("contexts kind-a")
    assert text.splitlines()[0] == "# Written by meshspec import from contexts kind-a."
    assert yaml.safe_load(text) == result.document
    assert list(result.document) == ["apiVersion", "kind", "metadata", "spec"]
    assert list(entry(result.document, "web")) == ["name", "namespace", "spec"]
