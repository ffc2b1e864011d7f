"""Payment provider webhooks: verified, deduplicated, and acted on from re-fetched state.

RELIABILITY rule 6: webhooks are at-least-once, unordered and forgeable. So
:func:`handle_webhook`

1. has the provider adapter verify the delivery (signature over the raw bytes in
   constant time, timestamp window both ways): a forged, tampered or stale delivery is
   :class:`~creditline.domain.errors.WebhookRejected` and does nothing;
2. uses the event only to find what it is about (a purchase by its checkout session
   or metadata, an invoice by its metadata), and asks the provider for that object's
   state now: an event delivered late, twice or out of order cannot undo or redo
   anything;
3. applies that state and records the event id as processed **in one transaction**
   (:func:`creditline.services.purchases.settle_checkout`,
   :func:`creditline.services.invoices.mark_invoice_paid`): a delivery whose id is
   recorded already is answered ``duplicate`` and changes nothing.

An event about nothing creditline knows (another integration's checkout, an event
type it does not act on) is recorded as ``ignored`` and acknowledged, so the provider
stops retrying it.
"""

from __future__ import annotations

from dataclasses import dataclass

from creditline.domain.purchases import Purchase
from creditline.domain.time import Clock
from creditline.services.invoices import mark_invoice_paid, retry_open_invoices
from creditline.services.ports.payments import (
    PaymentProvider,
    ProviderEvent,
    ReceiptSender,
    Transactions,
)
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.purchases import (
    CHECKOUT_EVENTS,
    confirm_from_event,
    send_receipt,
)

__all__ = ["PAYMENT_EVENTS", "WebhookOutcome", "handle_event", "handle_webhook"]

PAYMENT_EVENTS = frozenset({"payment_intent.succeeded", "payment_intent.payment_failed"})
"""Events about a payment: an invoice's off-session charge, or a purchase's payment."""


@dataclass(frozen=True, slots=True)
class WebhookOutcome:
    """What a delivery did.

    Attributes:
        event_id, event_type: the event.
        outcome: ``granted``, ``failed``, ``paid`` (an invoice), ``unchanged``,
            ``duplicate`` or ``ignored``.
        ref: the purchase or invoice it concerned, if any.
    """

    event_id: str
    event_type: str
    outcome: str
    ref: str | None = None


def handle_webhook(
    payload: bytes,
    signature: str | None,
    tx: Transactions,
    payments: PaymentProvider,
    *,
    clock: Clock,
    mailer: ReceiptSender | None = None,
) -> WebhookOutcome:
    """Verify a delivery and act on it (see the module docstring).

    Raises:
        WebhookRejected: the delivery does not verify; nothing was done.
        PaymentProviderError: re-fetching the state failed; nothing was recorded, so
            the provider's retry of the delivery will be processed.
    """
    event = payments.parse_webhook(payload, signature)
    return handle_event(event, tx, payments, clock, mailer)


def handle_event(
    event: ProviderEvent,
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
    mailer: ReceiptSender | None = None,
) -> WebhookOutcome:
    """Act on a verified event, exactly once per event id."""
    seen = tx(lambda uow: uow.payments.event_outcome(payments.name, event.id), read_only=True)
    if seen is not None:
        return WebhookOutcome(event.id, event.type, "duplicate")
    invoice_id = event.metadata.get("invoice_id")
    if event.type == "payment_intent.succeeded" and invoice_id and event.object_id:
        return _invoice_paid(
            event, invoice_id, event.object_id, tx=tx, payments=payments, clock=clock
        )
    purchase = _purchase_of(event, tx, payments)
    if purchase is None:
        return _ignore(event, tx, payments, clock)
    settled = confirm_from_event(event, purchase, tx, payments, clock)
    if settled.receipt is not None:
        send_receipt(settled.receipt, tx, mailer, clock)
    if settled.outcome == "granted":  # a card saved at the checkout pays what is overdue
        retry_open_invoices(purchase.org_id, tx, payments, clock, "new_card")
    return WebhookOutcome(event.id, event.type, settled.outcome, purchase.id)


def _purchase_of(
    event: ProviderEvent, tx: Transactions, payments: PaymentProvider
) -> Purchase | None:
    def find(uow: UnitOfWork) -> Purchase | None:
        found = None
        if event.type in CHECKOUT_EVENTS and event.object_id:
            found = uow.purchases.by_session(payments.name, event.object_id)
        purchase_id = event.metadata.get("purchase_id")
        if found is None and purchase_id and event.type in CHECKOUT_EVENTS | PAYMENT_EVENTS:
            found = uow.purchases.by_id(purchase_id)
        return found if found is not None and found.provider == payments.name else None

    return tx(find, read_only=True)


def _invoice_paid(
    event: ProviderEvent,
    invoice_id: str,
    payment_id: str,
    *,
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
) -> WebhookOutcome:
    if not payments.payment_succeeded(payment_id):  # the event's word is re-checked
        return _ignore(event, tx, payments, clock, invoice_id)
    outcome = tx(
        lambda uow: mark_invoice_paid(
            uow, invoice_id, payment_id, event=event, provider=payments.name, clock=clock
        )
    )
    return WebhookOutcome(event.id, event.type, outcome, invoice_id)


def _ignore(
    event: ProviderEvent,
    tx: Transactions,
    payments: PaymentProvider,
    clock: Clock,
    ref: str | None = None,
) -> WebhookOutcome:
    def record(uow: UnitOfWork) -> bool:
        stored = uow.payments.record_event(
            payments.name, event.id, event_type=event.type, outcome="ignored", ref=ref,
            now=clock.now(),
        )  # fmt: skip
        uow.commit()
        return stored

    outcome = "ignored" if tx(record) else "duplicate"
    return WebhookOutcome(event.id, event.type, outcome, ref)
