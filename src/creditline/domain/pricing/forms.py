"""Pricing: what an operation costs, by the rate card in force (requirements C2, C3, C8).

A **rate card** is one version of a platform's price list: a name (``"otai"``), a
version label (``"2026-01"``), the instant it takes effect (``effective_from``) and
a price for each operation the platform meters (``"train"``, ``"translate"``).
Versions of one card form a :class:`RateCardHistory`; a version is *in force* on the
half-open interval ``[effective_from, next version's effective_from)``. A usage event
is priced by the version in force at the event's own timestamp, and a new version may
only take effect from now on (:meth:`RateCardHistory.add`), so a new price never
changes what past usage cost, late events included.

An operation's price (:class:`OperationPrice`) is one **form**, giving the *base*
cost, then optional **multipliers**, then one **rounding** rule:

- :class:`Flat`: ``credits`` per call.
- :class:`PerUnit`: ``credits`` per ``per`` units of a quantity (10 credits per
  1_000_000 ``characters``; 0.024 credits per ``minutes``).
- :class:`Matrix`: a price picked by the values of dimensions (``mode`` x
  ``delivery``: Business/Standard = 3 credits), per call or per unit.
- :class:`Formula`: a sum of terms, each ``credits x q1 x q2 ... / per``
  (benchmarking by model size and dataset size).
- :class:`SupplierPrices`: one price per model, set by its supplier and picked by a
  dimension (``model``); the platform adds nothing on top.
- :class:`Pipeline`: the sum of its steps, each priced as its own operation.

Then:

- :class:`MultiplierBands` multiply the base by the band a quantity falls in
  (``attributes`` 1..5 x0.5, 6..20 x1, 21..50 x2, 51..200 x4); a value in no band
  is refused.
- :class:`OffPeak` multiplies by its factor when the event's local time of day is
  inside its window (22:00-06:00 in a zone) (C8). The card may set one for all of its
  operations; an operation's own replaces it.

The arithmetic is exact: prices, multipliers and quantities are :class:`~decimal.Decimal`
(never floats; ints and decimal strings are accepted), every ``per`` is a divisor whose
reciprocal is an exact decimal (only the prime factors 2 and 5: 1, 1000, 1_000_000,
1024), and products are taken in a context that raises instead of rounding. So::

    exact = base x multiplier_1 x ... x multiplier_n      (micro-credits, a Decimal)
    total = round_to_increment(exact, rounding.increment, rounding.mode)   (an int)

:func:`round_to_increment` is the only place a cost is rounded, once per priced
operation, to a multiple of the rule's increment (1 = the micro-credit, 1_000_000 =
whole credits) in one of four modes (:class:`RoundingMode`). A price with no rule of
its own uses the card's, and a card with none rounds *up to the micro-credit*. A
pipeline does not round again: its total is the sum of its steps' rounded totals.

:func:`price` returns a :class:`Quote` without spending anything: the total in
micro-credits and the breakdown (components of the base, multipliers applied, the
exact value, the rounding and what it added, the steps of a pipeline), so a platform
can say "this run will cost 12 credits" before it starts::

    card = parse_ratecard(Path("examples/otai/ratecard.toml").read_text())
    quote = price(card, "train", {"attributes": 3}, {"mode": "Business", "delivery": "Standard"})
    quote.total          # 2_000_000 micro-credits: 3 credits x 0.5 = 1.5, rounded up
    history.price("train", {...}, {...}, at=event_time)   # the version in force then

:meth:`RateCardHistory.charge` is the ingest path's price: only the card, the version,
the total and a pipeline's step totals (a :class:`Charge`), always equal to what
:meth:`RateCardHistory.price` gives (and refusing what it refuses, with the same
error). It prices the common cases (int quantities, no off-peak rate) by integer
arithmetic, compiled once per version and operation: each price becomes a sum of
``coefficient x quantity x ...`` over one denominator, each band multiplier a ratio of
ints, and the exact ratio is rounded as :func:`round_to_increment` rounds it. Anything
else it hands to the full pricing, which also names every problem.

Rate cards built in code are validated when constructed; every problem is reported at
once in one :class:`~creditline.domain.errors.InvalidRateCard`, each located by a path
into the card's document form (``operations.train.matrix.Maximum.Fast: must not be
negative``) so the library and files (:mod:`creditline.domain.ratecard_format`) speak
the same language. Bad usage raises :class:`~creditline.domain.errors.InvalidUsage`
naming every bad field (``quantities.minutes: missing``).
"""

from __future__ import annotations

import bisect
import enum
import itertools
import math
import re
import zoneinfo
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DecimalException,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from fractions import Fraction
from types import MappingProxyType
from typing import Any, NamedTuple

from creditline.domain.amounts import MAX_MICROS, MICROS_PER_CREDIT, format_credits
from creditline.domain.errors import (
    InvalidAmount,
    InvalidRateCard,
    InvalidUsage,
    NoRateCardInForce,
    UnknownOperation,
)
from creditline.domain.time import require_aware

__all__ = [
    "DEFAULT_ROUNDING",
    "AppliedMultiplier",
    "Band",
    "Charge",
    "Component",
    "Flat",
    "Formula",
    "Matrix",
    "ModelPrice",
    "MultiplierBands",
    "OffPeak",
    "OperationPrice",
    "PerUnit",
    "Pipeline",
    "PriceForm",
    "Quantity",
    "Quote",
    "RateCard",
    "RateCardHistory",
    "Rounding",
    "RoundingMode",
    "SimplePrice",
    "Step",
    "SupplierPrices",
    "Term",
    "path",
    "price",
    "ratecard_problems",
    "round_to_increment",
]

Quantity = int | Decimal | str
"""A usage quantity: an int, a Decimal or exact decimal text (``"12.5"``); never a float."""

MAX_DECIMAL_PLACES = 18
"""Prices, multipliers, band limits and quantities carry at most this many decimals."""

MAX_RATE = Decimal(10) ** 15
"""Prices (credits), multipliers and band limits are below this."""

MAX_QUANTITY = Decimal(10) ** 18
"""Usage quantities are below this."""

MAX_PER = 10**18
"""The largest ``per`` (units a price is quoted for)."""

MAX_TERM_QUANTITIES = 4
"""A formula term multiplies at most this many quantities."""

_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
_OPERATION = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,99}$")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
_MAX_LABEL = 200
_EMPTY: Mapping[str, Any] = MappingProxyType({})

# Every sum and product of pricing is taken in this context. Its precision is far above
# what the bounds above can produce, and Inexact is trapped, so a result is either exact
# or an error: never silently rounded before round_to_increment.
_EXACT = Context(
    prec=1000,
    rounding=ROUND_HALF_EVEN,
    Emin=MIN_EMIN,
    Emax=MAX_EMAX,
    traps=[InvalidOperation, DivisionByZero, Overflow, Inexact],
)


# --------------------------------------------------------------------------- rounding


class RoundingMode(enum.StrEnum):
    """How :func:`round_to_increment` settles a cost between two multiples.

    Costs are never negative, so "up" and "away from zero" are the same.
    """

    UP = "up"
    """The next multiple at or above: never charges less than the exact cost."""
    DOWN = "down"
    """The multiple at or below: never charges more than the exact cost."""
    HALF_UP = "half_up"
    """The nearest multiple; exactly half-way goes up."""
    HALF_EVEN = "half_even"
    """The nearest multiple; exactly half-way goes to the even multiple (banker's)."""

    @classmethod
    def names(cls) -> str:
        return ", ".join(mode.value for mode in cls)


def round_to_increment(value: Decimal, increment: int, mode: RoundingMode) -> int:
    """Round an exact cost in micro-credits to a multiple of ``increment`` micro-credits.

    This is the one rounding of pricing. It works on the exact ratio of ``value`` and
    integers, so it is exact whatever the increment.

    Args:
        value: the exact cost, in micro-credits (non-negative, finite).
        increment: the step to round to, in micro-credits: 1 rounds to the micro-credit,
            10_000 to the hundredth of a credit, 1_000_000 to whole credits.
        mode: see :class:`RoundingMode`.

    Returns:
        The rounded cost in micro-credits, a multiple of ``increment``.

    Raises:
        InvalidAmount: for a negative or non-finite value, or an increment that is not a
            positive int.

    >>> round_to_increment(Decimal("1500000"), 1_000_000, RoundingMode.UP)
    2000000
    """
    if not isinstance(value, Decimal) or not value.is_finite() or value < 0:
        raise InvalidAmount(value, "only a finite, non-negative cost can be rounded")
    if isinstance(increment, bool) or not isinstance(increment, int) or increment <= 0:
        raise InvalidAmount(increment, "a rounding increment is a positive int of micro-credits")
    numerator, denominator = value.as_integer_ratio()
    denominator *= increment
    whole, rest = divmod(numerator, denominator)
    if rest and _rounds_up(RoundingMode(mode), 2 * rest, denominator, whole):
        whole += 1
    return whole * increment


