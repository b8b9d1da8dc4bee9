"""Reading observed cluster state (meshspec simulate STATE_DIR): Kubernetes semantics, located diagnostics."""

import json
import os
import shutil
import textwrap

import pytest

from meshspec.cilium.versions import parse_version
from meshspec.spec.load import MAX_BYTES
from meshspec.cilium.routing import ClusterService, Endpoint, EndpointSlice, Port, route_service, serving_clusters
from meshspec.analysis.state import StateError, load_state
from meshspec.k8s.objects import cluster_service

MESH = os.path.join(os.path.dirname(__file__), "fixtures", "state", "mesh")


@pytest.fixture
def state_dir(tmp_path):
    """Write {"cluster/file": text (dedented)} under a fresh STATE_DIR; returns load_state's result."""

    def write(files: dict[str, str | bytes]):
        for name, content in files.items():
            path = tmp_path / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(textwrap.dedent(content))
        return load_state(str(tmp_path))

    return write


def located(diagnostics):
    return [(d.severity, d.code, os.path.basename(d.file), d.line, d.column) for d in diagnostics]


# --- a realistic state: kubectl List dumps, JSON, multi-document files ---------------------------

def test_fixture_state_clusters_services_and_only_the_orphan_warning():
    state, diagnostics = load_state(MESH)
    assert state.clusters == ("cluster-a", "cluster-b")
    assert list(state.services) == [("default", "kubernetes"), ("shop", "api"), ("shop", "db"),
                                    ("shop", "partner"), ("shop", "web"), ("shop", "web6")]
    assert list(state.services["shop", "web"]) == ["cluster-a", "cluster-b"]
    assert located(diagnostics) == [("warning", "orphan-endpointslice", "endpointslices.yaml", 44, 35)]
    assert diagnostics[0].path == "items[2].metadata.labels.kubernetes.io/service-name"
    assert "shop/old-api-z9q4w is labelled for Service shop/old-api, which is not in cluster 'cluster-b'" \
        in diagnostics[0].message


def test_kubectl_list_dump_gives_the_service_with_its_slice():
    state, _ = load_state(MESH)
    assert state.services["shop", "web"]["cluster-a"] == ClusterService(
        namespace="shop", name="web",
        annotations={"service.cilium.io/affinity": "local", "service.cilium.io/global": "true"},
        ports=(Port("http", 80, "TCP"),), headless=False, families=("IPv4",),
        slices=(EndpointSlice(
            ports=(Port("http", 8080, "TCP"),),
            endpoints=(Endpoint("10.0.1.10", ready=True, serving=True, terminating=False),
                       Endpoint("10.0.1.11", ready=False, serving=True, terminating=True)),
            address_type="IPv4"),))


def test_json_service_keeps_every_annotation_port_and_family():
    state, _ = load_state(MESH)
    api = state.services["shop", "api"]["cluster-a"]
    assert api.annotations == {"service.cilium.io/global": "true", "service.cilium.io/shared": "false"}
    assert api.ports == (Port("grpc", 9090, "TCP"), Port("metrics", 9100, "UDP"))
    assert api.families == ("IPv4", "IPv6")
    assert api.slices == ()


def test_multi_document_file_headless_service_and_condition_defaults():
    state, _ = load_state(MESH)
    db = state.services["shop", "db"]["cluster-a"]
    assert (db.headless, db.families, db.ports, db.annotations) == (True, ("IPv4",), (Port("", 5432, "TCP"),), {})
    [eps] = db.slices
    assert eps.ports == (Port("", 5432, "TCP"),)
    assert eps.endpoints == (
        Endpoint("10.0.1.20", ready=True, serving=True, terminating=False),  # no conditions at all
        Endpoint("10.0.1.21", ready=False, serving=False, terminating=False),  # serving defers to ready
        Endpoint("10.0.1.22", ready=True, serving=True, terminating=False),  # explicit nulls
    )


