"""Rounding: the one place a cost is rounded, once per priced operation.

A cost is exact until :func:`round_to_increment` rounds it to a multiple of an
increment (1 = the micro-credit, 1_000_000 = whole credits) in one of four modes
(:class:`RoundingMode`). A price with no :class:`Rounding` of its own uses its card's,
and a card with none uses :data:`DEFAULT_ROUNDING`: up to the micro-credit.
"""

from __future__ import annotations

import enum
from contextlib import suppress
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from creditline.domain.amounts import MAX_MICROS, format_credits
from creditline.domain.errors import InvalidAmount
from creditline.domain.pricing.validation import _must_be, path


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
            found.append(_must_be(path(where, "mode"), f"one of {RoundingMode.names()}", self.mode))
        inc = self.increment
        if isinstance(inc, bool) or not isinstance(inc, int) or not 0 < inc <= MAX_MICROS:
            what = "a positive amount of credits (at least 0.000001)"
            found.append(_must_be(path(where, "increment"), what, inc))
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
