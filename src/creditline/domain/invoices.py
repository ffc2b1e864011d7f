"""Invoices: one a month per organization, holding its plan's fees, its flex usage and
its purchases on account (D5, D6), and what happens when their charge fails (dunning).

**The invoice of a month** (period ``"2026-03"``) is issued on the 1st of the next month
(seed 001: "invoices are generated on the 1st of the following month"), at most one per
organization and month, and holds, in this order:

- **the subscription lines**: every fee of the organization's plan that fell due in the
  month and is not invoiced yet. A fee falls due at its cycle's start when the plan
  bills ``in_advance``, at its end when ``in_arrears``; a month holds what falls due
  after its start and up to its end inclusive, so the fee of a calendar month billed in
  advance (due on the 1st at midnight) is on the invoice issued that very 1st, with the
  previous month's flex. An annual plan's fee falls due once a year: it is on one
  invoice a year. Cycle 0 of a calendar plan started mid-month is a whole cycle: its
  full grant and its full fee. A change of plan mid-cycle adds the old plan's
  proration (:func:`change_fee`);
- **the flex lines** of the month (below);
- **purchases made on account**: credits granted at once, billed on the next invoice.

These waiting amounts are :class:`InvoiceItem` rows, each with the moment it falls due;
the invoice of a month takes every item due by the month's end that no invoice holds
(an item made late for a month already invoiced goes on the next invoice), and marks
them in the same transaction, so an item is billed once. When the credits of an
invoice are worth more than what it bills (a prorated credit after a downgrade), the
rest is carried to the next invoice as a credit line and the invoice totals zero.

When a plan's depletion policy is ``flex``, metering covers what the grants cannot
with ``flex`` grants whose source reference names the calendar month (UTC) they were
taken in: ``flex:2026-03``. Those credits are billed once the month is over: on the
1st of the next month an invoice per organization lists **the flex credits of the
month that were used** (each flex grant's amount less what remains of it, so a
voided event's credits are not billed) at the price of one flex credit of the
organization's plan (``flex_price``), whatever the plan's own billing cycle.

**Money**: a line's amount is ``credits x price per credit`` rounded half up to a
minor unit (:func:`creditline.domain.money.money_for_credits`, the one rounding
rule); the total is the sum of the lines.

**Numbers** run without gaps across all organizations and months (``INV-000001``,
``INV-000002``, ...): a number is taken from one counter in the transaction that
stores the invoice, so an invoice that is not stored takes no number. An invoice
that is voided keeps its number.

**Status**: ``draft`` (a preview, never stored, no number), ``open`` (issued and
numbered, to be paid), ``paid`` (the stored payment method was charged, or the
payment arrived), ``void`` (cancelled by an operator; it stays, with its number).
There is at most one invoice per organization and month.

**Collection** (dunning) of an open invoice whose charge was declined, on a plan with
a ``dunning`` setting (:class:`~creditline.domain.plans.Dunning`): ``retrying`` (the
next try is due at ``next_attempt_at``), then ``overdue`` once the last try failed (the
organization is suspended: :func:`dunning_after_failure`). A payment (a retry that
succeeds, a new card, an operator marking it paid, the provider reporting it) makes it
``paid`` and lifts the suspension. Each of these transitions is a
:class:`BillingEvent` with its cause.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from creditline.domain.cycles import Cycle
from creditline.domain.errors import InvalidSetting
from creditline.domain.money import (
    Money,
    format_money,
    money_for_credits,
    round_half_up,
    unit_price_minor,
)
from creditline.domain.plans import Dunning, FeeChange, FeeTiming, Plan
from creditline.domain.time import require_aware

__all__ = [
    "FLEX",
    "MONTHLY",
    "BillingEvent",
    "BillingRecord",
    "Collection",
    "Invoice",
    "InvoiceItem",
    "InvoiceLine",
    "InvoiceStatus",
    "LineKind",
    "billing_period",
    "carry_forward",
    "change_fee",
    "dunning_after_failure",
    "fee_item",
    "flex_lines",
    "flex_ref",
    "invoice_number",
    "month_bounds",
    "parse_month",
    "previous_month",
]

_TICK = timedelta(microseconds=1)

FLEX = "flex"
"""The prefix of a month's flex grants' reference (``flex:2026-03``)."""

MONTHLY = "monthly"
"""The kind of the monthly invoice (the only kind issued)."""


class LineKind(enum.StrEnum):
    """What an invoice line bills."""

    FEE = "fee"
    """A cycle of the plan (a subscription line)."""
    PRORATION = "proration"
    """The old plan's fee at a change of plan mid-cycle: a credit, or the part used."""
    FLEX = "flex"
    PURCHASE = "purchase"
    """Credits bought on account."""
    CREDIT = "credit"
    """A credit carried from an earlier invoice, or carried to the next one."""


