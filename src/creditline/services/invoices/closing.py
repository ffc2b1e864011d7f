"""Closing an invoice without charging it: an operator marks it paid or voids it, the
provider reports it paid. Each lifts the suspension the invoice caused
(:func:`creditline.services.invoices.dunning.after_paid`)."""

from __future__ import annotations

from dataclasses import replace

from creditline.domain.errors import InvalidSetting, OrganizationNotFound
from creditline.domain.invoices import Invoice, InvoiceStatus
from creditline.domain.time import Clock
from creditline.services.invoices.dunning import after_paid
from creditline.services.invoices.records import find_invoice, paid_invoice, record_event
from creditline.services.ports.payments import ProviderEvent
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["mark_invoice_paid", "settle_invoice", "void_invoice"]


def settle_invoice(
    org_id: str, invoice_id: str, uow: UnitOfWork, clock: Clock, reference: str | None = None
) -> Invoice:
    """An operator marks an open invoice paid (a bank transfer, a cheque): it is paid,
    and a suspension it caused is lifted. ``reference`` is recorded with the event.

    Raises:
        InvoiceNotFound: not an invoice of this organization.
        InvalidSetting: the invoice is not open.
    """
    with uow:
        invoice = _open_invoice(uow, org_id, invoice_id, "marked paid")
        now = clock.now()
        paid = paid_invoice(invoice, now, invoice.payment_id)
        uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now)
        after_paid(uow, paid, "paid", "operator", now)
        if reference:
            record_event(uow, paid, "payment_reference", "operator", now, reference=reference)
        uow.commit()
    return paid


def mark_invoice_paid(
    uow: UnitOfWork, invoice_id: str, payment_id: str, *, event: ProviderEvent, provider: str,
    clock: Clock,
) -> str:  # fmt: skip
    """A provider reported the invoice's payment succeeded (a verified, re-fetched event):
    mark it paid and record the event, in one transaction; the outcome recorded."""
    invoice = uow.invoices.by_id(invoice_id)
    now = clock.now()
    outcome = "ignored"
    if invoice is not None and invoice.status is InvoiceStatus.OPEN:
        uow.balances.lock(invoice.org_id)
        paid = paid_invoice(invoice, now, payment_id)
        if uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now):
            outcome = "paid"
            after_paid(uow, paid, "paid", "provider", now)
    elif invoice is not None:
        outcome = "unchanged"
    if not uow.payments.record_event(
        provider, event.id, event_type=event.type, outcome=outcome, ref=invoice_id, now=now
    ):
        return "duplicate"  # not committed: the first delivery's effect stands
    uow.commit()
    return outcome


def void_invoice(org_id: str, invoice_id: str, uow: UnitOfWork, clock: Clock) -> Invoice:
    """Cancel an open invoice; it keeps its number.

    Raises:
        InvoiceNotFound: not an invoice of this organization.
        InvalidSetting: the invoice is not open (paid or void already).
    """
    with uow:
        invoice = _open_invoice(uow, org_id, invoice_id, "voided")
        now = clock.now()
        void = replace(invoice, status=InvoiceStatus.VOID, voided_at=now, collection=None,
                       next_attempt_at=None)  # fmt: skip
        uow.invoices.transition(void, (InvoiceStatus.OPEN,), now)
        after_paid(uow, void, "voided", "operator", now)
        uow.commit()
    return void


def _open_invoice(uow: UnitOfWork, org_id: str, invoice_id: str, can_be: str) -> Invoice:
    """The organization's invoice ``invoice_id``, under the organization's lock, if it is
    open: only an open invoice ``can_be`` (marked paid, voided) by an operator.

    Raises:
        OrganizationNotFound; InvoiceNotFound: not an invoice of this organization.
        InvalidSetting: the invoice is not open.
    """
    if uow.balances.lock(org_id) is None:
        raise OrganizationNotFound(org_id)
    invoice = find_invoice(uow, org_id, invoice_id)
    if invoice.status is not InvoiceStatus.OPEN:
        raise InvalidSetting(
            "invoice", invoice.display_number, f"is {invoice.status.value}: only an open "
            f"invoice can be {can_be}",
        )  # fmt: skip
    return invoice
