"""@record behaves as @dataclass(frozen=True) (or its frozen=False / order=True forms) does, to the hash value."""

import dataclasses
from dataclasses import field
from typing import Optional

import pytest

from meshspec.record import record


def _define(decorator):
    @decorator
    class Point:
        """A point."""
        x: int
        name: str
        weight: Optional[int] = None
        tags: tuple = ()
        extra: dict = field(default_factory=dict, hash=False)
        seen: int = field(default=0, compare=False, repr=False)
    return Point


def _outcome(compare, a, b):
    try:
        return compare(a, b)
    except TypeError as error:  # None against an int: both refuse
        return str(error)


PAIRS = [(dataclasses.dataclass(frozen=True), record),
         (dataclasses.dataclass(frozen=True, order=True), record(order=True)),
         (dataclasses.dataclass, record(frozen=False))]


@pytest.mark.parametrize("expected, actual", PAIRS)
def test_a_record_is_the_dataclass_it_replaces(expected, actual):
    want, got = _define(expected), _define(actual)
    samples = [(1, "a"), (1, "a", 2), (1, "b", None, ("t",)), (0, "a", 3, (), {"k": 1}), (1, "a", None, (), {}, 5)]
    for args in samples:
        w, g = want(*args), got(*args)
        assert repr(w).replace(want.__qualname__, "P") == repr(g).replace(got.__qualname__, "P")
        assert dataclasses.asdict(w) == dataclasses.asdict(g)
        assert dataclasses.astuple(dataclasses.replace(w, x=9)) == dataclasses.astuple(dataclasses.replace(g, x=9))
        if want.__hash__ is None:
            assert got.__hash__ is None
        else:
            assert hash(w) == hash(g)
        for other in samples:
            w2, g2 = want(*other), got(*other)
            assert (w == w2) == (g == g2)
            if hasattr(want, "__lt__") and want.__lt__ is not object.__lt__:
                for compare in (lambda a, b: a < b, lambda a, b: a <= b, lambda a, b: a > b, lambda a, b: a >= b):
                    assert _outcome(compare, w, w2) == _outcome(compare, g, g2)
    assert [f.name for f in dataclasses.fields(got)] == [f.name for f in dataclasses.fields(want)]
    assert got.__match_args__ == want.__match_args__
    assert got(1, "a").extra is not got(1, "a").extra  # default_factory: one per instance
    assert (got(1, "a") == (1, "a")) is False and got(1, "a").__eq__((1, "a")) is NotImplemented


def test_a_frozen_record_refuses_assignment_as_a_frozen_dataclass_does():
    point = _define(record)(1, "a")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'x'"):
        point.x = 2
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot delete field 'x'"):
        del point.x
    mutable = _define(record(frozen=False))(1, "a")
    mutable.x = 2
    assert mutable.x == 2


def test_what_record_does_not_do_it_refuses():
    with pytest.raises(TypeError, match="use @dataclass"):
        @record
        class Own:
            """Has its own __eq__."""
            x: int

            def __eq__(self, other):
                return True
    with pytest.raises(TypeError, match="need @dataclass"):
        @record
        class Keyword:
            """A kw_only field."""
            x: int = field(kw_only=True)
