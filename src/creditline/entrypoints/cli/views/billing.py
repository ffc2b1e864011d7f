"""How packs, purchases, invoices and the billing history look (see
:mod:`creditline.entrypoints.cli.views.base` for the conventions: ``data`` for JSON, ``parts`` for
a terminal, every credit amount as decimal credits and as micro-credits, times ISO 8601
in UTC). Money appears as integer minor units with its currency, and as text
(``"EUR 450.00"``). These views only present what the engine returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from creditline import format_credits
from creditline.domain.invoices import BillingEvent, BillingRecord, Invoice, InvoiceItem, LineKind
from creditline.domain.money import Money, format_money
from creditline.domain.packs import Catalogue
from creditline.domain.purchases import Purchase
from creditline.entrypoints.cli.views.base import (
    View,
    Whole,
    credit_fields,
    iso,
    key_values,
    new_table,
    when,
)
from creditline.services.invoices import FlexRun

__all__ = [
    "billing_history_view",
    "catalogue_view",
    "flex_run_view",
    "invoice_view",
    "invoices_view",
    "purchase_view",
    "purchases_view",
]


def _money(name: str, money: Money) -> dict[str, Any]:
    return {f"{name}_minor": money.minor, "currency": money.currency, name: str(money)}


_RIGHT = ("credits", "price", "amount", "total", "number")


def _table(title: str, *columns: str) -> Table:
    return new_table(title, *columns, right=_RIGHT)


# -- packs ------------------------------------------------------------------------------


def catalogue_view(catalogue: Catalogue | None) -> View:
    if catalogue is None:
        return View(None, (Text("no pack catalogue is loaded (creditline pack load FILE)"),))
    data = catalogue.to_document()
    table = _table(
        f"Credit packs of {catalogue.name} (refunds: {catalogue.refund_policy.value})",
        "pack",
        "description",
        "credits",
        "price",
        "expiry",
    )
    for pack in catalogue.packs:
        prices = ", ".join(format_money(m, c) for c, m in sorted(pack.prices_minor.items()))
        expiry = pack.expiry.to_document()
        table.add_row(
            pack.name,
            pack.description,
            format_credits(pack.credits),
            prices,
            expiry if isinstance(expiry, str) else f"after {expiry['after']}",
        )
    parts: list[Any] = [table]
    rate = catalogue.any_amount
    if rate is not None:
        prices = ", ".join(
            f"{format_money(m, c)} a credit" for c, m in sorted(rate.unit_prices_minor.items())
        )
        parts.append(
            Text(
                f"any amount from {format_credits(rate.min_credits)} to "
                f"{format_credits(rate.max_credits)} credits, in steps of "
                f"{format_credits(rate.step)}: {prices}"
            )
        )
    return View(data, tuple(parts))


# -- purchases --------------------------------------------------------------------------


def _purchase_data(p: Purchase) -> dict[str, Any]:
    return {
        "id": p.id,
        "org_id": p.org_id,
        "pack": p.pack,
        **credit_fields("credits", p.credits),
        **_money("price", p.price),
        "status": p.status.value,
        "provider": p.provider,
        "refund_policy": p.refund_policy.value,
        "expiry": p.expiry.to_document(),
        "checkout_url": p.checkout_url,
        "session_id": p.session_id,
        "payment_id": p.payment_id,
        "grant_id": p.grant_id,
        "email": p.email,
        **credit_fields("refunded_credits", p.refunded_credits),
        "refunded_minor": p.refunded_minor,
        "refund_id": p.refund_id,
        "failure": p.failure,
        "created_at": iso(p.created_at),
        "paid_at": iso(p.paid_at),
        "refunded_at": iso(p.refunded_at),
        "trigger": p.trigger.value,
    }


def _purchases_table(found: Sequence[Purchase], title: str) -> Table:
    table = _table(
        title, "id", "pack", "credits", "price", "status", "trigger", "created (UTC)", "grant"
    )
    for p in found:
        table.add_row(
            p.id,
            p.pack,
            format_credits(p.credits),
            str(p.price),
            p.status.value,
            p.trigger.value,
            when(p.created_at),
            p.grant_id or "",
        )
    return table


def purchase_view(purchase: Purchase) -> View:
    parts: list[Any] = [_purchases_table([purchase], "Purchase")]
    if purchase.checkout_url:
        parts.append(Whole(f"pay at: {purchase.checkout_url}"))
    if purchase.refunded_credits:
        money = format_money(purchase.refunded_minor, purchase.price.currency)
        parts.append(
            Text(f"refunded: {format_credits(purchase.refunded_credits)} credits, {money}")
        )
    if purchase.failure:
        parts.append(Text(f"failure: {purchase.failure}"))
    return View(_purchase_data(purchase), tuple(parts))


def purchases_view(found: Sequence[Purchase]) -> View:
    return View([_purchase_data(p) for p in found], (_purchases_table(found, "Purchases"),))


# -- invoices ---------------------------------------------------------------------------


def _invoice_data(i: Invoice) -> dict[str, Any]:
    return {
        "id": i.id,
        "number": i.display_number,
        "sequence": i.number,
        "org_id": i.org_id,
        "kind": i.kind,
        "period": i.period,
        "status": i.status.value,
        **_money("total", i.total),
        "lines": [
            {
                "kind": line.kind.value,
                "description": line.description,
                **credit_fields("credits", line.credits),
                "unit_price_minor": line.unit_price_minor,
                "amount_minor": line.amount_minor,
            }
            for line in i.lines
        ],
        "issued_at": iso(i.issued_at),
        "paid_at": iso(i.paid_at),
        "voided_at": iso(i.voided_at),
        "payment_id": i.payment_id,
        "payment_error": i.payment_error,
        "payment_attempts": i.payment_attempts,
        "collection": None if i.collection is None else i.collection.value,
        "next_attempt_at": iso(i.next_attempt_at),
    }


def _invoices_table(found: Sequence[Invoice], title: str) -> Table:
    table = _table(
        title, "number", "id", "organization", "period", "total", "status", "issued (UTC)"
    )
    for i in found:
        table.add_row(
            i.display_number,
            i.id,
            i.org_id,
            i.period,
            str(i.total),
            i.status.value,
            when(i.issued_at),
        )
    return table


def invoice_view(invoice: Invoice) -> View:
    header = key_values(
        f"Invoice {invoice.display_number}",
        [
            ("id", invoice.id),
            ("organization", invoice.org_id),
            ("period", invoice.period),
            ("status", invoice.status.value),
            ("issued (UTC)", when(invoice.issued_at)),
            ("paid (UTC)", when(invoice.paid_at)),
            ("payment error", invoice.payment_error or ""),
            ("payment attempts", str(invoice.payment_attempts)),
            ("collection", "" if invoice.collection is None else invoice.collection.value),
            ("next attempt (UTC)", when(invoice.next_attempt_at)),
        ],
    )
    lines = _table("Lines", "description", "credits", "price", "amount")
    for line in invoice.lines:
        money_only = line.kind in (LineKind.FEE, LineKind.PRORATION, LineKind.CREDIT)
        lines.add_row(
            line.description,
            format_credits(line.credits) if line.credits else "",
            "" if money_only else invoice.money(line.unit_price_minor),
            invoice.money(line.amount_minor),
        )
    lines.add_row("total", "", "", str(invoice.total))
    return View(_invoice_data(invoice), (header, lines))


def invoices_view(found: Sequence[Invoice]) -> View:
    return View([_invoice_data(i) for i in found], (_invoices_table(found, "Invoices"),))


def flex_run_view(run: FlexRun) -> View:
    data = {
        "month": run.month,
        "issued": [_invoice_data(i) for i in run.issued],
        "paid": run.paid,
        "existing": run.existing,
        "unpriced": list(run.unpriced),
        "failed_charges": list(run.failed_charges),
    }
    summary = Text(
        f"invoices of {run.month}: {len(run.issued)} issued ({run.paid} paid), "
        f"{run.existing} already invoiced, {len(run.unpriced)} without a flex price"
    )
    return View(data, (_invoices_table(run.issued, f"Flex invoices of {run.month}"), summary))


def billing_history_view(records: Sequence[BillingRecord]) -> View:
    data = [
        {
            "at": iso(r.at),
            "kind": r.kind,
            "ref": r.ref,
            "description": r.description,
            **_money("amount", r.amount),
            "status": r.status,
        }
        for r in records
    ]
    table = _table(
        "Billing history", "when (UTC)", "kind", "ref", "description", "amount", "status"
    )
    for r in records:
        table.add_row(when(r.at), r.kind, r.ref, r.description, str(r.amount), r.status)
    return View(data, (table,))


def billing_events_view(found: Sequence[BillingEvent]) -> View:
    data = [
        {
            "id": e.id,
            "invoice_id": e.invoice_id,
            "type": e.type,
            "cause": e.cause,
            "data": e.data,
            "at": iso(e.at),
        }
        for e in found
    ]
    table = _table("Billing events", "at (UTC)", "invoice", "event", "cause", "detail")
    for e in found:
        detail = ", ".join(f"{k}={v}" for k, v in e.data.items()
                           if k not in {"invoice", "amount_minor", "currency"})  # fmt: skip
        table.add_row(when(e.at), str(e.data.get("invoice", "")), e.type, e.cause, detail)
    return View(data, (table,))


def pending_items_view(found: Sequence[InvoiceItem]) -> View:
    data = [
        {"id": i.id, "kind": i.kind.value, "ref": i.ref, "description": i.description,
         "amount_minor": i.amount_minor, "currency": i.currency, "due_at": iso(i.due_at)}
        for i in found
    ]  # fmt: skip
    table = _table("Waiting for the next invoice", "due (UTC)", "kind", "description", "amount")
    for i in found:
        table.add_row(when(i.due_at), i.kind.value, i.description,
                      format_money(i.amount_minor, i.currency))  # fmt: skip
    return View(data, (table,))
