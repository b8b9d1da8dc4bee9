"""The Pulumi project around a spec: its Pulumi.yaml, stackConfigDir, and which clusters its stacks
deploy from the spec (meshspec:spec, meshspec:clusters, meshspec:renderDir), read as `pulumi up` would.
"""

from __future__ import annotations

import json
import os
from typing import Any

from ..diagnostics import Diagnostic, Path, diagnostic
from ..record import record, replace
from .load import Document, LoadError, load_file
from .model import Mesh

PROJECT_FILES = ("Pulumi.yaml", "Pulumi.yml")  # a stack file takes its project file's extension


_LOAD_MESSAGES = {
    "multiple-documents": "the file holds several YAML documents; Pulumi reads one.",
    "not-a-mapping": "the top level is not a mapping; a Pulumi file is a mapping (a stack file has a 'config' key).",
}


SPEC_KEY, CLUSTERS_KEY, RENDER_DIR_KEY = "meshspec:spec", "meshspec:clusters", "meshspec:renderDir"


def stack_file_name(stack: str, ext: str = ".yaml") -> str:
    return f"Pulumi.{stack}{ext}"


def find_project(start_dir: str) -> str | None:
    """The nearest directory at or above start_dir holding a Pulumi project file (absolute), or None."""
    directory = os.path.abspath(start_dir)
    while project_file(directory) is None:
        parent = os.path.dirname(directory)
        if parent == directory:
            return None
        directory = parent
    return directory


def project_file(directory: str) -> str | None:
    return next((p for p in (os.path.join(directory, n) for n in PROJECT_FILES) if os.path.isfile(p)), None)


def stack_config_dir(project_dir: str) -> str:
    """Where the project's stack files are: stackConfigDir from the project file, else the project dir.
    Raises LoadError (located) when the project file is malformed, or on a project dir without one."""
    file = project_file(project_dir)
    if file is None:
        raise LoadError(diagnostic("stack-config", f"no {' or '.join(PROJECT_FILES)} in {project_dir}",
                                   project_dir, 1, 1))
    doc = _load(file)
    if doc is None:
        return project_dir
    configured = doc.data.get("stackConfigDir")
    if configured is not None and not isinstance(configured, str):
        raise LoadError(doc.diagnostic("stack-config", ("stackConfigDir",),
                                       "stackConfigDir must be a folder path (a string)."))
    return os.path.normpath(os.path.join(project_dir, configured)) if configured else project_dir


def _load(file: str) -> Document | None:
    """A Pulumi YAML file; None when empty. Raises LoadError with messages about Pulumi, not mesh specs."""
    try:
        return load_file(file)
    except LoadError as exc:
        if exc.diagnostic.code == "empty-file":
            return None
        d = exc.diagnostic
        raise LoadError(replace(d, message=_LOAD_MESSAGES.get(d.code, d.message))) from None


@record(frozen=False)
class Stack:
    """One Pulumi stack file of the project: its name, document and config."""
    name: str
    doc: Document
    config: dict


def deployed_clusters(mesh: Mesh, spec_file: str, project: str) -> tuple[set[str], list[Diagnostic]]:
    """The clusters that `pulumi up` of the project's stacks deploys from spec_file (stacks that only
    render to files deploy nothing), and the problems of those stack files. Raises LoadError when the
    project file itself is malformed."""
    deploying, diagnostics = deploying_stacks(mesh, spec_file, project)
    return {cluster for _, clusters in deploying for cluster in clusters}, diagnostics


def deploying_stacks(mesh: Mesh, spec_file: str, project: str) -> tuple[list[tuple[str, list[str]]], list[Diagnostic]]:
    """(stack name, the clusters its `pulumi up` deploys) for each stack of the project that deploys
    spec_file to at least one cluster, by name, and the problems of the stack files. Stacks that only
    render to files (meshspec:renderDir) deploy nothing. Raises LoadError as deployed_clusters does."""
    stacks, diagnostics = stacks_of(spec_file, project)
    deploying = []
    for stack in stacks:
        clusters = [name for name, _ in stack_clusters(mesh, stack, diagnostics)]
        if clusters and not stack.config.get(RENDER_DIR_KEY):
            deploying.append((stack.name, clusters))
    return deploying, diagnostics


