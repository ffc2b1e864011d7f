"""Quotes, rate cards, plans and the pack catalogue (their documents parsed as the
library parses them)."""

from __future__ import annotations

from decimal import Decimal

from creditline.client.decode._common import Doc
from creditline.domain.amounts import parse_credits
from creditline.domain.packs import Catalogue, parse_catalogue
from creditline.domain.plans import Plan, parse_plan
from creditline.domain.pricing import (
    AppliedMultiplier,
    Component,
    Quote,
    RateCard,
    RateCardHistory,
    Rounding,
    RoundingMode,
)
from creditline.domain.pricing.ratecard_format import parse_ratecard


def _micros(credits_text: str) -> Decimal:
    """Exact credits text (``"1.5"``) as exact micro-credits (``Decimal(1500000)``)."""
    return Decimal(credits_text).scaleb(6)


def applied_multiplier(d: Doc) -> AppliedMultiplier:
    return AppliedMultiplier(d["reason"], Decimal(d["factor"]))


def rounding(d: Doc | None) -> Rounding | None:
    if d is None:
        return None
    return Rounding(RoundingMode(d["mode"]), parse_credits(d["increment"]))


def component(d: Doc) -> Component:
    return Component(d["label"], _micros(d["credits"]))


def quote(d: Doc) -> Quote:
    return Quote(
        operation=d["operation"],
        card=d["card"],
        version=d["version"],
        total=d["total_micros"],
        base=_micros(d["base"]),
        multipliers=tuple(applied_multiplier(m) for m in d["multipliers"]),
        exact=_micros(d["exact"]),
        rounding=rounding(d["rounding"]),
        components=tuple(component(c) for c in d["components"]),
        steps=tuple(quote(s) for s in d["steps"]),
        selection=dict(d["selection"]),
        supplier=d["supplier"],
    )


def rate_card(d: Doc) -> RateCard:
    return parse_ratecard(d["document"])


def rate_card_history(d: Doc) -> RateCardHistory:
    return RateCardHistory(tuple(rate_card(v) for v in d["versions"]))


def plan(d: Doc) -> Plan:
    return parse_plan(d["document"])


def catalogue(d: Doc) -> Catalogue:
    return parse_catalogue(d["document"])