def test_typed_list_items_take_the_list_kind_and_families_are_inferred():
    state, _ = load_state(MESH)
    # cluster-b/services.json is a raw ServiceList: its items carry no apiVersion or kind.
    assert state.services["shop", "web6"]["cluster-b"].families == ("IPv6",)
    assert state.services["shop", "partner"]["cluster-b"].headless  # ExternalName
    web_b = state.services["shop", "web"]["cluster-b"]
    assert web_b.slices[0].endpoints[1] == Endpoint("10.1.1.11", ready=False, serving=False, terminating=False)


def test_other_kinds_hidden_and_non_yaml_files_are_ignored():
    state, _ = load_state(MESH)
    # misc.yaml holds a Secret and a ConfigMap, endpointslices.yaml a Pod; .draft.yaml is broken YAML
    # and README.txt is not YAML: none of them shows up, and nothing is reported about them.
    assert ("shop", "db-credentials") not in state.services and ("shop", "settings") not in state.services
    assert "hunter2" not in repr(state)


def test_fixture_state_routes_through_cilium():
    state, _ = load_state(MESH)
    views = route_service(state.services["shop", "web"], state.clusters, parse_version("1.20"))
    # a: global with affinity local and one ready local pod; b: global, shared by default.
    assert serving_clusters(views["cluster-a"]) == ["cluster-a"]
    assert serving_clusters(views["cluster-b"]) == ["cluster-a", "cluster-b"]


def test_loading_is_deterministic(tmp_path):
    first = load_state(MESH)
    copy = tmp_path / "copy"
    for cluster in reversed(sorted(os.listdir(MESH))):  # created in another order
        shutil.copytree(os.path.join(MESH, cluster), copy / cluster)
    state, diagnostics = load_state(str(copy))
    assert repr(state) == repr(first[0])
    assert [(d.code, d.line, d.column, d.message) for d in diagnostics] == \
        [(d.code, d.line, d.column, d.message) for d in first[1]]


def test_slices_are_sorted_by_name_whatever_the_file_order(state_dir):
    service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"

    def es(name, ip):
        return (f"apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\naddressType: IPv4\n"
                f"metadata: {{name: {name}, labels: {{kubernetes.io/service-name: web}}}}\n"
                f"endpoints: [{{addresses: [{ip}]}}]\n")

    state, diagnostics = state_dir({"c1/a.yaml": es("web-z", "10.0.0.2"), "c1/b.yaml": service,
                                    "c1/c.yaml": es("web-a", "10.0.0.1")})
    assert diagnostics == []
    svc = state.services["default", "web"]["c1"]
    assert [s.endpoints[0].address for s in svc.slices] == ["10.0.0.1", "10.0.0.2"]
    assert svc.slices[0].ports == ()  # a slice without ports has none


# --- the pure conversion, reused on objects from the Kubernetes API -----------------------------

def test_cluster_service_from_api_objects():
    service = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": "web", "namespace": "shop", "annotations": {"a": "b"}},
               "spec": {"clusterIPs": ["fd00::1", "10.0.0.1"], "ports": [{"port": 80, "name": None}]}}
    slices = [{"metadata": {"name": "web-2"}, "addressType": "IPv6", "ports": None,
               "endpoints": [{"addresses": ["fd00::9"], "conditions": {"ready": False, "terminating": True}}]},
              {"metadata": {"name": "web-1"}, "addressType": "FQDN", "endpoints": None,
               "ports": [{"name": "http", "port": 8080, "protocol": "SCTP"}, {"name": "any", "port": None}]}]
    assert cluster_service(service, slices) == ClusterService(
        "shop", "web", {"a": "b"}, (Port("", 80, "TCP"),), False, ("IPv6", "IPv4"),
        (EndpointSlice((Port("http", 8080, "SCTP"),), (), "FQDN"),  # a port without number: skipped, as Cilium
         EndpointSlice((), (Endpoint("fd00::9", False, False, True),), "IPv6")))


