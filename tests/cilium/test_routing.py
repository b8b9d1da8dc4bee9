"""The routing engine, one test per rule of ../shared/reference/cilium-semantics.md (sections in names)."""

import pytest

from meshspec.cilium.annotations import read_flags
from meshspec.cilium.versions import parse_version
from meshspec.cilium.routing import ClusterService, Endpoint, EndpointSlice, Port, route_service, serving_clusters

V120, V118, V117 = parse_version("1.20"), parse_version("1.18.3"), parse_version("1.17")
GLOBAL = {"service.cilium.io/global": "true"}


def svc(annotations=None, endpoints=(), ports=(Port("http", 80),), slice_ports=(Port("http", 8080),), **kw):
    eps = tuple(e if isinstance(e, Endpoint) else Endpoint(e) for e in endpoints)
    slices = (EndpointSlice(slice_ports, eps),) if eps else ()
    return ClusterService("default", "web", annotations or {}, ports, slices=slices, **kw)


def backends(copies, observer, version=V120, frontend="80/TCP", clusters=None):
    views = route_service(copies, clusters or sorted(copies), version)
    return [b.endpoint for b in views[observer].frontends[frontend].backends]


# --- section 1: annotations -----------------------------------------------------------------------

@pytest.mark.parametrize("value, is_global", [
    ("true", True), ("True", True), ("TRUE", True), ("1", False), ("yes", False), ("", False), ("true ", False)])
def test_s1_global_is_lowercased_and_compared_to_true(value, is_global):
    assert read_flags({"service.cilium.io/global": value}).is_global is is_global


def test_s1_legacy_aliases_are_read_and_the_new_key_wins():
    assert read_flags({"io.cilium/global-service": "true"}).is_global
    flags = read_flags({"service.cilium.io/global": "false", "io.cilium/global-service": "true"})
    assert not flags.is_global
    assert read_flags({**GLOBAL, "io.cilium/shared-service": "false"}).shared is False
    assert read_flags({**GLOBAL, "io.cilium/service-affinity": "remote"}).affinity == "remote"


@pytest.mark.parametrize("annotations, shared", [
    (GLOBAL, True),                                                     # default true when global
    ({**GLOBAL, "service.cilium.io/shared": "True"}, True),
    ({**GLOBAL, "service.cilium.io/shared": "no"}, False),              # present but not "true" disables
    ({"service.cilium.io/shared": "true"}, False),                      # ignored unless global
])
def test_s1_shared(annotations, shared):
    assert read_flags(annotations).shared is shared


@pytest.mark.parametrize("value, affinity, unmatched", [
    ("local", "local", None), ("REMOTE", "remote", None), ("none", "none", "none"), ("", "none", ""),
    ("foo", "none", "foo")])
def test_s1_affinity_values(value, affinity, unmatched):
    flags = read_flags({**GLOBAL, "service.cilium.io/affinity": value})
    assert (flags.affinity, flags.unmatched_affinity) == (affinity, unmatched)


def test_s1_affinity_ignored_unless_global():
    assert read_flags({"service.cilium.io/affinity": "local"}).affinity == "none"


# --- section 2: merge ------------------------------------------------------------------------------

SHARED_FALSE = {**GLOBAL, "service.cilium.io/shared": "false"}


@pytest.mark.parametrize("c1, c2, c1_uses, c2_uses", [
    (GLOBAL, GLOBAL, {"c1", "c2"}, {"c1", "c2"}),
    (GLOBAL, SHARED_FALSE, {"c1"}, {"c1", "c2"}),
    (SHARED_FALSE, GLOBAL, {"c1", "c2"}, {"c2"}),
    (SHARED_FALSE, SHARED_FALSE, {"c1"}, {"c2"}),
    ({}, GLOBAL, {"c1"}, {"c2"}),
    ({}, SHARED_FALSE, {"c1"}, {"c2"}),
])
def test_s2_global_shared_matrix_from_the_global_services_doc(c1, c2, c1_uses, c2_uses):
    copies = {"c1": svc(c1, ["10.1.0.1"]), "c2": svc(c2, ["10.2.0.1"])}
    views = route_service(copies, ["c1", "c2"], V120)
    assert set(serving_clusters(views["c1"])) == c1_uses
    assert set(serving_clusters(views["c2"])) == c2_uses


