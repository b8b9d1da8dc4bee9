"""simulate --left-out: every endpoint a frontend's new connections do not reach, with the rule that leaves
it out (cilium-semantics.md sections 2 and 3), and nothing unaccounted for."""

import random

import pytest

from meshspec.cilium.routing import (Backend, ClusterService, Endpoint, EndpointSlice, Port, frontend_key, matches,
                                     route_service)
from meshspec.cilium.versions import parse_version
from tests.support.random_meshes import random_mesh

HTTP = (Port("http", 80, "TCP"),)


def copy(annotations, *endpoints, slice_port=Port("http", 8080, "TCP"), family="IPv4"):
    return ClusterService("shop", "web", annotations, HTTP, False, ("IPv4",),
                          (EndpointSlice((slice_port,), tuple(endpoints), family),))


GLOBAL = {"service.cilium.io/global": "true"}


def reasons(copies, observer="a", version="1.20"):
    view = route_service(copies, [observer], parse_version(version), left_out=True)[observer]
    return {(lo.cluster, lo.endpoint): lo.reason for lo in view.left_out["80/TCP"]}


@pytest.mark.parametrize("copies, expected", [
    # section 2, receive side: only a global local Service uses remote endpoints
    ({"a": copy({}, Endpoint("10.0.0.1")), "b": copy(GLOBAL, Endpoint("10.0.1.1"))},
     {("b", "10.0.1.1:8080"): "the Service in a is not global, so it uses only its own endpoints"}),
    # section 2, export side: global and shared
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1")), "b": copy({}, Endpoint("10.0.1.1"))},
     {("b", "10.0.1.1:8080"): "the Service in b is not global, so b exports nothing"}),
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1")),
      "b": copy({**GLOBAL, "service.cilium.io/shared": "false"}, Endpoint("10.0.1.1"))},
     {("b", "10.0.1.1:8080"): "b does not share its endpoints (service.cilium.io/shared: false)"}),
    # ready, serving, terminating (EndpointConditions)
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1"), Endpoint("10.0.0.2", ready=False, serving=False))},
     {("a", "10.0.0.2:8080"): "not ready"}),
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1")), "b": copy(GLOBAL, Endpoint("10.0.1.1", ready=False, serving=False))},
     {("b", "10.0.1.1:8080"): "not ready in b, so not exported"}),
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1"), Endpoint("10.0.0.2", ready=False, serving=True, terminating=True))},
     {("a", "10.0.0.2:8080"): "terminating: it keeps its connections, new ones go to ready endpoints"}),
    # ports match by name, never by number (section 2, Ports)
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1")),
      "b": copy(GLOBAL, Endpoint("10.0.1.1"), slice_port=Port("grpc", 8080, "TCP"))},
     {("b", "10.0.1.1:8080"): "its port grpc/TCP matches no port of the Service in a (Cilium pairs them by name)"}),
    # duplicate IPs: the local one wins
    ({"a": copy(GLOBAL, Endpoint("10.0.0.1")), "b": copy(GLOBAL, Endpoint("10.0.0.1"))},
     {("b", "10.0.0.1:8080"): "the same IP as an endpoint of the local cluster, which wins"}),
    # section 3: affinity
    ({"a": copy({**GLOBAL, "service.cilium.io/affinity": "local"}, Endpoint("10.0.0.1")),
      "b": copy(GLOBAL, Endpoint("10.0.1.1"))},
     {("b", "10.0.1.1:8080"): "affinity local: remote endpoints are used only while no local one is ready"}),
    ({"a": copy({**GLOBAL, "service.cilium.io/affinity": "remote"}, Endpoint("10.0.0.1")),
      "b": copy(GLOBAL, Endpoint("10.0.1.1"))},
     {("a", "10.0.0.1:8080"): "affinity remote: local endpoints are used only while no remote one is healthy"}),
])
def test_each_reason(copies, expected):
    assert reasons(copies) == expected


def test_cilium_46623_on_1_19():
    copies = {"a": copy({**GLOBAL, "service.cilium.io/affinity": "none"}, Endpoint("10.0.0.1")),
              "b": copy(GLOBAL, Endpoint("10.0.1.1"))}
    assert reasons(copies, version="1.19.2") == {
        ("b", "10.0.1.1:8080"): "affinity 'none' on Cilium 1.19.2 drops every remote endpoint (cilium#46623)"}
    assert reasons(copies, version="1.20") == {}


@pytest.mark.parametrize("seed", range(200))
def test_every_endpoint_is_reached_left_out_or_another_frontends(seed):
    """On random meshes: each endpoint of a matching slice port is either a backend or left out with a
    reason, never both, and the default views are unchanged by asking."""
    copies, clusters = random_mesh(random.Random(seed))
    version = parse_version(random.Random(seed).choice(["1.17", "1.18.3", "1.20"]))
    plain = route_service(copies, clusters, version)
    explained = route_service(copies, clusters, version, left_out=True)
    for observer, view in explained.items():
        assert view.frontends == plain[observer].frontends
        for key, route in view.frontends.items():
            chosen = {(b.cluster, b.endpoint) for b in route.backends}
            chosen_addresses = {(b.cluster, b.address, b.port) for b in route.backends}
            left = {(lo.cluster, lo.endpoint) for lo in view.left_out[key]}
            assert not chosen & left
            assert all(lo.reason for lo in view.left_out[key])
            service = copies[observer]
            port = next(p for p in service.ports if frontend_key(p) == key)
            for cluster, other in copies.items():  # every endpoint of a slice port that matches this frontend
                for s in other.slices:
                    for ep in s.endpoints:
                        for p in s.ports:
                            b = Backend(cluster, ep.address, p.port, p.protocol, p.name, s.address_type, ep.ready)
                            if matches(port, b, service.families, version) and \
                                    (cluster, ep.address, p.port) not in chosen_addresses:
                                assert (cluster, b.endpoint) in left, (observer, key, cluster, b.endpoint)
