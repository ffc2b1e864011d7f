"""Flex invoices (D5, D6): issued monthly in arrears, numbered without gaps, paid with
the stored payment method; and the billing history of an organization (D4).

:func:`invoice_flex` bills one calendar month (by default the previous one: the run on
the 1st). For each organization that took flex credits that month it runs one
transaction that locks the organization, finds whether the month is invoiced already
(at most one flex invoice per organization and month: checked under the lock, and a
unique key behind it), prices the month's used flex credits at the plan's
``flex_price`` and stores the invoice with the next number of the one counter, which
it locks. A transaction that rolls back takes its number back with it, so numbers have
no gaps; running the month again, or in two processes at once, issues nothing twice.

Then each new invoice is charged to the organization's saved payment method, if it
has one (an off-session payment at the provider, idempotency key ``invoice-<id>``,
so a retried charge is one charge): paid, it is marked ``paid``; declined, it stays
``open`` with the reason (and, in the same transaction, a signal that
``payment_failed`` alerts fire for: :mod:`creditline.services.alerts`); no saved method
(or no provider), it stays ``open``.

:func:`invoice_due` is the scheduler's job: every month before the current one whose
flex is not invoiced yet, oldest first, so a scheduler that was down catches up.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from creditline.domain.amounts import format_credits
from creditline.domain.errors import (
    InvalidSetting,
    InvoiceNotFound,
    OrganizationNotFound,
    PaymentProviderError,
)
from creditline.domain.invoices import (
    FLEX,
    BillingRecord,
    Invoice,
    InvoiceStatus,
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
    "billing_history",
    "invoice_due",
    "invoice_flex",
    "mark_invoice_paid",
    "pay_invoice",
    "void_invoice",
]


@dataclass(frozen=True, slots=True)
class FlexRun:
    """What one :func:`invoice_flex` run did for one month.

    Attributes:
        month: ``"2026-03"``.
        issued: the invoices issued now (after their charge: paid or open).
        existing: organizations invoiced for the month already.
        unpriced: organizations with flex usage whose plan has no ``flex_price``.
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


def _issue(
    org_id: str, month: str, clock: Clock
) -> Callable[[UnitOfWork], tuple[str, Invoice | None]]:
    ref = flex_ref(month)

    def work(uow: UnitOfWork) -> tuple[str, Invoice | None]:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        if uow.invoices.find(org_id, FLEX, month) is not None:
            return "existing", None
        price = uow.usage.metering([org_id])[org_id].plan.flex_price
        if price is None:
            return "unpriced", None
        lines = flex_lines(month, uow.invoices.flex_used(org_id, ref), price.unit_price_minor)
        if not lines:
            return "nothing", None
        now = clock.now()
        number = uow.invoices.next_number()
        invoice = Invoice(new_id("inv"), number, org_id, FLEX, month, price.currency, lines,
                          InvoiceStatus.OPEN, now)  # fmt: skip
        if invoice.total_minor == 0:  # a free flex price: nothing to charge
            invoice = replace(invoice, status=InvoiceStatus.PAID, paid_at=now)
        uow.invoices.add(invoice, now)
        uow.commit()
        return "issued", invoice

    return work


def invoice_flex(
    month: str | None, tx: Transactions, payments: PaymentProvider, clock: Clock
) -> FlexRun:
    """Issue (and charge) every flex invoice of ``month`` (default: the previous month).

    Raises:
        InvalidSetting: a malformed month, or a month that is not over yet.
    """
    now = clock.now()
    chosen = previous_month(now) if month is None else parse_month(month)
    if month_bounds(chosen)[1] > now:
        raise InvalidSetting("month", chosen, "is not over yet: flex is billed in arrears")
    orgs = tx(lambda uow: uow.invoices.flex_orgs(flex_ref(chosen)), read_only=True)
    issued: list[Invoice] = []
    existing, unpriced, failed = 0, [], []
    for org_id in orgs:
        outcome, invoice = tx(_issue(org_id, chosen, clock))
        if outcome == "existing":
            existing += 1
        elif outcome == "unpriced":
            unpriced.append(org_id)
        elif invoice is not None:
            charged = _charge(invoice, tx, payments, clock)
            if charged.payment_error is not None:
                failed.append(charged.id)
            issued.append(charged)
    return FlexRun(chosen, tuple(issued), existing, tuple(unpriced), tuple(failed))


def invoice_due(tx: Transactions, payments: PaymentProvider, clock: Clock) -> list[FlexRun]:
    """Invoice every month before the current one that has flex not yet invoiced."""
    current = f"{clock.now():%Y-%m}"
    months = tx(lambda uow: uow.invoices.uninvoiced_flex_months(), read_only=True)
    return [invoice_flex(m, tx, payments, clock) for m in months if m < current]


# -- paying -----------------------------------------------------------------------------


