"""What every step of an invoice's life writes alike: its billing events, the invoice
read back, and the invoice paid."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from creditline.domain.errors import InvoiceNotFound
from creditline.domain.invoices import Invoice, InvoiceStatus
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["find_invoice", "paid_invoice", "record_event"]


def record_event(
    uow: UnitOfWork, invoice: Invoice, type_: str, cause: str, now: datetime, *,
    key: str | None = None, **data: Any,
) -> None:  # fmt: skip
    """Record a billing event of ``invoice``, once per (invoice, type, key)."""
    ref = f"{invoice.id}:{type_}" + ("" if key is None else f":{key}")
    payload = {"invoice": invoice.display_number, "amount_minor": invoice.total_minor,
               "currency": invoice.currency, **data}  # fmt: skip
    uow.invoices.add_event(
        invoice.org_id, invoice.id, type_=type_, cause=cause, ref=ref, data=payload, at=now
    )


def paid_invoice(invoice: Invoice, now: datetime, payment_id: str | None) -> Invoice:
    """``invoice`` paid at ``now`` (by ``payment_id``): out of dunning."""
    return replace(invoice, status=InvoiceStatus.PAID, paid_at=now, payment_id=payment_id,
                   payment_error=None, collection=None, next_attempt_at=None)  # fmt: skip


def find_invoice(uow: UnitOfWork, org_id: str, invoice_id: str) -> Invoice:
    """The organization's invoice ``invoice_id``.

    Raises:
        InvoiceNotFound: not an invoice of this organization.
    """
    found = uow.invoices.get(org_id, invoice_id)
    if found is None:
        raise InvoiceNotFound(invoice_id)
    return found
