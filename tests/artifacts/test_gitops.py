"""spec.gitops: the Argo CD ApplicationSet and Flux Kustomizations `meshspec render` writes, read as Argo CD
and Flux would: against extracts of their CRDs' schemas (fixtures/crds/SOURCES.md), with the
ApplicationSet's template expanded for each element as its Go-template list generator does."""

import copy
import json
import re

import jsonschema
import pytest
import yaml

from meshspec.artifacts.files import HEADER, plan_tree, render_files, write_tree
from meshspec.artifacts.gitops import GITOPS_FOLDER, gitops_files
from meshspec.k8s.names import is_dns1123_label
from meshspec.spec.check import check_file
from tests.support import ROOT

FIXTURES = ROOT / "tests" / "artifacts" / "fixtures"
SPEC = FIXTURES / "gitops" / "mesh.yaml"


def crd_schema(name):
    schema = json.loads((FIXTURES / "crds" / name).read_text())
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


@pytest.fixture(scope="module")
def mesh():
    mesh, diagnostics = check_file(str(SPEC))
    assert mesh is not None and not diagnostics, diagnostics
    return mesh


@pytest.fixture(scope="module")
def written(mesh, tmp_path_factory):
    """The render as a user commits it: the folder `meshspec render` wrote, read back from disk."""
    out = tmp_path_factory.mktemp("render") / "deploy" / "rendered"
    write_tree({**render_files(mesh), **gitops_files(mesh)}, str(out))
    return out


def documents(path):
    text = path.read_text()
    assert text.startswith(HEADER)
    return yaml.safe_load(text)


def expand(template, element):
    """Argo CD's Go templating with missingkey=error, for the `{{.key}}` form the ApplicationSet uses."""
    def value(node):
        if isinstance(node, dict):
            return {k: value(v) for k, v in node.items()}
        if isinstance(node, list):
            return [value(v) for v in node]
        if isinstance(node, str):
            return re.sub(r"\{\{\s*\.(\w+)\s*\}\}", lambda m: element[m.group(1)], node)  # KeyError = missingkey
        return node
    return value(template)


def test_the_applicationset_is_valid_against_its_crd(written):
    appset = documents(written / GITOPS_FOLDER / "argocd-applicationset.yaml")
    assert (appset["apiVersion"], appset["kind"]) == ("argoproj.io/v1alpha1", "ApplicationSet")
    assert [e.message for e in crd_schema("argocd-applicationset-v1alpha1.schema.json").iter_errors(appset)] == []
    assert is_dns1123_label(appset["metadata"]["name"]) and appset["metadata"]["namespace"] == "argocd"


def test_each_generated_application_points_its_cluster_at_its_folder(mesh, written):
    appset = documents(written / GITOPS_FOLDER / "argocd-applicationset.yaml")
    spec = appset["spec"]
    assert spec["goTemplate"] is True and spec["goTemplateOptions"] == ["missingkey=error"]
    [generator] = spec["generators"]
    applications = [expand(spec["template"], element) for element in generator["list"]["elements"]]
    template_schema = crd_schema("argocd-applicationset-v1alpha1.schema.json").schema["properties"]["spec"][
        "properties"]["template"]
    repository = written.parent.parent  # the render was written at deploy/rendered of this "repository"
    assert [a["metadata"]["name"] for a in applications] == ["meshspec-demo-cluster-a", "meshspec-demo-cluster-b"]
    for application, cluster in zip(applications, mesh.clusters):
        jsonschema.validate(application, template_schema, cls=jsonschema.Draft202012Validator)
        assert is_dns1123_label(application["metadata"]["name"])
        assert application["spec"]["destination"] == {"name": cluster.context}
        source = application["spec"]["source"]
        assert source == {"repoURL": "https://git.example.com/platform/mesh.git", "targetRevision": "main",
                          "path": f"deploy/rendered/{cluster.name}"}
        assert (repository / source["path"] / "kustomization.yaml").is_file()
        assert application["spec"]["project"] == "platform"
        assert application["spec"]["syncPolicy"]["automated"] == {"prune": False, "selfHeal": True}