def test_cluster_service_raises_value_error_on_malformed_objects():
    with pytest.raises(ValueError, match=r"EndpointSlice endpoints\[0\]\.conditions\.ready: 'ready' must be a boolean"):
        cluster_service({"metadata": {"name": "web"}},
                        [{"metadata": {"name": "s"}, "addressType": "IPv4",
                          "endpoints": [{"addresses": ["10.0.0.1"], "conditions": {"ready": "yes"}}]}])
    with pytest.raises(ValueError, match="Service metadata: missing required key 'name'"):
        cluster_service({"metadata": {}}, [])


# --- warnings -----------------------------------------------------------------------------------

def test_slice_without_service_label_is_an_orphan(state_dir):
    _, diagnostics = state_dir({"c1/s.yaml": """\
        apiVersion: discovery.k8s.io/v1
        kind: EndpointSlice
        metadata:
          name: manual
          namespace: shop
        addressType: IPv4
        endpoints: []
        """})
    assert located(diagnostics) == [("warning", "orphan-endpointslice", "s.yaml", 4, 3)]
    assert "has no 'kubernetes.io/service-name' label" in diagnostics[0].message


def test_slice_for_a_service_of_another_namespace_or_cluster_is_an_orphan(state_dir):
    state, diagnostics = state_dir({
        "c1/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: a}\n",
        "c2/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: b}\n",
        "c2/es.yaml": "apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\naddressType: IPv4\n"
                      "metadata: {name: web-1, namespace: a, labels: {kubernetes.io/service-name: web}}\n"})
    assert located(diagnostics) == [("warning", "orphan-endpointslice", "es.yaml", 4, 76)]
    assert state.services["a", "web"]["c1"].slices == ()


def test_yaml_files_directly_in_state_dir_are_reported(state_dir):
    _, diagnostics = state_dir({"c1/ok.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
                                "stray.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: x}\n",
                                "notes.md": "# notes\n"})
    assert located(diagnostics) == [("warning", "stray-file", "stray.yaml", 1, 1)]


def test_loader_warnings_inside_services_are_kept_but_not_inside_ignored_objects(state_dir):
    state, diagnostics = state_dir({"c1/all.yaml": """\
        apiVersion: v1
        kind: Secret
        metadata: {name: s}
        stringData:
          token: s3cr3t-one
          token: s3cr3t-two
          enabled: yes
        ---
        apiVersion: v1
        kind: List
        items:
          - apiVersion: v1
            kind: ConfigMap
            metadata: {name: cm}
            data: {a: 1, a: 2}
          - apiVersion: v1
            kind: Service
            metadata:
              name: web
              name: web
        """})
    assert located(diagnostics) == [("error", "duplicate-key", "all.yaml", 20, 7)]
    assert list(state.services) == [("default", "web")]
    assert "s3cr3t" not in repr(state) + repr(diagnostics)


# --- errors in the folder and its files ----------------------------------------------------------

def test_bad_cluster_folder_name_is_an_error_at_the_folder(state_dir, tmp_path):
    state, diagnostics = state_dir({"Cluster_A/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
                                    "default/svc.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n"})
    assert [(d.code, d.file, d.line, d.column) for d in diagnostics] == [
        ("cluster-name", str(tmp_path / "Cluster_A"), 1, 1), ("cluster-name", str(tmp_path / "default"), 1, 1)]
    assert "must be lowercase letters" in diagnostics[0].message and "reserved" in diagnostics[1].message
    assert state.clusters == ("Cluster_A", "default")  # still read, so every problem shows in one pass


