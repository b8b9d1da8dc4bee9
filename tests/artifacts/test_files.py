"""Files on disk: layout, byte-stable output, stale-file cleanup, and Kubernetes' strict schema."""

import os

import kubernetes_validate
import pytest
import yaml

from meshspec.artifacts.files import HEADER, TreeChanges, plan_tree, render_files, write_tree
from meshspec.spec.check import check_file


@pytest.fixture
def example_mesh():
    mesh, diagnostics = check_file("examples/mesh.yaml")
    assert not diagnostics
    return mesh


def tree(root):
    out = {}
    for folder, _, names in os.walk(root):
        for name in names:
            path = os.path.join(folder, name)
            with open(path, "rb") as fh:
                out[os.path.relpath(path, root)] = fh.read()
    return out


def test_layout_is_one_folder_per_cluster_with_a_kustomization(example_mesh, tmp_path):
    write_tree(render_files(example_mesh), str(tmp_path))
    assert sorted(os.listdir(tmp_path)) == ["cluster-a", "cluster-b", "cluster-c"]
    assert sorted(os.listdir(tmp_path / "cluster-b")) == [
        "cilium-values.yaml", "kustomization.yaml", "namespace.monitoring.yaml", "namespace.shop.yaml",
        "service.default.myapp-service.yaml", "service.monitoring.metrics.yaml",
        "service.shop.checkout.yaml", "service.shop.inventory.yaml"]
    kustomization = yaml.safe_load((tmp_path / "cluster-a" / "kustomization.yaml").read_text())
    assert kustomization == {"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization",
                             "resources": ["namespace.monitoring.yaml", "namespace.shop.yaml",
                                           "service.default.myapp-service.yaml", "service.monitoring.metrics.yaml",
                                           "service.shop.checkout.yaml"]}


def test_a_namespace_per_used_namespace_but_default_and_never_pruned(example_mesh, tmp_path):
    write_tree(render_files(example_mesh), str(tmp_path))
    namespace = yaml.safe_load((tmp_path / "cluster-a" / "namespace.shop.yaml").read_text())
    assert namespace == {"apiVersion": "v1", "kind": "Namespace", "metadata": {
        "name": "shop", "labels": {"app.kubernetes.io/managed-by": "meshspec"},
        # Deleting a Namespace deletes all in it: neither GitOps tool may prune it.
        "annotations": {"argocd.argoproj.io/sync-options": "Prune=false",
                        "kustomize.toolkit.fluxcd.io/prune": "disabled"}}}
    assert not (tmp_path / "cluster-a" / "namespace.default.yaml").exists()  # always there


def test_namespaces_create_false_renders_none(spec_file, tmp_path):
    text = open("examples/mesh.yaml").read().replace("spec:\n", "spec:\n  namespaces: {create: false}\n", 1)
    mesh, diagnostics = check_file(spec_file(text))
    assert mesh is not None and not [d for d in diagnostics if d.severity == "error"]
    write_tree(render_files(mesh), str(tmp_path))
    assert not [name for name in os.listdir(tmp_path / "cluster-a") if name.startswith("namespace.")]


def test_rendering_twice_is_byte_identical(example_mesh, tmp_path):
    write_tree(render_files(example_mesh), str(tmp_path / "one"))
    mesh_again, _ = check_file("examples/mesh.yaml")
    counts = write_tree(render_files(mesh_again), str(tmp_path / "two"))
    assert tree(tmp_path / "one") == tree(tmp_path / "two")
    assert write_tree(render_files(mesh_again), str(tmp_path / "two")) == {
        "written": 0, "unchanged": counts["written"], "removed": 0}


def test_every_file_is_marked_generated_and_parses(example_mesh):
    for files in render_files(example_mesh).values():
        for content in files.values():
            assert content.startswith(HEADER.encode())
            assert yaml.safe_load(content)


def test_every_rendered_object_passes_kubernetes_validate_strict(example_mesh):
    version = kubernetes_validate.latest_version()
    for files in render_files(example_mesh).values():
        for name, content in files.items():
            if name not in ("kustomization.yaml", "cilium-values.yaml"):
                kubernetes_validate.validate(yaml.safe_load(content), version, strict=True)


