"""An organization's billing history (D4): its purchases, refunds and invoices, and the
steps of their collection."""

from __future__ import annotations

from creditline.domain.amounts import format_credits
from creditline.domain.errors import OrganizationNotFound
from creditline.domain.invoices import BillingEvent, BillingRecord, Invoice, LineKind
from creditline.domain.money import Money
from creditline.domain.purchases import PurchaseStatus
from creditline.domain.topups import Trigger
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["billing_events", "billing_history"]


def billing_history(org_id: str, uow: UnitOfWork, limit: int = 100) -> list[BillingRecord]:
    """The organization's purchases, refunds and invoices, and the steps of their
    collection (a payment failed, a retry scheduled, a suspension, a restoration), newest
    first (D4). An event's status says what happened; its description says why."""
    with uow:
        if uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        records: list[tuple[int, BillingRecord]] = []  # (order among equal instants, record)
        for p in uow.purchases.of_org(org_id, limit):
            status = p.status.value
            if p.paid_at is not None:
                what = f"{p.pack}: {format_credits(p.credits)} credits"
                if p.trigger is not Trigger.MANUAL:
                    what += f" ({p.trigger.value} top-up)"
                records.append((0, BillingRecord(p.paid_at, "purchase", p.id, what, p.price,
                                                 status)))  # fmt: skip
            if p.status is PurchaseStatus.REFUNDED and p.refunded_at is not None:
                what = f"refund of {format_credits(p.refunded_credits)} credits"
                money = Money(p.refunded_minor, p.price.currency)
                records.append((0, BillingRecord(p.refunded_at, "refund", p.id, what, money,
                                                 status)))  # fmt: skip
        for i in uow.invoices.of_org(org_id, limit):
            record = BillingRecord(i.issued_at, "invoice", i.id, _summary(i), i.total,
                                   i.status.value)  # fmt: skip
            records.append((0, record))
        for e in uow.invoices.events(org_id, limit):
            if e.type in _HISTORY_EVENTS:
                status, words = _HISTORY_EVENTS[e.type]
                money = Money(int(e.data.get("amount_minor", 0)), str(e.data.get("currency")))
                what = words.format(**e.data) + f" ({_CAUSES.get(e.cause, e.cause)})"
                record = BillingRecord(e.at, e.type, e.invoice_id or "", what, money, status)
                records.append((e.id, record))  # after the invoice issued at the same instant
    records.sort(key=lambda r: (r[1].at, r[0], r[1].ref), reverse=True)
    return [record for _, record in records[:limit]]


_HISTORY_EVENTS = {
    "payment_failed": ("failed", "{invoice}: payment failed (attempt {attempt}): {reason}"),
    "retry_scheduled": ("scheduled", "{invoice}: payment to be tried again on {at:.10}"),
    "suspended": ("suspended", "{invoice}: overdue, organization suspended ({policy})"),
    "overdue": ("overdue", "{invoice}: overdue"),
    "restored": ("restored", "{invoice}: paid, organization restored"),
}
"""The billing events the history shows beside the invoices: their status and words."""

_CAUSES = {
    "invoicing": "at the invoice's charge",
    "retry": "scheduled retry",
    "dunning": "dunning schedule",
    "operator": "by an operator",
    "provider": "reported by the payment provider",
    "new_card": "paid with a new card",
}
"""A billing event's cause, as the history says it."""


def _summary(invoice: Invoice) -> str:
    """``INV-000003: standard plan, flex credits used in 2026-03``."""
    kinds = {line.kind for line in invoice.lines}
    parts = []
    if kinds & {LineKind.FEE, LineKind.PRORATION}:
        parts.append("subscription")
    if LineKind.FLEX in kinds:
        parts.append(f"flex credits used in {invoice.period}")
    if LineKind.PURCHASE in kinds:
        parts.append("purchases on account")
    if not parts:
        parts.append("credit")
    return f"{invoice.display_number}: {', '.join(parts)}"


def billing_events(
    org_id: str, uow: UnitOfWork, limit: int = 100, invoice_id: str | None = None
) -> list[BillingEvent]:
    """The organization's billing events (of one invoice), newest first."""
    with uow:
        if uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.invoices.events(org_id, limit, invoice_id)
