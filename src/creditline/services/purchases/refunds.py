"""Refunding a purchase: the unspent, unexpired part of its grant reversed, and the money
for that part refunded at the provider.

**Refunds** follow the policy the purchase was sold under: ``final`` purchases are
refused (:class:`~creditline.domain.errors.RefundRefused`); a ``refundable`` one has
the unspent, unexpired part of its grant reversed (a ``refund`` entry, cause
``refund:<purchase>``) and the money for that part refunded at the provider (the paid
price x refunded share, rounded half up: :func:`creditline.domain.purchases.refund_money`).
The reversal is committed first, so the credits cannot be spent meanwhile; if the
provider then refuses, a compensating ``refund`` entry gives them back and the purchase
is ``paid`` again. A refund interrupted after its reversal (a crash) is completed by
calling it again: the provider call reuses its idempotency key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

from creditline.domain.errors import PaymentProviderError, RefundRefused
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.money import Money
from creditline.domain.packs import RefundPolicy
from creditline.domain.purchases import (
    Purchase,
    PurchaseStatus,
    refund_money,
    refundable_credits,
)
from creditline.domain.time import Clock
from creditline.services.ports.payments import PaymentProvider, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.posting import post
from creditline.services.purchases.records import lock_purchase, store

__all__ = ["refund_purchase"]


def _reverse(org_id: str, purchase_id: str, clock: Clock) -> Callable[[UnitOfWork], Purchase]:
    def work(uow: UnitOfWork) -> Purchase:
        _, purchase = lock_purchase(uow, org_id, purchase_id)
        now = clock.now()
        if purchase.refund_policy is RefundPolicy.FINAL:
            raise RefundRefused(purchase_id, "purchases are final and non-refundable")
        if purchase.status is PurchaseStatus.REFUNDED:
            if purchase.refund_id is None and purchase.refunded_minor > 0:
                return purchase  # reversed, but the provider's refund is not confirmed yet
            raise RefundRefused(purchase_id, "it is refunded already")
        if purchase.status is not PurchaseStatus.PAID or purchase.grant_id is None:
            raise RefundRefused(purchase_id, f"it is {purchase.status.value}, not paid")
        grant = uow.grants.get(org_id, purchase.grant_id)
        assert grant is not None
        credits = refundable_credits(grant, now)
        if credits == 0:
            raise RefundRefused(
                purchase_id, "nothing is left to refund: its credits are spent or expired"
            )
        cause = Cause(CauseType.REFUND, purchase.id)
        post(uow, org_id, [NewEntry(org_id, grant.id, EntryType.REFUND, -credits, cause, now)], now)
        refunded = replace(
            purchase,
            status=PurchaseStatus.REFUNDED,
            refunded_credits=credits,
            refunded_minor=refund_money(purchase, credits),
            refunded_at=now,
        )
        uow.purchases.transition(refunded, (PurchaseStatus.PAID,), now)
        uow.commit()
        return refunded

    return work


def _restore(purchase: Purchase, reason: str, clock: Clock) -> Callable[[UnitOfWork], Purchase]:
    """Give back the credits of a refund the provider refused: the purchase is paid again."""

    def work(uow: UnitOfWork) -> Purchase:
        uow.balances.lock(purchase.org_id)
        now = clock.now()
        assert purchase.grant_id is not None
        cause = Cause(CauseType.REFUND, purchase.id)
        entry = NewEntry(
            purchase.org_id, purchase.grant_id, EntryType.REFUND, purchase.refunded_credits,
            cause, now, metadata={"reversed": "the provider refused the refund"},
        )  # fmt: skip
        post(uow, purchase.org_id, [entry], now)
        paid = replace(
            purchase, status=PurchaseStatus.PAID, refunded_credits=0, refunded_minor=0,
            refunded_at=None, failure=f"refund refused by {purchase.provider}: {reason}",
        )  # fmt: skip
        uow.purchases.transition(paid, (PurchaseStatus.REFUNDED,), now)
        uow.commit()
        return paid

    return work


def _refund_key(purchase: Purchase) -> str:
    """One key per refund attempt: a retry after a crash reuses it (one refund at the
    provider), an attempt after a refused one (credits given back) gets a new one."""
    assert purchase.refunded_at is not None
    return f"refund-{purchase.id}-{int(purchase.refunded_at.timestamp() * 1_000_000)}"


def refund_purchase(
    org_id: str, purchase_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Purchase:
    """Refund a refundable purchase's unspent credits and the money for them.

    Raises:
        RefundRefused: the policy is ``final``, the purchase is not paid (or refunded
            already), or nothing of its grant is left.
        PurchaseNotFound, OrganizationNotFound: no such purchase in this organization.
        PaymentProviderError: the provider refused the refund; the credits are given
            back and the purchase is ``paid`` again.
    """
    refunded = tx(_reverse(org_id, purchase_id, clock))
    if refunded.refunded_minor == 0 or refunded.refund_id is not None:
        return refunded
    assert refunded.payment_id is not None, "a paid purchase has the provider's payment"
    try:
        refund_id = payments.refund(
            refunded.payment_id,
            Money(refunded.refunded_minor, refunded.price.currency),
            idempotency_key=_refund_key(refunded),
        )
    except PaymentProviderError as exc:
        tx(_restore(refunded, exc.reason, clock))
        raise
    done = replace(refunded, refund_id=refund_id)
    tx(lambda uow: store(uow, done, (PurchaseStatus.REFUNDED,), clock))
    return done
