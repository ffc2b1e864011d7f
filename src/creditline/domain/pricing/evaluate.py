"""The parts of evaluating a price that need no card.

Reading usage (every quantity an exact, bounded number; every bad one named), the band
each multiplier's quantity falls in, and the exact arithmetic a price is computed in,
which refuses what it cannot hold exactly. :func:`~creditline.domain.pricing.ratecard.price`
puts them together with the card.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime
from decimal import Decimal, DecimalException, localcontext
from typing import NamedTuple

from creditline.domain.amounts import MAX_MICROS
from creditline.domain.errors import InvalidUsage
from creditline.domain.pricing.multipliers import MultiplierBands
from creditline.domain.pricing.quote import AppliedMultiplier
from creditline.domain.pricing.validation import brief_repr
from creditline.domain.pricing.values import (
    _EXACT,
    MAX_DECIMAL_PLACES,
    MAX_QUANTITY,
    _decimal_places,
    _plain,
    _to_decimal,
)


class _Usage(NamedTuple):
    quantities: Mapping[str, object]
    dimensions: Mapping[str, object]
    at: datetime | None


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
