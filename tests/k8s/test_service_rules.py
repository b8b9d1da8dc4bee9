"""The API server's Service validation (k8s/service_rules.py), one case per rule of the corpus in
tests/support/service_corpus.py (named after the function of pkg/apis/core/validation it mirrors): a
ServiceSpec and a fragment of the one message expected (None: the API server accepts it)."""

import pytest

from meshspec.k8s.service_schema import check_service
from tests.support.service_corpus import CASES


def messages(spec):
    found = []
    check_service({"apiVersion": "v1", "kind": "Service", "metadata": {"name": "s", "namespace": "n"}, "spec": spec},
                  lambda code, path, message, at_key=False: found.append(message))
    return found


@pytest.mark.parametrize("spec, expected", CASES.values(), ids=CASES.keys())
def test_api_server_rule(spec, expected):
    found = messages(spec)
    if expected is None:
        assert found == []
    else:
        assert len(found) == 1 and expected in found[0], found
