"""A service's ServiceSpec, as the Kubernetes API server would take it."""

from __future__ import annotations

from ...k8s import service_schema
from . import Checker, Path

def check_kubernetes_service(c: Checker, at: Path, svc: dict) -> None:
    """The Service as rendered must be one the Kubernetes API accepts. Metadata is checked by
    services.py, with friendlier messages, so only the ServiceSpec is reported here."""
    if not isinstance(svc.get("spec"), dict) or not isinstance(svc.get("name"), str):
        return
    report = c.under(at)
    obj = {"apiVersion": "v1", "kind": "Service",
           "metadata": {"name": svc["name"], "namespace": str(svc.get("namespace", "default"))}, "spec": svc["spec"]}

    def spec_only(code: str, path: Path, message: str, at_key: bool = False) -> None:
        if path[:1] == ("spec",):
            report(code, path, message, at_key)

    service_schema.check_service(obj, spec_only)
