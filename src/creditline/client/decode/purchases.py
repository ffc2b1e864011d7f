"""Purchases and their receipts."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.cycles import ExpiryRule
from creditline.domain.purchases import Purchase, Receipt


def purchase(d: Doc) -> Purchase:
    return record(Purchase, d, expiry=ExpiryRule.never())


def receipt(d: Doc) -> Receipt:
    return record(Receipt, d)