def test_unreadable_files_are_reported_and_the_others_still_read(state_dir, monkeypatch):
    import meshspec.analysis.state

    monkeypatch.setattr(meshspec.analysis.state, "MAX_STATE_FILE_BYTES", MAX_BYTES)  # the real cap is 256 MiB
    state, diagnostics = state_dir({
        "c1/a-syntax.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: [x\n",
        "c1/b-encoding.yaml": b"apiVersion: v1\nkind: Service\nmetadata: {name: \xff}\n",
        "c1/c-huge.json": b" " * (MAX_BYTES + 1),
        "c1/d-aliases.yaml": "a: &a [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n" + "".join(
            f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 10) + "]\n" for i in range(7)),
        "c1/e-ok.yml": "apiVersion: v1\nkind: Service\nmetadata: {name: web}\n",
    })
    assert located(diagnostics) == [("error", "yaml-syntax", "a-syntax.yaml", 4, 1),
                                    ("error", "encoding", "b-encoding.yaml", 3, 18),
                                    ("error", "file-too-large", "c-huge.json", 1, 1),
                                    ("error", "yaml-aliases", "d-aliases.yaml", 7, 4)]
    assert list(state.services) == [("default", "web")]


def test_a_namespace_or_service_export_defined_twice_is_a_declared_located_error(state_dir):
    # Every kind the reader keeps gets its duplicate code (rules.py), never a crash on an undeclared one.
    state, diagnostics = state_dir({
        "c1/a.yaml": """\
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop}
            ---
            apiVersion: v1
            kind: Namespace
            metadata: {name: shop}
            ---
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceExport
            metadata: {name: web, namespace: shop}
            ---
            apiVersion: multicluster.x-k8s.io/v1alpha1
            kind: ServiceExport
            metadata: {name: web, namespace: shop}
            """})
    assert [(d.severity, d.code, d.line) for d in diagnostics] == [
        ("error", "duplicate-namespace", 7), ("error", "duplicate-serviceexport", 15)]


def test_service_defined_twice_in_a_cluster_points_to_the_second(state_dir):
    state, diagnostics = state_dir({
        "c1/a.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"
                     "spec: {ports: [{port: 80}]}\n",
        "c1/b.yaml": """\
            apiVersion: v1
            kind: List
            items:
            - apiVersion: v1
              kind: Service
              metadata:
                namespace: shop
                name: web
              spec: {ports: [{port: 81}]}
            - apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
              addressType: IPv4
            - apiVersion: discovery.k8s.io/v1
              kind: EndpointSlice
              metadata: {name: web-1, namespace: shop, labels: {kubernetes.io/service-name: web}}
              addressType: IPv6
            """,
        "c2/a.yaml": "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\n"})
    assert located(diagnostics) == [("error", "duplicate-service", "b.yaml", 8, 11),
                                    ("error", "duplicate-endpointslice", "b.yaml", 16, 20)]
    assert diagnostics[0].path == "items[0].metadata.name"
    assert "Service shop/web is already defined at " in diagnostics[0].message
    assert os.path.join("c1", "a.yaml") + ":3;" in diagnostics[0].message
    assert state.services["shop", "web"]["c1"].ports == (Port("", 80, "TCP"),)  # the first one is kept
    assert [s.address_type for s in state.services["shop", "web"]["c1"].slices] == ["IPv4"]