def _rounds_up(mode: RoundingMode, twice_rest: int, denominator: int, whole: int) -> bool:
    """Whether a value strictly between ``whole`` and ``whole + 1`` increments goes up."""
    if mode is RoundingMode.UP:
        return True
    if mode is RoundingMode.DOWN:
        return False
    if twice_rest != denominator:
        return twice_rest > denominator
    return mode is RoundingMode.HALF_UP or whole % 2 == 1


@dataclass(frozen=True, slots=True)
class Rounding:
    """A rounding rule: ``Rounding(RoundingMode.UP, 1_000_000)`` is "up to whole credits".

    Attributes:
        mode: how to settle between multiples.
        increment: the multiple to round to, in micro-credits (1 = the micro-credit).
    """

    mode: RoundingMode = RoundingMode.UP
    increment: int = 1

    def __post_init__(self) -> None:
        if isinstance(self.mode, str) and not isinstance(self.mode, RoundingMode):
            with suppress(ValueError):  # an unknown mode is left as given: problems() names it
                object.__setattr__(self, "mode", RoundingMode(self.mode))

    def problems(self, where: str) -> list[str]:
        """Every problem of this rule, located under ``where``."""
        found = []
        if not isinstance(self.mode, RoundingMode):
            found.append(
                f"{path(where, 'mode')}: must be one of {RoundingMode.names()}, "
                f"got {brief_repr(self.mode)}"
            )
        inc = self.increment
        if isinstance(inc, bool) or not isinstance(inc, int) or not 0 < inc <= MAX_MICROS:
            found.append(
                f"{path(where, 'increment')}: must be a positive amount of credits "
                f"(at least 0.000001), got {brief_repr(inc)}"
            )
        return found

    def describe(self) -> str:
        """``"up to 1 credit"``, ``"half_even to 0.000001 credit"``."""
        return f"{self.mode.value} to {format_credits(self.increment)} credit"

    def to_dict(self) -> dict[str, Any]:
        """The rule in document form: the increment is in credits."""
        return {"mode": self.mode.value, "increment": format_credits(self.increment)}


DEFAULT_ROUNDING = Rounding(RoundingMode.UP, 1)
"""A card that sets no rounding rounds up to the micro-credit: it never charges less
than its prices say, and never more than one micro-credit above."""


# ---------------------------------------------------------------------- the breakdown


@dataclass(frozen=True, slots=True)
class Component:
    """One addend of an operation's base cost.

    Attributes:
        label: what it is (``"40 minutes x 0.024 credits per 1 minutes"``).
        micros: its exact cost in micro-credits.
    """

    label: str
    micros: Decimal


@dataclass(frozen=True, slots=True)
class AppliedMultiplier:
    """A multiplier that applied: ``("attributes 3 in 1..5", Decimal("0.5"))``."""

    reason: str
    factor: Decimal


# --------------------------------------------------------------------- price forms


class _Selected(NamedTuple):
    """What a form's dimensions picked: a simple price, and how it was picked."""

    price: SimplePrice
    selection: Mapping[str, str]
    supplier: str | None
    label: str


@dataclass(frozen=True, slots=True)
class Flat:
    """A price per call: ``Flat(Decimal(3))`` costs 3 credits whatever the quantities.

    Document form: ``flat = 3``.
    """

    credits: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", _to_decimal(self.credits))

    def problems(self, where: str) -> list[str]:
        return _number_problems(self.credits, path(where, "flat"))

    def quantity_names(self) -> tuple[str, ...]:
        return ()

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected:
        return _Selected(self, _EMPTY, None, "")

    def components(self, quantities: Mapping[str, Decimal]) -> tuple[Component, ...]:
        micros = self.credits * MICROS_PER_CREDIT
        return (Component(f"{_plain(self.credits)} credits per call", micros),)

    def to_dict(self) -> dict[str, Any]:
        return {"flat": _plain(self.credits)}


@dataclass(frozen=True, slots=True)
class PerUnit:
    """``credits`` per ``per`` units of ``quantity``.

    ``PerUnit(Decimal(10), "characters", 1_000_000)`` is 10 credits per million
    characters; ``PerUnit(Decimal("0.024"), "minutes")`` is 0.024 credits a minute.

    Document form: ``per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }``
    (``per`` defaults to 1).
    """

    credits: Decimal
    quantity: str
    per: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", _to_decimal(self.credits))

    def problems(self, where: str) -> list[str]:
        base = path(where, "per_unit")
        return [
            *_number_problems(self.credits, path(base, "credits")),
            *_name_problems(self.quantity, path(base, "quantity")),
            *_per_problems(self.per, path(base, "per")),
        ]

    def quantity_names(self) -> tuple[str, ...]:
        return (self.quantity,)

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected:
        return _Selected(self, _EMPTY, None, "")

    def components(self, quantities: Mapping[str, Decimal]) -> tuple[Component, ...]:
        amount = quantities[self.quantity]
        micros = self.credits * MICROS_PER_CREDIT * amount / self.per
        label = f"{_plain(amount)} {self.quantity} x {_plain(self.credits)} credits"
        if self.per != 1:
            label += f" / {self.per}"
        return (Component(label, micros),)

    def to_dict(self) -> dict[str, Any]:
        return {
            "per_unit": {
                "credits": _plain(self.credits),
                "quantity": self.quantity,
                "per": self.per,
            }
        }


@dataclass(frozen=True, slots=True)
class Term:
    """One term of a :class:`Formula`: ``credits x quantities[0] x ... / per``.

    A term with no quantities is a constant (a fee per run).
    """

    credits: Decimal
    quantities: tuple[str, ...] = ()
    per: int = 1
    label: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "credits", _to_decimal(self.credits))
        object.__setattr__(self, "quantities", _to_tuple(self.quantities))

    def problems(self, where: str) -> list[str]:
        found = _number_problems(self.credits, path(where, "credits"))
        found += _names_problems(self.quantities, path(where, "quantities"), MAX_TERM_QUANTITIES)
        found += _per_problems(self.per, path(where, "per"))
        if not isinstance(self.label, str) or len(self.label) > _MAX_LABEL:
            found.append(f"{path(where, 'label')}: must be a string of at most {_MAX_LABEL}")
        return found

    def component(self, quantities: Mapping[str, Decimal]) -> Component:
        micros = self.credits * MICROS_PER_CREDIT
        parts = [f"{_plain(self.credits)} credits"]
        for name in self.quantities:
            micros *= quantities[name]
            parts.append(f"{_plain(quantities[name])} {name}")
        micros /= self.per
        text = " x ".join(parts) + (f" / {self.per}" if self.per != 1 else "")
        return Component(f"{self.label}: {text}" if self.label else text, micros)

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"credits": _plain(self.credits)}
        if self.quantities:
            out["quantities"] = list(self.quantities)
        if self.per != 1:
            out["per"] = self.per
        if self.label:
            out["label"] = self.label
        return out


@dataclass(frozen=True, slots=True)
class Formula:
    """A cost computed from several quantities: the sum of its :class:`Term` s.

    Benchmarking a model on a dataset, for example::

        Formula((Term(Decimal("0.5")),                                   # per run
                 Term(Decimal("0.001"), ("model_params_b", "samples"))))  # size x size

    Document form: an array of tables under ``formula``, each with ``credits`` and
    optional ``quantities`` (a list of names), ``per`` and ``label``.
    """

    terms: tuple[Term, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "terms", _to_tuple(self.terms))

    def problems(self, where: str) -> list[str]:
        base = path(where, "formula")
        if not isinstance(self.terms, tuple) or not self.terms:
            return [f"{base}: must have at least one term"]
        found = []
        for index, term in enumerate(self.terms):
            if isinstance(term, Term):
                found += term.problems(path(base, index))
            else:
                found.append(f"{path(base, index)}: must be a term, got {brief_repr(term)}")
        return found

    def quantity_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(name for term in self.terms for name in term.quantities))

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected:
        return _Selected(self, _EMPTY, None, "")

    def components(self, quantities: Mapping[str, Decimal]) -> tuple[Component, ...]:
        return tuple(term.component(quantities) for term in self.terms)

    def to_dict(self) -> dict[str, Any]:
        return {"formula": [term.to_dict() for term in self.terms]}


