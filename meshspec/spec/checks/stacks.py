"""The Pulumi stacks that deploy a spec must deploy each of its clusters exactly once."""

from __future__ import annotations

import os

from ...diagnostics import Diagnostic, diagnostic, format_path, unique_sorted
from ..load import Document, LoadError, Position, load_file
from ..model import Mesh
from ..project import (CLUSTERS_KEY, RENDER_DIR_KEY, SPEC_KEY, Stack, find_project, project_file, stack_clusters,
                       stack_file_name, stacks_of)

def check_stack_coverage(mesh: Mesh, spec_file: str, project_dir: str | None = None) -> list[Diagnostic]:
    """Check that the stacks of the Pulumi project around spec_file deploy each cluster exactly once.

    Only stacks whose meshspec:spec is spec_file count, and among them not those with meshspec:renderDir
    (they write files and deploy nothing). No Pulumi project, or no stack deploying this spec (a spec
    rendered for GitOps, say): no check. Stack file paths are shown relative to the current directory
    when spec_file is relative.
    """
    project = project_dir if project_dir is not None else find_project(os.path.dirname(os.path.abspath(spec_file)))
    if project is None or project_file(project) is None:
        return []
    if not os.path.isabs(spec_file):
        project = os.path.relpath(project)
    try:
        stacks, diagnostics = stacks_of(spec_file, project)
    except LoadError as exc:
        return [exc.diagnostic]
    deployed: dict[str, Stack] = {}  # cluster -> the first stack (by name) deploying it
    deploying: list[str] = []
    for stack in stacks:
        clusters = stack_clusters(mesh, stack, diagnostics)
        if stack.config.get(RENDER_DIR_KEY):
            continue
        deploying.append(stack.name)
        for cluster, path in clusters:
            first = deployed.setdefault(cluster, stack)
            if first is not stack:
                diagnostics.append(stack.doc.diagnostic(
                    "stack-overlap", path,
                    f"cluster {cluster!r} is deployed by stack {first.name!r} ({first.doc.file}) and by stack "
                    f"{stack.name!r}: both would manage the same Services, and destroying either deletes them "
                    "from the cluster. Deploy each cluster from one stack.", at_key=path[-1] == SPEC_KEY))
    if deploying:
        diagnostics.extend(_missing(mesh, spec_file, [c.name for c in mesh.clusters if c.name not in deployed],
                                    deploying))
    return unique_sorted(diagnostics)


def _missing(mesh: Mesh, spec_file: str, missing: list[str], stacks: list[str]) -> list[Diagnostic]:
    """A warning per cluster no stack deploys, at the cluster's name in the spec: that is where the
    cluster was added, and the stack file that would fix it does not exist yet to point at."""
    if not missing:
        return []
    try:
        doc: Document | None = load_file(spec_file)  # only now: the common case needs no second parse
    except LoadError:
        doc = None
    index = {c.name: i for i, c in enumerate(mesh.clusters)}
    result = []
    for name in missing:
        path = ("spec", "clusters", index[name], "name")
        pos = doc.position(path) if doc else Position(1, 1)
        result.append(diagnostic(
            "stack-missing-cluster",
            f"no Pulumi stack deploys cluster {name!r} (stacks deploying this spec: {', '.join(stacks) or 'none'}); "
            f"add {stack_file_name(name)} with `meshspec stacks`, or add the cluster to a stack's {CLUSTERS_KEY}.",
            spec_file, pos.line, pos.column, format_path(path)))
    return result
