"""Monthly invoices (D5, D6): the plan's fees, the month's flex and the purchases on
account, issued on the 1st, numbered without gaps, paid with the stored payment
method; dunning when the charge fails; and the billing history of an organization (D4).

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

Then each new invoice is charged to the organization's saved payment method, if it
has one (an off-session payment at the provider, idempotency key ``invoice-<id>``,
so a retried charge is one charge): paid, it is marked ``paid``; declined, it stays
``open`` with the reason (and, in the same transaction, a signal that
``payment_failed`` alerts fire for: :mod:`creditline.services.alerts`); no saved method
(or no provider), it stays ``open``.

**Dunning.** On a plan with a ``dunning`` setting, a declined charge schedules the next
try (:func:`creditline.domain.invoices.dunning_after_failure`): :func:`retry_payments`,
the scheduler's job, charges every open invoice whose ``next_attempt_at`` has come (a
new attempt number, so a new idempotency key). After the last failure the invoice is
``overdue`` and the organization suspended: its number is the organization's
``billing_hold``, which metering reads (every debit refused under the plan's dunning
policy, ``pause`` or ``read_only``). Any payment lifts it: a retry that succeeds, a
payment method saved at a checkout (:func:`retry_open_invoices`, cause ``new_card``),
an operator marking the invoice paid (:func:`settle_invoice`) or voiding it, the
provider reporting it paid (:func:`mark_invoice_paid`). Every step is a billing event
with its cause, recorded in the transaction of the step, once.

:func:`invoice_due` is the scheduler's job: every month before the current one with
flex or items not invoiced yet, oldest first, so a scheduler that was down catches up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from creditline.domain.amounts import format_credits
from creditline.domain.errors import (
    InvalidSetting,
    InvoiceNotFound,
    OrganizationNotFound,
    PaymentProviderError,
)
from creditline.domain.invoices import (
    MONTHLY,
    BillingEvent,
    BillingRecord,
    Collection,
    Invoice,
    InvoiceItem,
    InvoiceLine,
    InvoiceStatus,
    LineKind,
    billing_period,
    carry_forward,
    dunning_after_failure,
    flex_lines,
    flex_ref,
    month_bounds,
    parse_month,
    previous_month,
)
from creditline.domain.money import Money
from creditline.domain.purchases import PurchaseStatus
from creditline.domain.time import Clock
from creditline.domain.topups import Trigger
from creditline.services.alerts import record_payment_failed
from creditline.services.ids import new_id
from creditline.services.payments import PaymentProvider, ProviderEvent, Transactions
from creditline.services.unit_of_work import UnitOfWork

__all__ = [
    "FlexRun",
    "MonthRun",
    "billing_events",
    "billing_history",
    "invoice_due",
    "invoice_flex",
    "invoice_month",
    "mark_invoice_paid",
    "pay_invoice",
    "retry_open_invoices",
    "retry_payments",
    "settle_invoice",
    "void_invoice",
]

ATTEMPT_LEASE = timedelta(hours=1)
"""How long a charge under way keeps its invoice from the retry job: a process that died
after calling the provider is retried after it, with the same attempt (the same key)."""

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


def _event(
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
        _event(uow, invoice, "issued", "invoicing", now, lines=len(lines))
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
            charged = _charge(invoice, tx, payments, clock)
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


# -- paying -----------------------------------------------------------------------------


def _charge(
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
            return tx(lambda uow: _invoice(uow, invoice.org_id, invoice.id), read_only=True)
        return _declined(attempt, "no saved payment method", tx, clock, cause)
    customer_id, method = saved[0], saved[1]
    attempt = tx(lambda uow: _begin_attempt(uow, invoice.id, clock, retry))
    if attempt is None:
        return tx(lambda uow: _invoice(uow, invoice.org_id, invoice.id), read_only=True)
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
        paid = _paid(invoice, clock.now(), charge.id)
        saved_paid = tx(lambda uow: _save_paid(uow, paid, cause, clock))
        return paid if saved_paid else invoice
    waiting = replace(invoice, payment_id=charge.id, payment_error=f"payment {charge.status}")
    tx(lambda uow: _save(uow, waiting, (InvoiceStatus.OPEN,), clock))
    return waiting


def _paid(invoice: Invoice, now: datetime, payment_id: str | None) -> Invoice:
    return replace(invoice, status=InvoiceStatus.PAID, paid_at=now, payment_id=payment_id,
                   payment_error=None, collection=None, next_attempt_at=None)  # fmt: skip


def _declined(invoice: Invoice, reason: str, tx: Transactions, clock: Clock, cause: str) -> Invoice:
    def work(uow: UnitOfWork) -> Invoice:
        return _save_declined(uow, invoice, reason, clock, cause)

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


def _save_declined(
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
    _event(uow, declined, "payment_failed", cause, now, key=str(attempt), attempt=attempt,
           reason=reason)  # fmt: skip
    if collection is Collection.RETRYING and next_at is not None:
        _event(uow, declined, "retry_scheduled", "dunning", now, key=str(attempt),
               attempt=attempt + 1, at=next_at.isoformat())  # fmt: skip
    elif collection is Collection.OVERDUE:
        suspend = None if plan.dunning is None else plan.dunning.suspend
        if suspend is not None and uow.invoices.hold(invoice.org_id) is None:
            uow.invoices.set_hold(invoice.org_id, declined.display_number)
            _event(uow, declined, "suspended", "dunning", now, policy=suspend.value,
                   attempts=attempt)  # fmt: skip
        else:
            _event(uow, declined, "overdue", "dunning", now, attempts=attempt)
    uow.commit()
    return declined


def _save_paid(uow: UnitOfWork, paid: Invoice, cause: str, clock: Clock) -> bool:
    """Store an invoice paid, and what its payment lifts (see :func:`_after_paid`)."""
    if uow.balances.lock(paid.org_id) is None:
        raise OrganizationNotFound(paid.org_id)
    now = clock.now()
    changed = uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now)
    if changed:
        _after_paid(uow, paid, "paid", cause, now)
    uow.commit()
    return changed


def _after_paid(uow: UnitOfWork, invoice: Invoice, type_: str, cause: str, now: datetime) -> None:
    """An invoice was paid (or voided): record it, and lift the organization's
    suspension unless another overdue invoice still holds it. The caller holds the
    organization's lock and commits."""
    _event(uow, invoice, type_, cause, now, payment_id=invoice.payment_id)
    hold = uow.invoices.hold(invoice.org_id)
    if hold is None:
        return
    others = [i for i in uow.invoices.overdue(invoice.org_id) if i.id != invoice.id]
    if others:
        uow.invoices.set_hold(invoice.org_id, others[-1].display_number)
        return
    uow.invoices.set_hold(invoice.org_id, None)
    _event(uow, invoice, "restored", cause, now, hold=hold)


