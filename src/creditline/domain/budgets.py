"""Budgets inside an organization's pool (A1): what a project or a member may consume.

An organization's credits are one pool; a **budget** caps what one of its projects or
members may take from it per **period**: a UTC ``day``, a UTC calendar ``month``, or the
organization's billing ``cycle`` (its subscription's; a calendar month without one).
Periods are half-open ``[start, end)``.

- A **hard** budget refuses a usage event, a hold (or its increase) or a debit whose
  cost would carry the period's consumption past the budget
  (:class:`~creditline.domain.errors.BudgetExceeded`, naming the budget); the refusal
  costs nothing. A commit never fails: what it captures beyond its hold is taken only
  as far as the budget's room allows, the rest is its shortfall.
- A **soft** budget never refuses: it counts, and alerts.

**What counts.** Every charge attributed to the budget's project or member: usage
events, debits (spends; an operator's negative adjustment is a correction and does
not count), and holds: an open hold counts its held amount, whatever period it was
opened in; a commit replaces it by what it captured (counted in the period of the
commit), a release frees it. A budget counts what was charged: voiding or amending an
event later does not change its count. A budget made mid-period starts from what its scope has
consumed in the period so far.

**Alerts** at N % of the budget (``alerts``, e.g. ``(80, 100)``): the first charge of a
period that carries the consumption (holds included) to N % or more fires once; each
threshold fires at most once per period, as a ``budget.threshold_reached`` event to the
webhook endpoints subscribed to it, enqueued in the transaction of the charge.

Everything is counted in integer micro-credits; no percent is rounded before it is
compared.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from creditline.domain.amounts import MAX_MICROS
from creditline.domain.cycles import Cycle
from creditline.domain.errors import InvalidBudget

__all__ = [
    "BUDGET_THRESHOLD",
    "MAX_ALERTS",
    "Budget",
    "BudgetMode",
    "BudgetPeriod",
    "BudgetScope",
    "BudgetStanding",
    "Counted",
    "budget_problems",
    "make_budget",
    "period_window",
]

BUDGET_THRESHOLD = "budget.threshold_reached"
"""The event type of a budget's alert (webhook endpoints can subscribe to it)."""

MAX_ALERTS = 10
"""The most alert thresholds one budget may have."""


class BudgetScope(enum.StrEnum):
    PROJECT = "project"
    MEMBER = "member"


class BudgetPeriod(enum.StrEnum):
    CYCLE = "cycle"
    DAY = "day"
    MONTH = "month"


class BudgetMode(enum.StrEnum):
    HARD = "hard"
    SOFT = "soft"


@dataclass(frozen=True, slots=True)
class Budget:
    """A cap on what one project or member of an organization consumes per period.

    Attributes:
        id: ``bgt_...``.
        org_id: the organization whose pool it caps.
        scope, scope_id: the project or member capped.
        amount: micro-credits per period (> 0).
        period: ``day``, ``month`` or ``cycle``.
        mode: ``hard`` (refuses) or ``soft`` (alerts only).
        alerts: percents of ``amount`` that fire an alert, ascending.
        created_at: when it was made.
    """

    id: str
    org_id: str
    scope: BudgetScope
    scope_id: str
    amount: int
    period: BudgetPeriod
    mode: BudgetMode
    alerts: tuple[int, ...]
    created_at: datetime

    @property
    def hard(self) -> bool:
        return self.mode is BudgetMode.HARD

    def describe_scope(self) -> str:
        """What it caps, in words: ``project prj_...``."""
        return f"{self.scope.value} {self.scope_id}"

    def covers(self, project_id: str | None, member_id: str | None) -> bool:
        """Whether a charge attributed to ``project_id`` and ``member_id`` counts here."""
        if self.scope is BudgetScope.PROJECT:
            return project_id == self.scope_id
        return member_id == self.scope_id