class Collection(enum.StrEnum):
    """Where the collection of a declined invoice stands (dunning)."""

    RETRYING = "retrying"
    OVERDUE = "overdue"


_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")


class InvoiceStatus(enum.StrEnum):
    DRAFT = "draft"
    OPEN = "open"
    PAID = "paid"
    VOID = "void"


@dataclass(frozen=True, slots=True)
class InvoiceLine:
    """One line: ``credits`` micro-credits at ``unit_price_minor`` per credit.

    Attributes:
        description: what it bills (``"Flex credits used in 2026-03"``).
        credits: micro-credits billed.
        unit_price_minor: the price of one credit, in minor units.
        amount_minor: ``credits x unit price``, rounded half up.
    """

    description: str
    credits: int
    unit_price_minor: int
    amount_minor: int
    kind: LineKind = LineKind.FLEX
    """What it bills. A fee, proration or credit line bills money, not credits: its
    ``credits`` is what the cycle granted (0 for none) and its unit price its amount."""


@dataclass(frozen=True, slots=True)
class InvoiceItem:
    """An amount waiting for the next invoice (see the module docstring).

    Attributes:
        id: ``itm_...``.
        org_id: who pays it.
        kind: what it bills (a fee, a proration, a purchase, a credit carried).
        ref: its key, unique per organization (``fee:0:3``: anchor 0, cycle 3), so that
            a fee is never recorded twice.
        description: the invoice line's words.
        currency: ISO 4217 code of ``amount_minor``.
        amount_minor: minor units, negative for a credit.
        credits: micro-credits it concerns (what a cycle granted, a purchase bought).
        due_at: when it falls due: the invoice of the month holding it bills it.
        invoice_id: the invoice that billed it, once one has.
    """

    id: str
    org_id: str
    kind: LineKind
    ref: str
    description: str
    currency: str
    amount_minor: int
    credits: int
    due_at: datetime
    invoice_id: str | None = None

    def line(self) -> InvoiceLine:
        unit = self.amount_minor
        if self.kind is LineKind.PURCHASE and self.credits > 0:
            unit = unit_price_minor(self.amount_minor, self.credits)
        return InvoiceLine(self.description, self.credits, unit, self.amount_minor, self.kind)


@dataclass(frozen=True, slots=True)
class BillingEvent:
    """A transition of an invoice's collection, with its cause.

    Attributes:
        id: its number (events are read in order).
        org_id, invoice_id: whom and what it concerns.
        type: ``issued``, ``charged``, ``payment_failed``, ``retry_scheduled``,
            ``suspended``, ``paid``, ``restored``, ``voided``.
        cause: what made it happen: ``invoicing`` (the monthly run), ``retry`` (the
            scheduler's retry), ``operator``, ``provider`` (a webhook), ``new_card``
            (a payment method saved at a checkout).
        data: the particulars (attempt, reason, next attempt, amount).
        at: when.
    """

    id: int
    org_id: str
    invoice_id: str | None
    type: str
    cause: str
    data: dict[str, Any]
    at: datetime