@pytest.mark.parametrize("state_dir_arg, message", [
    ("missing", "no such folder"),
    ("file.yaml", "is not a folder"),
    ("empty", "holds no cluster folder"),
])
def test_state_dir_that_is_not_a_state_folder_raises(tmp_path, state_dir_arg, message):
    (tmp_path / "file.yaml").write_text("a: 1\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / ".git").mkdir()  # hidden folders are not clusters
    (tmp_path / "empty" / "svc.yaml").write_text("a: 1\n")
    with pytest.raises(StateError, match=message):
        load_state(str(tmp_path / state_dir_arg))


# One malformed document each: (document, expected (code, line, column), path).
MALFORMED = [
    ("- a\n- b\n", ("wrong-type", 1, 1), ""),
    ("just text\n", ("wrong-type", 1, 1), ""),
    ("kind: Service\nmetadata: {name: web}\n", ("missing-key", 1, 1), ""),
    ("apiVersion: v1\nkind: 3\n", ("wrong-type", 2, 7), "kind"),
    ("apiVersion: v1\nkind: List\nitems: {a: 1}\n", ("wrong-type", 3, 8), "items"),
    ("apiVersion: v1\nkind: List\nitems:\n  - 42\n", ("wrong-type", 4, 5), "items[0]"),
    ("apiVersion: v1\nkind: List\nitems:\n  - {kind: Service}\n", ("missing-key", 4, 5), "items[0]"),
    # A List's items are read without a call each when they name a kind read here; one that names it with
    # a list (unhashable) still gets the checked path's sentence.
    ("apiVersion: v1\nkind: List\nitems:\n  - {apiVersion: [v1], kind: Service}\n", ("wrong-type", 4, 18),
     "items[0].apiVersion"),
    ("apiVersion: v1\nkind: Service\n", ("missing-key", 1, 1), ""),
    ("apiVersion: v1\nkind: Service\nmetadata: [web]\n", ("wrong-type", 3, 11), "metadata"),
    ("apiVersion: v1\nkind: Service\nmetadata: {namespace: shop}\n", ("missing-key", 3, 11), "metadata"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: ''}\n", ("empty", 3, 18), "metadata.name"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: 7}\n", ("wrong-type", 3, 18), "metadata.name"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w, namespace: [a]}\n", ("wrong-type", 3, 32),
     "metadata.namespace"),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: w\n  annotations: [a]\n", ("wrong-type", 5, 16),
     "metadata.annotations"),
    ("apiVersion: v1\nkind: Service\nmetadata:\n  name: w\n  annotations:\n    service.cilium.io/global: true\n",
     ("wrong-type", 6, 31), "metadata.annotations.service.cilium.io/global"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec: web\n", ("wrong-type", 4, 7), "spec"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports: {port: 80}\n", ("wrong-type", 5, 10),
     "spec.ports"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports: [80]\n", ("wrong-type", 5, 11),
     "spec.ports[0]"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports:\n    - port: http\n",
     ("wrong-type", 6, 13), "spec.ports[0].port"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports:\n    - port: true\n",
     ("wrong-type", 6, 13), "spec.ports[0].port"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports:\n    - port: 70000\n",
     ("bad-value", 6, 13), "spec.ports[0].port"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports:\n    - {name: http}\n",
     ("missing-key", 6, 7), "spec.ports[0]"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports:\n    - {port: 80, protocol: tcp}\n",
     ("bad-value", 6, 28), "spec.ports[0].protocol"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec:\n  ports:\n    - {port: 80, name: 8}\n",
     ("wrong-type", 6, 24), "spec.ports[0].name"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec: {clusterIP: 10}\n", ("wrong-type", 4, 19),
     "spec.clusterIP"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec: {ipFamilies: [IPv5]}\n", ("bad-value", 4, 21),
     "spec.ipFamilies[0]"),
    ("apiVersion: v1\nkind: Service\nmetadata: {name: w}\nspec: {clusterIPs: [1]}\n", ("wrong-type", 4, 21),
     "spec.clusterIPs[0]"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\n", ("missing-key", 1, 1), ""),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv7\n",
     ("bad-value", 4, 14), "addressType"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata:\n  name: s\n"
     "  labels: {kubernetes.io/service-name: 1}\naddressType: IPv4\n", ("wrong-type", 5, 40), "metadata.labels.kubernetes.io/service-name"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "ports: {name: http}\n", ("wrong-type", 5, 8), "ports"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "ports: [{port: '8080'}]\n", ("wrong-type", 5, 16), "ports[0].port"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints: [10.0.0.1]\n", ("wrong-type", 5, 13), "endpoints[0]"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints: [{conditions: {ready: true}}]\n", ("missing-key", 5, 13), "endpoints[0]"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints: [{addresses: 10.0.0.1}]\n", ("wrong-type", 5, 25), "endpoints[0].addresses"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints: [{addresses: [{ip: 10.0.0.1}]}]\n", ("wrong-type", 5, 26), "endpoints[0].addresses[0]"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints:\n  - addresses: [10.0.0.1]\n    conditions: {ready: 'true'}\n", ("wrong-type", 7, 25),
     "endpoints[0].conditions.ready"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints:\n  - addresses: [10.0.0.1]\n    conditions: [ready]\n", ("wrong-type", 7, 17),
     "endpoints[0].conditions"),
    ("apiVersion: discovery.k8s.io/v1\nkind: EndpointSlice\nmetadata: {name: s}\naddressType: IPv4\n"
     "endpoints:\n  - addresses: [10.0.0.1]\n    conditions: {terminating: 1}\n", ("wrong-type", 7, 31),
     "endpoints[0].conditions.terminating"),
]


