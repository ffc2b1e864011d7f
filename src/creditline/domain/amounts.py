"""Exact amounts: credits in micro-credits, money in minor units.

A credit is divided into one million micro-credits and every credit amount in
creditline is an ``int`` of micro-credits. Nothing is ever stored or computed as a
float: text such as ``"2.5"`` is parsed exactly, and text that carries more
precision than one micro-credit (``"0.0000001"``) is refused rather than rounded.

Money is an ``int`` of the currency's minor units (cents) with an ISO 4217 code.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from creditline.domain.errors import InvalidAmount

MICROS_PER_CREDIT = 1_000_000
"""How many micro-credits make one credit."""

MAX_MICROS = 2**63 - 1
"""The largest amount a column can hold (a signed 64-bit integer)."""

_CURRENCY = re.compile(r"^[A-Z]{3}$")

__all__ = [
    "MAX_MICROS",
    "MICROS_PER_CREDIT",
    "CostBasis",
    "credits",
    "format_credits",
    "parse_credits",
    "require_positive_micros",
]


def parse_credits(value: str | int | Decimal) -> int:
    """Turn a credit amount (``"2.5"``, ``3``, ``Decimal("0.000001")``) into micro-credits.

    Raises:
        InvalidAmount: for floats, non-numbers, more precision than a micro-credit, and
            amounts beyond :data:`MAX_MICROS`.
    """
    if isinstance(value, bool | float):
        raise InvalidAmount(value, "credit amounts must be exact: pass a string, int or Decimal")
    if isinstance(value, int):
        micros = value * MICROS_PER_CREDIT
    elif isinstance(value, str | Decimal):
        try:
            number = Decimal(value.strip()) if isinstance(value, str) else value
        except InvalidOperation:
            raise InvalidAmount(value, "not a number") from None
        micros = _decimal_to_micros(value, number)
    else:
        raise InvalidAmount(value, "not a number: pass a string, int or Decimal")
    if abs(micros) > MAX_MICROS:
        raise InvalidAmount(value, "too large")
    return micros


def _decimal_to_micros(value: object, number: Decimal) -> int:
    """Scale ``number`` to micro-credits exactly, from its digits.

    Decimal arithmetic rounds to the context's precision (28 digits) and clamps huge
    or tiny exponents, so ``number * 10**6`` could turn ``"1.000...0001"`` or
    ``"1e-999999999"`` into a whole number of micro-credits. Working on the digits
    never rounds.
    """
    if not number.is_finite():
        raise InvalidAmount(value, "not a finite number")
    sign, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)
    significant = list(digits)
    while significant and significant[-1] == 0:  # 2.50 is 2.5: drop trailing zeros
        significant.pop()
        exponent += 1
    if not significant:
        return 0
    shift = exponent + 6  # the power of ten that turns the coefficient into micro-credits
    if shift < 0:
        raise InvalidAmount(value, "more precise than one micro-credit (0.000001)")
    if len(significant) + shift > len(str(MAX_MICROS)):
        raise InvalidAmount(value, "too large")
    micros = int("".join(map(str, significant)) + "0" * shift)
    return -micros if sign else micros


def credits(value: str | int | Decimal) -> int:
    """Shorthand for :func:`parse_credits`: ``credits("2.5") == 2_500_000``."""
    return parse_credits(value)


def format_credits(micros: int) -> str:
    """Render micro-credits as a credit amount with no trailing zeros: 2_500_000 -> "2.5"."""
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), MICROS_PER_CREDIT)
    if frac == 0:
        return f"{sign}{whole}"
    return f"{sign}{whole}.{frac:06d}".rstrip("0")


def require_positive_micros(value: object, what: str = "amount") -> int:
    """Check that ``value`` is an ``int`` number of micro-credits above zero."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidAmount(value, f"{what} must be an integer number of micro-credits")
    if value <= 0:
        raise InvalidAmount(value, f"{what} must be greater than zero")
    if value > MAX_MICROS:
        raise InvalidAmount(value, f"{what} is too large")
    return value


@dataclass(frozen=True, slots=True)
class CostBasis:
    """What was paid for each credit of a grant.

    Attributes:
        unit_price_minor: price of one whole credit, in minor units of ``currency``
            (EUR 9.00 per credit is 900).
        currency: ISO 4217 code, upper case (``"EUR"``).
    """

    unit_price_minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.unit_price_minor, bool) or not isinstance(self.unit_price_minor, int):
            raise InvalidAmount(self.unit_price_minor, "a unit price is an integer of minor units")
        if self.unit_price_minor < 0:
            raise InvalidAmount(self.unit_price_minor, "a unit price cannot be negative")
        if not _CURRENCY.match(self.currency):
            raise InvalidAmount(self.currency, "a currency is a three-letter ISO 4217 code")
