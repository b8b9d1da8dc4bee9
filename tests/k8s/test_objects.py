"""k8s/objects.py: well-formed objects take a fast path; it must give what the checked path gives."""

import copy
import random

import pytest

from meshspec.k8s import objects

SERVICE = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "shop", "labels": {"app": "web"},
                 "annotations": {"service.cilium.io/global": "true", "a": "b"}, "uid": "x"},
    "spec": {"type": "ClusterIP", "clusterIP": "10.96.0.10", "clusterIPs": ["10.96.0.10", "fd00::a"],
             "ipFamilies": ["IPv4", "IPv6"],
             "ports": [{"name": "http", "protocol": "TCP", "port": 80, "targetPort": 8080},
                       {"name": "dns", "protocol": "UDP", "port": 53}]},
}
SLICE = {
    "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice", "addressType": "IPv4",
    "metadata": {"name": "web-abc", "namespace": "shop", "labels": {"kubernetes.io/service-name": "web", "x": "y"}},
    "ports": [{"name": "http", "protocol": "TCP", "port": 8080}, {"name": "dns", "port": 53, "protocol": "UDP"}],
    "endpoints": [{"addresses": ["10.1.0.1"], "conditions": {"ready": True, "serving": True, "terminating": False}},
                  {"addresses": ["10.1.0.2", "10.1.0.3"], "conditions": {"ready": False, "terminating": True}},
                  {"addresses": ["10.1.0.4"]}],
}
ODD_VALUES = [None, "", "x", "None", "TCP", "IPv6", "UDP", "FQDN", 0, 1, 80, 70000, True, False, 1.5, [], ["x"], [1],
              {}, {"a": 1}, {"ready": "yes"}]


def _paths(value, at=()):
    yield at
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _paths(v, at + (k,))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _paths(v, at + (i,))


def _mutate(obj, rng):
    obj = copy.deepcopy(obj)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice([p for p in _paths(obj) if p])
        parent = obj
        for part in path[:-1]:
            parent = parent[part]
        if isinstance(parent, dict) and rng.random() < 0.3:
            del parent[path[-1]]
        else:
            parent[path[-1]] = copy.deepcopy(rng.choice(ODD_VALUES))
    return obj


def _parse(parse, obj, checked_only, monkeypatch):
    with monkeypatch.context() as m:
        if checked_only:
            m.setattr(objects, "fast_service", lambda obj: None)
            m.setattr(objects, "fast_slice", lambda obj: None)
        reports = []
        result = parse(obj, lambda code, path, message, at_key=False: reports.append((code, tuple(path), message)))
        return result, reports


@pytest.mark.parametrize("seed", range(400))
def test_the_fast_path_gives_the_checked_paths_result_on_mutated_objects(seed, monkeypatch):
    rng = random.Random(seed)
    parse, base = (objects.parse_service, SERVICE) if seed % 2 else (objects.parse_slice, SLICE)
    obj = base if seed < 2 else _mutate(base, rng)
    assert _parse(parse, obj, False, monkeypatch) == _parse(parse, obj, True, monkeypatch)


def test_well_formed_objects_take_the_fast_path():
    assert objects.fast_service(SERVICE) == objects.parse_service(SERVICE, None)
    assert objects.fast_slice(SLICE).slice.endpoints[1] == objects.Endpoint("10.1.0.2", False, False, True)


def test_the_fast_paths_objects_are_the_classes_own():
    # A record's frozen __init__ fills __dict__ directly: same fields in the same order, equal, same hash, frozen.
    svc, named = objects.fast_service(SERVICE), objects.fast_slice(SLICE)
    built = [svc, named, named.slice, *named.slice.endpoints]
    own = [objects.ClusterService(**vars(svc)), objects.NamedSlice(**vars(named)),
           objects.EndpointSlice(**vars(named.slice)), *(objects.Endpoint(**vars(e)) for e in named.slice.endpoints)]
    for fast, made in zip(built, own, strict=True):
        assert (type(fast), vars(fast), list(vars(fast)), repr(fast), fast == made) == \
            (type(made), vars(made), list(vars(made)), repr(made), True)
        if not isinstance(fast, objects.ClusterService):  # its annotations are a dict
            assert hash(fast) == hash(made)
        with pytest.raises(AttributeError):
            fast.name = "x"