SimplePrice = Flat | PerUnit | Formula
"""The forms that price usage directly; a matrix cell or a model resolves to one."""


@dataclass(frozen=True, slots=True)
class Matrix:
    """A price picked by the values of several dimensions.

    ``cells`` maps one value per dimension, in the order of ``dimensions``, to credits.
    Every combination of the values that appear must have a price. With ``quantity``
    set, each cell is credits per ``per`` units of that quantity instead of per call.

    Document form (OTAI training runs)::

        dimensions = ["mode", "delivery"]
        [operations.train.matrix]
        Basic    = { Standard = 1,  Fast = 2 }
        Business = { Standard = 3,  Fast = 5 }
        Maximum  = { Standard = 12, Fast = 18 }
        # optional: unit = { quantity = "characters", per = 1_000_000 }
    """

    dimensions: tuple[str, ...]
    cells: Mapping[tuple[str, ...], Decimal] = field(hash=False)
    quantity: str | None = None
    per: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "dimensions", _to_tuple(self.dimensions))
        if isinstance(self.cells, Mapping):
            cells = {_to_tuple(key): _to_decimal(value) for key, value in self.cells.items()}
            object.__setattr__(self, "cells", MappingProxyType(cells))

    def values(self) -> dict[str, tuple[str, ...]]:
        """Each dimension's values, in the order they first appear in ``cells``."""
        seen: list[dict[str, None]] = [{} for _ in self.dimensions]
        for key in self.cells:
            if isinstance(key, tuple) and len(key) == len(self.dimensions):
                for level, value in zip(seen, key, strict=True):
                    level[value] = None
        return {dim: tuple(level) for dim, level in zip(self.dimensions, seen, strict=True)}

    def problems(self, where: str) -> list[str]:
        found = _names_problems(self.dimensions, path(where, "dimensions"), 8, dimensions=True)
        if not isinstance(self.dimensions, tuple) or not self.dimensions:
            return found
        if not isinstance(self.cells, Mapping) or not self.cells:
            return [*found, f"{path(where, 'matrix')}: must have at least one price"]
        found += self._cell_problems(where, complete=not found)
        if self.quantity is not None:
            found += _name_problems(self.quantity, path(where, "unit", "quantity"))
            found += _per_problems(self.per, path(where, "unit", "per"))
        elif self.per != 1:
            found.append(f"{path(where, 'unit', 'per')}: needs unit.quantity")
        return found

    def _cell_problems(self, where: str, *, complete: bool) -> list[str]:
        """Each cell's problems; then, if all is well so far, the missing combinations."""
        keys, numbers = [], []
        width = len(self.dimensions)
        for key, value in self.cells.items():
            if not isinstance(key, tuple) or len(key) != width:
                keys.append(f"{path(where, 'matrix')}: key {brief_repr(key)} needs {width} values")
                continue
            labels = [p for v in key for p in _label_problems(v, path(where, "matrix", str(v)))]
            keys += labels
            numbers += [] if labels else _number_problems(value, path(where, "matrix", *key))
        found = keys + numbers
        if keys or not complete:
            return found
        shape = " x ".join(self.dimensions)
        for combination in itertools.product(*self.values().values()):
            if combination not in self.cells:
                found.append(
                    f"{path(where, 'matrix', *combination)}: missing: every combination of "
                    f"{shape} needs a price"
                )
        return found

    def quantity_names(self) -> tuple[str, ...]:
        return () if self.quantity is None else (self.quantity,)

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected | None:
        key = _choose(self.values(), dimensions, problems)
        if key is None:
            return None
        cell = self.cells[key]
        simple: SimplePrice = (
            Flat(cell) if self.quantity is None else PerUnit(cell, self.quantity, self.per)
        )
        selection = dict(zip(self.dimensions, key, strict=True))
        return _Selected(simple, selection, None, " x ".join(key))

    def to_dict(self) -> dict[str, Any]:
        nested: dict[str, Any] = {}
        for key, value in self.cells.items():
            level = nested
            for part in key[:-1]:
                level = level.setdefault(part, {})
            level[key[-1]] = _plain(value)
        out: dict[str, Any] = {"dimensions": list(self.dimensions), "matrix": nested}
        if self.quantity is not None:
            out["unit"] = {"quantity": self.quantity, "per": self.per}
        return out


@dataclass(frozen=True, slots=True)
class ModelPrice:
    """A model's price as its supplier sets it: ``ModelPrice("Azure", PerUnit(...))``."""

    supplier: str
    price: SimplePrice


@dataclass(frozen=True, slots=True)
class SupplierPrices:
    """One price per model, set by the model's supplier, picked by a dimension.

    The platform adds no fee and no markup: a call costs exactly the model's price
    (then the operation's multipliers and rounding, if it sets any). Each model's price
    is a :class:`Flat`, :class:`PerUnit` or :class:`Formula`, so models of one operation
    may be priced in different units.

    Document form (aiXplain)::

        [operations.translate]
        dimension = "model"                       # the default
        [operations.translate.models.azure-translator]
        supplier = "Azure"
        per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }
    """

    models: Mapping[str, ModelPrice] = field(hash=False)
    dimension: str = "model"

    def __post_init__(self) -> None:
        if isinstance(self.models, Mapping):
            object.__setattr__(self, "models", MappingProxyType(dict(self.models)))

    def problems(self, where: str) -> list[str]:
        found = _name_problems(self.dimension, path(where, "dimension"))
        if not isinstance(self.models, Mapping) or not self.models:
            return [*found, f"{path(where, 'models')}: must have at least one model"]
        for name, model in self.models.items():
            at = path(where, "models", str(name))
            found += _label_problems(name, at)
            if not isinstance(model, ModelPrice):
                found.append(f"{at}: must be a model price, got {brief_repr(model)}")
                continue
            found += _label_problems(model.supplier, path(at, "supplier"))
            if isinstance(model.price, SimplePrice):
                found += model.price.problems(at)
            else:
                found.append(f"{at}: a model's price is flat, per_unit or formula")
        return found

    def quantity_names(self) -> tuple[str, ...]:
        names = (name for m in self.models.values() for name in m.price.quantity_names())
        return tuple(dict.fromkeys(names))

    def select(self, dimensions: Mapping[str, object], problems: list[str]) -> _Selected | None:
        key = _choose({self.dimension: tuple(self.models)}, dimensions, problems)
        if key is None:
            return None
        model = self.models[key[0]]
        return _Selected(model.price, {self.dimension: key[0]}, model.supplier, key[0])

    def to_dict(self) -> dict[str, Any]:
        models = {
            name: {"supplier": model.supplier, **model.price.to_dict()}
            for name, model in self.models.items()
        }
        return {"dimension": self.dimension, "models": models}


@dataclass(frozen=True, slots=True)
class Pipeline:
    """An operation that costs the sum of its steps, each priced as its own operation.

    The steps are given when pricing (:class:`Step`), since a pipeline is designed by
    its user. ``allow`` limits which operations may be steps (empty: any operation of
    the card that is not itself a pipeline). A pipeline has no multipliers and no
    rounding of its own: each step is rounded by its own rule, and the total is the
    sum of the steps' totals.

    Document form: ``pipeline = { allow = ["translate", "transcribe"] }`` or
    ``pipeline = {}``.
    """

    allow: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "allow", _to_tuple(self.allow))

    def problems(self, where: str) -> list[str]:
        at = path(where, "pipeline", "allow")
        if not isinstance(self.allow, tuple):
            return [f"{at}: must be a list of operation names"]
        return [
            f"{path(at, index)}: must be an operation name, got {brief_repr(name)}"
            for index, name in enumerate(self.allow)
            if not isinstance(name, str) or not _OPERATION.match(name)
        ]

    def to_dict(self) -> dict[str, Any]:
        return {"pipeline": {"allow": list(self.allow)} if self.allow else {}}


PriceForm = Flat | PerUnit | Matrix | Formula | SupplierPrices | Pipeline
"""The forms an operation's price can take."""


# ----------------------------------------------------------------------- modifiers