def period_window(
    period: BudgetPeriod, at: datetime, cycle: Cycle | None = None
) -> tuple[datetime, datetime]:
    """The period ``[start, end)`` holding ``at``: a UTC day, a UTC month, or ``cycle``
    (the organization's billing cycle at ``at``; a UTC month when it has none)."""
    moment = at.astimezone(UTC)
    if period is BudgetPeriod.DAY:
        start = moment.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, start + timedelta(days=1)
    if period is BudgetPeriod.CYCLE and cycle is not None:
        return cycle.start, cycle.end
    start = moment.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    end = (start + timedelta(days=32)).replace(day=1)
    return start, end


def _choice(name: str, value: str, kind: type[enum.StrEnum]) -> list[str]:
    known = [k.value for k in kind]
    return [] if value in known else [f"{name}: {value!r} is not one of {known}"]


def _alert_problems(alerts: Sequence[object]) -> list[str]:
    problems = []
    if len(alerts) > MAX_ALERTS:
        problems.append(f"alerts: at most {MAX_ALERTS} thresholds, got {len(alerts)}")
    problems += [
        f"alerts: each a whole percent from 1 to 100, got {a!r}"
        for a in alerts
        if isinstance(a, bool) or not isinstance(a, int) or not 1 <= a <= 100
    ]
    if len(set(map(repr, alerts))) != len(alerts):
        problems.append("alerts: a threshold is listed twice")
    return problems


def budget_problems(
    scope: str,
    scope_id: object,
    amount: object,
    *,
    period: str,
    mode: str,
    alerts: Sequence[object],
) -> list[str]:
    """Every problem of a budget's definition (an empty list: it is valid)."""
    problems = _choice("scope", scope, BudgetScope)
    if not isinstance(scope_id, str) or not scope_id:
        problems.append(f"scope_id: the id of a {scope}, got {scope_id!r}")
    if isinstance(amount, bool) or not isinstance(amount, int) or not 0 < amount <= MAX_MICROS:
        problems.append(f"amount: micro-credits above zero, got {amount!r}")
    return (
        problems
        + _choice("period", period, BudgetPeriod)
        + _choice("mode", mode, BudgetMode)
        + _alert_problems(alerts)
    )


def make_budget(
    budget_id: str,
    org_id: str,
    *,
    scope: str,
    scope_id: str,
    amount: int,
    period: str = "month",
    mode: str = "hard",
    alerts: Sequence[int] = (),
    created_at: datetime,
) -> Budget:
    """A new budget, checked whole.

    Raises:
        InvalidBudget: listing every problem.
    """
    problems = budget_problems(
        scope, scope_id, amount, period=period, mode=mode, alerts=list(alerts)
    )
    if problems:
        raise InvalidBudget(problems)
    return Budget(
        budget_id, org_id, BudgetScope(scope), scope_id, amount, BudgetPeriod(period),
        BudgetMode(mode), tuple(sorted(alerts)), created_at,
    )  # fmt: skip


class Counted:
    """The rule of what counts against a budget, shared by its standing (read) and its count
    in a charging decision (moved): what was consumed and what open holds hold."""

    __slots__ = ()
    budget: Budget
    consumed: int
    held: int

    @property
    def used(self) -> int:
        """What counts against the budget: consumed and held."""
        return self.consumed + self.held

    @property
    def room(self) -> int:
        """What the budget still lets its scope take (never below zero)."""
        return max(0, self.budget.amount - self.used)


@dataclass(frozen=True, slots=True)
class BudgetStanding(Counted):
    """A budget with its consumption in the running period.

    Attributes:
        budget: the budget.
        start, end: the running period ``[start, end)``.
        consumed: micro-credits consumed in the period.
        held: micro-credits held by its scope's open holds.
    """

    budget: Budget
    start: datetime
    end: datetime
    consumed: int
    held: int

    @property
    def percent(self) -> int:
        """Whole percent of the budget used (rounded down)."""
        return self.used * 100 // self.budget.amount
