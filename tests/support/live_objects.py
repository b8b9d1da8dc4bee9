"""The objects each cluster of support/fixtures/verify/mesh.yaml serves when all is well, and small
helpers to pick and drop objects."""

from __future__ import annotations

import pathlib

import yaml

FIXTURES = pathlib.Path(__file__).parent / "fixtures" / "verify"


def load_live(cluster: str) -> list[dict]:
    """The objects a cluster serves when it matches support/fixtures/verify/mesh.yaml."""
    return [doc for doc in yaml.safe_load_all((FIXTURES / "live" / f"{cluster}.yaml").read_text()) if doc]


def find(objects: list[dict], kind: str, namespace: str, name: str) -> dict:
    return next(o for o in objects if o["kind"] == kind and o["metadata"]["namespace"] == namespace
                and o["metadata"]["name"] == name)


def drop(objects: list[dict], kind: str, namespace: str, name: str) -> list[dict]:
    return [o for o in objects if o is not find(objects, kind, namespace, name)]