@pytest.mark.parametrize("document, where, path", MALFORMED)
def test_malformed_documents_are_located(state_dir, document, where, path):
    _, diagnostics = state_dir({"c1/objects.yaml": document})
    errors = [d for d in diagnostics if d.is_error]
    assert [(d.code, d.line, d.column) for d in errors] == [where]
    assert errors[0].path == path


def test_malformed_list_items_are_located_under_items(state_dir):
    _, diagnostics = state_dir({"c1/dump.yaml": """\
        apiVersion: v1
        kind: List
        items:
        - apiVersion: v1
          kind: Service
          metadata: {name: ok}
        - apiVersion: v1
          kind: Service
          metadata: {name: web}
          spec:
            ports:
            - port: 80
            - port: "443"
        """})
    assert [(d.code, d.line, d.column, d.path) for d in diagnostics] == [
        ("wrong-type", 13, 13, "items[1].spec.ports[1].port")]
    assert diagnostics[0].message == "'port' must be an integer, not the string '443'."


GOOD_SERVICE = {"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "web", "namespace": "shop", "annotations": {"k": "v"}},
                "spec": {"clusterIP": "10.0.0.1", "clusterIPs": ["10.0.0.1"], "ipFamilies": ["IPv4"],
                         "type": "ClusterIP", "ports": [{"name": "http", "port": 80, "protocol": "TCP"}]}}