@dataclass(frozen=True, slots=True)
class Band:
    """Values of a quantity from ``low`` to ``high`` (both included; ``None``: no end)."""

    low: Decimal
    high: Decimal | None
    multiplier: Decimal

    def __post_init__(self) -> None:
        object.__setattr__(self, "low", _to_decimal(self.low))
        object.__setattr__(self, "multiplier", _to_decimal(self.multiplier))
        if self.high is not None:
            object.__setattr__(self, "high", _to_decimal(self.high))

    def contains(self, value: Decimal) -> bool:
        return self.low <= value and (self.high is None or value <= self.high)

    def describe(self) -> str:
        """``"1..5"``; ``"201.."`` when there is no upper end."""
        return f"{_plain(self.low)}..{'' if self.high is None else _plain(self.high)}"

    def problems(self, where: str) -> list[str]:
        found = _number_problems(self.low, path(where, "from"))
        found += _number_problems(self.multiplier, path(where, "multiplier"))
        if self.high is not None:
            found += _number_problems(self.high, path(where, "to"))
            if not found and self.high < self.low:
                found.append(f"{path(where, 'to')}: must not be below from ({self.low})")
        return found


@dataclass(frozen=True, slots=True)
class MultiplierBands:
    """Multiply an operation's base by the band a quantity falls in (OTAI's attributes).

    Bands are in ascending order and do not overlap; a value in no band (0 or 250
    attributes when the bands cover 1..200) is refused as invalid usage.

    Document form::

        [[operations.train.multipliers]]
        quantity = "attributes"
        bands = [
          { from = 1,  to = 5,   multiplier = 0.5 },
          { from = 6,  to = 20,  multiplier = 1 },
        ]
    """

    quantity: str
    bands: tuple[Band, ...]

    def __post_init__(self) -> None:
        object.__setattr__(self, "bands", _to_tuple(self.bands))

    def problems(self, where: str) -> list[str]:
        found = _name_problems(self.quantity, path(where, "quantity"))
        at = path(where, "bands")
        if not isinstance(self.bands, tuple) or not self.bands:
            return [*found, f"{at}: must have at least one band"]
        if not all(isinstance(band, Band) for band in self.bands):
            return [*found, f"{at}: every band must be a Band"]
        bands = [p for i, band in enumerate(self.bands) for p in band.problems(path(at, i))]
        return found + (bands or _order_problems(self.bands, at))

    def find(self, value: Decimal) -> Band | None:
        return next((band for band in self.bands if band.contains(value)), None)

    def describe(self) -> str:
        return ", ".join(band.describe() for band in self.bands)

    def to_dict(self) -> dict[str, Any]:
        bands = []
        for band in self.bands:
            entry = {"from": _plain(band.low), "multiplier": _plain(band.multiplier)}
            if band.high is not None:
                entry["to"] = _plain(band.high)
            bands.append(entry)
        return {"quantity": self.quantity, "bands": bands}


def _order_problems(bands: tuple[Band, ...], where: str) -> list[str]:
    found = []
    for index in range(1, len(bands)):
        before, band = bands[index - 1], bands[index]
        if before.high is None or band.low <= before.high:
            found.append(
                f"{path(where, index)}: must start above the end of {path('bands', index - 1)} "
                "(bands are in ascending order and do not overlap)"
            )
    return found


@dataclass(frozen=True, slots=True)
class OffPeak:
    """A time-of-day rate (C8): the price times ``multiplier`` inside a daily window.

    The window is ``[start, end)`` in the local time of ``zone`` (``"UTC"``, a fixed
    offset such as ``"+02:00"``, or an IANA name such as ``"Europe/Berlin"``, which
    follows daylight saving time); a window whose start is after its end wraps past
    midnight (22:00-06:00). The time that counts is the event's timestamp.

    Document form: ``off_peak = { start = "22:00", end = "06:00", zone = "UTC",
    multiplier = 0.5 }``.
    """

    start: time
    end: time
    multiplier: Decimal
    zone: str = "UTC"

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _to_time(self.start))
        object.__setattr__(self, "end", _to_time(self.end))
        object.__setattr__(self, "multiplier", _to_decimal(self.multiplier))

    def problems(self, where: str) -> list[str]:
        found = [
            f'{path(where, name)}: must be a time of day such as "22:00", got {brief_repr(value)}'
            for name, value in (("start", self.start), ("end", self.end))
            if not isinstance(value, time) or value.tzinfo is not None
        ]
        if not found and self.start == self.end:
            found.append(f"{path(where, 'end')}: must differ from start")
        if _zone(self.zone) is None:
            found.append(
                f"{path(where, 'zone')}: must be UTC, an offset such as +02:00 or an IANA "
                f"time zone such as Europe/Berlin, got {brief_repr(self.zone)}"
            )
        return found + _number_problems(self.multiplier, path(where, "multiplier"))

    def applies(self, at: datetime) -> bool:
        """Whether the instant ``at`` falls inside the window, in the window's zone."""
        zone = _zone(self.zone)
        assert zone is not None  # a validated card only holds zones that resolve
        local = at.astimezone(zone).time()
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def describe(self) -> str:
        return f"off-peak {_clock(self.start)}-{_clock(self.end)} {self.zone}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _clock(self.start),
            "end": _clock(self.end),
            "zone": self.zone,
            "multiplier": _plain(self.multiplier),
        }


# -------------------------------------------------------------- operations and cards


@dataclass(frozen=True, slots=True)
class OperationPrice:
    """What one operation costs: a form, multipliers, a rounding rule.

    Attributes:
        form: the base cost (see the module docstring for the forms).
        multipliers: bands of quantities that multiply the base, applied in order.
        rounding: this price's rule; ``None`` uses the card's.
        off_peak: this price's time-of-day rate; ``None`` uses the card's.
        description: free text for people.
    """

    form: PriceForm
    multipliers: tuple[MultiplierBands, ...] = ()
    rounding: Rounding | None = None
    off_peak: OffPeak | None = None
    description: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "multipliers", _to_tuple(self.multipliers))

    def problems(self, where: str) -> list[str]:
        """Every problem of this price, located under ``where`` (its document table)."""
        if isinstance(self.form, PriceForm):
            found = self.form.problems(where)
        else:
            found = [f"{where}: the price must be a price form, got {brief_repr(self.form)}"]
        found += self._modifier_problems(where)
        if not isinstance(self.description, str):
            found.append(f"{path(where, 'description')}: must be a string")
        if isinstance(self.form, Pipeline) and (
            self.multipliers or self.rounding is not None or self.off_peak is not None
        ):
            found.append(
                f"{where}: a pipeline is the sum of its steps, each with its own multipliers "
                "and rounding; it cannot have its own"
            )
        return found

    def _modifier_problems(self, where: str) -> list[str]:
        found = []
        if not isinstance(self.multipliers, tuple):
            found.append(f"{path(where, 'multipliers')}: must be a list of multiplier bands")
        else:
            for index, bands in enumerate(self.multipliers):
                at = path(where, "multipliers", index)
                if isinstance(bands, MultiplierBands):
                    found += bands.problems(at)
                else:
                    found.append(f"{at}: must be multiplier bands, got {brief_repr(bands)}")
        if self.rounding is not None:
            found += _typed_problems(self.rounding, Rounding, path(where, "rounding"))
        if self.off_peak is not None:
            found += _typed_problems(self.off_peak, OffPeak, path(where, "off_peak"))
        return found

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"description": self.description} if self.description else {}
        out.update(self.form.to_dict())
        if self.multipliers:
            out["multipliers"] = [bands.to_dict() for bands in self.multipliers]
        if self.rounding is not None:
            out["rounding"] = self.rounding.to_dict()
        if self.off_peak is not None:
            out["off_peak"] = self.off_peak.to_dict()
        return out


def ratecard_problems(
    *,
    name: object,
    version: object,
    effective_from: object,
    operations: Mapping[str, OperationPrice | None],
    rounding: object = DEFAULT_ROUNDING,
    off_peak: object = None,
    description: object = "",
) -> list[str]:
    """Every problem of a rate card's parts, each located by its document path.

    :class:`RateCard` calls this when constructed. A parser that could not build some
    operations passes ``None`` for them: their names still count (a pipeline may allow
    them) but nothing else about them is checked here.
    """
    found = _label_problems(name, "name") + _label_problems(version, "version")
    if not isinstance(effective_from, datetime) or effective_from.utcoffset() is None:
        found.append(
            "effective_from: must be a date and time with a time zone "
            f"(2026-01-01T00:00:00Z), got {brief_repr(effective_from)}"
        )
    if not isinstance(description, str):
        found.append("description: must be a string")
    found += _typed_problems(rounding, Rounding, "rounding")
    if off_peak is not None:
        found += _typed_problems(off_peak, OffPeak, "off_peak")
    return found + _operations_problems(operations)


