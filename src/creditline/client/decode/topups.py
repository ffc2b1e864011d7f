"""Automatic and recurring top-ups."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.topups import AutoTopup, RecurringTopup


def auto_topup(d: Doc) -> AutoTopup:
    return record(AutoTopup, d)


def recurring_topup(d: Doc) -> RecurringTopup:
    return record(RecurringTopup, d)