@dataclass(frozen=True, slots=True)
class Invoice:
    """An invoice (see the module docstring).

    Attributes:
        id: ``inv_...``.
        number: its place in the gapless sequence, or ``None`` for a draft.
        org_id: who pays it.
        kind: :data:`FLEX`.
        period: the month it bills, ``"2026-03"``.
        currency: ISO 4217 code of every amount on it.
        lines: what it bills.
        status: see :class:`InvoiceStatus`.
        issued_at: when it was issued (stored).
        paid_at, voided_at: when it was paid or voided.
        payment_id: the provider's payment for it, once charged.
        payment_error: why the last charge failed, if it did.
        payment_attempts: charges of the saved payment method tried so far.
        collection: where dunning stands (``None``: not in dunning).
        next_attempt_at: when the scheduler tries the charge again, if it will.
    """

    id: str
    number: int | None
    org_id: str
    kind: str
    period: str
    currency: str
    lines: tuple[InvoiceLine, ...]
    status: InvoiceStatus
    issued_at: datetime
    paid_at: datetime | None = None
    voided_at: datetime | None = None
    payment_id: str | None = None
    payment_error: str | None = None
    payment_attempts: int = 0
    collection: Collection | None = None
    next_attempt_at: datetime | None = None

    @property
    def total_minor(self) -> int:
        return sum(line.amount_minor for line in self.lines)

    @property
    def total(self) -> Money:
        return Money(self.total_minor, self.currency)

    @property
    def display_number(self) -> str:
        """``INV-000042``, or ``DRAFT`` for a preview."""
        return "DRAFT" if self.number is None else invoice_number(self.number)

    def money(self, minor: int) -> str:
        return format_money(minor, self.currency)


@dataclass(frozen=True, slots=True)
class BillingRecord:
    """One row of an organization's billing history (D4): a purchase paid, a refund, an
    invoice issued, with its money and its status now."""

    at: datetime
    kind: str
    ref: str
    description: str
    amount: Money
    status: str


def invoice_number(number: int) -> str:
    return f"INV-{number:06d}"


