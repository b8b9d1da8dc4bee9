"""Cilium's own worked examples of global Services, replayed through meshspec's routing engine.

Each test sets up the scenario of one Cilium test (or one step of a txtar script) with meshspec's
dataclasses and asserts what that Cilium test expects. The Cilium files were read from
github.com/cilium/cilium at the commits named in the docstrings; nothing is copied from them, only
the scenarios (addresses, ports, annotations) and the expected results.

Versions:
- `pkg/clustermesh/testdata/*.txtar` are script tests of the statedb load balancer (Cilium >= 1.18):
  run with "1.20". The txtar tables show `db/cmp frontends`, one row per frontend with the backends
  selected for it; `frontends()` below renders a meshspec view the same way ("address:port" for a
  local backend, "address@cluster:port" for a remote one, where Cilium prints the cluster ID).
- `pkg/k8s/service_cache_test.go` and `pkg/clustermesh/services_test.go` exercise the legacy service
  cache (`correlateEndpoints`, Cilium <= 1.17): run with "1.17". Those tests assert the correlated
  endpoint set (every backend with its port-name map) rather than per-frontend selection, which
  meshspec does not expose, so each such test gives the Service one port per endpoint port name and
  reads the union of the frontends (`merged()`); the docstrings say where a scenario was adapted.

Scenarios that Cilium documents but whose test file could not be found say
"from cilium-semantics.md, section N" instead of a Cilium path.
"""

from collections import defaultdict

import pytest

from meshspec.cilium.annotations import read_flags
from meshspec.cilium.versions import parse_version
from meshspec.cilium.routing import ClusterService, Endpoint, EndpointSlice, Port, ServiceRouting, route_service

LB = parse_version("1.20")
LEGACY = parse_version("1.17")

GLOBAL = {"service.cilium.io/global": "true"}


def eps(ports, *addresses, **conditions):
    """One EndpointSlice: `ports` are the backends' own (target) ports."""
    return EndpointSlice(tuple(ports), tuple(Endpoint(a, **conditions) for a in addresses))


def service(annotations=GLOBAL, ports=(), slices=(), namespace="test", name="echo"):
    return ClusterService(namespace, name, dict(annotations), tuple(ports), slices=tuple(slices))


def remote(ports, *addresses, annotations=GLOBAL, namespace="test", name="echo"):
    """A remote cluster's copy as its exported ClusterService record describes it: global (hence
    shared), with `addresses` as ready backends on `ports`. The receiver ignores the remote Service's
    own frontends (cilium-semantics.md, section 2), so the copy carries none."""
    slices = (eps(ports, *addresses),) if addresses else ()
    return service(annotations, (), slices, namespace, name)


def view(copies, observer, version):
    return route_service(copies, [observer], version)[observer]


def render(backend, observer):
    if backend.cluster == observer:
        return backend.endpoint
    return f"{backend.address}@{backend.cluster}:{backend.port}"


def frontends(copies, observer="cluster1", version=LB):
    """`db/cmp frontends`: frontend -> the backends selected for new connections."""
    return {key: {render(b, observer) for b in route.backends}
            for key, route in view(copies, observer, version).frontends.items()}


def merged(copies, observer, version=LEGACY):
    """The legacy correlated endpoint set, as far as meshspec shows it: every backend any frontend
    selects, with its cluster."""
    return {(b.cluster, b.endpoint) for route in view(copies, observer, version).frontends.values()
            for b in route.backends}


# ==================================================================================================
# pkg/clustermesh/testdata/clusterservice.txtar (statedb LB)
# ==================================================================================================

TCP_8080 = (Port("tcp", 8080),)
TCP_9090 = (Port("tcp", 9090),)
ECHO = service(GLOBAL, TCP_8080, [eps(TCP_8080, "10.1.0.1")])  # cluster1's Service and its one pod


def test_clusterservice_txtar_local_service_alone():
    """pkg/clustermesh/testdata/clusterservice.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b
    (also stored at 25d6b35670e6e65fb65fd2245ff38fb1580c3409), step "Create a service": a global
    Service test/echo in cluster1 with one local pod, no remote clusters -> frontends.table."""
    assert frontends({"cluster1": ECHO}) == {"8080/TCP": {"10.1.0.1:8080"}}


