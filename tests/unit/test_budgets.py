"""Budgets with no database: a budget's definition and period, and the budget check in
the charging decision, given :class:`Books` whose account carries its budgets' counts.
A group is decided in order: a hard budget refuses what would pass it (on the state the
group's previous commands left), costing nothing; a soft one only counts; thresholds
fire once per period; an adjustment is not counted; a commit's excess takes only the
budget's room."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from creditline.domain.budgets import BudgetPeriod, make_budget, period_window
from creditline.domain.charging import Account, Debit, Reserve, Settle, Spend, prepare_debit
from creditline.domain.charging.budgets import BudgetCount
from creditline.domain.cycles import Cycle
from creditline.domain.errors import BudgetExceeded, InvalidBudget
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.reservations import Reservation
from tests.unit.builders import T0, grant
from tests.unit.test_charging import NOW, ONE, books, metering, run


def budget(amount: int, *, mode: str = "hard", alerts: tuple[int, ...] = (), **kw: Any):  # type: ignore[no-untyped-def]
    made = make_budget("bgt_1", "org_a", scope="project", scope_id="prj_a", amount=amount,
                       mode=mode, alerts=alerts, created_at=T0, **kw)  # fmt: skip
    start, end = period_window(made.period, NOW)
    return made, start, end


def account(amount: int, consumed: int = 0, held: int = 0, **kw: Any) -> Account:
    made, start, end = budget(amount, **kw)
    return Account(
        metering(), [grant(100 * ONE, id="g1")], projects=frozenset({"prj_a", "prj_b"}),
        budgets=[BudgetCount(made, start, end, consumed, held)],
    )  # fmt: skip


def charge(amount: int, project: str = "prj_a", kind: EntryType = EntryType.CONSUME) -> Spend:
    prepared = prepare_debit(
        "org_a", Debit(amount, project_id=project), kind, Cause(CauseType.DEBIT, "dbt_t")
    )
    assert isinstance(prepared, Spend)
    return prepared


def test_the_periods_are_half_open_utc_days_months_or_the_billing_cycle() -> None:
    at = datetime(2026, 12, 31, 23, 59, tzinfo=UTC)
    assert period_window(BudgetPeriod.DAY, at) == (
        datetime(2026, 12, 31, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    assert period_window(BudgetPeriod.MONTH, at) == (
        datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    cycle = Cycle(3, datetime(2026, 12, 15, tzinfo=UTC), datetime(2027, 1, 15, tzinfo=UTC))
    assert period_window(BudgetPeriod.CYCLE, at, cycle) == (cycle.start, cycle.end)
    assert period_window(BudgetPeriod.CYCLE, at) == period_window(BudgetPeriod.MONTH, at)


def test_a_bad_budget_lists_every_problem() -> None:
    with pytest.raises(InvalidBudget) as bad:
        make_budget("bgt_1", "org_a", scope="team", scope_id="", amount=-1, period="week",
                    mode="strict", alerts=[0, 50, 50], created_at=T0)  # fmt: skip
    assert [p.split(":")[0] for p in bad.value.problems] == [
        "scope", "scope_id", "amount", "period", "mode", "alerts", "alerts",
    ]  # fmt: skip


def test_a_hard_budget_refuses_on_what_the_group_left_and_the_refusal_costs_nothing() -> None:
    out = run(books(account(10 * ONE, consumed=4 * ONE)),
              charge(5 * ONE), charge(2 * ONE), charge(ONE, "prj_b"), charge(1 * ONE))  # fmt: skip
    first, second, other, last = out.results
    assert first.accepted and other.accepted and last.accepted
    assert isinstance(second.error, BudgetExceeded)
    assert (second.error.used, second.error.needed, second.error.room) == (9 * ONE, 2 * ONE, ONE)
    assert sum(e.amount for e in out.entries) == -7 * ONE
    (((budget_id, _), (counted, _)),) = out.budget_usage.items()
    assert (budget_id, counted) == ("bgt_1", 6 * ONE)


def test_a_soft_budget_counts_and_alerts_once_per_threshold_but_never_refuses() -> None:
    out = run(books(account(4 * ONE, mode="soft", alerts=(50, 100))),
              *(charge(ONE) for _ in range(6)))  # fmt: skip
    assert all(r.accepted for r in out.results)
    assert [(a.percent, a.used) for a in out.budget_alerts] == [(50, 2 * ONE), (100, 4 * ONE)]
    assert list(out.budget_usage.values()) == [[6 * ONE, 100]]


def test_an_operators_adjustment_is_not_counted() -> None:
    out = run(books(account(ONE)), charge(5 * ONE, kind=EntryType.ADJUSTMENT))
    assert out.results[0].accepted and not out.budget_usage


def test_a_hold_counts_while_open_and_a_commits_excess_takes_only_the_room() -> None:
    b = books(account(10 * ONE, consumed=2 * ONE))
    out = run(b, Reserve("org_a", 6 * ONE, project_id="prj_a"),
              Reserve("org_a", 3 * ONE, project_id="prj_a"))  # fmt: skip
    held, refused = out.results
    assert isinstance(held, Reservation) and isinstance(refused, BudgetExceeded)
    assert refused.used == 8 * ONE
    stored = {("org_a", held.id): (held, None)}
    counts = account(10 * ONE, consumed=2 * ONE, held=6 * ONE)
    counts.grants = [grant(100 * ONE, remaining=94 * ONE, id="g1")]
    done = run(books(counts, reservations=stored), Settle("org_a", held.id, 9 * ONE))
    (settled,) = done.results
    assert (settled.consumed, settled.shortfall) == (8 * ONE, ONE)
    assert list(done.budget_usage.values()) == [[8 * ONE, 0]]
