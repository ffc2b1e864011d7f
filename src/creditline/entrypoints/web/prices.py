"""A rate card's prices in words, for the portal's price list: each operation with what
one call costs (``30 credits per 1,000,000 tokens``), per model where the price depends
on the model. Pure functions: no I/O."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from creditline.domain.pricing import (
    Flat,
    Formula,
    Matrix,
    OperationPrice,
    PerUnit,
    Pipeline,
    RateCard,
    SupplierPrices,
)

__all__ = ["PriceLine", "price_list"]


@dataclass(frozen=True, slots=True)
class PriceLine:
    """One operation (or one model of it) and its price in words."""

    operation: str
    variant: str
    price: str
    description: str


def _number(value: Decimal | int) -> str:
    text = f"{Decimal(value):,f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _credits(value: Decimal) -> str:
    return f"{_number(value)} credit{'' if value == 1 else 's'}"


def _per(credits: Decimal, quantity: str, per: int) -> str:
    unit = quantity.removesuffix("s") if per == 1 else quantity
    return f"{_credits(credits)} per {'' if per == 1 else _number(per) + ' '}{unit}"


def _words(form: object) -> str:
    if isinstance(form, Flat):
        return f"{_credits(form.credits)} a call"
    if isinstance(form, PerUnit):
        return _per(form.credits, form.quantity, form.per)
    if isinstance(form, Formula):
        parts = []
        for t in form.terms:
            if t.quantities:
                parts.append(_per(t.credits, " by ".join(t.quantities), t.per))
            else:
                parts.append(f"{_credits(t.credits)} a call")
        return " + ".join(parts)
    if isinstance(form, Pipeline):
        return "the sum of its steps' prices"
    if isinstance(form, Matrix):
        return "depends on " + ", ".join(form.dimensions)
    return ""


def _lines(name: str, price: OperationPrice) -> list[PriceLine]:
    form = price.form
    if isinstance(form, SupplierPrices):
        return [
            PriceLine(name, model, _words(m.price), price.description)
            for model, m in sorted(form.models.items())
        ]
    return [PriceLine(name, "", _words(form), price.description)]


def price_list(card: RateCard) -> list[PriceLine]:
    """Every operation of ``card`` (by name), one line per model where prices differ by
    model."""
    lines: list[PriceLine] = []
    for name in sorted(card.operations):
        lines.extend(_lines(name, card.operations[name]))
    return lines