def test_clusterservice_txtar_backends_from_cluster2_and_cluster3_with_differing_ports():
    """pkg/clustermesh/testdata/clusterservice.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b,
    step "The backends from other clusters should be included": cluster2 and cluster3 export one pod
    each on target port 9090 (port name "tcp") while cluster1's own pod listens on 8080; all three
    serve the one frontend, each on its own port -> frontends-with-clusterservice-2+3.table."""
    copies = {"cluster1": ECHO, "cluster2": remote(TCP_9090, "20.0.0.2"),
              "cluster3": remote(TCP_9090, "30.0.0.3")}
    assert frontends(copies) == {
        "8080/TCP": {"10.1.0.1:8080", "20.0.0.2@cluster2:9090", "30.0.0.3@cluster3:9090"}}
    route = view(copies, "cluster1", LB).frontends["8080/TCP"]
    assert all(b.active for b in route.backends)  # remote backends arrive Active (section 2)
    assert route.clusters == ["cluster1", "cluster2", "cluster3"]


def test_clusterservice_txtar_update_adds_a_backend():
    """pkg/clustermesh/testdata/clusterservice.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b,
    step "Update a backend": cluster2's record gains 20.0.0.3:9090 -> backends-2+3_v2.table. The
    script compares the backends table here; the Service is global with no affinity, so every
    backend in that table is selected for the frontend."""
    copies = {"cluster1": ECHO, "cluster2": remote(TCP_9090, "20.0.0.2", "20.0.0.3"),
              "cluster3": remote(TCP_9090, "30.0.0.3")}
    assert frontends(copies) == {"8080/TCP": {
        "10.1.0.1:8080", "20.0.0.2@cluster2:9090", "20.0.0.3@cluster2:9090", "30.0.0.3@cluster3:9090"}}


def test_clusterservice_txtar_global_false_drops_remote_backends():
    """pkg/clustermesh/testdata/clusterservice.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b,
    step 'Changing "global" to false will drop remote backends': the remote records stay, the local
    Service says service.cilium.io/global: "false" -> frontends.table (local pod only)."""
    local = service({"service.cilium.io/global": "false"}, TCP_8080, [eps(TCP_8080, "10.1.0.1")])
    copies = {"cluster1": local, "cluster2": remote(TCP_9090, "20.0.0.2", "20.0.0.3"),
              "cluster3": remote(TCP_9090, "30.0.0.3")}
    assert frontends(copies) == {"8080/TCP": {"10.1.0.1:8080"}}


def test_clusterservice_txtar_removing_cluster2_leaves_cluster3():
    """pkg/clustermesh/testdata/clusterservice.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b,
    step "Removing the cluster service removes one of the backends": cluster2's record is deleted
    -> frontends-with-clusterservice-3.table."""
    copies = {"cluster1": ECHO, "cluster3": remote(TCP_9090, "30.0.0.3")}
    assert frontends(copies) == {"8080/TCP": {"10.1.0.1:8080", "30.0.0.3@cluster3:9090"}}


def test_clusterservice_txtar_removing_the_last_cluster_service():
    """pkg/clustermesh/testdata/clusterservice.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b,
    step "Removing the last cluster service gets us back to starting point": cluster2 and cluster3
    still have the Service but export nothing (here: no pods) -> frontends.table."""
    copies = {"cluster1": ECHO, "cluster2": remote(TCP_9090), "cluster3": remote(TCP_9090)}
    assert frontends(copies) == {"8080/TCP": {"10.1.0.1:8080"}}


# ==================================================================================================
# pkg/clustermesh/testdata/clusterservice-without-local-eps.txtar (statedb LB)
# ==================================================================================================

SELECTORLESS = service(GLOBAL, TCP_8080)  # no selector, no EndpointSlices in cluster1


def test_clusterservice_without_local_eps_txtar_no_backends_at_first():
    """pkg/clustermesh/testdata/clusterservice-without-local-eps.txtar @
    12fdcbe2cab01890d0548b55edde92e8e6075e6b, first step: a global Service without selector (hence
    no EndpointSlices) and no remote record -> frontends.table, a frontend with no backends."""
    assert frontends({"cluster1": SELECTORLESS}) == {"8080/TCP": set()}


@pytest.mark.parametrize("addresses, expected", [
    (("20.0.0.2",), {"20.0.0.2@cluster2:9090"}),                               # clusterservice2.json
    (("20.0.0.2", "20.0.0.3"), {"20.0.0.2@cluster2:9090", "20.0.0.3@cluster2:9090"}),  # ..._v2.json
    ((), set()),                                                      # "Removing the cluster service"
], ids=["clusterservice2", "clusterservice2_v2", "deleted"])
def test_clusterservice_without_local_eps_txtar_remote_backends_serve_a_service_with_no_local_eps(
        addresses, expected):
    """pkg/clustermesh/testdata/clusterservice-without-local-eps.txtar @
    12fdcbe2cab01890d0548b55edde92e8e6075e6b: the selectorless global Service in cluster1 gets
    cluster2's backends (target port 9090) although it has no EndpointSlice of its own ->
    frontends-with-clusterservice.table / frontends-with-clusterservice_v2.table / frontends.table."""
    copies = {"cluster1": SELECTORLESS, "cluster2": remote(TCP_9090, *addresses)}
    assert frontends(copies) == {"8080/TCP": expected}