def test_one_flux_kustomization_per_cluster_valid_against_its_crd(mesh, written):
    validator = crd_schema("flux-kustomization-v1.schema.json")
    repository = written.parent.parent
    for cluster in mesh.clusters:
        kustomization = documents(written / GITOPS_FOLDER / f"flux-kustomization.{cluster.name}.yaml")
        assert [e.message for e in validator.iter_errors(kustomization)] == []
        assert (kustomization["apiVersion"], kustomization["kind"]) == ("kustomize.toolkit.fluxcd.io/v1", "Kustomization")
        assert kustomization["metadata"] == {"name": "meshspec-demo", "namespace": "flux-system",
                                             "labels": {"app.kubernetes.io/managed-by": "meshspec"}}
        spec = kustomization["spec"]
        assert spec == {"interval": "5m", "path": f"./deploy/rendered/{cluster.name}", "prune": False,
                        "sourceRef": {"kind": "GitRepository", "name": "mesh"}}
        assert (repository / spec["path"] / "kustomization.yaml").is_file()


def test_the_crd_extracts_reject_misplaced_fields():
    """The extracts are strict where meshspec writes: a typo or a field in the wrong place fails."""
    flux = crd_schema("flux-kustomization-v1.schema.json")
    good = {"apiVersion": "kustomize.toolkit.fluxcd.io/v1", "kind": "Kustomization", "metadata": {"name": "x"},
            "spec": {"interval": "10m", "prune": True, "sourceRef": {"kind": "GitRepository", "name": "x"}}}
    assert flux.is_valid(good)
    for broken in ({"intervall": "10m"}, {"interval": "ten minutes"}, {"sourceRef": {"kind": "Git", "name": "x"}}):
        bad = copy.deepcopy(good)
        bad["spec"].update(broken)
        assert not flux.is_valid(bad), broken
    appset = crd_schema("argocd-applicationset-v1alpha1.schema.json")
    assert not appset.is_valid({"metadata": {}, "spec": {"generators": [], "template": {"metadata": {}, "spec": {
        "project": "p", "destination": {"cluster": "x"}}}}})


def test_without_spec_gitops_nothing_is_written_and_a_render_removes_old_gitops_files(mesh, spec_file, tmp_path):
    plain, _ = check_file("examples/mesh.yaml")
    assert gitops_files(plain) == {}
    out = tmp_path / "out"
    write_tree({**render_files(mesh), **gitops_files(mesh)}, str(out))
    without = SPEC.read_text().split("  gitops:")[0] + "  clusters:" + SPEC.read_text().split("  clusters:")[1]
    smaller, _ = check_file(spec_file(without))
    assert smaller.gitops is None
    files = {**render_files(smaller), **gitops_files(smaller)}
    assert plan_tree(files, str(out)).removed == (
        "_gitops/argocd-applicationset.yaml", "_gitops/flux-kustomization.cluster-a.yaml",
        "_gitops/flux-kustomization.cluster-b.yaml")
    write_tree(files, str(out))
    assert not (out / GITOPS_FOLDER).exists()


def test_only_the_tools_asked_for_are_written(spec_file):
    text = SPEC.read_text()
    argocd_only, _ = check_file(spec_file(re.sub(r"    flux:\n(      .*\n)+", "", text)))
    assert list(gitops_files(argocd_only)[GITOPS_FOLDER]) == ["argocd-applicationset.yaml"]


@pytest.mark.parametrize("change, message", [
    (("path: deploy/rendered", "path: /deploy/rendered"),
     "'path' is '/deploy/rendered'; write a path from the repository root, such as rendered, with no leading or "
     "trailing '/'."),
    (("interval: 5m", "interval: 5 minutes"), "'interval' is '5 minutes'; write a duration such as 10m, 1h or 90s."),
    (("      repoURL: https://git.example.com/platform/mesh.git\n", ""), "missing required key 'repoURL'."),
])
def test_bad_gitops_settings_are_located_errors(spec_file, change, message):
    mesh, diagnostics = check_file(spec_file(SPEC.read_text().replace(*change)))
    assert mesh is None
    assert [d.message for d in diagnostics] == [message]


def test_gitops_without_argocd_or_flux_is_a_warning(spec_file):
    text = re.sub(r"    (argocd|flux):\n(      .*\n)+", "", SPEC.read_text())
    mesh, diagnostics = check_file(spec_file(text))
    assert mesh is not None and gitops_files(mesh) == {}
    assert [(d.code, d.line, d.message) for d in diagnostics] == [(
        "ignored-field", 7, "spec.gitops names neither argocd nor flux, so render writes no GitOps objects; add "
        "one of them, or remove spec.gitops.")]
