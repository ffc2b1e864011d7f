"""Automatic and recurring top-ups."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, money, when
from creditline.domain.topups import AutoTopup, BuyKind, RecurringTopup


def auto_topup(d: Doc) -> AutoTopup:
    cap = d["monthly_cap"]
    return AutoTopup(
        org_id=d["org_id"],
        enabled=d["enabled"],
        threshold=d["threshold_micros"],
        buy=BuyKind(d["buy"]),
        pack=d["pack"],
        credits=d["credits_micros"],
        currency=d["currency"],
        monthly_cap=None if cap is None else money(cap),
        max_failures=d["max_failures"],
        armed=d["armed"],
        crossings=d["crossings"],
        pending_id=d["pending_id"],
        failures=d["failures"],
        retry_at=maybe_when(d["retry_at"]),
        last_skip=d["last_skip"],
        disabled_reason=d["disabled_reason"],
        updated_at=maybe_when(d["updated_at"]),
    )


def recurring_topup(d: Doc) -> RecurringTopup:
    return RecurringTopup(
        org_id=d["org_id"],
        pack=d["pack"],
        currency=d["currency"],
        day=d["day"],
        starts_at=when(d["starts_at"]),
        active=d["active"],
        last_period=d["last_period"],
        updated_at=maybe_when(d["updated_at"]),
    )
