"""The pure rules of subscription invoices: which month bills a fee, proration, carrying a
credit forward, and the dunning schedule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from creditline.domain.cycles import Cycle
from creditline.domain.invoices import (
    Collection,
    InvoiceItem,
    InvoiceLine,
    LineKind,
    billing_period,
    carry_forward,
    change_fee,
    dunning_after_failure,
    fee_item,
    prorate,
)
from creditline.domain.plans import Dunning, parse_plan


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_what_falls_due_at_midnight_on_the_first_is_billed_by_the_month_before() -> None:
    assert billing_period(utc(2026, 4, 1)) == "2026-03"
    assert billing_period(utc(2026, 4, 1, 0, 0, 1)) == "2026-04"
    assert billing_period(utc(2027, 1, 1)) == "2026-12"


def test_proration_rounds_half_up_to_a_minor_unit() -> None:
    assert prorate(9900, timedelta(days=15), timedelta(days=30)) == 4950
    assert prorate(100, timedelta(days=1), timedelta(days=3)) == 33
    assert prorate(5, timedelta(days=1), timedelta(days=2)) == 3  # 2.5 rounds up
    assert prorate(100, timedelta(days=9), timedelta(days=3)) == 100  # never more than all


PLAN = parse_plan({
    "name": "pro", "fee": {"prices_minor": {"USD": 2800}, "on_change": "prorate"},
})  # fmt: skip
CYCLE = Cycle(0, utc(2026, 2, 1), utc(2026, 3, 1))


def fee() -> InvoiceItem:
    item = fee_item("itm_1", "org_1", anchor_no=0, plan=PLAN, cycle=CYCLE,
                    effective_at=utc(2026, 2, 1), currency="USD", granted=0)  # fmt: skip
    assert item is not None
    return item


def test_a_fee_in_advance_falls_due_at_the_start_and_a_change_credits_the_rest() -> None:
    item = fee()
    assert (item.due_at, item.amount_minor, item.ref) == (utc(2026, 2, 1), 2800, "fee:0:0")
    changed, credit = change_fee(PLAN, item, CYCLE, effective_at=utc(2026, 2, 1),
                                 at=utc(2026, 2, 22), credit_id="itm_2")  # fmt: skip
    assert changed is None and credit is not None
    assert (credit.kind, credit.amount_minor, credit.due_at) == (
        LineKind.PRORATION, -700, utc(2026, 2, 22),
    )  # fmt: skip


def test_no_fee_line_for_a_free_plan_or_another_currency() -> None:
    free = parse_plan({"name": "free", "fee": {"prices_minor": {"EUR": 0}}})
    args = {"anchor_no": 0, "cycle": CYCLE, "effective_at": utc(2026, 2, 1), "granted": 0}
    assert fee_item("i", "o", plan=free, currency="EUR", **args) is None  # type: ignore[arg-type]
    assert fee_item("i", "o", plan=PLAN, currency="EUR", **args) is None  # type: ignore[arg-type]


def test_a_credit_beyond_the_total_is_carried_to_the_next_invoice() -> None:
    lines = (InvoiceLine("fee", 0, 500, 500, LineKind.FEE),
             InvoiceLine("credit", 0, -800, -800, LineKind.PRORATION))  # fmt: skip
    kept, carried = carry_forward(lines, 7, item_id="itm_9", org_id="o", currency="USD",
                                  at=utc(2026, 3, 1))  # fmt: skip
    assert sum(line.amount_minor for line in kept) == 0
    assert carried is not None
    assert (carried.amount_minor, carried.description) == (-300, "Credit carried from INV-000007")
    assert carry_forward(lines[:1], 8, item_id="x", org_id="o", currency="USD",
                         at=utc(2026, 3, 1)) == (lines[:1], None)  # fmt: skip


def test_the_dunning_schedule_counts_days_after_each_failure_then_ends_overdue() -> None:
    dunning = Dunning((1, 3, 7))
    now = utc(2026, 2, 1, 6)
    assert dunning_after_failure(dunning, 1, now) == (Collection.RETRYING, now + timedelta(days=1))
    assert dunning_after_failure(dunning, 3, now) == (Collection.RETRYING, now + timedelta(days=7))
    assert dunning_after_failure(dunning, 4, now) == (Collection.OVERDUE, None)
    assert dunning_after_failure(None, 1, now) == (None, None)