def stacks_of(spec_file: str, project: str) -> tuple[list[Stack], list[Diagnostic]]:
    """The stacks whose meshspec:spec is spec_file, by stack name, and the problems of stack files."""
    config_dir = stack_config_dir(project)
    ext = os.path.splitext(project_file(project) or "")[1]
    try:
        names = sorted(n[len("Pulumi."):-len(ext)] for n in os.listdir(config_dir)
                       if n.startswith("Pulumi.") and n.endswith(ext) and len(n) > len("Pulumi.") + len(ext))
    except OSError:
        return [], []
    spec_stat = os.stat(spec_file)
    stacks: list[Stack] = []
    diagnostics: list[Diagnostic] = []
    for name in names:
        file = os.path.join(config_dir, stack_file_name(name, ext))
        try:
            doc = _load(file)
        except LoadError as exc:
            diagnostics.append(replace(exc.diagnostic, message=exc.diagnostic.message +
                                       " Pulumi cannot use this stack, and meshspec cannot tell what it deploys."))
            continue
        config = doc.data.get("config") if doc else None
        if config is None:
            continue  # no config here; its settings may come from a Pulumi ESC environment
        if not isinstance(config, dict):
            diagnostics.append(doc.diagnostic("stack-config", ("config",),
                                              "config must be a mapping of configuration keys."))
            continue
        spec = config.get(SPEC_KEY)
        if spec is None:
            continue
        if not isinstance(spec, str):
            diagnostics.append(doc.diagnostic("stack-config", ("config", SPEC_KEY),
                                              f"{SPEC_KEY} must be the spec's path (a string)."))
            continue
        if _is_file(os.path.join(project, spec), spec_stat):
            diagnostics.extend(p for p in doc.problems if p.is_error)
            stacks.append(Stack(name, doc, config))
    return stacks, diagnostics


def _is_file(path: str, stat: os.stat_result) -> bool:
    try:
        return os.path.samestat(os.stat(path), stat)
    except OSError:
        return False


def stack_clusters(mesh: Mesh, stack: Stack, diagnostics: list[Diagnostic]) -> list[tuple[str, Path]]:
    """The clusters stack deploys, each with where it is written; reports a malformed or unknown entry."""
    known = [c.name for c in mesh.clusters]
    at: Path = ("config", CLUSTERS_KEY)
    if CLUSTERS_KEY not in stack.config:
        return [(name, ("config", SPEC_KEY)) for name in known]
    value = stack.config[CLUSTERS_KEY]
    paths: list[Path] = [at + (i,) for i in range(len(value))] if isinstance(value, list) else []
    if isinstance(value, str):
        # `pulumi config set meshspec:clusters '["a"]'` stores a string, which the program reads as JSON.
        value = _json(value)
        paths = [at] * len(value) if isinstance(value, list) else []
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        diagnostics.append(stack.doc.diagnostic(
            "stack-config", at, f"{CLUSTERS_KEY} must be a non-empty list of cluster names, "
            f"e.g. [{known[0] if known else 'cluster-a'}]; leave it unset to deploy every cluster of the spec."))
        return []
    clusters = []
    for name, path in zip(value, paths):
        if name in known:
            clusters.append((name, path))
            continue
        import difflib  # imported for a typo only: start-up pays nothing
        hint = difflib.get_close_matches(name, known, n=1)
        diagnostics.append(stack.doc.diagnostic(
            "stack-unknown-cluster", path,
            f"unknown cluster {name!r} in {CLUSTERS_KEY}; "
            + (f"did you mean {hint[0]!r}?" if hint else f"mesh {mesh.name!r} has: {', '.join(known)}.")))
    return clusters


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text