# ==================================================================================================
# pkg/clustermesh/testdata/clusterservice-multiport.txtar (statedb LB)
# ==================================================================================================

MULTIPORT_SERVICE = (Port("http-direct", 80), Port("http-remapped", 8080), Port("http-alt", 9090),
                     Port("https", 443))
MULTIPORT_TARGETS = (Port("http-alt", 80), Port("http-direct", 80), Port("http-remapped", 80),
                     Port("https", 443))


def multiport_copies(*remote_addresses):
    return {"cluster1": service(GLOBAL, MULTIPORT_SERVICE),
            "cluster2": remote(MULTIPORT_TARGETS, *remote_addresses)}


def test_clusterservice_multiport_txtar_ports_sharing_a_target_port():
    """pkg/clustermesh/testdata/clusterservice-multiport.txtar @
    94b67c8507c1a6add0155aadd961293755f3c480: cluster1's selectorless global Service has four ports,
    three of them (http-direct 80, http-remapped 8080, http-alt 9090) targeting port 80 and https 443
    targeting 443; cluster2 exports 20.0.0.2 and 20.0.0.3 with all four port names. Every frontend
    gets both remote pods on its target port -> frontends-with-clusterservice.table."""
    assert frontends(multiport_copies("20.0.0.2", "20.0.0.3")) == {
        "80/TCP": {"20.0.0.2@cluster2:80", "20.0.0.3@cluster2:80"},
        "8080/TCP": {"20.0.0.2@cluster2:80", "20.0.0.3@cluster2:80"},
        "9090/TCP": {"20.0.0.2@cluster2:80", "20.0.0.3@cluster2:80"},
        "443/TCP": {"20.0.0.2@cluster2:443", "20.0.0.3@cluster2:443"},
    }


def test_clusterservice_multiport_txtar_one_backend_carries_every_port_name():
    """pkg/clustermesh/testdata/clusterservice-multiport.txtar @
    94b67c8507c1a6add0155aadd961293755f3c480, backends.table: the ports sharing target port 80 become
    one backend per pod carrying the names http-alt, http-direct and http-remapped; 443 is https."""
    routing = ServiceRouting(multiport_copies("20.0.0.2", "20.0.0.3"), LB)
    names = defaultdict(set)
    for backend in routing.exports["cluster2"]:
        names[backend.endpoint].add(backend.port_name)
    assert dict(names) == {
        "20.0.0.2:80": {"http-alt", "http-direct", "http-remapped"}, "20.0.0.2:443": {"https"},
        "20.0.0.3:80": {"http-alt", "http-direct", "http-remapped"}, "20.0.0.3:443": {"https"}}


def test_clusterservice_multiport_txtar_record_removed():
    """pkg/clustermesh/testdata/clusterservice-multiport.txtar @
    94b67c8507c1a6add0155aadd961293755f3c480, step "Remove the cluster service": all four frontends
    stay, with no backends -> frontends-without-clusterservice.table."""
    assert frontends(multiport_copies()) == {
        "80/TCP": set(), "8080/TCP": set(), "9090/TCP": set(), "443/TCP": set()}


@pytest.mark.parametrize("version, affected", [("1.18.3", True), ("1.19.3", True), ("1.18.10", False),
                                               ("1.19.4", False), ("1.20", False)])
def test_clusterservice_multiport_txtar_scenario_flags_cilium_45109_on_affected_patches(version, affected):
    """The clusterservice-multiport.txtar scenario (94b67c8507c1a6add0155aadd961293755f3c480) on patches
    before and after the fix (PR #45179). On affected versions the remote backends of ports sharing one
    target port overwrite each other (same BackendKey), so of 80, 8080 and 9090 exactly one frontend
    keeps cluster2's pods, and which one depends on map order (cilium-semantics.md, section 2, "Ports").
    meshspec cannot know which, so it keeps listing them and says so in a note; 443 is unaffected."""
    copies = multiport_copies("20.0.0.2", "20.0.0.3")
    view = route_service(copies, sorted(copies), parse_version(version))["cluster1"]
    notes = [n for n in view.notes if "cilium#45109" in n]
    assert bool(notes) is affected
    if affected:
        assert notes == [f"frontends 80/TCP, 8080/TCP, 9090/TCP share remote backends on one target port: "
                         f"Cilium {version} keeps them for only one of these frontends, which one depends on "
                         "map order (cilium#45109)"]


