"""@record: a frozen dataclass that is cheap to define and does not import `dataclasses` to be defined.

Every command defines some 30 classes before it reads its input (README, "Start-up"). As
`@dataclass(frozen=True)` each cost 0.8-2 ms, because dataclasses compiles each method from source text
(`__init__`, `__repr__`, `__eq__`, `__hash__`, `__setattr__`, `__delattr__`, four more with order=True), and
importing `dataclasses` costs 11 ms more, most of it `inspect` (with `ast`, `dis` and `tokenize`).

`@record` compiles only `__init__`, on first use (it needs the fields' signature, and is what construction
costs: its body is the one dataclasses writes, except that a frozen record's fields go straight into the
instance's `__dict__`, where dataclasses' `object.__setattr__` puts them too, at under half the cost). The
other methods are closures over one `operator.attrgetter` of the fields, with dataclasses' semantics: equal
and ordered only against the same class (else NotImplemented), the hash of the same tuple (so the same hash
values), the same repr, FrozenInstanceError on assignment, and field(compare=False / hash=False / repr=False)
honoured. That is a third of the cost to define, but a comparison costs some 0.2 us more per call, so the
engine's per-backend types, which simulate compares and hashes by the million, say `@record(compiled=True)`:
every method compiled as dataclasses writes it, in one go (about 0.7 ms, paid on first use).

A record is still a dataclass for whoever asks: `dataclasses.fields`, `replace`, `asdict` and `is_dataclass`
work on it, because `__dataclass_fields__` is built (and `dataclasses` imported) on first access. meshspec's own
code uses `record.field` and `record.replace`, which need neither.

Supported: fields with a default or a default_factory, order=True, frozen=False (a mutable record, unhashable as
@dataclass makes it). Anything else dataclasses offers (init=False or kw_only fields, ClassVar, InitVar,
__post_init__, inheritance, a dunder of its own in the class body) is refused with TypeError rather than done
differently; use @dataclass for those. The repr has no guard against a record that contains itself.
"""

from __future__ import annotations

import operator
from operator import attrgetter

_GENERATED = ("__init__", "__repr__", "__eq__", "__hash__", "__setattr__", "__delattr__",
              "__lt__", "__le__", "__gt__", "__ge__", "__post_init__")
_ORDER = (("__lt__", "<", operator.lt), ("__le__", "<=", operator.le), ("__gt__", ">", operator.gt),
          ("__ge__", ">=", operator.ge))


class _Missing:
    def __repr__(self) -> str:
        return "MISSING"


MISSING = _Missing()


class FrozenInstanceError(AttributeError):
    """Assignment to a field of a frozen record (dataclasses' FrozenInstanceError is the same kind of error;
    `except AttributeError` catches both)."""


class _Field:
    __slots__ = ("default", "default_factory", "compare", "hash", "repr")

    def __init__(self, default, default_factory, compare, hash, repr):  # noqa: A002 - dataclasses' names
        self.default, self.default_factory = default, default_factory
        self.compare, self.hash, self.repr = compare, hash, repr


def field(*, default=MISSING, default_factory=MISSING, compare: bool = True, hash: bool | None = None,  # noqa: A002
          repr: bool = True):  # noqa: A002
    """As dataclasses.field, for a record: a default or default_factory, and what compares, hashes, shows."""
    if default is not MISSING and default_factory is not MISSING:
        raise ValueError("cannot specify both default and default_factory")
    return _Field(default, default_factory, compare, hash, repr)


def replace(obj, /, **changes):
    """A copy of the record `obj` with `changes` (as dataclasses.replace)."""
    values = {name: getattr(obj, name) for name in obj.__record_fields__}
    values.update(changes)
    return obj.__class__(**values)


def record(cls=None, /, *, frozen: bool = True, order: bool = False, compiled: bool = False):
    """@record, or @record(frozen=False / order=True / compiled=True): as @dataclass(frozen=True) with those."""
    def wrap(cls):
        return _build(cls, frozen, order, compiled)
    return wrap if cls is None else wrap(cls)


def _build(cls, frozen: bool, order: bool, compiled: bool):
    own = vars(cls)
    defined = sorted(set(_GENERATED) & set(own))
    if defined or cls.__bases__ != (object,):
        raise TypeError(f"@record {cls.__name__}: defines {defined} or has bases; use @dataclass")
    fields = []  # (name, _Field)
    for name, annotation in own.get("__annotations__", {}).items():
        if isinstance(annotation, str) and annotation.partition("[")[0].split(".")[-1] in ("ClassVar", "InitVar"):
            raise TypeError(f"@record {cls.__name__}.{name}: ClassVar and InitVar need @dataclass")
        value = own.get(name, MISSING)
        spec = value if isinstance(value, _Field) else _Field(value, MISSING, True, None, True)
        if spec.default is not MISSING and type(spec.default).__hash__ is None:
            raise ValueError(f"mutable default {type(spec.default)} for field {name} is not allowed: "
                             "use default_factory")
        if spec.default is MISSING and spec.default_factory is MISSING and fields and _has_default(fields[-1][1]):
            raise TypeError(f"non-default argument {name!r} follows default argument")
        if spec.default is MISSING:
            if name in own:
                delattr(cls, name)
        else:
            setattr(cls, name, spec.default)  # as dataclasses: the class attribute is the default
        fields.append((name, spec))
    names = tuple(name for name, _ in fields)
    compared = [name for name, f in fields if f.compare]
    hashed = [name for name, f in fields if (f.compare if f.hash is None else f.hash)]
    cls.__record_fields__ = cls.__match_args__ = names
    cls.__record_specs__ = tuple(fields)
    cls.__dataclass_fields__ = _DataclassFields()
    methods = _compiled(cls, fields, frozen, order, compared, hashed, compiled)
    if not compiled:
        key = _getter(compared)
        shown = [name for name, f in fields if f.repr]
        methods.update(__repr__=_repr(shown), __eq__=_eq(key))
        if order:
            methods.update({name: _comparison(key, op) for name, _, op in _ORDER})
        if frozen:
            methods.update(__hash__=_hash(_getter(hashed)), __setattr__=_frozen_setattr(cls, names),
                           __delattr__=_frozen_delattr(cls, names))
    _install(cls, methods)
    if not frozen:
        cls.__hash__ = None  # as @dataclass(eq=True): a mutable record is unhashable
    return cls