GOOD_SLICE = {"apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
              "metadata": {"name": "web-1", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web"}},
              "ports": [{"name": "http", "port": 8080, "protocol": "TCP"}],
              "endpoints": [{"addresses": ["10.1.0.1"],
                             "conditions": {"ready": True, "serving": True, "terminating": False}}]}
ODD_VALUES = [None, True, 0, -1, 1.5, "", "x", [], [None], [1], {}, {"a": None}, [[]], [{}]]


def _paths(obj):
    yield ()
    children = obj.items() if isinstance(obj, dict) else enumerate(obj) if isinstance(obj, list) else ()
    for key, value in children:
        for p in _paths(value):
            yield (key,) + p


def _with(obj, path, replacement):
    obj = json.loads(json.dumps(obj))
    parent = obj
    for key in path[:-1]:
        parent = parent[key]
    if replacement == "<delete>":
        del parent[path[-1]]
    else:
        parent[path[-1]] = replacement
    return obj


def _malformed(good):
    return [_with(good, path, odd) for path in list(_paths(good))[1:] for odd in ODD_VALUES + ["<delete>"]]


def test_every_malformed_shape_is_a_diagnostic_never_a_traceback(tmp_path):
    documents = [json.dumps(doc) for doc in ODD_VALUES + _malformed(GOOD_SERVICE) + _malformed(GOOD_SLICE)]
    for i in range(0, len(documents), 50):
        folder = tmp_path / str(i) / "c1"
        folder.mkdir(parents=True)
        # A Service and a slice that belong together in every batch, so the join runs too.
        (folder / "good.json").write_text(json.dumps({"apiVersion": "v1", "kind": "List",
                                                      "items": [GOOD_SERVICE, GOOD_SLICE]}))
        (folder / "odd.yaml").write_text("\n---\n".join(documents[i:i + 50]) + "\n")
        state, diagnostics = load_state(str(tmp_path / str(i)))
        assert all(d.line >= 1 and d.column >= 1 and d.message for d in diagnostics)
        assert all(isinstance(svc, ClusterService) for copies in state.services.values() for svc in copies.values())


def test_cluster_service_fails_only_with_value_error():
    objects = [(svc, [GOOD_SLICE]) for svc in _malformed(GOOD_SERVICE) + ODD_VALUES] + \
        [(GOOD_SERVICE, [es]) for es in _malformed(GOOD_SLICE) + ODD_VALUES]
    for service, slices in objects:
        try:
            assert isinstance(cluster_service(service, slices), ClusterService)
        except ValueError:
            pass


# --- JSON read fast, located when something is wrong ------------------------------------------------

JSON_DUMP = """\
{
  "apiVersion": "v1",
  "kind": "List",
  "items": [
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "web", "namespace": "shop"},
     "spec": {"ports": [{"name": "http", "port": PORT}]}},
    {"apiVersion": "v1", "kind": "Service",
     "metadata": {"name": "api", "namespace": "shop"},
     "spec": {"ports": [{"port": 81}]}}
  ]
}
"""


def test_a_good_json_dump_reads_the_same_as_yaml(state_dir):
    state, diagnostics = state_dir({"c1/dump.json": JSON_DUMP.replace("PORT", "80")})
    assert diagnostics == []
    assert [p.port for p in state.services["shop", "web"]["c1"].ports] == [80]


def test_a_problem_in_a_json_dump_is_still_located(state_dir):
    _, diagnostics = state_dir({"c1/dump.json": JSON_DUMP.replace("PORT", '"eighty"')})
    assert located(diagnostics) == [("error", "wrong-type", "dump.json", 7, 50)]


def test_duplicate_keys_in_json_are_located(state_dir):
    text = JSON_DUMP.replace("PORT", "80").replace('"name": "api",', '"name": "api", "name": "api2",')
    _, diagnostics = state_dir({"c1/dump.json": text})
    assert [(d.code, d.line) for d in diagnostics] == [("duplicate-key", 9)]


def test_a_duplicate_across_json_files_points_at_the_second(state_dir):
    _, diagnostics = state_dir({"c1/a.json": JSON_DUMP.replace("PORT", "80"),
                                "c1/b.json": JSON_DUMP.replace("PORT", "80")})
    assert [(d.code, os.path.basename(d.file), d.line) for d in diagnostics] == [
        ("duplicate-service", "b.json", 6), ("duplicate-service", "b.json", 9)]
    assert "already defined at" in diagnostics[0].message and "a.json" in diagnostics[0].message


def test_a_kubectl_daemonset_dump_gives_the_cilium_agent_image_and_ignores_other_daemonsets(state_dir):
    """`kubectl get ds -A -o yaml` in a cluster folder: the cilium DaemonSet's cilium-agent image is read
    (simulate routes the cluster with its tag's version); other DaemonSets, and a cilium one without that
    container, are dropped unread and unreported."""
    state, diagnostics = state_dir({"cluster-a/ds.yaml": """\
        apiVersion: v1
        kind: List
        items:
          - apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: kube-proxy, namespace: kube-system}
            spec: {template: {spec: {containers: [{name: kube-proxy, image: "registry.k8s.io/kube-proxy:v1.33.0"}]}}}
          - apiVersion: apps/v1
            kind: DaemonSet
            metadata: {name: cilium, namespace: kube-system}
            spec:
              template:
                spec:
                  initContainers: [{name: config, image: "quay.io/cilium/cilium:v1.18.0"}]
                  containers: [{name: cilium-agent, image: "quay.io/cilium/cilium:v1.18.4"}]
        """, "cluster-b/ds.yaml": """\
        apiVersion: apps/v1
        kind: DaemonSet
        metadata: {name: cilium, namespace: kube-system}
        spec: {template: {spec: {containers: [{name: agent, image: "quay.io/cilium/cilium:v1.18.4"}]}}}
        """})
    assert diagnostics == []
    assert state.cilium_images == {"cluster-a": "quay.io/cilium/cilium:v1.18.4"}