# ==================================================================================================
# pkg/clustermesh/testdata/service-affinity.txtar (statedb LB)
# ==================================================================================================

def affinity_copies(affinity_key="service.cilium.io/affinity", affinity="local", local_pod=True,
                    remote_record=True):
    annotations = {**GLOBAL, affinity_key: affinity}
    local = service(annotations, TCP_8080, [eps(TCP_8080, "10.1.0.1")] if local_pod else [])
    copies = {"cluster1": local}
    if remote_record:
        copies["cluster2"] = remote(TCP_9090, "20.0.0.2")
    return copies


LOCAL_ONLY = {"8080/TCP": {"10.1.0.1:8080"}}          # frontends-local.table
REMOTE_ONLY = {"8080/TCP": {"20.0.0.2@cluster2:9090"}}  # frontends-remote.table
ALL = {"8080/TCP": {"10.1.0.1:8080", "20.0.0.2@cluster2:9090"}}  # frontends-all.table

SERVICE_AFFINITY_STEPS = [
    pytest.param(dict(remote_record=False), LOCAL_ONLY, id="local-affinity-before-remote"),
    pytest.param(dict(), LOCAL_ONLY, id="local-affinity-healthy-local-ignores-remote"),
    pytest.param(dict(local_pod=False), REMOTE_ONLY, id="local-affinity-no-local-backend-uses-remote"),
    pytest.param(dict(affinity="remote"), REMOTE_ONLY, id="remote-affinity-prefers-remote"),
    pytest.param(dict(affinity="remote", remote_record=False), LOCAL_ONLY,
                 id="remote-affinity-remote-removed-uses-local"),
    pytest.param(dict(affinity_key="service.cilium.io/affinity-nope", affinity="remote"), ALL,
                 id="affinity-removed-uses-all"),
]


@pytest.mark.parametrize("scenario, expected", SERVICE_AFFINITY_STEPS)
def test_service_affinity_txtar(scenario, expected):
    """pkg/clustermesh/testdata/service-affinity.txtar @ 12fdcbe2cab01890d0548b55edde92e8e6075e6b
    (same steps at 25d6b35670e6e65fb65fd2245ff38fb1580c3409): global test/echo in cluster1 with
    affinity local, one local pod 10.1.0.1:8080 and cluster2's 20.0.0.2:9090. Local affinity ignores
    remote while a local backend exists and falls back to remote without one; remote affinity uses
    remote and falls back to local when cluster2's record is deleted; renaming the annotation key
    (affinity-nope) removes affinity and both are used."""
    assert frontends(affinity_copies(**scenario)) == expected


@pytest.mark.parametrize("scenario, expected", SERVICE_AFFINITY_STEPS)
def test_service_affinity_txtar_scenario_on_legacy(scenario, expected):
    """from cilium-semantics.md, section 3 (legacy <=1.17: preferred backends exclusively while one
    is Active, otherwise every Active backend): the service-affinity.txtar steps give the same
    frontends on Cilium 1.17. No legacy Cilium test of affinity was found: the stored
    pkg/k8s/service_cache_test.go has none, and the stored pkg/service/service_test.go predates
    affinity."""
    assert frontends(affinity_copies(**scenario), version=LEGACY) == expected


# ==================================================================================================
# ClusterMesh Service v2 scripts (EndpointSlice records; --clustermesh-service-v2=prefer-endpointslice)
# ==================================================================================================

def test_service_txtar_endpointslice_records_from_cluster2_and_cluster3():
    """pkg/clustermesh/testdata/service.txtar @ a97003770ba5ba4bd3031764eb4892ce9d711089 (Service v2,
    1.20): the clusterservice.txtar scenario with per-EndpointSlice records: local pod on 8080,
    cluster2/cluster3 pods on 9090 (all ready) -> frontends-with-clusterendpointslice-2+3.table; then
    global "false" -> frontends.table; then cluster2's slice deleted ->
    frontends-with-clusterendpointslice-3.table. meshspec models the legacy record format, which v2
    repeats when every endpoint is ready (cilium-semantics.md, section 2, "Service v2")."""
    copies = {"cluster1": ECHO, "cluster2": remote(TCP_9090, "20.0.0.2"),
              "cluster3": remote(TCP_9090, "30.0.0.3")}
    assert frontends(copies) == {
        "8080/TCP": {"10.1.0.1:8080", "20.0.0.2@cluster2:9090", "30.0.0.3@cluster3:9090"}}
    not_global = service({"service.cilium.io/global": "false"}, TCP_8080, [eps(TCP_8080, "10.1.0.1")])
    assert frontends({**copies, "cluster1": not_global}) == {"8080/TCP": {"10.1.0.1:8080"}}
    del copies["cluster2"]
    assert frontends(copies) == {"8080/TCP": {"10.1.0.1:8080", "30.0.0.3@cluster3:9090"}}