def _install(cls, methods: dict) -> None:
    for name, function in methods.items():
        function.__name__, function.__qualname__ = name, f"{cls.__qualname__}.{name}"
        setattr(cls, name, function)


def _deferred(cls, names: list[str], compile_methods) -> dict:
    """Stand-ins for the compiled methods: the first call of any compiles them all and puts them on the
    class in their place. A command uses about half the records its modules define, and compiling is most
    of what defining one costs (some 2 ms of every start-up)."""
    def install() -> None:
        if vars(cls)["__init__"] is first:
            _install(cls, compile_methods())

    def stand_in(name: str):
        def method(self, *args, **kwargs):
            install()
            return getattr(cls, name)(self, *args, **kwargs)
        return method

    stand_ins = {name: stand_in(name) for name in names}
    first = stand_ins["__init__"]
    return stand_ins


def _has_default(f: _Field) -> bool:
    return f.default is not MISSING or f.default_factory is not MISSING


def _compiled(cls, fields, frozen: bool, order: bool, compared: list[str], hashed: list[str], everything: bool):
    """`__init__`, and with `everything` every other method, as dataclasses writes them: the source now, its
    compilation on first use (_deferred)."""
    namespace = {"MISSING": MISSING, "cls": cls,
                 "FrozenInstanceError": FrozenInstanceError}
    params, sets = [], []
    for name, f in fields:
        if f.default_factory is not MISSING:
            namespace[f"_factory_{name}"] = f.default_factory
            params.append(f"{name}=MISSING")
            value = f"_factory_{name}() if {name} is MISSING else {name}"
        else:
            if f.default is not MISSING:
                namespace[f"_default_{name}"] = f.default
            params.append(name if f.default is MISSING else f"{name}=_default_{name}")
            value = name
        # Frozen: straight into the instance's __dict__, which is where dataclasses' object.__setattr__ puts a
        # field too, at under half the cost (simulate builds 100,000s of records).
        sets.append(f" _d[{name!r}] = {value}" if frozen else f" self.{name} = {value}")
    if frozen and sets:
        sets.insert(0, " _d = self.__dict__")
    source = [f"def __init__(self, {', '.join(params)}):", *(sets or [" pass"])]
    if everything:
        shown = ", ".join(f"{name}={{self.{name}!r}}" for name, f in fields if f.repr)
        source += ["def __repr__(self):", f" return self.__class__.__qualname__ + f\"({shown})\""]
        for name, op in [("__eq__", "==")] + ([(name, op) for name, op, _ in _ORDER] if order else []):
            source += [f"def {name}(self, other):", " if other.__class__ is self.__class__:",
                       f"  return {_tuple('self', compared)} {op} {_tuple('other', compared)}",
                       " return NotImplemented"]
        if frozen:
            names = repr(tuple(name for name, _ in fields))
            source += ["def __hash__(self):", f" return hash({_tuple('self', hashed)})",
                       "def __setattr__(self, name, value):", f" if type(self) is cls or name in {names}:",
                       "  raise FrozenInstanceError(f\"cannot assign to field {name!r}\")",
                       " super(cls, self).__setattr__(name, value)",
                       "def __delattr__(self, name):", f" if type(self) is cls or name in {names}:",
                       "  raise FrozenInstanceError(f\"cannot delete field {name!r}\")",
                       " super(cls, self).__delattr__(name)"]
    # As dataclasses does: the names the methods use are a closure's (LOAD_DEREF), not globals.
    made = [line.split("(")[0][4:] for line in source if line.startswith("def ")]
    text = "\n".join([f"def __create_fn__({', '.join(namespace)}):", *("  " + line for line in source),
                      f"  return {', '.join(made)},"])

    def compile_methods() -> dict:
        scope: dict = {}
        exec(text, {"__name__": __name__}, scope)  # noqa: S102 - our own text, as dataclasses does
        return dict(zip(made, scope["__create_fn__"](**namespace)))

    return _deferred(cls, made, compile_methods)


def _tuple(who: str, names: list[str]) -> str:
    return "(" + "".join(f"{who}.{name}," for name in names) + ")"


class _DataclassFields:
    """`__dataclass_fields__`, built on first access from a dataclass with the same fields, so that
    dataclasses' functions accept a record; only then is `dataclasses` imported."""

    def __get__(self, instance, owner):
        import dataclasses

        namespace = {"__annotations__": dict(vars(owner).get("__annotations__", {}))}
        for name, f in owner.__record_specs__:
            namespace[name] = dataclasses.field(
                default=dataclasses.MISSING if f.default is MISSING else f.default,
                default_factory=dataclasses.MISSING if f.default_factory is MISSING else f.default_factory,
                compare=f.compare, hash=f.hash, repr=f.repr)
        shadow = dataclasses.dataclass(type(owner.__name__, (), namespace), init=False, repr=False, eq=False)
        fields = shadow.__dataclass_fields__
        setattr(owner, "__dataclass_fields__", fields)  # from now on a plain attribute
        return fields


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
