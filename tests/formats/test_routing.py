"""formats/routing.py: JSON output is json.dumps' compact bytes, whichever encoder writes it."""

import json
import random

import pytest

from meshspec.formats import routing

CHARS = ["a", "Z", "0", ":", "/", "[", "\"", "\\", "\n", "\t", "\x00", "\x1f", "\x7f", "é", "€", "𝄞", "\ud800", " "]


def _payload(rng, depth=0):
    kind = rng.random()
    if depth > 3 or kind < 0.4:
        return rng.choice([
            "".join(rng.choice(CHARS) for _ in range(rng.randint(0, 4))), rng.randint(-5, 70000), 2 ** 70,
            True, False, None])
    if kind < 0.7:
        return [_payload(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {"".join(rng.choice(CHARS) for _ in range(rng.randint(0, 3))): _payload(rng, depth + 1)
            for _ in range(rng.randint(0, 3))}


@pytest.mark.parametrize("encoder", ["orjson", "json"])
@pytest.mark.parametrize("seed", range(150))
def test_compact_output_is_json_dumps_bytes(seed, encoder, monkeypatch):
    orjson = pytest.importorskip("orjson") if encoder == "orjson" else None
    monkeypatch.setattr(routing, "_orjson", lambda: orjson)
    payload = _payload(random.Random(seed))
    assert routing._compact(payload) == json.dumps(payload, separators=(",", ":")) + "\n"
