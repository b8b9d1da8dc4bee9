"""@record: a frozen dataclass that is cheap to define, for the classes every command defines at start-up.

`@dataclass(frozen=True)` compiles each method it adds from source text (`__init__`, `__repr__`, `__eq__`,
`__hash__`, `__setattr__`, `__delattr__`, four more with order=True): 0.8-2 ms per class here, and validate
defines some 30 classes before it reads the spec (README, "Start-up"). Compiling is what costs, so batching the
methods into one compile, as Python 3.13 does (cpython issue 109870), saves only about a fifth. `@record`
compiles only `__init__` (it needs the fields' signature and is what construction costs, so it is the one
dataclasses writes, line for line); the other methods are closures over one `operator.attrgetter` of the
fields, with dataclasses' semantics: equal and ordered only against the same class (else NotImplemented), the
hash of the same tuple (so the same hash values), the same repr, FrozenInstanceError on assignment, and
field(compare=False / hash=False / repr=False) honoured. About a third of the cost to define; a comparison costs
some 0.2 us more per call, so the engine's hot per-backend types stay plain @dataclass. The class is still a
dataclass: `dataclasses.fields`, `replace`, `asdict` and `is_dataclass` work on it as before.

Supported: fields with a default or default_factory, order=True, frozen=False (a mutable dataclass, unhashable
as @dataclass makes it). Anything else (init=False or kw_only fields, InitVar, __post_init__, inheriting from a
dataclass, a dunder of its own in the class body) is refused with TypeError, not done differently; use
@dataclass for those. The repr has no guard against a record that contains itself.
"""

from __future__ import annotations

import operator
from dataclasses import MISSING, FrozenInstanceError, dataclass, fields, is_dataclass
from operator import attrgetter

_GENERATED = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__",
              "__lt__", "__le__", "__gt__", "__ge__")


def record(cls=None, /, *, frozen: bool = True, order: bool = False):
    """@record, or @record(frozen=False) / @record(order=True): as @dataclass(frozen=True) with those arguments."""
    def wrap(cls):
        _refuse_unsupported(cls)
        return _add_methods(dataclass(cls, init=False, repr=False, eq=False), frozen, order)
    return wrap if cls is None else wrap(cls)


def _refuse_unsupported(cls) -> None:
    defined = sorted(set(_GENERATED + ("__post_init__",)) & set(vars(cls)))
    bases = [base.__name__ for base in cls.__mro__[1:] if is_dataclass(base)]
    if defined or bases:
        raise TypeError(f"@record {cls.__name__}: defines {defined} or inherits dataclasses {bases}; use @dataclass")


def _add_methods(cls, frozen: bool, order: bool):
    all_fields = fields(cls)
    for f in all_fields:
        if not f.init or f.kw_only is True:
            raise TypeError(f"@record {cls.__name__}.{f.name}: init=False and kw_only fields need @dataclass")
    cls.__init__ = _init(cls, all_fields, frozen)
    compared = _getter([f.name for f in all_fields if f.compare])
    shown = [f.name for f in all_fields if f.repr]
    methods = {"__repr__": _repr(shown), "__eq__": _eq(compared)}
    if order:
        methods.update(__lt__=_comparison(compared, operator.lt), __le__=_comparison(compared, operator.le),
                       __gt__=_comparison(compared, operator.gt), __ge__=_comparison(compared, operator.ge))
    if frozen:
        names = tuple(f.name for f in all_fields)
        methods.update(__hash__=_hash(_getter([f.name for f in all_fields
                                                  if (f.compare if f.hash is None else f.hash)])),
                       __setattr__=_frozen_setattr(cls, names), __delattr__=_frozen_delattr(cls, names))
    for name, function in methods.items():
        function.__name__, function.__qualname__ = name, f"{cls.__qualname__}.{name}"
        setattr(cls, name, function)
    if not frozen:
        cls.__hash__ = None  # as @dataclass(eq=True): a mutable record is unhashable
    return cls


def _init(cls, all_fields, frozen: bool):
    """The one compiled method: `__init__`, as dataclasses writes it (its signature is the fields')."""
    namespace = {"MISSING": MISSING, "__dataclass_builtins_object__": object}
    params, sets = [], []
    for f in all_fields:
        if f.default_factory is not MISSING:
            namespace[f"_factory_{f.name}"] = f.default_factory
            params.append(f"{f.name}=MISSING")
            value = f"_factory_{f.name}() if {f.name} is MISSING else {f.name}"
        else:
            if f.default is not MISSING:
                namespace[f"_default_{f.name}"] = f.default
            params.append(f.name if f.default is MISSING else f"{f.name}=_default_{f.name}")
            value = f.name
        sets.append(f" __dataclass_builtins_object__.__setattr__(self, {f.name!r}, {value})" if frozen
                    else f" self.{f.name} = {value}")
    exec("\n".join([f"def __init__(self, {', '.join(params)}):", *(sets or [" pass"])]), namespace)  # noqa: S102
    init = namespace["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


def _getter(names: list[str]):
    """A function from an instance to the tuple of these attributes (attrgetter returns a bare value for one)."""
    if len(names) >= 2:
        return attrgetter(*names)
    if names:
        one = attrgetter(names[0])
        return lambda self: (one(self),)
    return lambda self: ()


def _repr(shown: list[str]):
    def method(self) -> str:
        return "%s(%s)" % (self.__class__.__qualname__,
                           ", ".join("%s=%r" % (name, getattr(self, name)) for name in shown))
    return method


def _eq(key):
    def method(self, other):
        if other.__class__ is self.__class__:
            return key(self) == key(other)
        return NotImplemented
    return method


def _comparison(key, op):
    def method(self, other):
        if other.__class__ is self.__class__:
            return op(key(self), key(other))
        return NotImplemented
    return method


def _hash(key):
    def method(self) -> int:
        return hash(key(self))
    return method


def _frozen_setattr(cls, names: tuple[str, ...]):
    def method(self, name, value):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot assign to field {name!r}")
        super(cls, self).__setattr__(name, value)
    return method


def _frozen_delattr(cls, names: tuple[str, ...]):
    def method(self, name):
        if type(self) is cls or name in names:
            raise FrozenInstanceError(f"cannot delete field {name!r}")
        super(cls, self).__delattr__(name)
    return method
