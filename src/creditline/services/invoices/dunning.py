"""Dunning (D6): what a declined charge leads to, and what a payment lifts.

**Dunning.** On a plan with a ``dunning`` setting, a declined charge schedules the next
try (:func:`creditline.domain.invoices.dunning_after_failure`):
:func:`~creditline.services.invoices.charges.retry_payments`, the scheduler's job,
charges every open invoice whose ``next_attempt_at`` has come (a new attempt number, so
a new idempotency key). After the last failure the invoice is ``overdue`` and the
organization suspended: its number is the organization's ``billing_hold``, which
metering reads (every debit refused under the plan's dunning policy, ``pause`` or
``read_only``). Any payment lifts it: a retry that succeeds, a payment method saved at a
checkout (:func:`~creditline.services.invoices.charges.retry_open_invoices`, cause
``new_card``), an operator marking the invoice paid
(:func:`~creditline.services.invoices.closing.settle_invoice`) or voiding it, the
provider reporting it paid (:func:`~creditline.services.invoices.closing.
mark_invoice_paid`). Every step is a billing event with its cause, recorded in the
transaction of the step, once.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from creditline.domain.errors import OrganizationNotFound
from creditline.domain.invoices import (
    Collection,
    Invoice,
    InvoiceStatus,
    dunning_after_failure,
)
from creditline.domain.time import Clock
from creditline.services.alerts import record_payment_failed
from creditline.services.invoices.records import record_event
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["after_paid", "save_declined"]


def save_declined(
    uow: UnitOfWork, invoice: Invoice, reason: str, clock: Clock, cause: str
) -> Invoice:
    """Store a declined charge and, in the same transaction, the signal that
    ``payment_failed`` alerts fire for (once per attempt), the next step of the plan's
    dunning (a retry scheduled, or the organization suspended) and their events."""
    if uow.balances.lock(invoice.org_id) is None:
        raise OrganizationNotFound(invoice.org_id)
    now = clock.now()
    plan = uow.usage.metering([invoice.org_id])[invoice.org_id].plan
    attempt = invoice.payment_attempts
    collection, next_at = dunning_after_failure(plan.dunning, attempt, now)
    declined = replace(invoice, payment_error=reason, collection=collection,
                       next_attempt_at=next_at)  # fmt: skip
    if not uow.invoices.transition(declined, (InvoiceStatus.OPEN,), now):
        return declined
    record_payment_failed(
        uow, invoice.org_id, invoice.id, attempt=attempt, amount=invoice.total, reason=reason,
        now=now,
    )  # fmt: skip
    record_event(uow, declined, "payment_failed", cause, now, key=str(attempt), attempt=attempt,
           reason=reason)  # fmt: skip
    if collection is Collection.RETRYING and next_at is not None:
        record_event(uow, declined, "retry_scheduled", "dunning", now, key=str(attempt),
               attempt=attempt + 1, at=next_at.isoformat())  # fmt: skip
    elif collection is Collection.OVERDUE:
        suspend = None if plan.dunning is None else plan.dunning.suspend
        if suspend is not None and uow.invoices.hold(invoice.org_id) is None:
            uow.invoices.set_hold(invoice.org_id, declined.display_number)
            record_event(uow, declined, "suspended", "dunning", now, policy=suspend.value,
                   attempts=attempt)  # fmt: skip
        else:
            record_event(uow, declined, "overdue", "dunning", now, attempts=attempt)
    uow.commit()
    return declined


def after_paid(uow: UnitOfWork, invoice: Invoice, type_: str, cause: str, now: datetime) -> None:
    """An invoice was paid (or voided): record it, and lift the organization's
    suspension unless another overdue invoice still holds it. The caller holds the
    organization's lock and commits."""
    record_event(uow, invoice, type_, cause, now, payment_id=invoice.payment_id)
    hold = uow.invoices.hold(invoice.org_id)
    if hold is None:
        return
    others = [i for i in uow.invoices.overdue(invoice.org_id) if i.id != invoice.id]
    if others:
        uow.invoices.set_hold(invoice.org_id, others[-1].display_number)
        return
    uow.invoices.set_hold(invoice.org_id, None)
    record_event(uow, invoice, "restored", cause, now, hold=hold)