def _invoice(uow: UnitOfWork, org_id: str, invoice_id: str) -> Invoice:
    found = uow.invoices.get(org_id, invoice_id)
    if found is None:
        raise InvoiceNotFound(invoice_id)
    return found


def pay_invoice(
    org_id: str, invoice_id: str, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> Invoice:
    """Charge an open invoice to the saved payment method again (after a decline)."""
    invoice = tx(lambda uow: _invoice(uow, org_id, invoice_id), read_only=True)
    return _charge(invoice, tx, payments, clock, "operator")


def _reader(org_id: str, invoice_id: str) -> Callable[[UnitOfWork], Invoice]:
    return lambda uow: _invoice(uow, org_id, invoice_id)


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
        done.append(_charge(invoice, tx, payments, clock, "retry"))
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

    return [_charge(i, tx, payments, clock, cause) for i in reversed(tx(dunned, read_only=True))]


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
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        invoice = _invoice(uow, org_id, invoice_id)
        if invoice.status is not InvoiceStatus.OPEN:
            raise InvalidSetting(
                "invoice", invoice.display_number, f"is {invoice.status.value}: only an open "
                "invoice can be marked paid",
            )  # fmt: skip
        now = clock.now()
        paid = _paid(invoice, now, invoice.payment_id)
        uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now)
        _after_paid(uow, paid, "paid", "operator", now)
        if reference:
            _event(uow, paid, "payment_reference", "operator", now, reference=reference)
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
        paid = _paid(invoice, now, payment_id)
        if uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now):
            outcome = "paid"
            _after_paid(uow, paid, "paid", "provider", now)
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
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        invoice = _invoice(uow, org_id, invoice_id)
        if invoice.status is not InvoiceStatus.OPEN:
            raise InvalidSetting(
                "invoice", invoice.display_number, f"is {invoice.status.value}: only an open "
                "invoice can be voided",
            )  # fmt: skip
        now = clock.now()
        void = replace(invoice, status=InvoiceStatus.VOID, voided_at=now, collection=None,
                       next_attempt_at=None)  # fmt: skip
        uow.invoices.transition(void, (InvoiceStatus.OPEN,), now)
        _after_paid(uow, void, "voided", "operator", now)
        uow.commit()
    return void


# -- history ----------------------------------------------------------------------------


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
