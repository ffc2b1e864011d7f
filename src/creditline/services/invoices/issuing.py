"""Monthly invoices (D5, D6): the plan's fees, the month's flex and the purchases on
account, issued on the 1st and numbered without gaps.

:func:`invoice_month` bills one calendar month (by default the previous one: the run on
the 1st). For each organization that took flex credits that month or has items (fees,
prorations, purchases on account: :class:`~creditline.domain.invoices.InvoiceItem`)
due by its end, it runs one transaction that locks the organization, finds whether the
month is invoiced already (at most one invoice per organization and month: checked
under the lock, and a unique key behind it), takes the items due and no invoice holds,
prices the month's used flex credits at the plan's ``flex_price``, stores the invoice
with the next number of the one counter (which it locks) and marks the items billed.
A transaction that rolls back takes its number back with it, so numbers have no gaps;
running the month again, or in two processes at once, issues nothing twice.

Then each new invoice is charged (:mod:`creditline.services.invoices.charges`).

:func:`invoice_due` is the scheduler's job: every month before the current one with
flex or items not invoiced yet, oldest first, so a scheduler that was down catches up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime

from creditline.domain.errors import InvalidSetting, OrganizationNotFound
from creditline.domain.invoices import (
    MONTHLY,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    billing_period,
    carry_forward,
    flex_lines,
    flex_ref,
    month_bounds,
    parse_month,
    previous_month,
)
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.invoices.charges import charge_invoice
from creditline.services.invoices.records import record_event
from creditline.services.ports.payments import PaymentProvider, Transactions
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["FlexRun", "MonthRun", "invoice_due", "invoice_flex", "invoice_month"]

_LINE_ORDER = {LineKind.FEE: 0, LineKind.PRORATION: 1, LineKind.FLEX: 2, LineKind.PURCHASE: 3,
               LineKind.CREDIT: 4}  # fmt: skip


@dataclass(frozen=True, slots=True)
class MonthRun:
    """What one :func:`invoice_month` run did for one month.

    Attributes:
        month: ``"2026-03"``.
        issued: the invoices issued now (after their charge: paid or open).
        existing: organizations invoiced for the month already.
        unpriced: organizations with flex usage whose plan has no ``flex_price`` (or
            one in another currency than their fees): that flex is not billed.
        failed_charges: ids of issued invoices whose charge was declined or failed.
    """

    month: str
    issued: tuple[Invoice, ...] = ()
    existing: int = 0
    unpriced: tuple[str, ...] = ()
    failed_charges: tuple[str, ...] = ()

    @property
    def paid(self) -> int:
        return sum(1 for i in self.issued if i.status is InvoiceStatus.PAID)


FlexRun = MonthRun
"""The name of :class:`MonthRun` when invoices billed flex only."""


def _lines(
    month: str, items: Sequence[InvoiceItem], flex: tuple[InvoiceLine, ...]
) -> tuple[InvoiceLine, ...]:
    lines = [*(item.line() for item in items), *flex]
    return tuple(sorted(lines, key=lambda line: _LINE_ORDER[line.kind]))  # stable sort


def _issue(
    org_id: str, month: str, clock: Clock
) -> Callable[[UnitOfWork], tuple[str, Invoice | None, bool]]:
    ref = flex_ref(month)

    def work(uow: UnitOfWork) -> tuple[str, Invoice | None, bool]:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        if uow.invoices.find(org_id, MONTHLY, month) is not None:
            return "existing", None, False
        items = uow.invoices.pending_items(org_id, month_bounds(month)[1])
        price = uow.usage.metering([org_id])[org_id].plan.flex_price
        used = uow.invoices.flex_used(org_id, ref)
        currency = items[0].currency if items else (None if price is None else price.currency)
        billed = [item for item in items if item.currency == currency]
        unpriced = used > 0 and (price is None or price.currency != currency)
        flex = () if unpriced or price is None else flex_lines(month, used, price.unit_price_minor)
        lines = _lines(month, billed, flex)
        if currency is None or not any(line.amount_minor > 0 for line in lines):
            # nothing to bill (a credit alone waits for the next charge)
            return ("unpriced" if unpriced else "nothing"), None, unpriced
        now = clock.now()
        number = uow.invoices.next_number()
        lines, carried = carry_forward(
            lines, number, item_id=new_id("itm"), org_id=org_id, currency=currency, at=now
        )
        invoice = Invoice(new_id("inv"), number, org_id, MONTHLY, month, currency, lines,
                          InvoiceStatus.OPEN, now)  # fmt: skip
        if invoice.total_minor == 0:  # nothing to charge (a free price, a credit)
            invoice = replace(invoice, status=InvoiceStatus.PAID, paid_at=now)
        uow.invoices.add(invoice, now)
        uow.invoices.bill_items([item.id for item in billed], invoice.id, now)
        if carried is not None:
            uow.invoices.add_item(carried, now)
        record_event(uow, invoice, "issued", "invoicing", now, lines=len(lines))
        uow.commit()
        return "issued", invoice, unpriced

    return work


def invoice_month(
    month: str | None, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> MonthRun:
    """Issue (and charge) every invoice of ``month`` (default: the previous month).

    Raises:
        InvalidSetting: a malformed month, or a month that is not over yet.
    """
    now = clock.now()
    chosen = previous_month(now) if month is None else parse_month(month)
    end = month_bounds(chosen)[1]
    if end > now:
        raise InvalidSetting("month", chosen, "is not over yet: it is invoiced on the 1st after")

    def orgs_of(uow: UnitOfWork) -> list[str]:
        found = set(uow.invoices.flex_orgs(flex_ref(chosen))) | set(uow.invoices.item_orgs(end))
        return sorted(found)

    issued: list[Invoice] = []
    existing, unpriced, failed = 0, [], []
    for org_id in tx(orgs_of, read_only=True):
        outcome, invoice, flex_unpriced = tx(_issue(org_id, chosen, clock))
        if outcome == "existing":
            existing += 1
        if flex_unpriced:
            unpriced.append(org_id)
        if invoice is not None:
            charged = charge_invoice(invoice, tx, payments, clock)
            if charged.payment_error is not None:
                failed.append(charged.id)
            issued.append(charged)
    return MonthRun(chosen, tuple(issued), existing, tuple(unpriced), tuple(failed))


invoice_flex = invoice_month
"""The name of :func:`invoice_month` when invoices billed flex only."""


def _months(first: str, last: str) -> list[str]:
    """Every month from ``first`` to ``last``, both included."""
    months, month = [], first
    while month <= last:
        months.append(month)
        month = f"{month_bounds(month)[1]:%Y-%m}"
    return months


def invoice_due(tx: Transactions, payments: PaymentProvider, clock: Clock) -> list[MonthRun]:
    """Invoice every month before the current one with flex or items not yet invoiced,
    oldest first."""
    now = clock.now()
    current, last = f"{now:%Y-%m}", previous_month(now)

    def pending(uow: UnitOfWork) -> tuple[list[str], datetime | None]:
        return uow.invoices.uninvoiced_flex_months(), uow.invoices.oldest_pending_due()

    flex_months, oldest = tx(pending, read_only=True)
    months = {m for m in flex_months if m < current}
    if oldest is not None and billing_period(oldest) < current:
        months.update(_months(billing_period(oldest), last))
    return [invoice_month(m, tx, payments, clock) for m in sorted(months)]