def test_service_without_local_eps_txtar_endpointslice_records():
    """pkg/clustermesh/testdata/service-without-local-eps.txtar @
    ac58431ff4d3bd5c76d3c10029997cb6e7d3271f (Service v2, 1.20): selectorless global Service, remote
    slice with 20.0.0.2 then 20.0.0.2 and 20.0.0.3 on 9090 ->
    frontends-with-clusterendpointslice(_v2).table."""
    assert frontends({"cluster1": SELECTORLESS, "cluster2": remote(TCP_9090, "20.0.0.2")}) == {
        "8080/TCP": {"20.0.0.2@cluster2:9090"}}
    assert frontends({"cluster1": SELECTORLESS,
                      "cluster2": remote(TCP_9090, "20.0.0.2", "20.0.0.3")}) == {
        "8080/TCP": {"20.0.0.2@cluster2:9090", "20.0.0.3@cluster2:9090"}}


def test_service_multiport_txtar_endpointslice_records():
    """pkg/clustermesh/testdata/service-multiport.txtar @ ac58431ff4d3bd5c76d3c10029997cb6e7d3271f
    (Service v2, 1.20): the clusterservice-multiport.txtar scenario with one remote EndpointSlice
    holding both pods and the four port names -> frontends-with-clusterendpointslice.table."""
    table = frontends(multiport_copies("20.0.0.2", "20.0.0.3"))
    assert table == {key: {f"20.0.0.2@cluster2:{target}", f"20.0.0.3@cluster2:{target}"}
                     for key, target in [("80/TCP", 80), ("8080/TCP", 80), ("9090/TCP", 80),
                                         ("443/TCP", 443)]}


# ==================================================================================================
# pkg/annotation/clustermesh_test.go
# ==================================================================================================

ANNOTATION_TEST = "pkg/annotation/clustermesh_test.go @ 76ec1ebac14f1f62702610859030414eb1594cbc"


@pytest.mark.parametrize("annotations, is_global", [
    ({}, False),
    ({"service.cilium.io/global": "True"}, True),
    ({"service.cilium.io/global": "false"}, False),
    ({"service.cilium.io/global": ""}, False),
    ({"io.cilium/global-service": "True"}, True),  # GlobalServiceAlias
])
def test_annotation_clustermesh_test_get_annotation_include_external(annotations, is_global):
    """pkg/annotation/clustermesh_test.go @ 76ec1ebac14f1f62702610859030414eb1594cbc,
    TestGetAnnotationIncludeExternal: the global annotation is lower-cased and compared to "true";
    the legacy alias io.cilium/global-service counts too."""
    assert read_flags(annotations).is_global is is_global


@pytest.mark.parametrize("annotations, shared", [
    ({}, False),
    ({"service.cilium.io/global": "true"}, True),                     # shared by default when global
    ({"service.cilium.io/shared": "true"}, False),                    # ignored unless global
    ({"service.cilium.io/global": "true", "service.cilium.io/shared": "True"}, True),
    ({"service.cilium.io/global": "true", "service.cilium.io/shared": "false"}, False),
    ({"service.cilium.io/global": "true", "io.cilium/shared-service": "false"}, False),  # alias
])
def test_annotation_clustermesh_test_get_annotation_shared(annotations, shared):
    """pkg/annotation/clustermesh_test.go @ 76ec1ebac14f1f62702610859030414eb1594cbc,
    TestGetAnnotationShared: shared defaults to true for a global Service, is ignored on a
    non-global one, and io.cilium/shared-service is read as an alias."""
    assert read_flags(annotations).shared is shared


