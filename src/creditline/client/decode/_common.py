"""The shapes every answer shares (instants, causes, allocations, money) and
:func:`record`, which builds any record from its JSON document by its type hints."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Callable, Mapping, Sequence
from datetime import date, datetime
from decimal import Decimal
from enum import Enum
from typing import Any, TypeVar, Union, get_args, get_origin, get_type_hints

from creditline.domain.ledger import Cause
from creditline.domain.money import Money
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.spending import Allocation

Doc = Mapping[str, Any]
R = TypeVar("R")
Decode = Callable[[Any], Any]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def maybe_when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def money(d: Doc) -> Money:
    return Money(d["minor"], d["currency"])


_DECODERS: dict[Any, Decode] = {
    datetime: when,
    date: date.fromisoformat,
    Decimal: Decimal,
    Money: money,
    GrantScope: parse_scope,
}
"""How a value of each of these types is read where a record holds one (besides the
types :func:`value` reads by itself); :func:`decodes` adds a record's own decoder."""


def decodes(cls: type[R]) -> Callable[[Callable[[Doc], R]], Callable[[Doc], R]]:
    """Make the decorated function how a ``cls`` held by another record is read (for a
    record whose answer differs from its fields)."""

    def register(decode: Callable[[Doc], R]) -> Callable[[Doc], R]:
        _DECODERS[cls] = decode
        return decode

    return register


_FIELDS: dict[type[Any], dict[str, Any]] = {}


def _fields(cls: type[Any]) -> dict[str, Any]:
    """The type hint of each field of a dataclass or a named tuple, by name."""
    if cls not in _FIELDS:
        hints = get_type_hints(cls)
        names = (
            [f.name for f in dataclasses.fields(cls) if f.init]
            if dataclasses.is_dataclass(cls)
            else cls._fields
        )
        _FIELDS[cls] = {name: hints[name] for name in names}
    return _FIELDS[cls]


def _is_record(hint: Any) -> bool:
    return isinstance(hint, type) and (
        dataclasses.is_dataclass(hint) or (issubclass(hint, tuple) and hasattr(hint, "_fields"))
    )


def record(cls: type[R], d: Doc, /, **given: Any) -> R:
    """A ``cls`` (a frozen dataclass or a named tuple) from its JSON document.

    Each field is read from the member of its name, or from ``<name>_micros`` when the
    answer has it (micro-credits, exact), as its type hint says (:func:`value`); the
    ``given`` fields are taken as they are; a field the answer does not carry keeps its
    default.
    """
    values = dict(given)
    for name, hint in _fields(cls).items():
        key = f"{name}_micros" if f"{name}_micros" in d else name
        if name not in given and key in d:
            values[name] = value(hint, d[key])
    return cls(**values)


def value(hint: Any, v: Any) -> Any:
    """A JSON value as the type ``hint``: a type :func:`_one` reads, optional, or a tuple,
    list or dict of those."""
    origin, args = get_origin(hint), get_args(hint)
    if origin is None:
        return _one(hint, v)
    if origin is Union or origin is types.UnionType:
        arms = [a for a in args if a is not type(None)]
        if v is None and len(arms) < len(args):
            return None
        if len(arms) == 1:
            return value(arms[0], v)
    elif origin is tuple and args[1:] == (Ellipsis,):
        return tuple(value(args[0], item) for item in v)
    elif origin is list:
        return [value(args[0], item) for item in v]
    elif origin is dict or origin is Mapping:
        return {value(args[0], k): value(args[1], item) for k, item in v.items()}
    raise TypeError(f"no decoding of {hint!r}: give the field to record()")


def _one(hint: Any, v: Any) -> Any:
    """A JSON value as a type that is not generic: ``str``, ``int``, ``bool`` and ``Any``
    as they are, ``float``, an enum by its value, a record (:func:`record`), or one of
    :data:`_DECODERS`."""
    if hint in _DECODERS:
        return _DECODERS[hint](v)
    if hint is Any or hint in (str, int, bool):
        return v
    if hint is float:
        return float(v)
    if isinstance(hint, type) and issubclass(hint, Enum):
        return hint(v)
    if _is_record(hint):
        return record(hint, v)
    raise TypeError(f"no decoding of {hint!r}: give the field to record()")


def cause(d: Doc) -> Cause:
    return record(Cause, d)


def maybe_cause(d: Doc | None) -> Cause | None:
    return None if d is None else cause(d)


def allocations(items: Sequence[Doc]) -> tuple[Allocation, ...]:
    return tuple(record(Allocation, a) for a in items)


def components(items: Sequence[Doc]) -> tuple[tuple[str, int], ...]:
    return tuple((c["operation"], c["cost_micros"]) for c in items)
