"""Quotes, rate cards, plans and the pack catalogue (their documents parsed as the
library parses them)."""

from __future__ import annotations

from decimal import Decimal

from creditline.client.decode._common import Doc, decodes, record
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
    return record(AppliedMultiplier, d)


@decodes(Rounding)
def _rounding(d: Doc) -> Rounding:
    return Rounding(RoundingMode(d["mode"]), parse_credits(d["increment"]))


def rounding(d: Doc | None) -> Rounding | None:
    return None if d is None else _rounding(d)


@decodes(Component)
def component(d: Doc) -> Component:
    return Component(d["label"], _micros(d["credits"]))


@decodes(Quote)
def quote(d: Doc) -> Quote:
    """A quote (its exact amounts, credits text in the answer, in micro-credits)."""
    return record(Quote, d, base=_micros(d["base"]), exact=_micros(d["exact"]))


def rate_card(d: Doc) -> RateCard:
    return parse_ratecard(d["document"])


def rate_card_history(d: Doc) -> RateCardHistory:
    return RateCardHistory(tuple(rate_card(v) for v in d["versions"]))


def plan(d: Doc) -> Plan:
    return parse_plan(d["document"])


def catalogue(d: Doc) -> Catalogue:
    return parse_catalogue(d["document"])
