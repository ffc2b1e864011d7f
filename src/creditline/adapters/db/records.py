"""Rows to frozen records and records to column values, by name.

A :class:`Codec` maps the fields of one record (a dataclass of the domain) to the columns
of one table: a field reads and writes the column of its own name, or the one the codec
names for it. The field's declared type chooses the conversion both ways:

- ``int`` and ``bool``: an exact ``int`` and a ``bool`` (whatever the driver returns);
- ``datetime``: an aware UTC datetime (:func:`aware`);
- an enum: its member from the stored value, and the value back;
- ``dict``: the stored JSON object; ``tuple[X, ...]``: a stored JSON list, each item as
  an ``X``, written back as a list;
- :class:`~creditline.domain.money.Money`: the amount from its ``_minor`` column (the
  one the codec names for the field) and the currency from the ``currency`` column;
- ``str`` and ``Any``: as stored.

``None`` stays ``None`` for an optional field. A field whose table differs from the
record in another way is left to its repository: the codec skips it, and the repository
gives its value to :meth:`Codec.decode` and adds its columns to :meth:`Codec.encode`'s.
"""

from __future__ import annotations

import json
import types
from collections.abc import Callable, Collection, Mapping
from dataclasses import fields
from datetime import UTC, datetime
from enum import Enum
from typing import Any, Generic, TypeVar, Union, get_args, get_origin, get_type_hints

from sqlalchemy import Row

from creditline.domain.money import Money

__all__ = ["Codec", "aware", "stored_json"]

R = TypeVar("R")

Read = Callable[[Mapping[Any, Any]], Any]
"""A field's value from a row's columns."""
Write = Callable[[Any, dict[str, Any]], None]
"""A field's value into column values."""
Convert = Callable[[Any], Any]


def aware(value: Any) -> datetime:
    """A stored timestamp (the driver's datetime, naive or not, or SQLite's UTC text) as
    an aware UTC datetime."""
    if isinstance(value, datetime):
        return value.astimezone(UTC) if value.tzinfo is not None else value.replace(tzinfo=UTC)
    return datetime.fromisoformat(value).replace(tzinfo=UTC)


def stored_json(value: Any) -> Any:
    """A stored JSON value (a driver that keeps the text gives text; others parse it)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _same(value: Any) -> Any:
    return value


def _optional(kind: Any) -> tuple[Any, bool]:
    """``kind`` without ``None``, and whether it allowed ``None``."""
    if get_origin(kind) in (Union, types.UnionType) and type(None) in get_args(kind):
        rest = [arg for arg in get_args(kind) if arg is not type(None)]
        if len(rest) == 1:
            return rest[0], True
    return kind, False


def _decoder(kind: Any) -> Convert:
    """How a stored value becomes a value of ``kind``."""
    if kind is bool or kind is int:
        return kind
    if kind is str or kind is Any:
        return _same
    if kind is datetime:
        return aware
    if isinstance(kind, type) and issubclass(kind, Enum):
        return kind
    if kind is dict or get_origin(kind) is dict:
        return lambda value: dict(stored_json(value) or {})
    args = get_args(kind)
    if get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _decoder(args[0])
        return lambda value: tuple(item(each) for each in stored_json(value))
    raise TypeError(f"no stored form for {kind!r}: skip the field and convert it by hand")


def _encoder(kind: Any) -> Convert:
    """How a value of ``kind`` is stored."""
    if isinstance(kind, type) and issubclass(kind, Enum):
        return lambda member: member.value
    args = get_args(kind)
    if get_origin(kind) is tuple and len(args) == 2 and args[1] is Ellipsis:
        item = _encoder(args[0])
        return lambda value: [item(each) for each in value]
    return _same


def _nullable(convert: Convert) -> Convert:
    return lambda value: None if value is None else convert(value)


def _plain(kind: Any, column: str) -> tuple[Read, Write]:
    base, optional = _optional(kind)
    decode, encode = _decoder(base), _encoder(base)
    if optional:
        decode, encode = _nullable(decode), _nullable(encode)

    def read(row: Mapping[Any, Any]) -> Any:
        return decode(row[column])

    def write(value: Any, values: dict[str, Any]) -> None:
        values[column] = encode(value)

    return read, write


def _money(column: str, currency: bool) -> tuple[Read, Write]:
    """A Money field in its ``_minor`` column and the ``currency`` column (written by this
    field only when ``currency``: no other field of the record stores it)."""

    def read(row: Mapping[Any, Any]) -> Money | None:
        minor = row[column]
        return None if minor is None else Money(int(minor), row["currency"])

    def write(value: Money | None, values: dict[str, Any]) -> None:
        values[column] = None if value is None else value.minor
        if currency and value is not None:
            values["currency"] = value.currency

    return read, write


class Codec(Generic[R]):
    """The mapping of one record's fields to one table's columns."""

    __slots__ = ("_reads", "_writes", "record")

    def __init__(
        self,
        record: type[R],
        columns: Mapping[str, str] | None = None,
        skip: Collection[str] = (),
    ) -> None:
        """``columns``: the column of each field stored under another name; ``skip``:
        the fields the repository converts itself."""
        names = dict(columns or {})
        hints = get_type_hints(record)
        kept = [f.name for f in fields(record) if f.name not in skip]  # type: ignore[arg-type]
        owns_currency = "currency" not in {names.get(name, name) for name in kept}
        self.record = record
        self._reads: list[tuple[str, Read]] = []
        self._writes: dict[str, Write] = {}
        for name in kept:
            column = names.get(name, name)
            if _optional(hints[name])[0] is Money:
                read, write = _money(column, owns_currency)
            else:
                read, write = _plain(hints[name], column)
            self._reads.append((name, read))
            self._writes[name] = write

    def decode(self, row: Row[*tuple[Any, ...]] | Mapping[Any, Any], **given: Any) -> R:
        """The record of a row (SQLAlchemy's or a mapping of column names), with the
        skipped fields' values ``given``."""
        columns = row._mapping if isinstance(row, Row) else row
        values = {name: read(columns) for name, read in self._reads if name not in given}
        return self.record(**values, **given)

    def encode(self, record: R, *names: str, without: Collection[str] = ()) -> dict[str, Any]:
        """The column values of a record's fields: of ``names`` only when given, less
        those ``without``."""
        values: dict[str, Any] = {}
        for name in names or self._writes:
            if name not in without:
                self._writes[name](getattr(record, name), values)
        return values
