"""Invoices, pending items, the billing history and invoice runs."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, money, when
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Collection,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
)
from creditline.services.invoices import FlexRun


def _invoice_number(text: str) -> int | None:
    digits = text.rpartition("-")[2]
    return int(digits) if digits.isdigit() else None


def invoice_line(d: Doc) -> InvoiceLine:
    return InvoiceLine(
        d["description"],
        d["credits_micros"],
        d["unit_price_minor"],
        d["amount_minor"],
        LineKind(d.get("kind", "flex")),
    )


def invoice(d: Doc) -> Invoice:
    return Invoice(
        id=d["id"],
        number=_invoice_number(d["number"]),
        org_id=d["org_id"],
        kind=d["kind"],
        period=d["period"],
        currency=d["total"]["currency"],
        lines=tuple(invoice_line(line) for line in d["lines"]),
        status=InvoiceStatus(d["status"]),
        issued_at=when(d["issued_at"]),
        paid_at=maybe_when(d["paid_at"]),
        voided_at=maybe_when(d["voided_at"]),
        payment_error=d["payment_error"],
        payment_attempts=d.get("payment_attempts", 0),
        collection=None if d.get("collection") is None else Collection(d["collection"]),
        next_attempt_at=maybe_when(d.get("next_attempt_at")),
    )


def invoice_item(d: Doc, org_id: str) -> InvoiceItem:
    """An item waiting for ``org_id``'s next invoice (the answer does not repeat it)."""
    return InvoiceItem(
        id=d["id"], org_id=org_id, kind=LineKind(d["kind"]), ref=d["ref"],
        description=d["description"], currency=d["currency"], amount_minor=d["amount_minor"],
        credits=d["credits_micros"], due_at=when(d["due_at"]),
    )  # fmt: skip


def billing_event(d: Doc, org_id: str) -> BillingEvent:
    return BillingEvent(
        d["id"], org_id, d["invoice_id"], d["type"], d["cause"], dict(d["data"]), when(d["at"])
    )


def billing_record(d: Doc) -> BillingRecord:
    return BillingRecord(
        when(d["at"]), d["kind"], d["ref"], d["description"], money(d["amount"]), d["status"]
    )


def flex_run(d: Doc) -> FlexRun:
    return FlexRun(
        month=d["month"],
        issued=tuple(invoice(i) for i in d["issued"]),
        existing=d["existing"],
        unpriced=tuple(d["unpriced"]),
        failed_charges=tuple(d["failed_charges"]),
    )