def _charge(invoice: Invoice, tx: Transactions, payments: PaymentProvider, clock: Clock) -> Invoice:
    """Charge an open invoice to the saved payment method; the invoice afterwards."""
    if invoice.status is not InvoiceStatus.OPEN or not payments.enabled:
        return invoice
    saved = tx(lambda uow: uow.payments.customer(invoice.org_id, payments.name), read_only=True)
    if saved is None or saved[1] is None:
        return invoice
    customer_id, method = saved[0], saved[1]
    attempt = tx(lambda uow: _begin_attempt(uow, invoice.id, clock))
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
        declined = replace(invoice, payment_error=str(exc))
        reason = str(exc)
        tx(lambda uow: _save_declined(uow, declined, reason, clock))
        return declined
    if charge.succeeded:
        paid = replace(invoice, status=InvoiceStatus.PAID, paid_at=clock.now(),
                       payment_id=charge.id, payment_error=None)  # fmt: skip
        return paid if tx(lambda uow: _save(uow, paid, (InvoiceStatus.OPEN,), clock)) else invoice
    waiting = replace(invoice, payment_id=charge.id, payment_error=f"payment {charge.status}")
    tx(lambda uow: _save(uow, waiting, (InvoiceStatus.OPEN,), clock))
    return waiting


def _begin_attempt(uow: UnitOfWork, invoice_id: str, clock: Clock) -> Invoice | None:
    """Number the charge about to be tried (``None``: the invoice is no longer open).

    A new number after a decline (its key's answer at the provider is the decline); the
    same number when the last attempt's outcome is unknown (a crash after the call), so
    that the provider answers the retry with that attempt's charge, never a second one.
    """
    invoice = uow.invoices.by_id(invoice_id)
    if invoice is None or invoice.status is not InvoiceStatus.OPEN:
        return None
    concluded = invoice.payment_attempts == 0 or invoice.payment_error is not None
    number = invoice.payment_attempts + 1 if concluded else invoice.payment_attempts
    started = replace(invoice, payment_attempts=number, payment_error=None)
    if not uow.invoices.transition(started, (InvoiceStatus.OPEN,), clock.now()):
        return None
    uow.commit()
    return started


def _save(uow: UnitOfWork, invoice: Invoice, when: Sequence[InvoiceStatus], clock: Clock) -> bool:
    changed = uow.invoices.transition(invoice, when, clock.now())
    uow.commit()
    return changed


def _save_declined(uow: UnitOfWork, invoice: Invoice, reason: str, clock: Clock) -> bool:
    """Store a declined charge and, in the same transaction, the signal that
    ``payment_failed`` alerts fire for (once per attempt)."""
    changed = uow.invoices.transition(invoice, (InvoiceStatus.OPEN,), clock.now())
    if changed:
        record_payment_failed(
            uow, invoice.org_id, invoice.id, attempt=invoice.payment_attempts,
            amount=invoice.total, reason=reason, now=clock.now(),
        )  # fmt: skip
    uow.commit()
    return changed


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
    return _charge(invoice, tx, payments, clock)


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
        paid = replace(invoice, status=InvoiceStatus.PAID, paid_at=now, payment_id=payment_id,
                       payment_error=None)  # fmt: skip
        outcome = "paid" if uow.invoices.transition(paid, (InvoiceStatus.OPEN,), now) else outcome
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
        invoice = _invoice(uow, org_id, invoice_id)
        if invoice.status is not InvoiceStatus.OPEN:
            raise InvalidSetting(
                "invoice", invoice.display_number, f"is {invoice.status.value}: only an open "
                "invoice can be voided",
            )  # fmt: skip
        now = clock.now()
        void = replace(invoice, status=InvoiceStatus.VOID, voided_at=now)
        uow.invoices.transition(void, (InvoiceStatus.OPEN,), now)
        uow.commit()
    return void


# -- history ----------------------------------------------------------------------------


def billing_history(org_id: str, uow: UnitOfWork, limit: int = 100) -> list[BillingRecord]:
    """The organization's purchases, refunds and invoices, newest first (D4)."""
    with uow:
        if uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        records = []
        for p in uow.purchases.of_org(org_id, limit):
            status = p.status.value
            if p.paid_at is not None:
                what = f"{p.pack}: {format_credits(p.credits)} credits"
                if p.trigger is not Trigger.MANUAL:
                    what += f" ({p.trigger.value} top-up)"
                records.append(BillingRecord(p.paid_at, "purchase", p.id, what, p.price, status))
            if p.status is PurchaseStatus.REFUNDED and p.refunded_at is not None:
                what = f"refund of {format_credits(p.refunded_credits)} credits"
                money = Money(p.refunded_minor, p.price.currency)
                records.append(BillingRecord(p.refunded_at, "refund", p.id, what, money, status))
        for i in uow.invoices.of_org(org_id, limit):
            what = f"{i.display_number}: flex credits used in {i.period}"
            records.append(
                BillingRecord(i.issued_at, "invoice", i.id, what, i.total, i.status.value)
            )
    records.sort(key=lambda r: (r.at, r.ref), reverse=True)
    return records[:limit]