def test_stale_files_are_removed_and_foreign_files_kept(example_mesh, spec_file, tmp_path):
    out = tmp_path / "out"
    write_tree(render_files(example_mesh), str(out))
    (out / "cluster-a" / "my-notes.yaml").write_text("kind: ConfigMap\n")  # the user's own file
    (out / "README.md").write_text("hand written\n")
    (out / "old-cluster").mkdir()
    (out / "old-cluster" / "service.default.gone.yaml").write_text(HEADER + "kind: Service\n")
    smaller, _ = check_file(spec_file(open("examples/mesh.yaml").read().replace(
        "  clusters:\n    - name: cluster-a", "  clusters:\n    - name: cluster-x")
        .replace("cluster-a: {shared: false}", "cluster-x: {shared: false}")))
    counts = write_tree(render_files(smaller), str(out))
    assert sorted(os.listdir(out)) == ["README.md", "cluster-a", "cluster-b", "cluster-c", "cluster-x"]
    assert os.listdir(out / "cluster-a") == ["my-notes.yaml"]  # ours removed, the user's kept
    assert not (out / "old-cluster").exists()  # only our file was in it
    # cluster-a's 3 Services, 2 Namespaces, kustomization and Cilium values; old-cluster's file
    assert counts["removed"] == 8


def test_removed_service_disappears_from_folder_and_kustomization(example_mesh, spec_file, tmp_path):
    write_tree(render_files(example_mesh), str(tmp_path))
    text = open("examples/mesh.yaml").read()
    start = text.index("    # A plain, cluster-local Service")
    mesh, diagnostics = check_file(spec_file(text[:start]))
    assert not [d for d in diagnostics if d.is_error]
    write_tree(render_files(mesh), str(tmp_path))
    assert not (tmp_path / "cluster-a" / "service.monitoring.metrics.yaml").exists()
    assert "metrics" not in (tmp_path / "cluster-a" / "kustomization.yaml").read_text()


def test_cilium_values_are_rendered_only_when_the_spec_sets_up_cluster_mesh(spec_file):
    from tests.support.specs import VALID_SPEC

    mesh, _ = check_file(spec_file(VALID_SPEC))
    assert all("cilium-values.yaml" not in files for files in render_files(mesh).values())
    mesh, _ = check_file(spec_file(VALID_SPEC.replace("spec:\n  clusters:", "spec:\n  cilium: {version: '1.18'}\n  clusters:")))
    assert all("cilium-values.yaml" not in files for files in render_files(mesh).values())


# --- ownership: render writes and removes only what it wrote (README, "Render") ---------------------

def _render(out, *extra):
    from meshspec.cli import main

    return main(["render", "examples/mesh.yaml", "-o", str(out), *extra])


def _snapshot(folder):
    return {str(p.relative_to(folder)): (p.is_symlink(), p.read_bytes() if p.is_file() and not p.is_symlink() else None)
            for p in sorted(folder.rglob("*"))}


def test_a_hand_written_file_at_a_rendered_name_blocks_the_render(tmp_path, capsys):
    out = tmp_path / "out"
    (out / "cluster-a").mkdir(parents=True)
    (out / "cluster-a" / "kustomization.yaml").write_text("resources: [mine.yaml]\n")
    before = _snapshot(out)
    assert _render(out) == 1
    err = capsys.readouterr().err
    assert f"{out}/cluster-a/kustomization.yaml:1:1: error: this file has no meshspec header" in err
    assert "[render-blocked]" in err and "nothing rendered" in err
    assert _snapshot(out) == before  # nothing written anywhere, not even the other clusters


def test_render_never_writes_through_a_symlink(tmp_path, capsys):
    outside = tmp_path / "outside.yaml"
    outside.write_text(HEADER + "mine: true\n")  # even a file with our header, once it lies elsewhere
    out = tmp_path / "out"
    (out / "cluster-a").mkdir(parents=True)
    (out / "cluster-a" / "kustomization.yaml").symlink_to(outside)
    assert _render(out) == 1
    assert "a symlink is here" in capsys.readouterr().err
    assert outside.read_text() == HEADER + "mine: true\n"


def test_a_symlinked_cluster_folder_is_not_written_into(tmp_path, capsys):
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    (out / "cluster-b").symlink_to(elsewhere, target_is_directory=True)
    assert _render(out) == 1
    assert f"{out}/cluster-b:1:1: error: a symlink or a file is here" in capsys.readouterr().err
    assert list(elsewhere.iterdir()) == []


