"""Purchases and their receipts."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, money, when
from creditline.domain.cycles import ExpiryRule
from creditline.domain.packs import RefundPolicy
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.topups import Trigger


def purchase(d: Doc) -> Purchase:
    return Purchase(
        id=d["id"],
        org_id=d["org_id"],
        pack=d["pack"],
        credits=d["credits_micros"],
        price=money(d["price"]),
        status=PurchaseStatus(d["status"]),
        provider=d["provider"],
        refund_policy=RefundPolicy(d["refund_policy"]),
        expiry=ExpiryRule.never(),
        created_at=when(d["created_at"]),
        checkout_url=d["checkout_url"],
        grant_id=d["grant_id"],
        email=d["email"],
        refunded_credits=d["refunded_credits_micros"],
        refunded_minor=d["refunded_minor"],
        failure=d["failure"],
        paid_at=maybe_when(d["paid_at"]),
        refunded_at=maybe_when(d["refunded_at"]),
        trigger=Trigger(d.get("trigger", "manual")),
    )


def receipt(d: Doc) -> Receipt:
    return Receipt(
        id=d["id"],
        purchase_id=d["purchase_id"],
        org_id=d["org_id"],
        pack=d["pack"],
        credits=d["credits_micros"],
        amount=money(d["amount"]),
        email=d["email"],
        issued_at=when(d["issued_at"]),
        emailed_at=maybe_when(d["emailed_at"]),
    )