@pytest.mark.parametrize("annotations, affinity", [
    ({"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"}, "local"),
    ({"service.cilium.io/global": "true", "service.cilium.io/affinity": "remote"}, "remote"),
    ({"service.cilium.io/global": "true", "io.cilium/service-affinity": "local"}, "local"),  # alias
    ({"service.cilium.io/affinity": "remote"}, "none"),               # ignored unless global
    ({}, "none"),
])
def test_annotation_clustermesh_test_get_annotation_service_affinity(annotations, affinity):
    """pkg/annotation/clustermesh_test.go @ 76ec1ebac14f1f62702610859030414eb1594cbc,
    TestGetAnnotationServiceAffinity: local and remote are read (also through the alias
    io.cilium/service-affinity); without global the affinity is none (Cilium's
    ServiceAffinityNone is "", meshspec's "none")."""
    flags = read_flags(annotations)
    assert flags.affinity == affinity
    assert flags.unmatched_affinity is None  # none of these is an unrecognised value


# ==================================================================================================
# pkg/k8s/service_cache_test.go (legacy service cache)
# ==================================================================================================

def test_service_cache_test_external_service_merging():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestExternalServiceMerging: global bar/foo in the local cluster ("default") with local endpoint
    2.2.2.2 (port "http-test-svc" 8080). cluster1's record with 3.3.3.3 (port "port" 80) is ignored
    while it is not shared, whether or not it is global (IncludeExternal false/true, Shared false),
    and merged once it is global and shared; cluster2's 4.4.4.4 is merged, then removed with its
    record. Adapted: Cilium asserts the correlated endpoints; the Service gets one port per endpoint
    port name ("http-test-svc", "port") so meshspec's frontends show every merged backend."""
    ports = (Port("http-test-svc", 8081), Port("port", 8082))
    local = service(GLOBAL, ports, [eps([Port("http-test-svc", 8080)], "2.2.2.2")], "bar", "foo")
    port_80 = [Port("port", 80)]

    def cluster1(annotations):
        return remote(port_80, "3.3.3.3", annotations=annotations, namespace="bar", name="foo")

    only_local = {("default", "2.2.2.2:8080")}
    # IncludeExternal: false, Shared: false -> a non-global remote Service
    assert merged({"default": local, "cluster1": cluster1({})}, "default") == only_local
    # IncludeExternal: true, Shared: false
    not_shared = {**GLOBAL, "service.cilium.io/shared": "false"}
    assert merged({"default": local, "cluster1": cluster1(not_shared)}, "default") == only_local
    # IncludeExternal: true, Shared: true
    copies = {"default": local, "cluster1": cluster1(GLOBAL)}
    assert merged(copies, "default") == only_local | {("cluster1", "3.3.3.3:80")}
    # "Adding another cluster to the first service will trigger an event"
    copies["cluster2"] = remote(port_80, "4.4.4.4", namespace="bar", name="foo")
    assert ("cluster2", "4.4.4.4:80") in merged(copies, "default")
    # MergeExternalServiceDelete(cluster2)
    del copies["cluster2"]
    assert merged(copies, "default") == only_local | {("cluster1", "3.3.3.3:80")}


def test_service_cache_test_external_service_merging_own_cluster_name_ignored():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestExternalServiceMerging, first merge: a record carrying the local cluster's own name causes no
    update. meshspec keys copies by cluster, so a second record for the observer's own cluster cannot
    be written; what is checked is that the observer's own export never comes back as remote."""
    local = service(GLOBAL, (Port("http-test-svc", 8081),),
                    [eps([Port("http-test-svc", 8080)], "2.2.2.2")], "bar", "foo")
    route = view({"default": local}, "default", LEGACY).frontends["8081/TCP"]
    assert route.remote_clusters() == []
    assert [(b.cluster, b.endpoint) for b in route.backends] == [("default", "2.2.2.2:8080")]


def test_service_cache_test_external_service_merging_service_added_later():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestExternalServiceMerging, foo2: a record for bar/foo2 from cluster "cluster" triggers nothing
    while no local Service of that name exists, and is applied once the global Service appears
    ("Adding the service later must trigger an update"). Adapted: Cilium's foo2 has no ports; here it
    gets one named "port" so the merged backend is visible."""
    record = remote([Port("port", 80)], "3.3.3.3", namespace="bar", name="foo2")
    before = route_service({"cluster": record}, ["default"], LEGACY)["default"]
    assert before.exists is False and before.frontends == {}
    foo2 = service(GLOBAL, (Port("port", 80),), (), "bar", "foo2")
    assert merged({"default": foo2, "cluster": record}, "default") == {("cluster", "3.3.3.3:80")}


def test_service_cache_test_external_service_merging_named_port_foo_matches_no_endpoint():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestExternalServiceMerging, unadapted: the Service's only port is named "foo" (80/TCP), and
    neither the local endpoint ("http-test-svc") nor cluster1's ("port") carries that name. The Cilium
    test checks only the correlated endpoints; per cilium-semantics.md, section 2 (legacy
    genCartesianProduct matches by name), the frontend itself gets no backend."""
    local = service(GLOBAL, (Port("foo", 80),), [eps([Port("http-test-svc", 8080)], "2.2.2.2")],
                    "bar", "foo")
    copies = {"default": local, "cluster1": remote([Port("port", 80)], "3.3.3.3", namespace="bar",
                                                   name="foo")}
    assert frontends(copies, "default", LEGACY) == {"80/TCP": set()}


