"""The compiled fast path: :meth:`RateCardHistory.charge` in integer arithmetic.

Each operation of a version is compiled on first use: every price becomes a sum of
``coefficient x quantity x ...`` over one denominator, each band multiplier a ratio of
ints, and the exact ratio is rounded as
:func:`~creditline.domain.pricing.rounding.round_to_increment` rounds it. What this
cannot tell it leaves to the full pricing, which gives the same total.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from types import MappingProxyType

from creditline.domain.amounts import MAX_MICROS, MICROS_PER_CREDIT
from creditline.domain.pricing.forms import (
    Flat,
    Formula,
    Matrix,
    PerUnit,
    Pipeline,
    SimplePrice,
    SupplierPrices,
)
from creditline.domain.pricing.multipliers import Band
from creditline.domain.pricing.operation import OperationPrice
from creditline.domain.pricing.ratecard import RateCard
from creditline.domain.pricing.rounding import RoundingMode, _rounds_up
from creditline.domain.pricing.values import _EMPTY, MAX_QUANTITY, _divides_exactly

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
