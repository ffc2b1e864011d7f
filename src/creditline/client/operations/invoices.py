"""Invoices, their collection and the billing history (D4-D6)."""

from __future__ import annotations

from datetime import datetime

from creditline.client import decode
from creditline.client._wire import Flow, get, op, post, seg
from creditline.client.operations._flows import read_org_plan
from creditline.domain.invoices import (
    BillingEvent,
    BillingRecord,
    Invoice,
    InvoiceItem,
    parse_month,
)
from creditline.domain.revenue import RevenueReport, month_window
from creditline.services.invoices import FlexRun

from ._requests import compact, fetch, fetch_each, org_get, org_post, query_params


def run_invoices(month: str | datetime | None) -> Flow[FlexRun]:
    body = compact(month=None if month is None else parse_month(month))
    reply = yield post("/v1/invoices/run", body)
    return decode.flex_run(reply.json())


class InvoiceOperations:
    """Invoices, their collection and the billing history (D4-D6)."""

    @op
    def invoice_month(self, month: str | datetime | None = None) -> Flow[FlexRun]:
        """Issue the month's invoices (operator; default: the previous month)."""
        return (yield from run_invoices(month))

    @op
    def invoice_flex(self, month: str | datetime | None = None) -> Flow[FlexRun]:
        """:meth:`invoice_month`, by its older name."""
        return (yield from run_invoices(month))

    @op
    def revenue_report(self, month: str | datetime) -> Flow[RevenueReport]:
        """A month's deferred revenue and breakage at cost basis, per currency (operator)."""
        name, _, _ = month_window(month)
        query = query_params(month=name)
        return (yield from fetch(decode.revenue_report, get("/v1/reports/revenue", query)))

    @op
    def mark_invoice_paid(
        self, org_id: str, invoice_id: str, reference: str | None = None
    ) -> Flow[Invoice]:
        """Mark an open invoice paid outside the provider (operator)."""
        path = f"/invoices/{seg(invoice_id)}/mark-paid"
        return (
            yield from fetch(decode.invoice, org_post(org_id, path, compact(reference=reference)))
        )

    @op
    def retry_payments(self) -> Flow[list[Invoice]]:
        """Charge again every invoice whose dunning try is due (operator)."""
        reply = yield post("/v1/payments/retry", {})
        return [decode.invoice(i) for i in reply.json()["invoices"]]

    @op
    def billing_events(
        self, org_id: str, limit: int = 100, invoice_id: str | None = None
    ) -> Flow[list[BillingEvent]]:
        """The steps of the invoices' collection, with their causes, newest first."""
        query = query_params(limit=limit, invoice_id=invoice_id)
        reply = yield org_get(org_id, "/billing-events", query)
        return [decode.billing_event(e, org_id) for e in reply.json()]

    @op
    def pending_items(self, org_id: str) -> Flow[list[InvoiceItem]]:
        """What waits for the organization's next invoice."""
        reply = yield org_get(org_id, "/invoice-items")
        return [decode.invoice_item(i, org_id) for i in reply.json()]

    @op
    def billing_hold(self, org_id: str) -> Flow[str | None]:
        """The overdue invoice the organization is suspended for, or ``None``."""
        found = yield from read_org_plan(org_id)
        return found.metering.hold

    @op
    def invoices(self, org_id: str, limit: int = 100) -> Flow[list[Invoice]]:
        return (
            yield from fetch_each(
                decode.invoice, org_get(org_id, "/invoices", query_params(limit=limit))
            )
        )

    @op
    def invoice(self, org_id: str, invoice_id: str) -> Flow[Invoice]:
        return (yield from fetch(decode.invoice, org_get(org_id, f"/invoices/{seg(invoice_id)}")))

    @op
    def invoice_html(self, org_id: str, invoice_id: str) -> Flow[str]:
        reply = yield org_get(org_id, f"/invoices/{seg(invoice_id)}/html")
        return reply.text

    @op
    def invoice_pdf(self, org_id: str, invoice_id: str) -> Flow[bytes]:
        reply = yield org_get(org_id, f"/invoices/{seg(invoice_id)}/pdf")
        return reply.content

    @op
    def pay_invoice(self, org_id: str, invoice_id: str) -> Flow[Invoice]:
        return (
            yield from fetch(decode.invoice, org_post(org_id, f"/invoices/{seg(invoice_id)}/pay"))
        )

    @op
    def void_invoice(self, org_id: str, invoice_id: str) -> Flow[Invoice]:
        return (
            yield from fetch(decode.invoice, org_post(org_id, f"/invoices/{seg(invoice_id)}/void"))
        )

    @op
    def billing_history(self, org_id: str, limit: int = 100) -> Flow[list[BillingRecord]]:
        query = query_params(limit=limit)
        return (
            yield from fetch_each(decode.billing_record, org_get(org_id, "/billing-history", query))
        )