def _operations_problems(operations: Mapping[str, OperationPrice | None]) -> list[str]:
    if not isinstance(operations, Mapping) or not operations:
        return ["operations: a rate card prices at least one operation"]
    found = []
    for name, offer in operations.items():
        where = path("operations", str(name))
        if not isinstance(name, str) or not _OPERATION.match(name):
            found.append(
                f"{where}: an operation name is letters, digits and _ . : / - "
                "(at most 100, starting with a letter or digit)"
            )
        if offer is None:
            continue
        if not isinstance(offer, OperationPrice):
            found.append(f"{where}: must be an OperationPrice, got {brief_repr(offer)}")
            continue
        found += offer.problems(where)
        if isinstance(offer.form, Pipeline) and isinstance(offer.form.allow, tuple):
            found += _allow_problems(where, offer.form.allow, operations)
    return found


def _allow_problems(
    where: str, allow: tuple[str, ...], operations: Mapping[str, OperationPrice | None]
) -> list[str]:
    found = []
    for index, step in enumerate(allow):
        target = operations.get(step, None) if isinstance(step, str) else None
        at = path(where, "pipeline", "allow", index)
        if isinstance(step, str) and step not in operations:
            found.append(f"{at}: no operation {step!r} in this rate card")
        elif isinstance(target, OperationPrice) and isinstance(target.form, Pipeline):
            found.append(f"{at}: {step!r} is a pipeline; a pipeline cannot be a step")
    return found


@dataclass(frozen=True, slots=True)
class RateCard:
    """One version of a price list, validated when constructed.

    Attributes:
        name: the card's name, shared by all its versions (``"otai"``).
        version: this version's label (``"2026-01"``).
        effective_from: when this version takes effect (aware; kept in UTC).
        operations: each operation's price, by operation name.
        rounding: the rule of every price that sets none.
        off_peak: the time-of-day rate of every operation that sets none.
        description: free text for people.

    Raises:
        InvalidRateCard: listing every problem found.
    """

    name: str
    version: str
    effective_from: datetime
    operations: Mapping[str, OperationPrice] = field(hash=False)
    rounding: Rounding = DEFAULT_ROUNDING
    off_peak: OffPeak | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if isinstance(self.operations, Mapping):
            object.__setattr__(self, "operations", MappingProxyType(dict(self.operations)))
        moment = self.effective_from
        if isinstance(moment, datetime) and moment.utcoffset() is not None:
            object.__setattr__(self, "effective_from", moment.astimezone(UTC))
        problems = ratecard_problems(
            name=self.name,
            version=self.version,
            effective_from=self.effective_from,
            operations=self.operations,
            rounding=self.rounding,
            off_peak=self.off_peak,
            description=self.description,
        )
        if problems:
            raise InvalidRateCard(problems)

    @property
    def label(self) -> str:
        """``"otai 2026-01"``."""
        return f"{self.name} {self.version}"

    def operation(self, name: str) -> OperationPrice:
        """The price of operation ``name``.

        Raises:
            UnknownOperation: the card does not price it.
        """
        try:
            return self.operations[name]
        except (KeyError, TypeError):
            raise UnknownOperation(str(name), self.label, sorted(self.operations)) from None

    def price(
        self,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        steps: Sequence[Step] = (),
        at: datetime | None = None,
    ) -> Quote:
        """Shorthand for :func:`price` with this card."""
        return price(self, operation, quantities, dimensions, steps=steps, at=at)

    def to_dict(self) -> dict[str, Any]:
        """The card in document form, JSON-ready (numbers as exact text).

        :func:`creditline.domain.ratecard_format.parse_ratecard` reads it back into an
        equal card.
        """
        out: dict[str, Any] = {
            "format": 1,
            "name": self.name,
            "version": self.version,
            "effective_from": self.effective_from.isoformat().replace("+00:00", "Z"),
        }
        if self.description:
            out["description"] = self.description
        out["rounding"] = self.rounding.to_dict()
        if self.off_peak is not None:
            out["off_peak"] = self.off_peak.to_dict()
        out["operations"] = {name: offer.to_dict() for name, offer in self.operations.items()}
        return out


