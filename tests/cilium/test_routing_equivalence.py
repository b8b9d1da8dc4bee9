"""Route.backends cuts one shared sorted list per frontend instead of sorting every observer's backends,
and Route.backend_runs passes that list uncut with the ranges kept; on randomized meshes both must give
exactly what the straightforward per-observer sort gives."""

import random

import pytest

from meshspec.cilium.routing import (Backend, ClusterService, Endpoint, EndpointSlice, Port, Route, ServiceRouting,
                                     decide, route_service, serving_clusters)
from meshspec.cilium.versions import parse_version
from tests.support.random_meshes import random_mesh

VERSIONS = [parse_version(v) for v in ("1.17", "1.18.3", "1.20")]


def reference_backends(route: Route) -> tuple[Backend, ...]:
    """The per-observer algorithm: selected local backends, then each kept cluster's remote backends whose
    address no local backend has (section 2, receive side: the local one wins), each (cluster, endpoint)
    once (the last one listed), sorted by (endpoint, cluster)."""
    local = [b for b in route.local if b.active or not route.active_only] if route.use_local else []
    local_ips = {b.address for b in route.local}
    clusters = [c for c in route.senders if c not in route.skip] if route.use_remote else []
    remote = [b for c in clusters for b in route.remote[c] if b.address not in local_ips]
    unique = {(b.cluster, b.endpoint): b for b in local + remote}
    return tuple(sorted(unique.values(), key=lambda b: (b.endpoint, b.cluster)))


@pytest.mark.parametrize("seed", range(300))
def test_backends_equal_the_per_observer_sort_on_random_meshes(seed):
    rng = random.Random(seed)
    copies, clusters = random_mesh(rng)
    version = rng.choice(VERSIONS)
    routing = ServiceRouting(copies, version)
    for observer in clusters:
        gone = frozenset(rng.sample(clusters, rng.randint(0, len(clusters))))  # failure analysis
        for view in (routing.view(observer), routing.view(observer, gone)):
            for key, route in view.frontends.items():
                expected = [(b.cluster, b.endpoint, b) for b in reference_backends(route)]
                assert [(b.cluster, b.endpoint, b) for b in route.backends] == expected, (seed, observer, key)
                runs = [b for seq, start, end in route.backend_runs() for b in seq[start:end]]
                assert [(b.cluster, b.endpoint, b) for b in runs] == expected, (seed, observer, key)


def test_interleaved_clusters_are_cut_by_filtering_not_by_span():
    """Backends of two clusters that sort in between each other (10.0.0.1 in a, 10.0.0.2 in b, 10.0.0.3 in a)."""
    glob = {"service.cilium.io/global": "true"}

    def copy(*ips):
        return ClusterService("default", "web", glob, (Port("", 80),),
                              slices=(EndpointSlice((Port("", 8080),), tuple(Endpoint(ip) for ip in ips)),))

    copies = {"a": copy("10.0.0.1", "10.0.0.3"), "b": copy("10.0.0.2"), "c": copy("10.0.0.4")}
    views = route_service(copies, ["a", "b", "c"], parse_version("1.20"))
    assert [(b.cluster, b.endpoint) for b in views["c"].frontends["80/TCP"].backends] == [
        ("a", "10.0.0.1:8080"), ("b", "10.0.0.2:8080"), ("a", "10.0.0.3:8080"), ("c", "10.0.0.4:8080")]
    assert [(b.cluster, b.endpoint) for b in views["b"].frontends["80/TCP"].backends] == [
        ("a", "10.0.0.1:8080"), ("b", "10.0.0.2:8080"), ("a", "10.0.0.3:8080"), ("c", "10.0.0.4:8080")]
    assert [(b.cluster, b.endpoint) for b in views["a"].frontends["80/TCP"].backends] == [
        ("a", "10.0.0.1:8080"), ("b", "10.0.0.2:8080"), ("a", "10.0.0.3:8080"), ("c", "10.0.0.4:8080")]


@pytest.mark.parametrize("seed", range(300))
def test_serving_and_sole_server_answer_what_the_view_says_on_random_meshes(seed):
    """ServiceRouting.serving and sole_server skip building views (explain and validate ask them of every
    client): they must agree with serving_clusters of the full view, with and without clusters down, and
    the view's decisions with decide() itself."""
    rng = random.Random(seed)
    copies, clusters = random_mesh(rng)
    version = rng.choice(VERSIONS)
    routing, fresh = ServiceRouting(copies, version), ServiceRouting(copies, version)
    for observer in clusters + ["elsewhere"]:
        gone = frozenset(rng.sample(clusters, rng.randint(0, len(clusters))))
        for down in (frozenset(), gone):
            view = fresh.view(observer, down)
            for route in view.frontends.values():  # decide(), not a memo of another observer's decision
                assert (route.use_local, route.use_remote, route.active_only) == decide(
                    view.flags, route.local, route.remote_count > 0, version), (seed, observer, down)
            expected = serving_clusters(view) if view.exists else None
            assert routing.serving(observer, down) == expected, (seed, observer, down)
            sole = expected[0] if expected and len(expected) == 1 else None
            assert routing.sole_server(observer, down) == sole, (seed, observer, down)


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_serving_tells_apart_observers_whose_local_backends_are_only_terminating(version):
    """Same flags, both with local backends: a ready one keeps affinity local at home, a terminating-only one
    does not (section 3): serving and sole_server must decide per observer, on its Active backends."""
    flags = {"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"}

    def copy(*endpoints):
        return ClusterService("default", "web", flags, (Port("", 80),),
                              slices=(EndpointSlice((Port("", 8080),), endpoints),))

    copies = {"a": copy(Endpoint("10.0.0.1")), "b": copy(Endpoint("10.0.1.1", False, True, True)),
              "c": copy(Endpoint("10.0.2.1"))}
    routing = ServiceRouting(copies, version)
    assert routing.serving("a") == ["a"]
    assert routing.serving("b") == ["a", "c"]
    assert routing.sole_server("a") == "a" and routing.sole_server("b") is None


def test_serving_tells_apart_a_sole_exporter_from_a_client_alike_but_not_exporting():
    """Same flags and the same local backends, but only `a` exports (b's namespace is not global): for `a` no
    other cluster sends, for `b` one does, so with affinity local and no Active local backend `b` goes remote
    and `a` has nothing. Asked in either order, the shared decision must not cross between them."""
    flags = {"service.cilium.io/global": "true", "service.cilium.io/affinity": "local"}
    terminating = EndpointSlice((Port("", 8080),), (Endpoint("10.0.0.1", False, True, True),))
    copies = {"a": ClusterService("default", "web", flags, (Port("", 80),), slices=(terminating,)),
              "b": ClusterService("default", "web", flags, (Port("", 80),), slices=(terminating,), exported=False)}
    version = parse_version("1.20")
    expected = {c: serving_clusters(ServiceRouting(copies, version).view(c)) for c in copies}
    assert expected == {"a": [], "b": ["a"]}
    for order in (["a", "b"], ["b", "a"]):
        routing = ServiceRouting(copies, version)
        assert {c: routing.serving(c) for c in order} == expected, order
