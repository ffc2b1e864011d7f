"""How pricing finds and names a problem of a rate card.

A check never raises: it returns every problem it finds (an empty list when all is
well), so a card reports all of them at once. Each problem starts with its location in
the card's document form, built by :func:`path` (``operations.train.matrix.Maximum.Fast:
must not be negative``), so the library and rate card files speak the same language.
The checks of single values (numbers, names, labels, ``per``) are here; each record
checks its own shape in its ``problems(where)`` method.
"""

from __future__ import annotations

import re
from decimal import Decimal
from typing import Protocol

from creditline.domain.pricing.values import (
    MAX_DECIMAL_PLACES,
    MAX_PER,
    MAX_RATE,
    _decimal_places,
    _divides_exactly,
    _plain,
)

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_OPERATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_MAX_LABEL = 200


class _Checked(Protocol):
    """A part of a rate card that checks itself."""

    def problems(self, where: str) -> list[str]: ...


def path(base: str, *keys: str | int) -> str:
    """A document location: ``path("operations", "train", "matrix")``; ints index
    arrays (``multipliers[0]``); keys that are not bare words are quoted."""
    out = base
    for key in keys:
        if isinstance(key, int):
            out += f"[{key}]"
            continue
        text = key if _BARE_KEY.match(key) else '"' + key.replace('"', '\\"') + '"'
        out = f"{out}.{text}" if out else text
    return out


def brief_repr(value: object) -> str:
    """``repr(value)``, cut to 60 characters: for naming a bad value in a problem."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _must_be(where: str, what: str, value: object) -> str:
    """The problem of a value that is not what it must be: ``where: must be what, got value``."""
    return f"{where}: must be {what}, got {brief_repr(value)}"


def _problems_of(
    value: object, kind: type[_Checked], where: str, what: str | None = None
) -> list[str]:
    """The problems of ``value`` if it is a ``kind`` (it checks itself), else that it is
    not one (``what``: what it must be, by default ``a`` and the kind's name)."""
    if isinstance(value, kind):
        return value.problems(where)
    return [_must_be(where, what or f"a {kind.__name__}", value)]


def _each_problems(
    items: tuple[object, ...], kind: type[_Checked], where: str, what: str
) -> list[str]:
    """:func:`_problems_of` each item, located by its index under ``where``."""
    return [
        problem
        for index, item in enumerate(items)
        for problem in _problems_of(item, kind, path(where, index), what)
    ]


def _number_problems(value: object, where: str) -> list[str]:
    if isinstance(value, float):
        return [f"{where}: must be exact: write {value!r} as text or a Decimal, not a float"]
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        return [_must_be(where, "a non-negative number", value)]
    if value < 0:
        return [f"{where}: must not be negative, got {_plain(value)}"]
    if value >= MAX_RATE:
        return [f"{where}: must be below 10^15, got {_plain(value)}"]
    if _decimal_places(value) > MAX_DECIMAL_PLACES:
        return [f"{where}: must have at most {MAX_DECIMAL_PLACES} decimals, got {value}"]
    return []


def _name_problems(value: object, where: str) -> list[str]:
    if isinstance(value, str) and _NAME.match(value):
        return []
    what = "a name of lower-case letters, digits and _ starting with a letter (like 'characters')"
    return [_must_be(where, what, value)]


def _names_problems(value: object, where: str, most: int, *, dimensions: bool = False) -> list[str]:
    """Problems of a list of names; dimensions need at least one, and distinct names."""
    if not isinstance(value, tuple):
        return [_must_be(where, "a list of names", value)]
    if dimensions and not value:
        return [f"{where}: must name at least one dimension"]
    found = [p for i, name in enumerate(value) for p in _name_problems(name, path(where, i))]
    if len(value) > most:
        found.append(f"{where}: at most {most} names")
    if dimensions and not found and len(set(value)) != len(value):
        found.append(f"{where}: a dimension is named twice")
    return found


def _label_problems(value: object, where: str) -> list[str]:
    if isinstance(value, str) and value and value == value.strip() and len(value) <= _MAX_LABEL:
        return []
    what = f"a non-empty text without surrounding spaces (at most {_MAX_LABEL} characters)"
    return [_must_be(where, what, value)]


def _per_problems(value: object, where: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER:
        return [_must_be(where, "a whole number from 1 to 10^18", value)]
    if not _divides_exactly(value):
        return [
            f"{where}: {value} has a prime factor other than 2 and 5, so a price per unit "
            "would not be an exact decimal; use 1, 1000, 1_000_000 (or 1024) and price "
            "the unit it gives"
        ]
    return []
