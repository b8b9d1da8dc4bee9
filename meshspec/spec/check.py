"""The one way to check a mesh spec: every command, and the Pulumi program, goes through here.

load (positions) -> structure (types) -> checks (Cilium's and Kubernetes' rules) -> the typed Mesh ->
routing checks from the engine -> optionally, the Pulumi stacks that deploy the spec. The Mesh is
None whenever there is an error.
"""

from __future__ import annotations

from ..diagnostics import Diagnostic, has_errors, unique_sorted
from .checks import Checker
from .checks.mesh import check_rules
from .checks.mcs import check_mcs
from .checks.routing import check_routing
from .load import Document, LoadError, decode, load_file, load_spec_text
from .model import Mesh, build_mesh
from .structure import check_structure

Checked = tuple[Mesh | None, list[Diagnostic]]


def check_file(file: str, stacks: bool = False) -> Checked:
    """Load and check a spec file; with `stacks`, also the Pulumi stacks around it that deploy it."""
    try:
        doc = load_file(file)
    except LoadError as exc:
        return None, [exc.diagnostic]
    mesh, diagnostics = check_document(doc)
    if mesh is not None and stacks:
        from .checks.stacks import check_stack_coverage  # only specs in a Pulumi project pay for it

        diagnostics = unique_sorted(diagnostics + check_stack_coverage(mesh, file))
        if has_errors(diagnostics):
            mesh = None
    return mesh, diagnostics


def check_bytes(raw: bytes, label: str) -> Checked:
    """A spec that is not in a file (`git show`), named `label` in diagnostics; no stacks are checked."""
    try:
        doc = load_spec_text(decode(raw, label), label)
    except LoadError as exc:
        return None, [exc.diagnostic]
    return check_document(doc)


def check_document(doc: Document) -> Checked:
    checker = Checker(doc, list(doc.problems))
    check_structure(doc.data, checker.report)
    check_rules(checker, doc.data)
    if has_errors(checker.diagnostics):
        return None, unique_sorted(checker.diagnostics)
    mesh = build_mesh(doc.data)
    check_routing(checker, mesh)  # may find an error too: clients with no backend (no-backends)
    check_mcs(checker, mesh)
    return (None if has_errors(checker.diagnostics) else mesh), unique_sorted(checker.diagnostics)
