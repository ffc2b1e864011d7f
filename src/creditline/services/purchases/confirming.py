"""Confirming a purchase's payment: once, under the organization's lock, from the state
the provider gives when asked.

**Confirming a payment** happens on a webhook or on a manual :func:`refresh_purchase`.
Webhooks are at-least-once, unordered and forgeable (RELIABILITY rule 6): the event is
verified by the provider adapter (signature over the raw body, timestamp window), and
its body is only used to find the purchase: the session's state is **re-fetched from
the provider**. Then, in **one transaction** holding the organization's lock
(the lock every grant takes):

1. a delivery whose event id is already recorded is a duplicate: nothing happens;
2. the purchase is read (row-locked); if the provider says paid and the purchase is
   still ``pending`` (or ``failed``), its ``prepaid`` grant is made (cost basis = price
   per credit, expiry from the pack's rule counted from now), the purchase is marked
   ``paid`` with a compare-and-set on its status, and its receipt is recorded;
3. the event id is recorded as processed.

A second delivery, a redelivery racing the first, an older event arriving last or a
refresh racing a webhook all find the purchase ``paid`` (or the event recorded) under
the same lock, and grant nothing: the credits appear exactly once, never before the
provider confirms the payment. The receipt is e-mailed after the commit when a mailer
is configured (:mod:`creditline.services.purchases.receipts`).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from creditline.domain.purchases import Purchase, PurchaseStatus, Receipt
from creditline.domain.time import Clock
from creditline.services.ports.payments import (
    CheckoutState,
    PaymentProvider,
    ProviderEvent,
    Transactions,
)
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases.receipts import issue_receipt
from creditline.services.purchases.records import find_purchase, grant_purchase, lock_purchase

__all__ = [
    "CHECKOUT_EVENTS",
    "Settled",
    "confirm_from_event",
    "refresh_purchase",
    "settle_checkout",
]

CHECKOUT_EVENTS = frozenset(
    {
        "checkout.session.completed",
        "checkout.session.async_payment_succeeded",
        "checkout.session.async_payment_failed",
        "checkout.session.expired",
    }
)
"""Events about a checkout session: each makes the session's state be re-fetched."""

_OPEN = (PurchaseStatus.PENDING, PurchaseStatus.FAILED)


@dataclass(frozen=True, slots=True)
class Settled:
    """What confirming a checkout did.

    Attributes:
        purchase: the purchase afterwards.
        outcome: ``granted`` (paid now: its grant was made), ``failed``, ``unchanged``
            (nothing to do: already paid, or not paid yet) or ``duplicate`` (an event
            already processed).
        receipt: the receipt made now (to e-mail), when ``granted``.
    """

    purchase: Purchase
    outcome: str
    receipt: Receipt | None = None


def _paid(
    uow: UnitOfWork, purchase: Purchase, state: CheckoutState, held: tuple[int, int], now: datetime
) -> Settled | None:
    grant = grant_purchase(uow, purchase, held, now)
    paid = replace(
        purchase,
        status=PurchaseStatus.PAID,
        grant_id=grant.id,
        payment_id=state.payment_id or purchase.payment_id,
        email=purchase.email or state.email,
        failure=None,
        checkout_url=None,
        paid_at=now,
    )
    if not uow.purchases.transition(paid, _OPEN, now):
        return None  # cannot happen under the locks; the caller rolls back
    receipt = issue_receipt(uow, paid, now)
    if state.customer_id and state.payment_method_id:  # saved for off-session charges (D5)
        if uow.payments.customer(paid.org_id, paid.provider) is None:
            uow.payments.put_customer(paid.org_id, paid.provider, state.customer_id, now)
        uow.payments.set_payment_method(paid.org_id, paid.provider, state.payment_method_id, now)
    return Settled(paid, "granted", receipt)


def settle_checkout(
    uow: UnitOfWork,
    org_id: str,
    purchase_id: str,
    state: CheckoutState,
    *,
    event: ProviderEvent | None,
    clock: Clock,
) -> Settled:
    """Apply a re-fetched checkout state to a purchase, exactly once (module docstring).

    Runs in ``uow`` (entered): locks the organization, deduplicates ``event`` by its id,
    grants on the first confirmation of payment, and commits.
    """
    held, purchase = lock_purchase(uow, org_id, purchase_id)
    now = clock.now()
    if event is not None and uow.payments.event_outcome(purchase.provider, event.id):
        return Settled(purchase, "duplicate")
    settled: Settled | None = Settled(purchase, "unchanged")
    if state.paid and purchase.status in _OPEN:
        settled = _paid(uow, purchase, state, held, now)
    elif state.closed and purchase.status is PurchaseStatus.PENDING:
        failed = replace(purchase, status=PurchaseStatus.FAILED, failure=state.status)
        if uow.purchases.transition(failed, (PurchaseStatus.PENDING,), now):
            settled = Settled(failed, "failed")
    if settled is None:
        return Settled(purchase, "unchanged")
    if event is not None and not uow.payments.record_event(
        purchase.provider,
        event.id,
        event_type=event.type,
        outcome=settled.outcome,
        ref=purchase.id,
        now=now,
    ):
        return Settled(purchase, "duplicate")  # rolled back: recorded by another
    uow.commit()
    return settled


def confirm_from_event(
    event: ProviderEvent,
    purchase: Purchase,
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
) -> Settled:
    """Settle ``purchase`` from a verified event: its session re-fetched, then one
    transaction (:func:`settle_checkout`)."""
    if purchase.session_id is None:
        return Settled(purchase, "unchanged")
    state = payments.checkout_state(purchase.session_id)
    return tx(
        lambda uow: settle_checkout(
            uow, purchase.org_id, purchase.id, state, event=event, clock=clock
        )
    )


def refresh_purchase(
    org_id: str, purchase_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Settled:
    """Ask the provider for the purchase's checkout state now and apply it (the "I paid
    but see no credits" button). Safe to race with webhooks: it grants at most once."""
    purchase = tx(lambda uow: find_purchase(uow, org_id, purchase_id), read_only=True)
    if purchase.session_id is None or purchase.status not in _OPEN:
        return Settled(purchase, "unchanged")
    state = payments.checkout_state(purchase.session_id)
    return tx(lambda uow: settle_checkout(uow, org_id, purchase_id, state, event=None, clock=clock))
