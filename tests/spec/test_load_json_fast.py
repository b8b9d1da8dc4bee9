"""load_json_fast with orjson, which proves a text free of repeated keys by counting colons: a text that
repeats a key anywhere is never read fast (the positioned loader then reports it where it is), and every
other text gives json.loads' data. Random JSON, written with every
way JSON allows: escapes of any character (colons and quotes too), whitespace around colons, keys ending in
backslashes, JSON inside strings (as kubectl's last-applied-configuration annotation holds it)."""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from meshspec.spec import load
from meshspec.spec.load import load_json_fast

pytest.importorskip("orjson")
CHECKS = settings(max_examples=400, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
CHARS = st.sampled_from(['a', 'b', ':', '"', '\\', '/', ' ', '\n', '\t', 'é', '\u2028', '\U0001f600', '{', '}', ','])
TEXTS = st.lists(CHARS, max_size=6).map("".join)
SPACE = st.sampled_from(["", " ", "\n  ", "\t", "\r\n"])


@pytest.fixture(autouse=True)
def fast_for_every_size(monkeypatch):
    monkeypatch.setattr(load, "ORJSON_MIN_CHARS", 0)


@st.composite
def written_string(draw, text: str) -> str:
    out = ['"']
    for ch in text:
        how = draw(st.sampled_from(["plain", "u", "U"]))
        if how != "plain" or ch in '"\\' or ord(ch) < 0x20:
            code = ord(ch)
            units = [code] if code < 0x10000 else [0xD800 + ((code - 0x10000) >> 10), 0xDC00 + (code & 0x3FF)]
            if ch in '"\\' and how == "plain":
                out.append("\\" + ch)
            else:
                out.extend(f"\\u{u:04x}" if how == "u" else f"\\u{u:04X}" for u in units)
        else:
            out.append(ch)
    out.append('"')
    return "".join(out)


# A value, and its pairs as written: ("obj", [(key, value), ...]) may repeat a key.
VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**6), TEXTS.map(lambda s: ("str", s)),
              st.just(("json-in-str", None))),
    lambda inner: st.one_of(st.lists(inner, max_size=4).map(lambda v: ("list", v)),
                            st.lists(st.tuples(st.sampled_from(["a", "b", "a:", "\\", 'q"', "é:"]), inner),
                                     max_size=4).map(lambda v: ("obj", v))),
    max_leaves=20)


@st.composite
def written(draw, value) -> tuple[str, bool]:
    """The JSON text of a drawn value, and whether it repeats a key in some object."""
    if value is None or isinstance(value, (bool, int)):
        return json.dumps(value), False
    kind, body = value
    if kind == "str":
        return draw(written_string(body)), False
    if kind == "json-in-str":  # an object written into a string, with its own repeated keys
        return json.dumps('{"a": "x:y", "a": {"b\\\\": 1}}'), False
    if kind == "list":
        parts = [draw(written(v)) for v in body]
        return "[" + ",".join(draw(SPACE) + t for t, _ in parts) + "]", any(d for _, d in parts)
    pairs, repeated = [], len({k for k, _ in body}) < len(body)
    for key, v in body:
        text, dup = draw(written(v))
        pairs.append(draw(written_string(key)) + draw(SPACE) + ":" + draw(SPACE) + text)
        repeated = repeated or dup
    return "{" + "," .join(draw(SPACE) + p for p in pairs) + draw(SPACE) + "}", repeated


@CHECKS
@given(st.data())
def test_a_repeated_key_is_never_read_fast_and_all_else_is_read_as_json_reads_it(data):
    text, repeated = data.draw(written(data.draw(VALUES)))
    docs = load_json_fast(text, "dump.json")
    if repeated:
        assert docs is None
    else:
        assert docs is not None and [d.data for d in docs] == ([] if json.loads(text) is None else [json.loads(text)])


@pytest.mark.parametrize("text", [
    '{"a": 1, "a" : 2}',
    '{"k\\\\": {"x": "\\"a\\": 1", "x": 2}}',  # a key ending in a backslash; JSON with a quote in a string
    '{"a": 1, "a": "\\u003a"}',  # the colon its escape adds would make up for the separator lost
    '[{"a": ":"}, {"a": 1, "\\u0061": 2}]',  # the same key, once escaped
])
def test_these_repeats_are_found(text):
    assert load_json_fast(text, "dump.json") is None


def test_without_orjson_json_reads_it(monkeypatch):
    monkeypatch.setattr(load, "_orjson", lambda: None)
    assert load_json_fast('{"a": {"b": 1}}', "dump.json")[0].data == {"a": {"b": 1}}
    assert load_json_fast('{"a": 1, "a": 2}', "dump.json") is None


@pytest.mark.parametrize("text", ['{"n": 123456789012345678901234567890, "x": NaN}',
                                  '{"a": ' * 300 + "1" + "}" * 300])  # orjson writes 64-bit ints, 254 levels
def test_what_orjson_cannot_write_is_checked_by_the_hook(text):
    assert load_json_fast(text, "dump.json")[0].data == json.loads(text)
    repeated = text.replace("{", '{"a": 1, ', 1).replace('"x"', '"a"')
    assert load_json_fast(repeated, "dump.json") is None