@dataclass(frozen=True, slots=True)
class RateCardHistory:
    """The versions of one rate card, in order of ``effective_from``.

    Version *i* is in force on ``[versions[i].effective_from,
    versions[i + 1].effective_from)``; the last one from its start on.

    Raises:
        InvalidRateCard: no versions, versions of different cards, or two versions with
            the same label or the same effective time.
    """

    versions: tuple[RateCard, ...]
    _starts: tuple[datetime, ...] = field(init=False, repr=False, compare=False)
    _compiled: tuple[dict[str, _Compiled], ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        ordered = tuple(sorted(self.versions, key=lambda card: card.effective_from))
        object.__setattr__(self, "versions", ordered)
        problems = _history_problems(ordered)
        if problems:
            raise InvalidRateCard(problems)
        # Looked up on every event: the starts, and each version's operations compiled
        # for charge() (filled as operations are first charged).
        object.__setattr__(self, "_starts", tuple(card.effective_from for card in ordered))
        object.__setattr__(self, "_compiled", tuple({} for _ in ordered))

    @property
    def name(self) -> str:
        return self.versions[0].name

    def in_force(self, at: datetime) -> RateCard:
        """The version in force at ``at``.

        Raises:
            NoRateCardInForce: ``at`` is before the first version.
            InvalidTime: ``at`` is naive.
        """
        return self.versions[self._index(at)]

    def _index(self, at: datetime) -> int:
        # An instant already in UTC is what require_aware would return: skip its work.
        moment = at if type(at) is datetime and at.tzinfo is UTC else require_aware(at, "at")
        index = bisect.bisect_right(self._starts, moment) - 1
        if index < 0:
            raise NoRateCardInForce(self.name, moment)
        return index

    def add(self, card: RateCard, *, now: datetime) -> RateCardHistory:
        """A history with ``card`` as a new version, which may not take effect before now.

        A version that took effect in the past would re-price usage that has already
        happened (late events are priced by the version in force at their time), so
        it is refused.

        Raises:
            InvalidRateCard: the version starts before ``now``, or clashes with another.
        """
        moment = require_aware(now, "now")
        if card.effective_from < moment:
            raise InvalidRateCard(
                [
                    f"effective_from: {card.effective_from.isoformat()} is before now "
                    f"({moment.isoformat()}); a new version takes effect now or later, "
                    "so past usage keeps its price"
                ]
            )
        return RateCardHistory((*self.versions, card))

    def price(
        self,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        at: datetime,
        steps: Sequence[Step] = (),
    ) -> Quote:
        """Price usage at ``at`` by the version in force then (see :func:`price`)."""
        card = self.in_force(at)
        return price(card, operation, quantities, dimensions, steps=steps, at=at)

    def charge(
        self,
        operation: str,
        quantities: Mapping[str, Quantity] | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        at: datetime,
        steps: Sequence[Step] = (),
    ) -> Charge:
        """What usage at ``at`` costs, without the breakdown: the ingest path's price.

        The result always equals :meth:`price`'s: ``total``, ``card`` and ``version``
        are the quote's, ``components`` its steps' operations and totals; and usage
        that :meth:`price` refuses raises the same error. Common usage (int
        quantities, no off-peak rate) is priced by integer arithmetic compiled once
        per version and operation, several times faster than a :class:`Quote`;
        anything else is priced by :meth:`price`.

        Raises:
            UnknownOperation, InvalidUsage, InvalidTime, NoRateCardInForce: as
                :meth:`price`.
        """
        index = self._index(at)
        charged = self._fast_charge(index, operation, quantities, dimensions, steps)
        if charged is not None:
            return charged
        quote = self.price(operation, quantities, dimensions, at=at, steps=steps)
        components = tuple((step.operation, step.total) for step in quote.steps)
        return Charge(quote.card, quote.version, quote.total, components)

    def _fast_charge(
        self,
        index: int,
        operation: object,
        quantities: object,
        dimensions: object,
        steps: object,
    ) -> Charge | None:
        """The charge by the compiled prices of version ``index``; ``None`` when they
        cannot tell (the full pricing then decides, and names any problem)."""
        compiled = self._compiled_operation(index, operation)
        given = _plain_steps(steps)
        if compiled is None or given is None:
            return None
        components: tuple[tuple[str, int], ...] | None = ()
        if isinstance(compiled, _FastPipeline):
            components = self._fast_steps(index, compiled, given)
            total = None if components is None else sum(micros for _, micros in components)
        elif given:
            return None  # steps for an operation that is not a pipeline: refused in full
        else:
            total = compiled.total(quantities, dimensions)
        if total is None or components is None or total > MAX_MICROS:
            return None
        card = self.versions[index]
        return Charge(card.name, card.version, total, components)

    def _fast_steps(
        self, index: int, pipeline: _FastPipeline, steps: tuple[object, ...]
    ) -> tuple[tuple[str, int], ...] | None:
        """Each step's operation and total, by the compiled prices; ``None`` when they
        cannot tell for one of them."""
        if not steps:
            return None
        components = []
        for step in steps:
            if type(step) is not Step:
                return None
            compiled = self._compiled_operation(index, step.operation)  # None unless a str
            if not isinstance(compiled, _FastOperation) or (
                pipeline.allow and step.operation not in pipeline.allow
            ):
                return None
            total = compiled.total(step.quantities, step.dimensions)
            if total is None:
                return None
            components.append((step.operation, total))
        return tuple(components)

    def _compiled_operation(self, index: int, operation: object) -> _Compiled:
        """Operation ``operation`` of version ``index``, compiled on first use; ``None``
        for an unknown operation (not remembered) or one the compiler leaves alone."""
        if type(operation) is not str:
            return None
        compiled = self._compiled[index]
        try:
            return compiled[operation]
        except KeyError:
            card = self.versions[index]
            offer = card.operations.get(operation)
            if offer is None:
                return None
            compiled[operation] = found = _compile_operation(card, offer)
            return found


def _history_problems(versions: tuple[RateCard, ...]) -> list[str]:
    if not versions:
        return ["versions: a rate card history has at least one version"]
    found = []
    names = sorted({card.name for card in versions})
    if len(names) > 1:
        found.append(f"name: the versions belong to different cards ({', '.join(names)})")
    for earlier, later in itertools.combinations(versions, 2):
        if earlier.version == later.version:
            found.append(f"version: {later.version!r} is used twice")
        if earlier.effective_from == later.effective_from:
            found.append(
                f"effective_from: versions {earlier.version!r} and {later.version!r} both "
                f"take effect at {later.effective_from.isoformat()}"
            )
    return found


# ---------------------------------------------------------------------- pricing


class Step(NamedTuple):
    """One step of a pipeline run: an operation and its own usage."""

    operation: str
    quantities: Mapping[str, Quantity] = _EMPTY
    dimensions: Mapping[str, str] = _EMPTY


@dataclass(frozen=True, slots=True)
class Quote:
    """What an operation costs, and why. Nothing is spent by quoting.

    The parts add up: ``sum(c.micros for c in components) == base``,
    ``base x multiplier == exact``, and ``total`` is ``exact`` rounded by ``rounding``
    (for a pipeline, the sum of the steps' totals; ``rounding`` is then ``None``).

    Attributes:
        operation: the operation priced.
        card: the rate card's name.
        version: the version that priced it.
        total: the cost, in micro-credits: what would be charged.
        base: the cost before multipliers, in exact micro-credits.
        multipliers: the multipliers that applied, in order.
        exact: the cost before rounding, in exact micro-credits.
        rounding: the rule applied to ``exact``.
        components: the addends of ``base`` (a pipeline: one per step, its exact cost).
        steps: a pipeline's steps, each quoted as its own operation.
        selection: the dimension values that picked the price (``{"mode": "Basic"}``).
        supplier: who set the price, for a price set per model by its supplier.
    """

    operation: str
    card: str
    version: str
    total: int
    base: Decimal
    multipliers: tuple[AppliedMultiplier, ...]
    exact: Decimal
    rounding: Rounding | None
    components: tuple[Component, ...]
    steps: tuple[Quote, ...] = ()
    selection: Mapping[str, str] = field(default_factory=lambda: _EMPTY, hash=False)
    supplier: str | None = None

    @property
    def multiplier(self) -> Decimal:
        """The product of the multipliers that applied (1 when none did)."""
        product = Decimal(1)
        with localcontext(_EXACT):
            for applied in self.multipliers:
                product *= applied.factor
        return product

    @property
    def adjustment(self) -> Decimal:
        """What rounding added (negative: took off), in micro-credits."""
        with localcontext(_EXACT):
            return self.total - self.exact

    def describe(self) -> str:
        """The quote for people, one line each: total, components, multipliers, rounding."""
        unit = "credit" if self.total == MICROS_PER_CREDIT else "credits"
        lines = [
            f"{self.operation}: {format_credits(self.total)} {unit} ({self.card} {self.version})"
        ]
        if self.supplier:
            lines.append(f"  price set by {self.supplier}")
        lines += [f"  {c.label} = {_credit_text(c.micros)}" for c in self.components]
        lines += [f"  x{_plain(m.factor)} {m.reason}" for m in self.multipliers]
        if self.rounding is not None and self.adjustment:
            lines.append(
                f"  exact {_credit_text(self.exact)}, rounded {self.rounding.describe()}: "
                f"{'+' if self.adjustment > 0 else ''}{_credit_text(self.adjustment)}"
            )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The quote, JSON-ready: amounts in credits as exact text, plus ``total_micros``."""
        return {
            "operation": self.operation,
            "card": self.card,
            "version": self.version,
            "total": format_credits(self.total),
            "total_micros": self.total,
            "base": _credit_text(self.base),
            "multiplier": _plain(self.multiplier),
            "multipliers": [
                {"reason": m.reason, "factor": _plain(m.factor)} for m in self.multipliers
            ],
            "exact": _credit_text(self.exact),
            "rounding": None if self.rounding is None else self.rounding.to_dict(),
            "adjustment": _credit_text(self.adjustment),
            "components": [
                {"label": c.label, "credits": _credit_text(c.micros)} for c in self.components
            ],
            "steps": [step.to_dict() for step in self.steps],
            "selection": dict(self.selection),
            "supplier": self.supplier,
        }


class Charge(NamedTuple):
    """What one use costs, without the breakdown (:meth:`RateCardHistory.charge`).

    Attributes:
        card: the rate card's name.
        version: the version that priced it.
        total: the cost, in micro-credits (the :class:`Quote`'s total).
        components: a pipeline's steps, in order: each step's operation and its total in
            micro-credits; empty for any other operation.
    """

    card: str
    version: str
    total: int
    components: tuple[tuple[str, int], ...] = ()


def price(
    card: RateCard,
    operation: str,
    quantities: Mapping[str, Quantity] | None = None,
    dimensions: Mapping[str, str] | None = None,
    *,
    steps: Sequence[Step] = (),
    at: datetime | None = None,
) -> Quote:
    """Price one use of ``operation`` by ``card``, without spending anything.

    Args:
        card: the rate card (for usage at a time, the version in force then:
            :meth:`RateCardHistory.price` picks it).
        operation: the operation's name in the card.
        quantities: usage quantities by name (``{"attributes": 3}``,
            ``{"minutes": "12.5"}``): ints, Decimals or decimal text, never floats.
            Quantities the price does not use are ignored.
        dimensions: dimension values by name (``{"mode": "Business"}``); unused ones
            are ignored.
        steps: a pipeline's steps; only for a pipeline.
        at: the event's time (aware); needed when an off-peak rate may apply.

    Returns:
        The :class:`Quote`: total in micro-credits and the breakdown.

    Raises:
        UnknownOperation: the card has no such operation.
        InvalidUsage: listing every missing, malformed or out-of-range input.
        InvalidTime: ``at`` is naive.
    """
    offer = card.operation(operation)
    moment = None if at is None else require_aware(at, "at")
    form = offer.form
    if isinstance(form, Pipeline):
        return _price_pipeline(card, operation, form, steps, moment)
    if steps:
        raise InvalidUsage(operation, ["steps: only a pipeline operation has steps"])
    usage = _Usage(quantities or _EMPTY, dimensions or _EMPTY, moment)
    return _price_one(card, operation, offer, form, usage)


class _Usage(NamedTuple):
    quantities: Mapping[str, object]
    dimensions: Mapping[str, object]
    at: datetime | None


def _price_one(
    card: RateCard,
    operation: str,
    offer: OperationPrice,
    form: Flat | PerUnit | Matrix | Formula | SupplierPrices,
    usage: _Usage,
) -> Quote:
    problems: list[str] = []
    chosen = form.select(usage.dimensions, problems)
    names = chosen.price.quantity_names() if chosen else ()
    names += tuple(bands.quantity for bands in offer.multipliers)
    values = _read_quantities(usage.quantities, names, problems)
    applied = _band_multipliers(offer.multipliers, values, problems)
    off_peak = offer.off_peak if offer.off_peak is not None else card.off_peak
    if off_peak is not None and usage.at is None:
        problems.append("at: this operation has an off-peak rate, so pricing needs the time")
    if problems or chosen is None:
        raise InvalidUsage(operation, problems)
    if off_peak is not None and usage.at is not None and off_peak.applies(usage.at):
        applied.append(AppliedMultiplier(off_peak.describe(), off_peak.multiplier))
    with _exactly(operation):
        components = tuple(
            Component(f"{chosen.label}: {c.label}" if chosen.label else c.label, c.micros)
            for c in chosen.price.components(values)
        )
        base = sum((c.micros for c in components), Decimal(0))
        exact = base
        for multiplier in applied:
            exact *= multiplier.factor
    rounding = offer.rounding if offer.rounding is not None else card.rounding
    total = _checked_total(operation, round_to_increment(exact, rounding.increment, rounding.mode))
    return Quote(
        operation=operation,
        card=card.name,
        version=card.version,
        total=total,
        base=base,
        multipliers=tuple(applied),
        exact=exact,
        rounding=rounding,
        components=components,
        selection=MappingProxyType(dict(chosen.selection)),
        supplier=chosen.supplier,
    )


def _price_pipeline(
    card: RateCard,
    operation: str,
    pipeline: Pipeline,
    steps: Sequence[Step],
    at: datetime | None,
) -> Quote:
    problems = [] if steps else ["steps: a pipeline needs at least one step"]
    quotes: list[Quote] = []
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        refusal = _step_refusal(card, pipeline, step)
        if refusal:
            problems.append(f"{where}.operation: {refusal}")
            continue
        try:
            quotes.append(price(card, step.operation, step.quantities, step.dimensions, at=at))
        except InvalidUsage as exc:
            problems += [f"{where}.{problem}" for problem in exc.problems]
    if problems:
        raise InvalidUsage(operation, problems)
    with _exactly(operation):
        exact = sum((quote.exact for quote in quotes), Decimal(0))
    components = tuple(
        Component(f"step {index + 1}: {quote.operation}", quote.exact)
        for index, quote in enumerate(quotes)
    )
    return Quote(
        operation=operation,
        card=card.name,
        version=card.version,
        total=_checked_total(operation, sum(quote.total for quote in quotes)),
        base=exact,
        multipliers=(),
        exact=exact,
        rounding=None,
        components=components,
        steps=tuple(quotes),
    )


def _step_refusal(card: RateCard, pipeline: Pipeline, step: object) -> str | None:
    if not isinstance(step, Step):
        return f"must be a Step, got {brief_repr(step)}"
    target = card.operations.get(step.operation) if isinstance(step.operation, str) else None
    if target is None:
        return f"no operation {step.operation!r} in rate card {card.label}"
    if isinstance(target.form, Pipeline):
        return f"{step.operation!r} is a pipeline; a pipeline cannot be a step"
    if pipeline.allow and step.operation not in pipeline.allow:
        return f"{step.operation!r} is not allowed here (allowed: {', '.join(pipeline.allow)})"
    return None


def _read_quantities(
    given: Mapping[str, object], names: Sequence[str], problems: list[str]
) -> dict[str, Decimal]:
    values = {}
    for name in dict.fromkeys(names):
        if name not in given:
            problems.append(f"quantities.{name}: missing")
            continue
        try:
            values[name] = _quantity(given[name])
        except ValueError as exc:
            problems.append(f"quantities.{name}: {exc}")
    return values


def _band_multipliers(
    multipliers: tuple[MultiplierBands, ...],
    values: Mapping[str, Decimal],
    problems: list[str],
) -> list[AppliedMultiplier]:
    """The band each multiplier's quantity falls in (quantities that could not be read
    have their problem already)."""
    applied = []
    for bands in multipliers:
        if bands.quantity not in values:
            continue
        value = values[bands.quantity]
        band = bands.find(value)
        if band is None:
            problems.append(
                f"quantities.{bands.quantity}: {_plain(value)} is outside every band "
                f"({bands.describe()})"
            )
        else:
            reason = f"{bands.quantity} {_plain(value)} in {band.describe()}"
            applied.append(AppliedMultiplier(reason, band.multiplier))
    return applied


def _quantity(value: object) -> Decimal:
    """A usage quantity as an exact Decimal; ``ValueError`` says what is wrong with it."""
    if isinstance(value, float):
        raise ValueError(f"must be exact (an int, a Decimal or decimal text), not a float {value}")
    number = _to_decimal(value)
    if not isinstance(number, Decimal) or not number.is_finite():
        raise ValueError(f"must be a number, got {brief_repr(value)}")
    if number < 0:
        raise ValueError(f"must not be negative, got {_plain(number)}")
    if number >= MAX_QUANTITY or _decimal_places(number) > MAX_DECIMAL_PLACES:
        raise ValueError(
            f"must be below 10^18 with at most {MAX_DECIMAL_PLACES} decimals, got {value}"
        )
    return number


def _choose(
    values: Mapping[str, tuple[str, ...]], given: Mapping[str, object], problems: list[str]
) -> tuple[str, ...] | None:
    """The value of each dimension in ``given``, if all are there and known."""
    key = []
    for dimension, allowed in values.items():
        choice = given.get(dimension)
        known = ", ".join(allowed)
        if choice is None:
            problems.append(f"dimensions.{dimension}: missing (one of {known})")
        elif choice not in allowed:
            problems.append(
                f"dimensions.{dimension}: unknown value {brief_repr(choice)} (one of {known})"
            )
        else:
            key.append(str(choice))
    return tuple(key) if len(key) == len(values) else None


def _checked_total(operation: str, total: int) -> int:
    if total > MAX_MICROS:
        raise InvalidUsage(
            operation, [f"the cost ({total} micro-credits) is beyond the largest amount"]
        )
    return total


@contextmanager
def _exactly(operation: str) -> Iterator[None]:
    """Exact Decimal arithmetic; a result it cannot hold exactly is refused, not rounded."""
    try:
        with localcontext(_EXACT):
            yield
    except DecimalException as exc:
        raise InvalidUsage(operation, ["quantities: too large to price exactly"]) from exc


# -------------------------------------------------------------- compiled charging

# RateCardHistory.charge prices by these: the same arithmetic as price(), in ints. A
# Decimal result of price() is exact or an error (Inexact is trapped), and the only
# way these ints could differ from it is where price() would raise instead; so an
# operation is only compiled where that cannot happen:
# - every ``per`` divides exactly (factors 2 and 5; a validated card has no other), so
#   no quotient is a repeating decimal;
# - the 1000 digits of _EXACT hold every product: a term spans at most 164 digits
#   (credits below 10^15 with 18 decimals, x 10^6, x four quantities below 10^18, / a
#   per up to 2^59 adds 59 decimals) and each multiplier adds at most 33 more, so up to
#   _FAST_MAX_MULTIPLIERS of them stay below 700 digits.
# Off-peak rates depend on the time of day and are always priced in full.

_FAST_MAX_MULTIPLIERS = 16
_QUANTITY_LIMIT = int(MAX_QUANTITY)

_Band = tuple[int, int, int, int]
"""A compiled band: lowest and highest int it contains, multiplier numerator and
denominator."""


@dataclass(frozen=True, slots=True)
class _FastPrice:
    """A simple price in ints: its exact cost, in units of the operation's rounding
    increment, is ``sum(coefficient x quantity x ...) / denominator`` over the terms."""

    terms: tuple[tuple[int, tuple[str, ...]], ...]
    denominator: int

    def numerator(self, quantities: Mapping[str, object]) -> int | None:
        """The sum of the terms; ``None`` when a quantity is not an int in range."""
        total = 0
        for coefficient, names in self.terms:
            product = coefficient
            for name in names:
                amount = quantities.get(name)
                if type(amount) is not int or not 0 <= amount < _QUANTITY_LIMIT:
                    return None
                product *= amount
            total += product
        return total


@dataclass(frozen=True, slots=True)
class _FastOperation:
    """An operation compiled: its prices by dimension values, bands, rounding."""

    dimensions: tuple[str, ...]
    prices: Mapping[tuple[object, ...], _FastPrice]
    multipliers: tuple[tuple[str, tuple[_Band, ...]], ...]
    mode: RoundingMode
    increment: int

    def total(self, quantities: object, dimensions: object) -> int | None:
        """The rounded cost in micro-credits, as price() gives it; ``None`` when this
        cannot tell (price() then decides)."""
        given = _plain_mapping(quantities)
        chosen = self._select(_plain_mapping(dimensions))
        if given is None or chosen is None:
            return None
        numerator = chosen.numerator(given)
        if numerator is None:
            return None
        denominator = chosen.denominator
        for quantity, bands in self.multipliers:
            band = _find_band(bands, given.get(quantity))
            if band is None:
                return None
            numerator *= band[2]
            denominator *= band[3]
        whole, rest = divmod(numerator, denominator)
        if rest and _rounds_up(self.mode, 2 * rest, denominator, whole):
            whole += 1
        total = whole * self.increment
        return total if total <= MAX_MICROS else None

    def _select(self, dimensions: Mapping[str, object] | None) -> _FastPrice | None:
        """The price the dimension values pick; ``None`` unless all are known."""
        if dimensions is None:
            return None
        key = tuple(map(dimensions.get, self.dimensions))
        for value in key:
            if type(value) is not str:
                return None
        return self.prices.get(key)


def _find_band(bands: tuple[_Band, ...], amount: object) -> _Band | None:
    """The first band holding ``amount``; ``None`` for no band, or not an int in range."""
    if type(amount) is int and 0 <= amount < _QUANTITY_LIMIT:
        for band in bands:
            if band[0] <= amount <= band[1]:
                return band
    return None


@dataclass(frozen=True, slots=True)
class _FastPipeline:
    """A pipeline compiled: the operations its steps may be (empty: any)."""

    allow: frozenset[str]


_Compiled = _FastOperation | _FastPipeline | None


def _compile_operation(card: RateCard, offer: OperationPrice) -> _Compiled:
    """``offer`` as ints, or ``None`` where price() must decide (see above)."""
    form = offer.form
    if isinstance(form, Pipeline):
        return _FastPipeline(frozenset(form.allow))
    off_peak = offer.off_peak if offer.off_peak is not None else card.off_peak
    if off_peak is not None or len(offer.multipliers) > _FAST_MAX_MULTIPLIERS:
        return None
    rounding = offer.rounding if offer.rounding is not None else card.rounding
    dimensions, simple = _simple_prices(form)
    prices: dict[tuple[object, ...], _FastPrice] = {}
    for key, each in simple.items():
        compiled = _compile_price(each, rounding.increment)
        if compiled is None:
            return None
        prices[key] = compiled
    multipliers = tuple(
        (bands.quantity, tuple(_compile_band(band) for band in bands.bands))
        for bands in offer.multipliers
    )
    return _FastOperation(dimensions, prices, multipliers, rounding.mode, rounding.increment)


def _simple_prices(
    form: Flat | PerUnit | Matrix | Formula | SupplierPrices,
) -> tuple[tuple[str, ...], dict[tuple[str, ...], SimplePrice]]:
    """The dimensions that pick a price, and the simple price each of their values picks
    (as ``form.select`` picks it)."""
    if isinstance(form, Matrix):
        cells: dict[tuple[str, ...], SimplePrice] = {
            key: Flat(cell) if form.quantity is None else PerUnit(cell, form.quantity, form.per)
            for key, cell in form.cells.items()
        }
        return form.dimensions, cells
    if isinstance(form, SupplierPrices):
        return (form.dimension,), {(name,): model.price for name, model in form.models.items()}
    return (), {(): form}


def _compile_price(simple: SimplePrice, increment: int) -> _FastPrice | None:
    """A simple price as ints over one denominator, in units of ``increment``
    micro-credits; ``None`` if a ``per`` does not divide exactly."""
    terms: list[tuple[Decimal, tuple[str, ...], int]]
    if isinstance(simple, Flat):
        terms = [(simple.credits, (), 1)]
    elif isinstance(simple, PerUnit):
        terms = [(simple.credits, (simple.quantity,), simple.per)]
    else:
        terms = [(term.credits, term.quantities, term.per) for term in simple.terms]
    if not all(_divides_exactly(per) for _, _, per in terms):
        return None
    ratios = [
        (Fraction(credits) * MICROS_PER_CREDIT / (per * increment), names)
        for credits, names, per in terms
    ]
    denominator = math.lcm(*(ratio.denominator for ratio, _ in ratios))
    return _FastPrice(
        tuple(
            (ratio.numerator * (denominator // ratio.denominator), names) for ratio, names in ratios
        ),
        denominator,
    )


def _compile_band(band: Band) -> _Band:
    """The ints a band contains (quantities here are ints) and its multiplier as a ratio."""
    low = math.ceil(band.low)
    high = _QUANTITY_LIMIT - 1 if band.high is None else math.floor(band.high)
    numerator, denominator = band.multiplier.as_integer_ratio()
    return low, high, numerator, denominator


def _plain_mapping(value: object) -> Mapping[str, object] | None:
    """Usage quantities or dimensions as the fast path reads them: a dict (or a read-only
    view of one); ``None`` when given nothing; anything else is left to price()."""
    if value is None:
        return _EMPTY
    if type(value) is dict or type(value) is MappingProxyType:
        return value
    return None


def _plain_steps(value: object) -> tuple[object, ...] | None:
    """A pipeline's steps as the fast path reads them: a tuple or a list."""
    if type(value) is tuple or type(value) is list:
        return tuple(value)
    return None


# ----------------------------------------------------------------------- helpers


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


def _to_decimal(value: Any) -> Any:
    """Ints and decimal text become Decimals; anything else is left for validation."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int):
        return Decimal(value)
    if isinstance(value, str):
        try:
            return Decimal(value.strip())
        except InvalidOperation:
            return value
    return value


def _to_tuple(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


def _to_time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return time.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _zone(name: object) -> tzinfo | None:
    """``"UTC"``, ``"+02:00"`` or an IANA name as a tzinfo; ``None`` if it is none of them."""
    if not isinstance(name, str):
        return None
    if name in ("UTC", "Z"):
        return UTC
    offset = _OFFSET.match(name)
    if offset:
        sign, hours, minutes = offset.groups()
        if int(hours) > 23 or int(minutes) > 59:
            return None
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return timezone(-delta if sign == "-" else delta)
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return None


def _clock(moment: time) -> str:
    return moment.isoformat(timespec="minutes" if not moment.second else "seconds")


def _decimal_places(value: Decimal) -> int:
    _, digits, exponent = value.as_tuple()
    assert isinstance(exponent, int)
    if not any(digits):
        return 0
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing))


def _plain(value: Decimal) -> str:
    """A Decimal as plain text without exponent or trailing zeros: ``1.50`` -> ``"1.5"``."""
    text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text


def _credit_text(micros: Decimal) -> str:
    """Exact micro-credits as credits text: ``Decimal(1500000)`` -> ``"1.5"``."""
    with localcontext(_EXACT):
        return _plain(micros / MICROS_PER_CREDIT)


def brief_repr(value: object) -> str:
    """``repr(value)``, cut to 60 characters: for naming a bad value in a problem."""
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _number_problems(value: object, where: str) -> list[str]:
    if isinstance(value, float):
        return [f"{where}: must be exact: write {value!r} as text or a Decimal, not a float"]
    if isinstance(value, bool) or not isinstance(value, Decimal) or not value.is_finite():
        return [f"{where}: must be a non-negative number, got {brief_repr(value)}"]
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
    return [
        f"{where}: must be a name of lower-case letters, digits and _ starting with a "
        f"letter (like 'characters'), got {brief_repr(value)}"
    ]


def _names_problems(value: object, where: str, most: int, *, dimensions: bool = False) -> list[str]:
    """Problems of a list of names; dimensions need at least one, and distinct names."""
    if not isinstance(value, tuple):
        return [f"{where}: must be a list of names, got {brief_repr(value)}"]
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
    return [
        f"{where}: must be a non-empty text without surrounding spaces (at most "
        f"{_MAX_LABEL} characters), got {brief_repr(value)}"
    ]


def _per_problems(value: object, where: str) -> list[str]:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PER:
        return [f"{where}: must be a whole number from 1 to 10^18, got {brief_repr(value)}"]
    if not _divides_exactly(value):
        return [
            f"{where}: {value} has a prime factor other than 2 and 5, so a price per unit "
            "would not be an exact decimal; use 1, 1000, 1_000_000 (or 1024) and price "
            "the unit it gives"
        ]
    return []


def _typed_problems(value: object, kind: type[Rounding] | type[OffPeak], where: str) -> list[str]:
    if isinstance(value, kind):
        return value.problems(where)
    return [f"{where}: must be a {kind.__name__}, got {brief_repr(value)}"]


def _divides_exactly(per: int) -> bool:
    """Whether ``1 / per`` is an exact decimal: ``per`` has no prime factor but 2 and 5."""
    if per < 1:
        return False
    rest = per
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    return rest == 1