def test_a_file_where_a_cluster_folder_goes_is_reported_not_a_crash(tmp_path, capsys):
    out = tmp_path / "out"
    out.mkdir()
    (out / "cluster-c").write_text("notes\n")
    assert _render(out) == 1
    assert f"{out}/cluster-c:1:1: error:" in capsys.readouterr().err
    assert (out / "cluster-c").read_text() == "notes\n"


def test_an_output_folder_under_a_file_is_reported(tmp_path, capsys):
    (tmp_path / "file").write_text("x")
    assert _render(tmp_path / "file" / "out") == 1
    assert f"{tmp_path / 'file'}:1:1: error: this is a file, so the output folder cannot be made" \
        in capsys.readouterr().err


def test_empty_folders_the_user_made_are_kept_and_symlinked_stale_files_not_followed(tmp_path):
    out = tmp_path / "out"
    assert _render(out) == 0
    (out / "my-empty-folder").mkdir()
    (out / "cluster-a" / "empty-too").mkdir()
    outside = tmp_path / "ours-elsewhere.yaml"
    outside.write_text(HEADER + "kind: Service\n")
    (out / "cluster-a" / "service.default.linked.yaml").symlink_to(outside)
    assert _render(out) == 0
    assert (out / "my-empty-folder").is_dir() and (out / "cluster-a" / "empty-too").is_dir()
    assert (out / "cluster-a" / "service.default.linked.yaml").is_symlink() and outside.exists()


def test_no_temporary_file_is_left_behind(tmp_path):
    out = tmp_path / "out"
    assert _render(out) == 0
    assert not [p for p in out.rglob("*") if p.name.startswith(".meshspec-")]


# --- plan_tree (render --check) -------------------------------------------------------------------

def test_plan_of_a_fresh_render_is_empty_and_writes_nothing(example_mesh, tmp_path):
    out = tmp_path / "out"
    files = render_files(example_mesh)
    assert plan_tree(files, str(out)).added == tuple(sorted(f"{c}/{n}" for c, fs in files.items() for n in fs))
    assert not out.exists()
    write_tree(files, str(out))
    before = tree(out)
    assert plan_tree(files, str(out)) == TreeChanges() and not plan_tree(files, str(out))
    assert tree(out) == before


def test_plan_names_what_write_tree_would_change_add_and_remove(example_mesh, spec_file, tmp_path):
    """The same cases as test_stale_files_are_removed_and_foreign_files_kept: the plan and the write agree."""
    out = tmp_path / "out"
    write_tree(render_files(example_mesh), str(out))
    (out / "cluster-a" / "my-notes.yaml").write_text("kind: ConfigMap\n")
    (out / "old-cluster").mkdir()
    (out / "old-cluster" / "service.default.gone.yaml").write_text(HEADER + "kind: Service\n")
    (out / "cluster-b" / "service.shop.inventory.yaml").write_text(HEADER + "edited by hand\n")
    (out / "cluster-c" / "service.shop.checkout.yaml").unlink()
    files = render_files(example_mesh)
    plan = plan_tree(files, str(out))
    assert plan == TreeChanges(added=("cluster-c/service.shop.checkout.yaml",),
                               changed=("cluster-b/service.shop.inventory.yaml",),
                               removed=("old-cluster/service.default.gone.yaml",))
    counts = write_tree(files, str(out))
    assert (counts["written"], counts["removed"]) == (len(plan.added) + len(plan.changed), len(plan.removed))
    assert plan_tree(files, str(out)) == TreeChanges()


def test_clusters_of_one_placement_with_different_overrides_get_their_own_files():
    from meshspec.artifacts.files import to_yaml
    from meshspec.artifacts.manifests import render_cluster

    # aws-east and gke-west resolve to the same placement, and their overrides' annotations differ.
    mesh, _ = check_file("examples/mixed-cloud.yaml")
    assert mesh.services[0].placements["aws-east"] == mesh.services[0].placements["gke-west"]
    files = render_files(mesh)
    for cluster in ("aws-east", "gke-west", "onprem"):
        [obj] = render_cluster(mesh, cluster)
        assert files[cluster]["service.shop.web.yaml"] == (HEADER + to_yaml(obj)).encode()
    assert b"aws-load-balancer-type" not in files["gke-west"]["service.shop.web.yaml"]
