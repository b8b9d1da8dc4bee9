"""The Pulumi program under mocks: what a user would see registered and exported per cluster.

No provider logic runs under mocks, so these tests check what the program hands the engine:
providers, Service inputs exactly as the provider would receive them, and stack outputs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Callable

import pulumi
import pytest
import yaml
from pulumi.runtime.mocks import MockMonitor, MockResourceArgs

from meshspec.deploy import deploy, run
from meshspec.model import Mesh, build_mesh
from meshspec.render import SHARED, render_cluster

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = Path(__file__).resolve().parent / "fixtures" / "deploy"
EXAMPLE = ROOT / "examples" / "mesh.yaml"
PROVIDER = "pulumi:providers:kubernetes"
SERVICE = "kubernetes:core/v1:Service"


class Recorder(pulumi.runtime.Mocks):
    """Records every resource registration; state echoes the inputs."""

    def __init__(self) -> None:
        self.registered: list[MockResourceArgs] = []

    def new_resource(self, args: MockResourceArgs) -> tuple[str, dict]:
        self.registered.append(args)
        return f"{args.name}_id", dict(args.inputs)

    def call(self, args: Any) -> dict:
        raise NotImplementedError(f"unexpected invoke {args.token}")

    def of_type(self, typ: str) -> dict[str, MockResourceArgs]:
        return {r.name: r for r in self.registered if r.typ == typ}

    def providers(self) -> dict[str, MockResourceArgs]:
        return self.of_type(PROVIDER)

    def services(self) -> dict[str, MockResourceArgs]:
        return self.of_type(SERVICE)


@pytest.fixture
def mocks():
    recorder = Recorder()
    pulumi.runtime.reset_options()  # a new root Stack, so exports do not leak between tests
    pulumi.runtime.set_mocks(recorder, project="meshspec", stack="test", preview=False,
                             monitor=MockMonitor(recorder))
    yield recorder
    pulumi.runtime.set_all_config({})


def execute(program: Callable[[], Any]) -> Any:
    """Run `program` as a Pulumi program and wait until every registration has completed."""
    result: dict[str, Any] = {}

    @pulumi.runtime.test
    def _program() -> None:
        result["value"] = program()

    _program()
    return result.get("value")


def load_mesh(path: Path) -> Mesh:
    return build_mesh(yaml.safe_load(path.read_text()))


def set_config(**values: Any) -> None:
    pulumi.runtime.set_all_config({
        f"meshspec:{k}": v if isinstance(v, str) else json.dumps(v) for k, v in values.items()})


def exports() -> dict[str, Any]:
    return pulumi.runtime.get_root_resource().outputs  # type: ignore[union-attr]


def provider_name(ref: str) -> str:
    """'urn:...::<name>::<id>' -> '<name>'"""
    return ref.split("::")[-2]


# --- deploy() -------------------------------------------------------------------------------------

def test_one_provider_per_cluster_named_after_it(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    providers = mocks.providers()
    assert sorted(providers) == ["cluster-a", "cluster-b", "cluster-c"]
    for name, provider in providers.items():
        assert provider.inputs["context"] == f"kind-{name}"
        assert provider.inputs["clusterIdentifier"] == name
        assert "renderYamlToDirectory" not in provider.inputs


def test_every_service_is_registered_on_its_own_cluster_provider(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE)))
    services = mocks.services()
    assert sorted(services) == sorted([
        "cluster-a/default/myapp-service", "cluster-a/shop/checkout", "cluster-a/monitoring/metrics",
        "cluster-b/default/myapp-service", "cluster-b/shop/checkout", "cluster-b/shop/inventory",
        "cluster-b/monitoring/metrics",
        "cluster-c/default/myapp-service", "cluster-c/shop/checkout", "cluster-c/shop/inventory",
        "cluster-c/monitoring/metrics",
    ])
    for logical, service in services.items():
        cluster, namespace, name = logical.split("/")
        assert provider_name(service.provider) == cluster
        # Explicit: the real provider would otherwise auto-name with a random suffix.
        assert service.inputs["metadata"]["name"] == name
        assert service.inputs["metadata"]["namespace"] == namespace


def test_service_inputs_equal_the_rendered_objects(mocks):
    mesh = load_mesh(EXAMPLE)
    execute(lambda: deploy(mesh))
    services = mocks.services()
    for cluster in mesh.clusters:
        for obj in render_cluster(mesh, cluster.name):
            logical = f"{cluster.name}/{obj['metadata']['namespace']}/{obj['metadata']['name']}"
            assert services[logical].inputs == obj
    # The spec's per-cluster override: cluster-a consumes but does not share its endpoints.
    assert services["cluster-a/default/myapp-service"].inputs["metadata"]["annotations"][SHARED] == "false"
    assert SHARED not in services["cluster-b/default/myapp-service"].inputs["metadata"]["annotations"]


def test_camel_case_fields_and_user_keys_arrive_intact(mocks):
    mesh = load_mesh(FIXTURES / "fields.yaml")
    execute(lambda: deploy(mesh))
    web = mocks.services()["east/edge/web"].inputs
    spec = web["spec"]
    assert spec["externalTrafficPolicy"] == "Local"
    assert spec["ipFamilyPolicy"] == "PreferDualStack"
    assert spec["sessionAffinityConfig"] == {"clientIP": {"timeoutSeconds": 600}}
    assert spec["ports"] == [{"name": "https", "port": 443, "targetPort": 8443, "protocol": "TCP"}]
    # Keys the user chose are map keys, not field names: no case conversion.
    assert spec["selector"] == {"app_name": "web"}
    assert web["metadata"]["labels"]["team_name"] == "web"
    assert web["metadata"]["annotations"]["example.com/owner_id"] == "42"
    assert web == render_cluster(mesh, "east")[0]


def test_clusters_restrict_what_is_deployed(mocks):
    deployed = execute(lambda: deploy(load_mesh(EXAMPLE), clusters=["cluster-c", "cluster-b", "cluster-c"]))
    assert list(deployed) == ["cluster-b", "cluster-c"]  # spec order, once each
    assert sorted(mocks.providers()) == ["cluster-b", "cluster-c"]
    assert {name.split("/")[0] for name in mocks.services()} == {"cluster-b", "cluster-c"}


def test_render_dir_is_per_cluster(mocks):
    execute(lambda: deploy(load_mesh(EXAMPLE), render_dir="out/pulumi"))
    for name, provider in mocks.providers().items():
        assert provider.inputs["renderYamlToDirectory"] == os.path.join("out/pulumi", name)


def test_unknown_cluster_fails_before_registering_anything(mocks):
    with pytest.raises(pulumi.RunError) as err:
        execute(lambda: deploy(load_mesh(EXAMPLE), clusters=["cluster-a", "cluster-x"]))
    assert str(err.value) == ("unknown cluster 'cluster-x' in the clusters to deploy (meshspec:clusters); "
                              "mesh 'demo' has: cluster-a, cluster-b, cluster-c")
    assert mocks.registered == []


# --- run(): the program as `pulumi up` runs it ------------------------------------------------------

@pytest.fixture
def project_dir(monkeypatch):
    monkeypatch.chdir(ROOT)  # pulumi runs the program in the directory holding Pulumi.yaml


def test_run_deploys_the_configured_spec_and_exports_services(mocks, project_dir):
    set_config(spec="examples/mesh.yaml")
    execute(run)
    assert sorted(mocks.providers()) == ["cluster-a", "cluster-b", "cluster-c"]
    assert len(mocks.services()) == 11
    assert exports()["services"] == {
        "cluster-a": ["default/myapp-service", "shop/checkout", "monitoring/metrics"],
        "cluster-b": ["default/myapp-service", "shop/checkout", "shop/inventory", "monitoring/metrics"],
        "cluster-c": ["default/myapp-service", "shop/checkout", "shop/inventory", "monitoring/metrics"],
    }


def test_run_honours_clusters_and_render_dir(mocks, project_dir):
    set_config(spec="examples/mesh.yaml", clusters=["cluster-b"], renderDir="out/pulumi")
    execute(run)
    assert {n: p.inputs.get("renderYamlToDirectory") for n, p in mocks.providers().items()} == {
        "cluster-b": os.path.join("out/pulumi", "cluster-b")}
    assert exports()["services"] == {
        "cluster-b": ["default/myapp-service", "shop/checkout", "shop/inventory", "monitoring/metrics"]}


def test_run_with_an_invalid_spec_fails_with_located_diagnostics(mocks, project_dir):
    set_config(spec="tests/fixtures/deploy/invalid.yaml")
    with pytest.raises(pulumi.RunError) as err:
        execute(run)
    message = str(err.value)
    assert message.startswith("meshspec:spec tests/fixtures/deploy/invalid.yaml is not a valid mesh spec:\n")
    assert "invalid.yaml:9:13: error: cluster name 'east' is already used" in message
    assert "invalid.yaml:10:11: error: cluster id 0 is out of range" in message
    assert mocks.registered == []


def test_run_deploys_a_spec_with_warnings_and_logs_them(mocks, project_dir, caplog):
    set_config(spec="tests/fixtures/deploy/warning.yaml")
    execute(run)
    assert list(mocks.services()) == ["east/edge/web"]
    assert any("warning.yaml:17:9: warning: override for 'west' has no effect" in r.getMessage()
               for r in caplog.records if r.levelname == "WARNING")


def test_run_with_a_missing_spec_file_fails_with_a_diagnostic(mocks, project_dir):
    set_config(spec="no/such/mesh.yaml")
    with pytest.raises(pulumi.RunError, match=r"no/such/mesh\.yaml:1:1: error: "):
        execute(run)


def test_run_without_spec_config_names_the_key(mocks, project_dir):
    with pytest.raises(pulumi.ConfigMissingError, match="meshspec:spec"):
        execute(run)


def test_run_with_an_unknown_configured_cluster_fails_clearly(mocks, project_dir):
    set_config(spec="examples/mesh.yaml", clusters=["cluster-a", "cluster-z"])
    with pytest.raises(pulumi.RunError, match=r"unknown cluster 'cluster-z'.*has: cluster-a, cluster-b, cluster-c"):
        execute(run)
    assert mocks.registered == []


@pytest.mark.parametrize("clusters", ["cluster-a", json.dumps("cluster-a"), json.dumps([]), json.dumps([1])])
def test_run_rejects_malformed_clusters_config(mocks, project_dir, clusters):
    pulumi.runtime.set_all_config({"meshspec:spec": "examples/mesh.yaml", "meshspec:clusters": clusters})
    with pytest.raises(pulumi.RunError, match="meshspec:clusters must be a non-empty list of cluster names"):
        execute(run)
    assert mocks.registered == []


# --- project and stack files ------------------------------------------------------------------------

def stack_files() -> list[Path]:
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    return sorted((ROOT / project["stackConfigDir"]).glob("Pulumi.*.yaml"))


def test_project_file():
    project = yaml.safe_load((ROOT / "Pulumi.yaml").read_text())
    assert project["name"] == "meshspec"  # the config namespace run() reads
    assert project["runtime"] == {"name": "python", "options": {"toolchain": "pip", "virtualenv": ".venv"}}
    assert (ROOT / "__main__.py").is_file()
    # Schemas are only valid for the project's own (bare) keys; namespaced keys may only carry values.
    for key, value in project.get("config", {}).items():
        assert ":" not in key or not (isinstance(value, dict) and "type" in value), key


@pytest.mark.parametrize("stack_file", stack_files(), ids=lambda p: p.name)
def test_stack_refers_to_a_valid_spec_and_its_clusters(stack_file):
    from meshspec.validate import check_file

    config = yaml.safe_load(stack_file.read_text())["config"]
    assert set(config) <= {"meshspec:spec", "meshspec:clusters", "meshspec:renderDir",
                           "pulumi:disable-default-providers"}
    assert config["pulumi:disable-default-providers"] == ["kubernetes"]
    mesh, diagnostics = check_file(str(ROOT / config["meshspec:spec"]))
    assert mesh is not None, diagnostics
    clusters = config.get("meshspec:clusters")
    if clusters is not None:
        assert clusters and set(clusters) <= {c.name for c in mesh.clusters}


def test_there_is_a_rendering_dev_stack_and_a_stack_per_example_cluster():
    stacks = {p.name.removeprefix("Pulumi.").removesuffix(".yaml"): yaml.safe_load(p.read_text())["config"]
              for p in stack_files()}
    assert stacks["dev"]["meshspec:spec"] == "examples/mesh.yaml"
    assert stacks["dev"]["meshspec:renderDir"] == "out/pulumi"
    for cluster in load_mesh(EXAMPLE).clusters:
        assert stacks[cluster.name]["meshspec:clusters"] == [cluster.name]


# --- the real CLI ----------------------------------------------------------------------------------------

@pytest.mark.skipif(shutil.which("pulumi") is None, reason="the pulumi CLI is not installed")
@pytest.mark.skipif(sys.prefix == sys.base_prefix, reason="needs a virtualenv to stand in for .venv")
def test_pulumi_preview_of_the_dev_stack(tmp_path):
    project = tmp_path / "project"
    project.mkdir()
    for name in ("Pulumi.yaml", "__main__.py"):
        shutil.copy(ROOT / name, project / name)
    for name in ("meshspec", "examples", "stacks"):
        shutil.copytree(ROOT / name, project / name, ignore=shutil.ignore_patterns("__pycache__"))
    (project / ".venv").symlink_to(sys.prefix)
    env = {**os.environ, "PULUMI_BACKEND_URL": (tmp_path / "state").as_uri(), "PULUMI_CONFIG_PASSPHRASE": "",
           "PULUMI_SKIP_UPDATE_CHECK": "true"}
    (tmp_path / "state").mkdir()

    def pulumi_cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(["pulumi", *args, "--non-interactive"], cwd=project, env=env,
                              capture_output=True, text=True, timeout=600)

    init = pulumi_cli("stack", "init", "dev")
    assert init.returncode == 0, init.stderr
    preview = pulumi_cli("preview", "--stack", "dev")
    assert preview.returncode == 0, preview.stdout + preview.stderr
    assert "cluster-a/default/myapp-service" in preview.stdout
