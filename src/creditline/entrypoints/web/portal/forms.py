"""The portal forms' fields read as the engine takes them: credits, whole numbers and
money."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from creditline.domain.amounts import parse_credits
from creditline.domain.errors import InvalidSetting
from creditline.domain.money import minor_digits
from creditline.entrypoints.web.sessions import Form


def _money_field(form: Form, name: str, currency: str) -> int | None:
    """A money field in major units (``12.50``) as minor units of ``currency``."""
    text = form.get(name)
    if not text:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        value = Decimal(-1)
    minor = value * 10 ** minor_digits(currency)
    if not value.is_finite() or value < 0 or minor != minor.to_integral_value():
        raise InvalidSetting(name.replace("_", " "), text, f"an amount of {currency}")
    return int(minor)


def _credits_field(form: Form, name: str) -> int | None:
    text = form.get(name)
    return parse_credits(text) if text else None


def _int_field(form: Form, name: str) -> int | None:
    text = form.get(name)
    if not text:
        return None
    if not text.isdigit():
        raise InvalidSetting(name, text, "a whole number")
    return int(text)
