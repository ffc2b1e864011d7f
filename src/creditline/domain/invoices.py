"""Invoices: flex usage billed monthly in arrears (D5, D6).

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
There is at most one flex invoice per organization and month.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from creditline.domain.errors import InvalidSetting
from creditline.domain.money import Money, format_money, money_for_credits
from creditline.domain.time import require_aware

__all__ = [
    "FLEX",
    "BillingRecord",
    "Invoice",
    "InvoiceLine",
    "InvoiceStatus",
    "flex_lines",
    "flex_ref",
    "invoice_number",
    "month_bounds",
    "parse_month",
    "previous_month",
]

FLEX = "flex"
"""The kind of invoice that bills flex usage."""

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
