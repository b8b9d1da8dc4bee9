"""kubeschema's small validator must agree with jsonschema on Kubernetes' own Service schema."""

import copy
import json
import pathlib

import jsonschema
import pytest
from referencing import Registry, Resource

from meshspec.k8s import service_schema as kubeschema

GOOD = {
    "apiVersion": "v1", "kind": "Service",
    "metadata": {"name": "web", "namespace": "default", "labels": {"a": "b"}},
    "spec": {"type": "LoadBalancer", "selector": {"app": "web"}, "externalTrafficPolicy": "Local",
             "sessionAffinity": "ClientIP", "sessionAffinityConfig": {"clientIP": {"timeoutSeconds": 30}},
             "ipFamilies": ["IPv4", "IPv6"], "ipFamilyPolicy": "PreferDualStack",
             "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"},
                       {"name": "grpc", "port": 9090, "targetPort": 9090, "appProtocol": "kubernetes.io/h2c"}]},
}


def mutate(path, value):
    obj = copy.deepcopy(GOOD)
    target = obj
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return obj


CASES = [
    GOOD,
    mutate(("spec", "ports", 0, "port"), "80"),
    mutate(("spec", "ports", 0, "targetPort"), True),
    mutate(("spec", "ports", 0, "targetPort"), 8.5),
    mutate(("spec", "ports", 0, "nodePort"), [1]),
    mutate(("spec", "ports", 0, "targetport"), 80),
    mutate(("spec", "selector"), {"app": 1}),
    mutate(("spec", "selector"), ["app"]),
    mutate(("spec", "ipFamilies"), "IPv4"),
    mutate(("spec", "sessionAffinityConfig"), {"clientIP": {"timeout": 1}}),
    mutate(("spec", "bogus"), 1),
    mutate(("spec", "ports"), [{"name": "x"}]),
    mutate(("spec", "ports"), None),
    mutate(("metadata", "labels"), {"a": None}),
]


@pytest.fixture(scope="module")
def reference_validator():
    folder = kubeschema._schema_root() / f"v{kubeschema.schema_version()}-local-strict"
    service = json.loads((folder / "service-v1.json").read_text())
    definitions = json.loads((folder / "_definitions.json").read_text())
    registry = Resource.from_contents(definitions) @ (Resource.from_contents(service) @ Registry())
    return jsonschema.Draft202012Validator(service, registry=registry)


@pytest.mark.parametrize("obj", CASES)
def test_agrees_with_jsonschema(reference_validator, obj):
    expected = sorted(tuple(e.absolute_path) for e in reference_validator.iter_errors(obj))
    assert sorted(_schema_paths(obj)) == expected


def _schema_paths(obj):
    service, definitions = kubeschema._schemas()
    paths = []
    for path, _, at_key in kubeschema._check(obj, service, (), definitions):
        paths.append(path[:-1] if at_key else path)  # jsonschema reports unknown keys at their parent
    return paths


def test_schema_uses_only_keywords_we_implement():
    service, definitions = kubeschema._schemas()
    seen, used = set(), set()

    def walk(node):
        if isinstance(node, list):
            for item in node:
                walk(item)
        if not isinstance(node, dict):
            return
        for key, value in node.items():
            used.add(key)
            if key == "properties":
                for child in value.values():
                    walk(child)
            elif key == "$ref":
                name = value.rsplit("/", 1)[1]
                if name not in seen:
                    seen.add(name)
                    walk(definitions[name])
            else:
                walk(value)

    walk(service)
    annotations = {"$id", "$schema", "description", "x-kubernetes-group-version-kind", "group", "kind", "version"}
    validating = {k for k in used if not k.startswith("x-kubernetes-") and k not in annotations}
    assert validating <= kubeschema.SUPPORTED_KEYWORDS


def test_schema_version_is_the_newest_shipped():
    assert tuple(map(int, kubeschema.schema_version().split("."))) >= (1, 30)


def test_the_bundled_service_schema_is_what_kubernetes_validate_ships():
    """meshspec/data/kubernetes-service-schema.json: rewrite it with service_schema.write_bundle()."""
    bundled = json.loads(pathlib.Path(kubeschema.BUNDLE).read_text(encoding="utf-8"))
    assert bundled == kubeschema.bundle(bundled["version"])
    # A newer kubernetes-validate makes the bundle unused (the full definitions are read), not wrong.


def test_without_the_bundle_the_installed_schema_is_read(monkeypatch, tmp_path):
    bundled = kubeschema._schemas()
    monkeypatch.setattr(kubeschema, "BUNDLE", tmp_path / "missing.json")
    kubeschema._schemas.cache_clear()
    try:
        service, definitions = kubeschema._schemas()
        assert service == bundled[0] and len(definitions) > len(bundled[1])
        assert {name: definitions[name] for name in bundled[1]} == bundled[1]
    finally:
        kubeschema._schemas.cache_clear()
