"""Purchases of credits through a payment provider, their receipts and refunds (D2, D3, D4).

A **purchase** is one organization buying one :class:`~creditline.domain.packs.Offer`
(a pack, or an amount at the fixed rate). It starts ``pending`` with a checkout
session at the provider and changes state only on the provider's word, re-fetched
from the provider (never taken from a webhook's body alone):

=========== ==========================================================================
status      meaning
=========== ==========================================================================
pending     created; the buyer is at the checkout, nothing is granted
paid        the provider confirmed the payment: its ``prepaid`` grant exists (exactly
            one, made in the transaction that marked it paid)
failed      the checkout expired or the payment failed; nothing granted. A provider
            that later reports it paid after all still turns it ``paid``
refunded    refunded: the unspent credits of its grant were taken back (``refund``
            entries) and the money for them returned
=========== ==========================================================================

A purchase records its terms when it is made (credits, price, expiry rule, refund
policy), so a later change of the catalogue never changes a sale already made.

**Refunds** (refundable platforms only): what is refunded is the part of the
purchase's grant still unspent and unexpired; the money is ``paid x refunded credits
/ credits bought``, rounded half up to a minor unit
(:func:`creditline.domain.money.round_half_up`, the one rounding rule), so a purchase
refunded untouched gets exactly what was paid back.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime

from creditline.domain.cycles import ExpiryRule
from creditline.domain.grants import Grant
from creditline.domain.money import Money, round_half_up
from creditline.domain.packs import RefundPolicy
from creditline.domain.topups import Trigger

__all__ = ["Purchase", "PurchaseStatus", "Receipt", "refund_money", "refundable_credits"]


class PurchaseStatus(enum.StrEnum):
    PENDING = "pending"
    PAID = "paid"
    FAILED = "failed"
    REFUNDED = "refunded"
    ON_ACCOUNT = "on_account"
    """Credited at once, billed on the next monthly invoice (no checkout)."""


@dataclass(frozen=True, slots=True)
class Purchase:
    """A stored purchase (see the module docstring).

    Attributes:
        id: ``pur_...``.
        org_id: the buyer.
        pack: the pack's name, or ``"any-amount"``.
        credits: micro-credits bought.
        price: what was (or is to be) paid.
        status: see :class:`PurchaseStatus`.
        provider: the payment provider's name (``"stripe"``).
        refund_policy: the policy it was sold under.
        expiry: its grant's expiry rule, counted from ``paid_at``.
        checkout_url: where the buyer pays, while pending.
        session_id: the provider's checkout session id.
        payment_id: the provider's payment id (a Stripe PaymentIntent), once known.
        grant_id: the grant it made, once paid.
        email: where its receipt goes (from the checkout, or given at creation).
        refunded_credits: micro-credits taken back by a refund.
        refunded_minor: money returned by a refund, in minor units of ``price``.
        refund_id: the provider's refund id, once the provider accepted the refund.
        failure: why it failed, when it did.
        created_at, paid_at, refunded_at: when it happened.
        trigger: what made it: ``manual`` (a buyer at the checkout), ``automatic`` or
            ``recurring`` (a top-up, :mod:`creditline.domain.topups`), charged off-session.
    """

    id: str
    org_id: str
    pack: str
    credits: int
    price: Money
    status: PurchaseStatus
    provider: str
    refund_policy: RefundPolicy
    expiry: ExpiryRule
    created_at: datetime
    checkout_url: str | None = None
    session_id: str | None = None
    payment_id: str | None = None
    grant_id: str | None = None
    email: str | None = None
    refunded_credits: int = 0
    refunded_minor: int = 0
    refund_id: str | None = None
    failure: str | None = None
    paid_at: datetime | None = None
    refunded_at: datetime | None = None
    trigger: Trigger = Trigger.MANUAL


@dataclass(frozen=True, slots=True)
class Receipt:
    """The record of a paid purchase, e-mailed to the buyer when mail is configured.

    Attributes:
        id: ``rcp_...``.
        purchase_id: the purchase it is for (one receipt per purchase).
        org_id: the buyer.
        credits: micro-credits bought.
        amount: what was paid.
        email: where it was (or is to be) sent, if anywhere.
        issued_at: when the payment was confirmed.
        emailed_at: when the e-mail was accepted by the mail server, if it was.
        email_error: why the last attempt to e-mail it failed, if it did.
    """

    id: str
    purchase_id: str
    org_id: str
    pack: str
    credits: int
    amount: Money
    email: str | None
    issued_at: datetime
    emailed_at: datetime | None = None
    email_error: str | None = None


def refundable_credits(grant: Grant, now: datetime) -> int:
    """Micro-credits of a purchase's grant that a refund takes back: what remains of it,
    unless it has expired (expired credits are gone, refunded or not)."""
    return 0 if grant.is_expired(now) else grant.remaining


def refund_money(purchase: Purchase, credits: int) -> int:
    """Minor units returned for refunding ``credits`` of ``purchase``: its price times
    the refunded share, rounded half up (never more than was paid)."""
    return round_half_up(purchase.price.minor * credits, purchase.credits)
