"""The services of a spec: names, where they exist, overrides, labels and annotations."""

from __future__ import annotations


from ...cilium.annotations import OWNED, PASSED_THROUGH, PREFIX
from ...k8s.names import (MANAGED_BY, MANAGED_BY_LABEL, is_dns1035_label, is_dns1123_label, is_label_value,
                          is_qualified_name)
from ..model import resolve_placement
from . import Checker, Path, as_dict, as_list, get_in, yaml_text
from .kubernetes import check_kubernetes_service

MAX_ANNOTATIONS_BYTES = 256 * 1024

def check_service(c: Checker, at: Path, svc: dict, clusters: list[str], defaults: dict) -> None:
    name, namespace = svc.get("name"), svc.get("namespace", "default")
    if isinstance(name, str) and not is_dns1035_label(name):
        c.report("invalid-name", at + ("name",), f"service name {name!r} must be a DNS-1035 label: at most 63 "
                 "lowercase letters, digits or '-', starting with a letter and ending with a letter or digit.")
    if isinstance(namespace, str) and not is_dns1123_label(namespace):
        c.report("invalid-name", at + ("namespace",), f"namespace {namespace!r} must be a DNS-1123 label: at most "
                 "63 lowercase letters, digits or '-', starting and ending with a letter or digit.")
    where = check_service_clusters(c, at, svc, clusters)
    check_backends(c, at, svc, clusters, where)
    check_overrides(c, at, svc, clusters, where)
    check_metadata_maps(c, at, svc)
    check_override_metadata(c, at, svc, where)
    check_ignored_fields(c, at, svc, defaults, where)
    check_kubernetes_service(c, at, svc)


def check_service_clusters(c: Checker, at: Path, svc: dict, clusters: list[str]) -> list[str]:
    """Check services[].clusters; returns the known clusters where the Service exists."""
    listed = svc.get("clusters")
    if not isinstance(listed, list):
        return clusters
    if not listed:
        c.report("no-clusters", at + ("clusters",), "'clusters' is empty, so this Service exists nowhere; "
                 "list at least one cluster or remove the key to mean every cluster.")
    seen: set[str] = set()
    for j, name in enumerate(listed):
        if not isinstance(name, str):
            continue
        if name in seen:
            c.report("duplicate-cluster", at + ("clusters", j), f"cluster {name!r} is listed twice.")
        elif name not in clusters:
            c.report("unknown-cluster", at + ("clusters", j), _unknown_cluster(name, clusters))
        seen.add(name)
    return [n for n in clusters if n in seen]


def check_backends(c: Checker, at: Path, svc: dict, clusters: list[str], where: list[str]) -> None:
    """backends: clusters running the pods; Cilium exports endpoints only through the Service, so each
    must be a cluster where the Service exists. allowNoBackends names clusters where it exists too."""
    for j, name in _cluster_list(c, at + ("backends",), svc.get("backends"), clusters):
        if name not in where:
            c.report("backend-without-service", at + ("backends", j), f"{name!r} runs pods but the Service does "
                     "not exist there (see 'clusters'), so Cilium cannot export them; add it to 'clusters'.")
    for j, name in _cluster_list(c, at + ("allowNoBackends",), svc.get("allowNoBackends"), clusters):
        if name not in where:
            c.report("ignored-field", at + ("allowNoBackends", j), f"allowNoBackends lists {name!r}, where the "
                     "Service does not exist (see 'clusters'); remove it.")


def _cluster_list(c: Checker, at: Path, listed, clusters: list[str]):
    """The (index, name) of a list of cluster names that are known clusters; reports the unknown ones."""
    for j, name in enumerate(as_list(listed)):
        if not isinstance(name, str):
            continue
        if name not in clusters:
            c.report("unknown-cluster", at + (j,), _unknown_cluster(name, clusters))
        else:
            yield j, name


def check_overrides(c: Checker, at: Path, svc: dict, clusters: list[str], where: list[str]) -> None:
    for name in as_dict(svc.get("overrides")):
        key_at = at + ("overrides", name)
        if name not in clusters:
            c.report("unknown-cluster", key_at, _unknown_cluster(name, clusters), at_key=True)
        elif name not in where:
            c.report("unused-override", key_at, f"override for {name!r} has no effect: the Service does not "
                     "exist in that cluster (see 'clusters').", at_key=True)


def _unknown_cluster(name: str, clusters: list[str]) -> str:
    import difflib  # imported for a typo only: start-up pays nothing
    hint = difflib.get_close_matches(name, clusters, n=1)
    known = f"did you mean {hint[0]!r}?" if hint else f"known clusters: {', '.join(clusters) or 'none'}."
    return f"unknown cluster {name!r}; {known}"


def check_metadata_maps(c: Checker, at: Path, svc: dict) -> None:
    """Label and annotation keys/values as the API server accepts them; meshspec's own keys are reserved."""
    check_labels(c, at, as_dict(svc.get("labels")))
    annotations = as_dict(svc.get("annotations"))
    check_annotations(c, at, annotations)
    _check_size(c, at + ("annotations",), _strings(annotations))


def check_override_metadata(c: Checker, at: Path, svc: dict, where: list[str]) -> None:
    """overrides.<cluster>.labels and .annotations: the service-level rules, and no Cilium annotation at all,
    since global, shared and affinity are what may differ in Cilium's view of the copies. The size limit
    holds for each cluster's merged annotations."""
    base = _strings(as_dict(svc.get("annotations")))
    for name, override in as_dict(svc.get("overrides")).items():
        if not isinstance(override, dict):
            continue
        override_at = at + ("overrides", name)
        check_labels(c, override_at, as_dict(override.get("labels")))
        annotations = as_dict(override.get("annotations"))
        check_annotations(c, override_at, annotations, cluster=str(name))
        if annotations and name in where and _size(base) <= MAX_ANNOTATIONS_BYTES:
            _check_size(c, override_at + ("annotations",), {**base, **_strings(annotations)}, f" in {name}")


