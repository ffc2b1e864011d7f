"""Pricing's values: exact numbers and their bounds, times of day and time zones.

Prices, multipliers, band limits and quantities are :class:`~decimal.Decimal`, read from
ints or decimal text (never floats) and written back as plain text (``"1.5"``). Every
sum and product of pricing is taken in one context that refuses to round, so a result
is exact or an error until :func:`~creditline.domain.pricing.rounding.round_to_increment`
rounds it once.
"""

from __future__ import annotations

import re
import zoneinfo
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta, timezone, tzinfo
from decimal import (
    MAX_EMAX,
    MIN_EMIN,
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    localcontext,
)
from types import MappingProxyType
from typing import Any

from creditline.domain.amounts import MICROS_PER_CREDIT

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

_OFFSET = re.compile(r"^([+-])(\d{2}):(\d{2})$")
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


def _from_iso(value: Any, kind: type[time] | type[datetime]) -> Any:
    """ISO 8601 text as a ``kind``, a time of day or a datetime (TOML gives one already);
    anything else as it is, for validation to name."""
    if isinstance(value, str):
        try:
            return kind.fromisoformat(value.strip())
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


def _divides_exactly(per: int) -> bool:
    """Whether ``1 / per`` is an exact decimal: ``per`` has no prime factor but 2 and 5."""
    if per < 1:
        return False
    rest = per
    for prime in (2, 5):
        while rest % prime == 0:
            rest //= prime
    return rest == 1