def test_service_cache_test_non_shared_service():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestNonSharedService: the local bar/foo says service.cilium.io/global: "false" and cluster1's
    record (3.3.3.3, port "port" 80) is neither global nor shared: no update, no remote backend.
    Adapted: the Service gets a port named "port"."""
    local = service({"service.cilium.io/global": "false"}, (Port("port", 80),), (), "bar", "foo")
    record = remote([Port("port", 80)], "3.3.3.3", annotations={}, namespace="bar", name="foo")
    assert frontends({"default": local, "cluster1": record}, "default", LEGACY) == {"80/TCP": set()}
    # and it is the local side that decides: a shared remote record is not used either
    shared = remote([Port("port", 80)], "3.3.3.3", namespace="bar", name="foo")
    assert frontends({"default": local, "cluster1": shared}, "default", LEGACY) == {"80/TCP": set()}


def test_service_cache_test_with_2_endpoint_slice():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestServiceCacheWith2EndpointSlice: two slices of bar/foo (2.2.2.2 and 2.2.2.3, port
    "http-test-svc" 8080) are merged -> "2.2.2.2:8080/TCP,2.2.2.3:8080/TCP"; after deleting the
    second, "2.2.2.2:8080/TCP". (The third slice belongs to namespace baz; meshspec's copies hold
    only the Service's own slices.) Adapted: the Service gets a port named "http-test-svc"."""
    port = [Port("http-test-svc", 8080)]
    two = service({}, (Port("http-test-svc", 80),), [eps(port, "2.2.2.2"), eps(port, "2.2.2.3")],
                  "bar", "foo")
    assert frontends({"c": two}, "c", LEGACY) == {"80/TCP": {"2.2.2.2:8080", "2.2.2.3:8080"}}
    one = service({}, (Port("http-test-svc", 80),), [eps(port, "2.2.2.2")], "bar", "foo")
    assert frontends({"c": one}, "c", LEGACY) == {"80/TCP": {"2.2.2.2:8080"}}


def test_service_cache_test_with_2_endpoint_slice_same_address():
    """pkg/k8s/service_cache_test.go @ 012ba7ee4f4059e69b486ad37d42f310db6b7f6e,
    TestServiceCacheWith2EndpointSliceSameAddress: two slices list the same 2.2.2.2, one with port
    "http-test-svc" 8080, one with "http-test-svc2" 8081 -> "2.2.2.2:8080/TCP,2.2.2.2:8081/TCP".
    Adapted: the Service gets one port per name."""
    ports = (Port("http-test-svc", 80), Port("http-test-svc2", 81))
    svc = service({}, ports, [eps([Port("http-test-svc", 8080)], "2.2.2.2"),
                              eps([Port("http-test-svc2", 8081)], "2.2.2.2")], "bar", "foo")
    assert frontends({"c": svc}, "c", LEGACY) == {"80/TCP": {"2.2.2.2:8080"}, "81/TCP": {"2.2.2.2:8081"}}


# ==================================================================================================
# pkg/clustermesh/services_test.go (legacy ClusterMesh service suite)
# ==================================================================================================

def mesh_record(cluster_suffix, address, port_name, port, annotations=GLOBAL):
    """prepareServiceUpdate: one backend, global and shared, for default/foo."""
    return remote([Port(port_name, port)], address, annotations=annotations, namespace="default",
                  name="foo")


MESH_PORTS = (Port("http", 80), Port("http2", 90))  # adapted: Cilium's local Service has no ports


