"""Charging a claimed top-up to the organization's saved payment method, and settling it.

**Charging** (:func:`charge_topup`) happens after the commit that claimed the top-up,
never inside a balance transaction: the pending top-up is already recorded, so the
provider call (off-session, idempotency key ``topup-<purchase id>``) can be retried after
a crash or a timeout and the provider answers with the first charge, never a second.
Then one transaction under the organization's lock grants the credits (a ``prepaid``
grant, like any purchase's), marks the purchase ``paid`` with a compare-and-set (so two
chargers of one top-up grant once) and issues its receipt; the setting is re-armed when
the grant lifted the credits back to the threshold. A decline marks it ``failed``, counts
the failure and records the ``payment_failed`` signal the alerts fire for; at
``max_failures`` consecutive failures automatic top-ups are disabled. A provider error
without a decline (the outcome unknown) leaves the top-up pending: the scheduler's job
(:func:`creditline.services.topups.run.run_topups`) retries it with the same key.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from creditline.domain.errors import PaymentProviderError
from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.time import Clock
from creditline.domain.topups import RETRY_AFTER, Trigger
from creditline.services.alerts import record_payment_failed
from creditline.services.ports.payments import Charge, PaymentProvider, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases.receipts import issue_receipt
from creditline.services.purchases.records import (
    find_purchase,
    grant_purchase,
    lock_purchase,
)
from creditline.services.topups.claims import available_credits

__all__ = ["Charged", "charge_topup", "topup_key"]

log = logging.getLogger(__name__)


def topup_key(purchase: Purchase) -> str:
    """The provider's idempotency key of a top-up's charge: one charge per top-up."""
    return f"topup-{purchase.id}"


@dataclass(frozen=True, slots=True)
class Charged:
    """What charging a top-up did: its purchase afterwards and the receipt made now."""

    purchase: Purchase
    receipt: Receipt | None = None


def charge_topup(
    org_id: str, purchase_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Charged:
    """Charge a pending top-up to the saved payment method and settle it (module
    docstring). Safe to call twice, from two processes at once: one charge, one grant."""
    purchase = tx(lambda uow: find_purchase(uow, org_id, purchase_id), read_only=True)
    if purchase.status is not PurchaseStatus.PENDING or purchase.trigger is Trigger.MANUAL:
        return Charged(purchase)
    saved = tx(lambda uow: uow.payments.customer(org_id, purchase.provider), read_only=True)
    if not payments.enabled or payments.name != purchase.provider:
        return tx(_failed(purchase, "its payment provider is not configured", clock))
    if saved is None or saved[1] is None:
        return tx(_failed(purchase, "no saved payment method", clock))
    if purchase.payment_id is not None:  # charged before; the outcome was pending
        if payments.payment_succeeded(purchase.payment_id):
            return tx(_paid(purchase, Charge(purchase.payment_id, True, "succeeded"), clock))
        return Charged(purchase)
    try:
        charge = payments.charge(
            saved[0], saved[1], purchase.price, idempotency_key=topup_key(purchase),
            metadata={"purchase_id": purchase.id, "org_id": org_id,
                      "trigger": purchase.trigger.value},
        )  # fmt: skip
    except PaymentProviderError as exc:
        if exc.code is None:  # unknown outcome: retried later with the same key
            log.warning("top-up %s: %s; retried by the next tick", purchase.id, exc)
            return Charged(purchase)
        return tx(_failed(purchase, str(exc), clock))
    if charge.succeeded:
        return tx(_paid(purchase, charge, clock))
    if charge.status == "processing":
        return tx(_waiting(purchase, charge, clock))
    return tx(_failed(purchase, f"payment {charge.status}", clock))


def _if_pending(
    purchase: Purchase, step: Callable[[UnitOfWork, tuple[int, int], Purchase], Charged]
) -> Callable[[UnitOfWork], Charged]:
    """The transaction that settles ``purchase`` by ``step`` under the organization's lock,
    if it is still pending; else the purchase as another charger settled it."""

    def work(uow: UnitOfWork) -> Charged:
        held, stored = lock_purchase(uow, purchase.org_id, purchase.id)
        if stored.status is not PurchaseStatus.PENDING:
            return Charged(stored)  # settled by another charger
        return step(uow, held, stored)

    return work


def _paid(purchase: Purchase, charge: Charge, clock: Clock) -> Callable[[UnitOfWork], Charged]:
    def step(uow: UnitOfWork, held: tuple[int, int], stored: Purchase) -> Charged:
        now = clock.now()
        grant = grant_purchase(uow, stored, held, now)
        paid = replace(stored, status=PurchaseStatus.PAID, grant_id=grant.id,
                       payment_id=charge.id, failure=None, paid_at=now)  # fmt: skip
        uow.purchases.transition(paid, (PurchaseStatus.PENDING,), now)
        receipt = issue_receipt(uow, paid, now)
        setting = uow.topups.setting(purchase.org_id)
        if setting is not None and setting.pending_id == purchase.id:
            available = available_credits(purchase.org_id, uow.grants.active(purchase.org_id), now)
            done = replace(setting, pending_id=None, failures=0, retry_at=None,
                           armed=available >= setting.threshold, updated_at=now)  # fmt: skip
            uow.topups.put_setting(done, now)
        uow.commit()
        return Charged(paid, receipt)

    return _if_pending(purchase, step)


def _waiting(purchase: Purchase, charge: Charge, clock: Clock) -> Callable[[UnitOfWork], Charged]:
    def step(uow: UnitOfWork, _: tuple[int, int], stored: Purchase) -> Charged:
        waiting = replace(stored, payment_id=charge.id, failure=f"payment {charge.status}")
        uow.purchases.transition(waiting, (PurchaseStatus.PENDING,), clock.now())
        uow.commit()
        return Charged(waiting)

    return _if_pending(purchase, step)


def _failed(purchase: Purchase, reason: str, clock: Clock) -> Callable[[UnitOfWork], Charged]:
    def step(uow: UnitOfWork, _: tuple[int, int], stored: Purchase) -> Charged:
        now = clock.now()
        failed = replace(stored, status=PurchaseStatus.FAILED, failure=reason)
        uow.purchases.transition(failed, (PurchaseStatus.PENDING,), now)
        note = reason
        setting = uow.topups.setting(purchase.org_id)
        if setting is not None and setting.pending_id == purchase.id:
            count = setting.failures + 1
            after = replace(setting, pending_id=None, failures=count, armed=True,
                            retry_at=now + RETRY_AFTER, updated_at=now)  # fmt: skip
            if count >= setting.max_failures:
                note = (f"automatic top-ups disabled after {count} failed charges "
                        f"in a row: {reason}")  # fmt: skip
                after = replace(after, enabled=False, disabled_reason=note)
            uow.topups.put_setting(after, now)
        record_payment_failed(
            uow, purchase.org_id, purchase.id, attempt=1, amount=purchase.price,
            reason=f"{purchase.trigger.value} top-up: {note}", now=now,
        )  # fmt: skip
        uow.commit()
        return Charged(failed)

    return _if_pending(purchase, step)
