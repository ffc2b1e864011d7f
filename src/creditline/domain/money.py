"""Money: integer minor units of a currency, and the one rounding rule for it (D7).

Money in creditline is an ``int`` of the currency's minor units (cents for EUR and
USD) with its ISO 4217 code, never a float and never a ``Decimal`` that outlives a
computation. A price per credit is an ``int`` of minor units too (USD 1.00 per
credit is 100).

**The rounding rule.** Money computed from credits (an invoice line: flex credits x
the price of one credit) or from a share of a payment (a refund: what was paid x
the unspent share of the credits bought) is rarely a whole number of minor units.
Every such amount goes through :func:`round_half_up`, which divides exactly, in
integers, and rounds a remainder of one half or more up to the next minor unit
(USD 0.125 is USD 0.13, USD 0.124 is USD 0.12). There is no other rounding of money
anywhere in creditline. A refund never exceeds what was paid: its share is at most
one, and rounding half up a fraction of ``paid`` never passes ``paid``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from creditline.domain.amounts import MICROS_PER_CREDIT
from creditline.domain.errors import InvalidAmount

__all__ = [
    "MAX_MINOR",
    "Money",
    "format_money",
    "minor_digits",
    "money_for_credits",
    "require_currency",
    "round_half_up",
    "unit_price_minor",
]

MAX_MINOR = 2**63 - 1
"""The largest amount of money a column holds (a signed 64-bit integer of minor units)."""

_CURRENCY = re.compile(r"^[A-Z]{3}$")

# ISO 4217 currencies whose minor unit is not a hundredth; the rest have two digits.
_DIGITS = {"BHD": 3, "JOD": 3, "KWD": 3, "OMR": 3, "TND": 3, "JPY": 0, "KRW": 0, "CLP": 0,
           "ISK": 0, "VND": 0, "XAF": 0, "XOF": 0, "UGX": 0, "PYG": 0}  # fmt: skip


def require_currency(code: object) -> str:
    """Return ``code`` if it is a three-letter upper-case ISO 4217 code.

    Raises:
        InvalidAmount: anything else (``"eur"``, ``"EURO"``).
    """
    if not isinstance(code, str) or not _CURRENCY.match(code):
        raise InvalidAmount(code, "a currency is a three-letter upper-case ISO 4217 code")
    return code


def minor_digits(currency: str) -> int:
    """How many digits the currency's minor unit has (2 for EUR and USD, 0 for JPY)."""
    return _DIGITS.get(currency, 2)


def round_half_up(numerator: int, denominator: int) -> int:
    """``numerator / denominator`` rounded to a whole number, halves up: the one rule.

    Exact for any size of integers (no floats, no decimal context). Both arguments
    are non-negative money maths here; a negative numerator is refused rather than
    given a sign convention nobody asked for.

    Raises:
        InvalidAmount: a negative numerator or a denominator that is not positive.
    """
    if numerator < 0:
        raise InvalidAmount(numerator, "money is rounded from a non-negative amount")
    if denominator <= 0:
        raise InvalidAmount(denominator, "a divisor must be greater than zero")
    return (2 * numerator + denominator) // (2 * denominator)


def money_for_credits(micros: int, minor_per_credit: int) -> int:
    """What ``micros`` micro-credits cost at ``minor_per_credit`` minor units per credit,
    rounded half up to a minor unit: 2.5 credits at USD 1.00 is 250, 0.005 credits 1."""
    return round_half_up(micros * minor_per_credit, MICROS_PER_CREDIT)


def unit_price_minor(amount_minor: int, micros: int) -> int:
    """The price of one credit when ``micros`` micro-credits cost ``amount_minor``:
    EUR 450.00 for 50 credits is 900 (EUR 9.00), rounded half up."""
    return round_half_up(amount_minor * MICROS_PER_CREDIT, micros)


def format_money(minor: int, currency: str) -> str:
    """``format_money(45000, "EUR") == "EUR 450.00"`` (``"JPY 500"`` for no minor unit)."""
    digits = minor_digits(currency)
    sign = "-" if minor < 0 else ""
    if digits == 0:
        return f"{currency} {sign}{abs(minor)}"
    whole, frac = divmod(abs(minor), 10**digits)
    return f"{currency} {sign}{whole}.{frac:0{digits}d}"


@dataclass(frozen=True, slots=True)
class Money:
    """An amount of money: ``Money(45000, "EUR")`` is EUR 450.00.

    Attributes:
        minor: whole minor units (cents), zero or more.
        currency: ISO 4217 code, upper case.
    """

    minor: int
    currency: str

    def __post_init__(self) -> None:
        if isinstance(self.minor, bool) or not isinstance(self.minor, int):
            raise InvalidAmount(self.minor, "money is an integer of minor units")
        if not 0 <= self.minor <= MAX_MINOR:
            raise InvalidAmount(self.minor, "money is zero or more, and fits 64 bits")
        require_currency(self.currency)

    def __str__(self) -> str:
        return format_money(self.minor, self.currency)
