"""spec/structure.py: valid specs are recognised without cerberus; the answer must be cerberus' own."""

import copy
import random
import subprocess
import sys

import pytest
import yaml

from meshspec.spec import structure
from tests.support.specs import VALID_SPEC

with open("examples/mesh.yaml", encoding="utf-8") as fh:
    EXAMPLE = yaml.safe_load(fh)
SPECS = [EXAMPLE, yaml.safe_load(VALID_SPEC)]
ODD = [None, "", "x", "local", "remote", "ClusterIP", 0, 1, 255, 511, True, False, 1.5, [], ["x"], [1], {}, {"a": "b"},
       {"global": True}, {1: "x"}]
KEYS = ["name", "id", "global", "affinity", "spec", "values", "bogus", "clusters", "overrides", "namespace", 7]


def _rules(schema):
    for rules in schema.values():
        yield rules
        for key in ("schema", "keysrules", "valuesrules"):
            sub = rules.get(key)
            if isinstance(sub, dict):
                yield from _rules(sub if "type" not in sub else {"": sub})


def test_schema_uses_only_the_rules_the_fast_check_knows():
    assert {rule for rules in _rules(structure.SCHEMA) for rule in rules} <= structure.RULES
    assert {rules["type"] for rules in _rules(structure.SCHEMA)} <= set(structure._TYPES)


def _containers(value, at=()):
    if isinstance(value, (dict, list)):
        yield at, value
        for k, v in (value.items() if isinstance(value, dict) else enumerate(value)):
            yield from _containers(v, at + (k,))


def _mutate(spec, rng):
    spec = copy.deepcopy(spec)
    for _ in range(rng.randint(1, 2)):
        _, parent = rng.choice(list(_containers(spec)))
        if isinstance(parent, dict):
            choice = rng.random()
            if parent and choice < 0.3:
                del parent[rng.choice(list(parent))]
            elif parent and choice < 0.8:
                parent[rng.choice(list(parent))] = copy.deepcopy(rng.choice(ODD))
            else:
                parent[rng.choice(KEYS)] = copy.deepcopy(rng.choice(ODD))
        elif parent:
            parent[rng.randrange(len(parent))] = copy.deepcopy(rng.choice(ODD))
        else:
            parent.append(copy.deepcopy(rng.choice(ODD)))
    return spec


@pytest.mark.parametrize("seed", range(400))
def test_the_fast_check_agrees_with_cerberus_on_mutated_specs(seed):
    rng = random.Random(seed)
    spec = _mutate(rng.choice(SPECS), rng) if seed >= len(SPECS) else SPECS[seed]
    assert structure._conforms_mapping(spec, structure.SCHEMA) is structure._validator().validate(spec)


def test_a_valid_spec_is_checked_without_importing_cerberus():
    code = ("import sys; from meshspec.spec.check import check_file; mesh, found = check_file('examples/mesh.yaml'); "
            "assert mesh and not found, found; print('cerberus' in sys.modules)")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout == "False\n"