def test_s2_shared_false_cluster_still_consumes_remote():
    copies = {"a": svc(SHARED_FALSE, ["10.1.0.1"]), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a") == ["10.1.0.1:8080", "10.2.0.1:8080"]
    assert backends(copies, "b") == ["10.2.0.1:8080"]


def test_s2_observer_without_the_service_reaches_nothing():
    views = route_service({"a": svc(GLOBAL, ["10.1.0.1"])}, ["a", "b"], V120)
    assert views["b"].exists is False and views["b"].frontends == {}


def test_s2_selectorless_service_gets_remote_backends_without_local_slices():
    # clusterservice-without-local-eps.txtar
    copies = {"a": svc(GLOBAL), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a") == ["10.2.0.1:8080"]


def test_s2_only_ready_or_serving_endpoints_are_exported_and_arrive_active():
    remote = [Endpoint("10.2.0.1"), Endpoint("10.2.0.2", ready=False, serving=True, terminating=True),
              Endpoint("10.2.0.3", ready=False, serving=False, terminating=True)]
    copies = {"a": svc(GLOBAL), "b": svc(GLOBAL, remote)}
    # the terminating-but-serving remote pod keeps getting new flows (conditions are dropped on export)
    assert backends(copies, "a") == ["10.2.0.1:8080", "10.2.0.2:8080"]
    # while locally in b it is Terminating and gets no new flows
    assert backends(copies, "b") == ["10.2.0.1:8080"]


def test_s2_duplicate_ip_local_backend_wins():
    copies = {"a": svc(GLOBAL, ["10.9.0.1"]), "b": svc(GLOBAL, ["10.9.0.1"])}
    views = route_service(copies, ["a", "b"], V120)
    assert [b.cluster for b in views["a"].frontends["80/TCP"].backends] == ["a"]


def test_s2_ports_match_by_name_and_keep_the_backends_own_number():
    # local 8080 and remote 9090 both serve the same frontend (clusterservice.txtar)
    copies = {"a": svc(GLOBAL, ["10.1.0.1"]),
              "b": svc(GLOBAL, ["10.2.0.1"], slice_ports=(Port("http", 9090),))}
    assert backends(copies, "a") == ["10.1.0.1:8080", "10.2.0.1:9090"]


@pytest.mark.parametrize("version", [V117, V118, V120])
def test_s2_different_port_names_silently_exclude_remote_backends(version):
    copies = {"a": svc(GLOBAL, ["10.1.0.1"]),
              "b": svc(GLOBAL, ["10.2.0.1"], slice_ports=(Port("web", 8080),))}
    assert backends(copies, "a", version) == ["10.1.0.1:8080"]


def test_s2_unnamed_port_skips_the_name_check_on_lb_but_not_on_legacy():
    copies = {"a": svc(GLOBAL, ["10.1.0.1"], ports=(Port("", 80),), slice_ports=(Port("", 8080),)),
              "b": svc(GLOBAL, ["10.2.0.1"], slice_ports=(Port("http", 8080),))}
    assert backends(copies, "a", V120) == ["10.1.0.1:8080", "10.2.0.1:8080"]
    assert backends(copies, "a", V117) == ["10.1.0.1:8080"]


def test_s2_protocol_must_match():
    copies = {"a": svc(GLOBAL, ["10.1.0.1"]),
              "b": svc(GLOBAL, ["10.2.0.1"], slice_ports=(Port("http", 8080, "UDP"),))}
    assert backends(copies, "a") == ["10.1.0.1:8080"]


def test_s2_ports_sharing_one_target_port_serve_every_frontend():
    # clusterservice-multiport.txtar: two Service ports, one target port
    ports = (Port("http", 80), Port("alt", 81))
    slice_ports = (Port("http", 8080), Port("alt", 8080))
    copies = {"a": svc(GLOBAL, ["10.1.0.1"], ports=ports, slice_ports=slice_ports),
              "b": svc(GLOBAL, ["10.2.0.1"], ports=ports, slice_ports=slice_ports)}
    assert backends(copies, "a", frontend="81/TCP") == ["10.1.0.1:8080", "10.2.0.1:8080"]


def test_s2_headless_services_have_no_frontends():
    copies = {"a": svc(GLOBAL, ["10.1.0.1"], headless=True), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert route_service(copies, ["a", "b"], V120)["a"].frontends == {}


def test_s2_ip_family_must_match():
    v6 = EndpointSlice((Port("http", 8080),), (Endpoint("fd00::1"),), "IPv6")
    copies = {"a": svc(GLOBAL, ["10.1.0.1"]),
              "b": ClusterService("default", "web", GLOBAL, (Port("http", 80),), slices=(v6,))}
    assert backends(copies, "a") == ["10.1.0.1:8080"]
    copies["a"] = svc(GLOBAL, ["10.1.0.1"], families=("IPv4", "IPv6"))
    assert backends(copies, "a") == ["10.1.0.1:8080", "[fd00::1]:8080"]


# --- section 3: affinity ---------------------------------------------------------------------------

LOCAL = {**GLOBAL, "service.cilium.io/affinity": "local"}
REMOTE = {**GLOBAL, "service.cilium.io/affinity": "remote"}
TERMINATING = Endpoint("10.1.0.9", ready=False, serving=True, terminating=True)


@pytest.mark.parametrize("version", [V117, V120])
def test_s3_local_affinity_prefers_local_and_one_ready_pod_drops_every_remote(version):
    copies = {"a": svc(LOCAL, ["10.1.0.1"]), "b": svc(GLOBAL, ["10.2.0.1"]), "c": svc(GLOBAL, ["10.3.0.1"])}
    assert backends(copies, "a", version) == ["10.1.0.1:8080"]


@pytest.mark.parametrize("version", [V117, V120])
def test_s3_local_affinity_fails_over_to_remote_without_local_pods(version):
    copies = {"a": svc(LOCAL), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a", version) == ["10.2.0.1:8080"]


def test_s3_lb_terminating_local_pods_do_not_block_local_fallback():
    copies = {"a": svc(LOCAL, [TERMINATING]), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a", V120) == ["10.2.0.1:8080"]
    assert backends(copies, "a", V117) == ["10.2.0.1:8080"]


@pytest.mark.parametrize("version", [V117, V120])
def test_s3_remote_affinity_prefers_remote_and_falls_back_to_local(version):
    copies = {"a": svc(REMOTE, ["10.1.0.1"]), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a", version) == ["10.2.0.1:8080"]
    copies["b"] = svc(GLOBAL)  # remote cluster has no pods
    assert backends(copies, "a", version) == ["10.1.0.1:8080"]


def test_s3_affinity_applies_only_in_the_cluster_that_sets_it():
    copies = {"a": svc(LOCAL, ["10.1.0.1"]), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "b") == ["10.1.0.1:8080", "10.2.0.1:8080"]


def test_s3_legacy_uses_terminating_backends_only_when_nothing_is_active():
    copies = {"a": svc(GLOBAL, [TERMINATING])}
    assert backends(copies, "a", V117) == ["10.1.0.9:8080"]
    assert backends(copies, "a", V120) == []  # LB: new flows go only to Active backends


@pytest.mark.parametrize("value", ["none", "", "foo"])
def test_s1_invalid_affinity_blackholes_remote_on_118_only(value):
    # #46623: on the 1.18 LB an unmatched affinity drops every remote backend; fixed by PR #46635 in 1.20
    copies = {"a": svc({**GLOBAL, "service.cilium.io/affinity": value}), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a", V118) == []
    assert backends(copies, "a", parse_version("1.19")) == []
    assert backends(copies, "a", V117) == ["10.2.0.1:8080"]
    assert backends(copies, "a", V120) == ["10.2.0.1:8080"]
    notes = route_service(copies, ["a", "b"], V118)["a"].notes
    assert "cilium#46623" in notes[0]


def test_absent_affinity_is_fine_on_118():
    copies = {"a": svc(GLOBAL), "b": svc(GLOBAL, ["10.2.0.1"])}
    assert backends(copies, "a", V118) == ["10.2.0.1:8080"]


# --- versions --------------------------------------------------------------------------------------

@pytest.mark.parametrize("text, shown", [("1.20", "1.20"), ("v1.18.3", "1.18.3"), ("1.19.4", "1.19.4")])
def test_versions_parse(text, shown):
    assert str(parse_version(text)) == shown


@pytest.mark.parametrize("text", ["1.13", "2.0", "latest", "1"])
def test_versions_outside_the_model_are_refused(text):
    with pytest.raises(ValueError):
        parse_version(text)


def test_multiport_bug_versions():
    assert parse_version("1.18.9").multiport_shared_target_bug
    assert not parse_version("1.18.10").multiport_shared_target_bug
    assert parse_version("1.19").multiport_shared_target_bug
    assert not parse_version("1.19.4").multiport_shared_target_bug
    assert not parse_version("1.17").multiport_shared_target_bug
    assert not parse_version("1.20.1").multiport_shared_target_bug


def test_backends_built_by_the_engine_are_the_dataclass_own_instances():
    """A record's frozen __init__ fills the instance's __dict__ rather than calling object.__setattr__ per
    field: a Backend the engine builds must be the same object to every reader: equal, same hash, same
    fields in order, still frozen."""
    import dataclasses

    from meshspec.cilium.routing import Backend, local_backends
    from meshspec.record import FrozenInstanceError

    slice_ = EndpointSlice((Port("http", 8080),), (Endpoint("fd00::1", False, True, True),), "IPv6")
    [built] = local_backends("a", ClusterService("default", "web", slices=(slice_,)))
    real = Backend("a", "fd00::1", 8080, "TCP", "http", "IPv6", False)
    assert built == real and hash(built) == hash(real) and repr(built) == repr(real)
    assert dataclasses.astuple(built) == dataclasses.astuple(real) and built.endpoint == "[fd00::1]:8080"
    with pytest.raises(FrozenInstanceError):
        built.port = 1