def parse_month(month: object) -> str:
    """A calendar month as ``"YYYY-MM"`` (also accepted: a date or datetime in it, UTC).

    Raises:
        InvalidSetting: anything else.
    """
    if isinstance(month, datetime):
        return f"{require_aware(month, 'month'):%Y-%m}"
    if isinstance(month, str) and _MONTH.match(month.strip()):
        return month.strip()
    raise InvalidSetting("month", month, "a calendar month as YYYY-MM (2026-03)")


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """``[start, end)`` of a month in UTC: 2026-03 is 2026-03-01 to 2026-04-01."""
    found = _MONTH.match(parse_month(month))
    assert found is not None
    year, number = int(found[1]), int(found[2])
    start = datetime(year, number, 1, tzinfo=UTC)
    end = datetime(year + number // 12, number % 12 + 1, 1, tzinfo=UTC)
    return start, end


def previous_month(now: datetime) -> str:
    """The month before the one holding ``now`` (UTC): the month a run on the 1st bills."""
    moment = require_aware(now, "now")
    year, number = (moment.year, moment.month - 1) if moment.month > 1 else (moment.year - 1, 12)
    return f"{year:04d}-{number:02d}"


def flex_ref(month: str) -> str:
    """The source reference of a month's flex grants: ``flex:2026-03``."""
    return f"{FLEX}:{parse_month(month)}"


def flex_lines(month: str, used: int, unit_price_minor: int) -> tuple[InvoiceLine, ...]:
    """The lines billing ``used`` micro-credits of flex in ``month`` (none for none)."""
    if used <= 0:
        return ()
    amount = money_for_credits(used, unit_price_minor)
    return (InvoiceLine(f"Flex credits used in {month}", used, unit_price_minor, amount),)


def billing_period(due_at: datetime) -> str:
    """The month whose invoice bills what falls due at ``due_at``: the month holding the
    instant just before it (due on 2026-04-01 at midnight: ``"2026-03"``, the invoice
    issued that 1st)."""
    return f"{require_aware(due_at, 'due').astimezone(UTC) - _TICK:%Y-%m}"


def _day(moment: datetime) -> str:
    return f"{moment:%Y-%m-%d}"


def _span(start: datetime, end: datetime) -> str:
    """``2026-04-01 to 2026-04-30``: the days of ``[start, end)``."""
    return f"{_day(start)} to {_day(end - _TICK)}"


def fee_item(
    item_id: str, org_id: str, *, anchor_no: int, plan: Plan, cycle: Cycle,
    effective_at: datetime, currency: str, granted: int,
) -> InvoiceItem | None:  # fmt: skip
    """The fee of one cycle of ``plan`` (``None``: the plan is free, or not priced in
    ``currency``), due at the cycle's
    start (``effective_at``: the plan start for cycle 0) or its end."""
    fee = plan.fee
    if fee is None or not fee.prices.get(currency):  # free: nothing to bill
        return None
    due = effective_at if fee.billed is FeeTiming.IN_ADVANCE else cycle.end
    what = f"{plan.name} plan ({plan.interval.value}), {_span(effective_at, cycle.end)}"
    return InvoiceItem(
        item_id, org_id, LineKind.FEE, fee_ref(anchor_no, cycle.index), what, currency,
        fee.prices[currency], granted, due,
    )  # fmt: skip


def fee_ref(anchor_no: int, index: int) -> str:
    """The key of a cycle's fee: ``fee:<anchor>:<cycle>``."""
    return f"fee:{anchor_no}:{index}"


def prorate(amount_minor: int, part: timedelta, whole: timedelta) -> int:
    """``amount x part / whole`` rounded half up to a minor unit (time in microseconds)."""
    tick = timedelta(microseconds=1)
    share = max(timedelta(0), min(part, whole))
    return round_half_up(amount_minor * (share // tick), whole // tick)


def change_fee(
    plan: Plan, fee: InvoiceItem, cycle: Cycle, *, effective_at: datetime, at: datetime,
    credit_id: str,
) -> tuple[InvoiceItem | None, InvoiceItem | None]:  # fmt: skip
    """What a change of plan (or its end) at ``at`` does to the old plan's fee of the
    running cycle (``fee``, recorded at the cycle's renewal), by ``plan.fee.on_change``:

    - ``prorate``, billed in advance: a credit for the unused part
      ``fee x (end - at) / (end - start)``, due at ``at``;
    - ``prorate``, billed in arrears: the fee becomes the part used,
      ``fee x (at - start) / (end - start)``, due at ``at``;
    - ``none``: no credit in advance; in arrears the whole fee, due at ``at``.

    Returns ``(the fee changed or None, the credit or None)``.
    """
    moment = require_aware(at, "plan change")
    if plan.fee is None or moment >= cycle.end:
        return None, None
    whole = cycle.end - effective_at
    prorated = plan.fee.on_change is FeeChange.PRORATE
    if plan.fee.billed is FeeTiming.IN_ADVANCE:
        if not prorated or fee.amount_minor == 0:
            return None, None
        unused = prorate(fee.amount_minor, cycle.end - moment, whole)
        what = f"Unused time of {plan.name} plan, {_span(moment, cycle.end)}"
        ref = f"proration:{fee.ref.removeprefix('fee:')}"
        credit = InvoiceItem(
            credit_id, fee.org_id, LineKind.PRORATION, ref, what, fee.currency, -unused, 0,
            moment,
        )  # fmt: skip
        return None, credit
    if not prorated:
        return replace(fee, due_at=moment), None
    used = prorate(fee.amount_minor, moment - effective_at, whole)
    what = f"{plan.name} plan ({plan.interval.value}), {_span(effective_at, moment)}, prorated"
    changed = replace(fee, kind=LineKind.PRORATION, description=what, amount_minor=used,
                      due_at=moment)  # fmt: skip
    return changed, None


def carry_forward(
    lines: tuple[InvoiceLine, ...], number: int, *, item_id: str, org_id: str, currency: str,
    at: datetime,
) -> tuple[tuple[InvoiceLine, ...], InvoiceItem | None]:  # fmt: skip
    """Lines whose total is below zero get a line carrying the excess credit to the next
    invoice (so this one totals zero), and the credit item the next invoice bills."""
    total = sum(line.amount_minor for line in lines)
    if total >= 0:
        return lines, None
    excess = -total
    carried = InvoiceLine("Credit carried to the next invoice", 0, excess, excess, LineKind.CREDIT)
    item = InvoiceItem(
        item_id, org_id, LineKind.CREDIT, f"carried:{number}",
        f"Credit carried from {invoice_number(number)}", currency, -excess, 0, at,
    )  # fmt: skip
    return (*lines, carried), item


def dunning_after_failure(
    dunning: Dunning | None, failures: int, now: datetime
) -> tuple[Collection | None, datetime | None]:
    """Where an invoice's collection stands after its ``failures``-th declined charge:
    ``(RETRYING, when the next try is due)`` while the schedule has a retry left,
    ``(OVERDUE, None)`` after the last one; ``(None, None)`` without dunning."""
    if dunning is None:
        return None, None
    if failures <= len(dunning.retry_after_days):
        return Collection.RETRYING, now + timedelta(days=dunning.retry_after_days[failures - 1])
    return Collection.OVERDUE, None
