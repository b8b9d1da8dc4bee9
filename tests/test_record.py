"""@record behaves as @dataclass(frozen=True) (or its frozen=False / order=True forms) does, to the hash value,
without importing dataclasses until something asks a record for its dataclass fields."""

import dataclasses
import subprocess
import sys
from typing import Optional

import pytest

from meshspec import record as records
from meshspec.record import FrozenInstanceError, record


def _define(decorator, field):
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


PAIRS = [(dataclasses.dataclass(frozen=True), record), (dataclasses.dataclass(frozen=True), record(compiled=True)),
         (dataclasses.dataclass(frozen=True, order=True), record(order=True)),
         (dataclasses.dataclass(frozen=True, order=True), record(order=True, compiled=True)),
         (dataclasses.dataclass, record(frozen=False)), (dataclasses.dataclass, record(frozen=False, compiled=True))]
COMPARISONS = (lambda a, b: a == b, lambda a, b: a != b, lambda a, b: a < b, lambda a, b: a <= b,
               lambda a, b: a > b, lambda a, b: a >= b)


@pytest.mark.parametrize("expected, actual", PAIRS)
def test_a_record_is_the_dataclass_it_replaces(expected, actual):
    want, got = _define(expected, dataclasses.field), _define(actual, records.field)
    samples = [(1, "a"), (1, "a", 2), (1, "b", None, ("t",)), (0, "a", 3, (), {"k": 1}), (1, "a", None, (), {}, 5)]
    for args in samples:
        w, g = want(*args), got(*args)
        assert repr(w).replace(want.__qualname__, "P") == repr(g).replace(got.__qualname__, "P")
        assert dataclasses.asdict(w) == dataclasses.asdict(g)
        assert dataclasses.astuple(dataclasses.replace(w, x=9)) == dataclasses.astuple(dataclasses.replace(g, x=9))
        assert dataclasses.astuple(records.replace(g, name="z")) == dataclasses.astuple(dataclasses.replace(w, name="z"))
        if want.__hash__ is None:
            assert got.__hash__ is None
        else:
            assert hash(w) == hash(g)
        for other in samples:
            for compare in COMPARISONS:
                assert _outcome(compare, w, want(*other)) == _outcome(compare, g, got(*other))
    assert dataclasses.is_dataclass(got) and dataclasses.is_dataclass(got(1, "a"))
    assert [(f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(got)] == \
        [(f.name, f.compare, f.hash, f.repr) for f in dataclasses.fields(want)]
    assert got.__match_args__ == want.__match_args__
    assert got.weight is None and not hasattr(got, "extra")  # class attributes as dataclasses leaves them
    assert got(1, "a").extra is not got(1, "a").extra  # default_factory: one per instance
    assert (got(1, "a") == (1, "a")) is False and got(1, "a").__eq__((1, "a")) is NotImplemented


def test_a_frozen_record_refuses_assignment_as_a_frozen_dataclass_does():
    for decorator in (record, record(compiled=True)):
        point = _define(decorator, records.field)(1, "a")
        with pytest.raises(FrozenInstanceError, match="cannot assign to field 'x'"):
            point.x = 2
        with pytest.raises(AttributeError, match="cannot delete field 'x'"):
            del point.x
    mutable = _define(record(frozen=False), records.field)(1, "a")
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
    with pytest.raises(TypeError, match="follows default argument"):
        @record
        class Order:
            """A field without a default after one with."""
            x: int = 0
            y: int
    with pytest.raises(ValueError, match="mutable default"):
        @record
        class Mutable:
            """A list as a default."""
            x: list = []


def test_defining_and_using_a_record_does_not_import_dataclasses():
    code = ("import sys; from meshspec.record import field, record, replace\n"
            "@record\nclass A:\n '''A.'''\n x: int\n y: dict = field(default_factory=dict, hash=False)\n"
            "a = replace(A(1), x=2); assert a == A(2) and hash(a) == hash((2,)) and repr(a) == 'A(x=2, y={})'\n"
            "print('dataclasses' in sys.modules)")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "False"


@pytest.mark.parametrize("options", [{}, {"compiled": True}, {"compiled": True, "order": True},
                                     {"compiled": True, "frozen": False}])
def test_methods_are_compiled_on_first_use_whichever_comes_first(options):
    # An instance made without __init__ (as pickle and copy make them) must still compare, hash and show.
    point = _define(record(**options), records.field)
    stand_in = vars(point)["__init__"]
    bare = object.__new__(point)
    vars(bare).update(x=1, name="a", weight=None, tags=(), extra={}, seen=0)
    assert repr(bare).endswith(".Point(x=1, name='a', weight=None, tags=(), extra={})")
    # A compiled repr is a stand-in until then, and its first call compiles every method, __init__ too.
    assert (vars(point)["__init__"] is stand_in) == (not options.get("compiled"))
    made = point(1, "a")
    assert vars(point)["__init__"] is not stand_in and made == bare and not (made != bare)
    if options.get("frozen", True):
        assert hash(made) == hash(bare)
        with pytest.raises(FrozenInstanceError):
            made.x = 2
    if options.get("order"):
        assert not made < bare and made <= bare


def test_a_record_never_made_is_never_compiled():
    point = _define(record(compiled=True), records.field)
    assert vars(point)["__init__"].__code__.co_varnames[:3] == ("self", "args", "kwargs")
    point(1, "a")
    assert vars(point)["__init__"].__code__.co_varnames[:3] == ("self", "x", "name")