def test_clustermesh_services_test_global():
    """pkg/clustermesh/services_test.go @ 00cfe9e813c628ce5a010f70d7d9c9b6b335379d,
    TestClusterMeshServicesGlobal: cluster <r>1 exports 10.0.185.196 ("http" 80), <r>2 exports
    20.0.185.196 ("http2" 90); the observer's global default/foo gets both, then its local endpoint
    30.0.185.196 ("http" 100) too; deleting the local endpoints, then each record, removes them.
    Adapted: the Service gets ports "http" and "http2" so the merged backends show."""
    remotes = {"r1": mesh_record("1", "10.0.185.196", "http", 80),
               "r2": mesh_record("2", "20.0.185.196", "http2", 90)}
    local = service(GLOBAL, MESH_PORTS, (), "default", "foo")
    assert merged({"test2": local, **remotes}, "test2") == {
        ("r1", "10.0.185.196:80"), ("r2", "20.0.185.196:90")}
    with_eps = service(GLOBAL, MESH_PORTS, [eps([Port("http", 100)], "30.0.185.196")], "default", "foo")
    assert ("test2", "30.0.185.196:100") in merged({"test2": with_eps, **remotes}, "test2")
    assert merged({"test2": local, "r2": remotes["r2"]}, "test2") == {("r2", "20.0.185.196:90")}
    assert merged({"test2": local}, "test2") == set()


def test_clustermesh_services_test_update():
    """pkg/clustermesh/services_test.go @ 00cfe9e813c628ce5a010f70d7d9c9b6b335379d,
    TestClusterMeshServicesUpdate: records replaced in place: <r>1 moves from 10.0.185.196 ("http"
    80) to 80.0.185.196 ("http" 8080), <r>2 from 20.0.185.196 ("http2" 90) to 90.0.185.196 ("http"
    8080); each state shows exactly the current backends with their ports. Adapted as above."""
    local = service(GLOBAL, MESH_PORTS, (), "default", "foo")
    r1, r2 = mesh_record("1", "10.0.185.196", "http", 80), mesh_record("2", "20.0.185.196", "http2", 90)
    assert merged({"test2": local, "r1": r1, "r2": r2}, "test2") == {
        ("r1", "10.0.185.196:80"), ("r2", "20.0.185.196:90")}
    r1 = mesh_record("1", "80.0.185.196", "http", 8080)
    assert merged({"test2": local, "r1": r1, "r2": r2}, "test2") == {
        ("r1", "80.0.185.196:8080"), ("r2", "20.0.185.196:90")}
    r2 = mesh_record("2", "90.0.185.196", "http", 8080)
    assert merged({"test2": local, "r1": r1, "r2": r2}, "test2") == {
        ("r1", "80.0.185.196:8080"), ("r2", "90.0.185.196:8080")}
    assert merged({"test2": local, "r2": r2}, "test2") == {("r2", "90.0.185.196:8080")}
    assert merged({"test2": local}, "test2") == set()


def test_clustermesh_services_test_non_global():
    """pkg/clustermesh/services_test.go @ 00cfe9e813c628ce5a010f70d7d9c9b6b335379d,
    TestClusterMeshServicesNonGlobal: both remote records exist but the local default/foo has no
    global annotation: no service event, no remote backend. Adapted: ports "http", "http2"."""
    local = service({}, MESH_PORTS, (), "default", "foo")
    copies = {"test2": local, "r1": mesh_record("1", "10.0.185.196", "http", 80),
              "r2": mesh_record("2", "20.0.185.196", "http2", 90)}
    assert merged(copies, "test2") == set()
    assert frontends(copies, "test2", LEGACY) == {"80/TCP": set(), "90/TCP": set()}


# ==================================================================================================
# pkg/clustermesh/common/services_test.go (receiver drops non-shared records)
# ==================================================================================================

@pytest.mark.parametrize("version", [LEGACY, LB], ids=str)
def test_common_services_test_remote_service_observer(version):
    """pkg/clustermesh/common/services_test.go @ 3023c8454281543210503ab69c209fc989fcde52 (same test in
    pkg/clustermesh/services_test.go @ 00cfe9e813c628ce5a010f70d7d9c9b6b335379d),
    TestRemoteServiceObserver: a non-shared record is not cached; a shared one is; a shared record
    followed by a non-shared update ends up removed. In meshspec the remote cluster's Service turns
    from shared to service.cilium.io/shared: "false" and its backends leave the observer's frontend.
    (Cilium's shared-but-not-global record, svc1, cannot be written: shared needs global, see
    test_annotation_clustermesh_test_get_annotation_shared.)"""
    local = service(GLOBAL, (Port("http", 80),), (), "namespace", "name")

    def record(annotations):
        return remote([Port("http", 8080)], "10.2.0.1", annotations=annotations, namespace="namespace",
                      name="name")

    shared = {"local": local, "remote": record(GLOBAL)}
    assert frontends(shared, "local", version) == {"80/TCP": {"10.2.0.1@remote:8080"}}
    not_shared = {"local": local, "remote": record({**GLOBAL, "service.cilium.io/shared": "false"})}
    assert frontends(not_shared, "local", version) == {"80/TCP": set()}
    assert "remote" not in ServiceRouting(not_shared, version).exports
