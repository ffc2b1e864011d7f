"""Charging an invoice to the organization's saved payment method, and charging it again.

Each new invoice is charged to the organization's saved payment method, if it has one
(an off-session payment at the provider, idempotency key ``invoice-<id>``, so a retried
charge is one charge): paid, it is marked ``paid``; declined, it stays ``open`` with the
reason (and, in the same transaction, a signal that ``payment_failed`` alerts fire for:
:mod:`creditline.services.alerts`, and the next step of dunning:
:mod:`creditline.services.invoices.dunning`); no saved method (or no provider), it stays
``open``. :func:`retry_payments` and :func:`retry_open_invoices` charge it again.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace
from datetime import timedelta

from creditline.domain.errors import OrganizationNotFound, PaymentProviderError
from creditline.domain.invoices import Collection, Invoice, InvoiceStatus
from creditline.domain.time import Clock
from creditline.services.invoices.dunning import after_paid, save_declined
from creditline.services.invoices.records import find_invoice, paid_invoice
from creditline.services.ports.payments import PaymentProvider, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "ATTEMPT_LEASE",
    "charge_invoice",
    "pay_invoice",
    "retry_open_invoices",
    "retry_payments",
]

ATTEMPT_LEASE = timedelta(hours=1)
"""How long a charge under way keeps its invoice from the retry job: a process that died
after calling the provider is retried after it, with the same attempt (the same key)."""


def charge_invoice(
    invoice: Invoice, tx: Transactions, payments: PaymentProvider, clock: Clock,
    cause: str = "invoicing",
) -> Invoice:  # fmt: skip
    """Charge an open invoice to the saved payment method; the invoice afterwards.

    ``cause`` is what asked for the charge (``invoicing``, ``retry``, ``new_card``,
    ``operator``), recorded with the billing events it leads to."""
    if invoice.status is not InvoiceStatus.OPEN or not payments.enabled:
        return invoice
    retry = cause == "retry"
    saved = tx(lambda uow: uow.payments.customer(invoice.org_id, payments.name), read_only=True)
    if saved is None or saved[1] is None:
        if invoice.collection is not Collection.RETRYING:
            return invoice
        # A retry with no payment method left: the try fails as a decline would.
        attempt = tx(lambda uow: _begin_attempt(uow, invoice.id, clock, retry))
        if attempt is None:
            return tx(_reader(invoice.org_id, invoice.id), read_only=True)
        return _declined(attempt, "no saved payment method", tx, clock, cause)
    customer_id, method = saved[0], saved[1]
    attempt = tx(lambda uow: _begin_attempt(uow, invoice.id, clock, retry))
    if attempt is None:
        return tx(_reader(invoice.org_id, invoice.id), read_only=True)
    invoice = attempt
    try:
        charge = payments.charge(
            customer_id,
            method,
            invoice.total,
            idempotency_key=f"invoice-{invoice.id}-{invoice.payment_attempts}",
            metadata={"invoice_id": invoice.id, "org_id": invoice.org_id},
        )
    except PaymentProviderError as exc:
        return _declined(invoice, str(exc), tx, clock, cause)
    if charge.succeeded:
        paid = paid_invoice(invoice, clock.now(), charge.id)
        saved_paid = tx(lambda uow: _save_paid(uow, paid, cause, clock))
        return paid if saved_paid else invoice
    waiting = replace(invoice, payment_id=charge.id, payment_error=f"payment {charge.status}")
    tx(lambda uow: _save(uow, waiting, (InvoiceStatus.OPEN,), clock))
    return waiting


def _declined(invoice: Invoice, reason: str, tx: Transactions, clock: Clock, cause: str) -> Invoice:
    def work(uow: UnitOfWork) -> Invoice:
        return save_declined(uow, invoice, reason, clock, cause)

    return tx(work)


def _begin_attempt(
    uow: UnitOfWork, invoice_id: str, clock: Clock, retry: bool = False
) -> Invoice | None:
    """Number the charge about to be tried (``None``: the invoice is no longer open).

    A new number after a decline (its key's answer at the provider is the decline); the
    same number when the last attempt's outcome is unknown (a crash after the call), so
    that the provider answers the retry with that attempt's charge, never a second one.
    A scheduled ``retry`` goes ahead only while its try is still due: two workers that
    picked the same invoice make one attempt.
    """
    invoice = uow.invoices.by_id(invoice_id)
    if invoice is None or invoice.status is not InvoiceStatus.OPEN:
        return None
    if retry and (invoice.next_attempt_at is None or invoice.next_attempt_at > clock.now()):
        return None  # another worker took this try (its lease), or made it already
    concluded = invoice.payment_attempts == 0 or invoice.payment_error is not None
    number = invoice.payment_attempts + 1 if concluded else invoice.payment_attempts
    lease = clock.now() + ATTEMPT_LEASE  # the retry job leaves it alone meanwhile
    started = replace(invoice, payment_attempts=number, payment_error=None, next_attempt_at=lease)
    if not uow.invoices.transition(started, (InvoiceStatus.OPEN,), clock.now()):
        return None
    uow.commit()
    return started


def _save(uow: UnitOfWork, invoice: Invoice, when: Sequence[InvoiceStatus], clock: Clock) -> bool:
    changed = uow.invoices.transition(invoice, when, clock.now())
    uow.commit()
    return changed


def _save_paid(uow: UnitOfWork, paid: Invoice, cause: str, clock: Clock) -> bool:
    """Store an invoice paid, and what its payment lifts (see
    :func:`~creditline.services.invoices.dunning.after_paid`)."""
    if uow.balances.lock(paid.org_id) is None:
        raise OrganizationNotFound(paid.org_id)
    now = clock.now()
    changed = uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now)
    if changed:
        after_paid(uow, paid, "paid", cause, now)
    uow.commit()
    return changed


def _reader(org_id: str, invoice_id: str) -> Callable[[UnitOfWork], Invoice]:
    """The read of the organization's invoice ``invoice_id``."""
    return lambda uow: find_invoice(uow, org_id, invoice_id)


def pay_invoice(
    org_id: str, invoice_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Invoice:
    """Charge an open invoice to the saved payment method again (after a decline)."""
    invoice = tx(_reader(org_id, invoice_id), read_only=True)
    return charge_invoice(invoice, tx, payments, clock, "operator")


def retry_payments(
    tx: Transactions, payments: PaymentProvider, clock: Clock, limit: int = 1000
) -> list[Invoice]:
    """The scheduler's dunning job: charge again every open invoice whose next try has
    come, oldest first; the invoices afterwards."""
    now = clock.now()
    due = tx(lambda uow: uow.invoices.retries_due(now, limit), read_only=True)
    done = []
    for org_id, invoice_id in due:
        invoice = tx(_reader(org_id, invoice_id), read_only=True)
        done.append(charge_invoice(invoice, tx, payments, clock, "retry"))
    return done


def retry_open_invoices(
    org_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock,
    cause: str = "new_card",
) -> list[Invoice]:  # fmt: skip
    """Charge at once every invoice of the organization in dunning (a payment method was
    just saved at a checkout); the invoices afterwards."""

    def dunned(uow: UnitOfWork) -> list[Invoice]:
        return [i for i in uow.invoices.of_org(org_id, 1000)
                if i.status is InvoiceStatus.OPEN and i.collection is not None]  # fmt: skip

    return [
        charge_invoice(i, tx, payments, clock, cause) for i in reversed(tx(dunned, read_only=True))
    ]
