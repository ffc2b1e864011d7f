"""Invoices, pending items, the billing history and invoice runs."""

from __future__ import annotations

from creditline.client.decode._common import Doc, decodes, record
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Invoice,
    InvoiceItem,
    InvoiceLine,
)
from creditline.services.invoices import FlexRun


def _invoice_number(text: str) -> int | None:
    digits = text.rpartition("-")[2]
    return int(digits) if digits.isdigit() else None


def invoice_line(d: Doc) -> InvoiceLine:
    return record(InvoiceLine, d)


@decodes(Invoice)
def invoice(d: Doc) -> Invoice:
    """An invoice: its number from its text, its currency its total's."""
    number, currency = _invoice_number(d["number"]), d["total"]["currency"]
    return record(Invoice, d, number=number, currency=currency)


def invoice_item(d: Doc, org_id: str) -> InvoiceItem:
    """An item waiting for ``org_id``'s next invoice (the answer does not repeat it)."""
    return record(InvoiceItem, d, org_id=org_id)


def billing_event(d: Doc, org_id: str) -> BillingEvent:
    return record(BillingEvent, d, org_id=org_id)


def billing_record(d: Doc) -> BillingRecord:
    return record(BillingRecord, d)


def flex_run(d: Doc) -> FlexRun:
    return record(FlexRun, d)