def check_labels(c: Checker, at: Path, labels: dict) -> None:
    for key, value in labels.items():
        if not isinstance(key, str) or not isinstance(value, str):
            continue
        path = at + ("labels", key)
        _check_qualified_name(c, path, key, "label")
        if key == MANAGED_BY_LABEL and value != MANAGED_BY:
            c.report("reserved-label", path, f"label {key!r} is set by meshspec to {MANAGED_BY!r}; remove it.",
                     at_key=True)
        if not is_label_value(value):
            c.report("label-value", path, f"label value {value!r} must be at most 63 letters, digits, '-', '_' or "
                     "'.', starting and ending with a letter or digit.")


def check_annotations(c: Checker, at: Path, annotations: dict, cluster: str | None = None) -> None:
    """`cluster`: the annotations are that cluster's override."""
    for key in annotations:
        if not isinstance(key, str):
            continue
        path = at + ("annotations", key)
        _check_qualified_name(c, path, key, "annotation")
        if key in OWNED:
            fields = f"overrides.{cluster}.global, shared and affinity" if cluster else \
                "the global, shared and affinity fields"
            c.report("reserved-annotation", path, f"annotation {key!r} is derived from {fields}; set those "
                     "instead.", at_key=True)
        elif cluster is not None and key.startswith(PREFIX):
            c.report("override-cilium-annotation", path, f"annotation {key!r} may not differ per cluster: of "
                     f"Cilium's annotations only global, shared and affinity do, set as overrides.{cluster}'s "
                     "fields of those names; set it in the service's own annotations, for every cluster.",
                     at_key=True)
        elif key.startswith(PREFIX) and key not in PASSED_THROUGH:
            import difflib
            hint = difflib.get_close_matches(key, [*PASSED_THROUGH, *OWNED[::2]], n=1)
            c.report("unknown-cilium-annotation", path, f"Cilium reads no annotation {key!r}"
                     + (f"; did you mean {hint[0]!r}?" if hint else "") + " It is passed through unchanged.",
                     at_key=True)


def _strings(mapping: dict) -> dict[str, str]:
    return {k: v for k, v in mapping.items() if isinstance(k, str) and isinstance(v, str)}


def _size(annotations: dict[str, str]) -> int:
    return sum(len(k) + len(v) for k, v in annotations.items())


def _check_size(c: Checker, at: Path, annotations: dict[str, str], where: str = "") -> None:
    total = _size(annotations)
    if total > MAX_ANNOTATIONS_BYTES:  # ValidateAnnotationsSize, apimachinery's TotalAnnotationSizeLimitB
        c.report("annotation-size", at, f"the annotations total {total:,} bytes{where}; Kubernetes "
                 f"allows at most {MAX_ANNOTATIONS_BYTES:,} (256 KiB) per object.", at_key=True)


def _check_qualified_name(c: Checker, path: Path, key: str, what: str) -> None:
    if not is_qualified_name(key):
        c.report(f"{what}-key", path, f"{what} key {key!r} is not a valid Kubernetes key: an optional DNS prefix "
                 "and '/', then at most 63 letters, digits, '-', '_' or '.'.", at_key=True)


def check_ignored_fields(c: Checker, at: Path, svc: dict, defaults: dict, where: list[str]) -> None:
    """shared/affinity where the Service is not global: Cilium ignores them
    (cilium-semantics.md section 1: "Ignored unless global is set")."""
    overrides = as_dict(svc.get("overrides"))
    base = (_placement_fields(defaults), _placement_fields(svc))
    global_without_override = resolve_placement(*base).is_global  # most clusters: resolved once, not per cluster
    inert_in: dict[Path, list[str]] = {}
    for cluster in where:
        override = as_dict(overrides.get(cluster))
        if global_without_override if not override else resolve_placement(*base, _placement_fields(override)).is_global:
            continue
        for key, inert in (("shared", True), ("affinity", "none")):
            source, path = (override, at + ("overrides", cluster, key)) if key in override else (svc, at + (key,))
            if key in source and source[key] != inert:
                inert_in.setdefault(path, []).append(cluster)
    for path, clusters in inert_in.items():
        value = get_in(svc, *path[len(at):])
        scope = "the Service is not global" if clusters == where and len(path) == len(at) + 1 \
            else f"the Service is not global in {', '.join(map(repr, clusters))}"
        c.report("ignored-field", path, f"'{path[-1]}: {yaml_text(value)}' has no effect: {scope}, and Cilium "
                 "ignores shared and affinity there.", at_key=True)


def _placement_fields(layer: dict) -> dict:
    """Only well-typed placement fields, so a wrong type reported elsewhere cannot crash this rule."""
    kinds = {"global": bool, "shared": bool, "affinity": str}
    return {k: v for k, v in layer.items() if k in kinds and isinstance(v, kinds[k])}


def check_duplicate_services(c: Checker, services: list[tuple[int, dict]]) -> None:
    seen: dict[tuple, int] = {}
    for i, svc in services:
        key = (svc.get("namespace", "default"), svc.get("name"))
        if not all(isinstance(k, str) for k in key):
            continue
        if key in seen:
            c.report("duplicate-service", ("spec", "services", i, "name"), f"service {key[0]}/{key[1]} is already "
                     f"defined at line {c.line_of(('spec', 'services', seen[key], 'name'))}; merge the two entries.")
        seen.setdefault(key, i)
