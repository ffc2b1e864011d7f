"""Budgets in a group's decision: what each budget of an organization has counted in its
running period, checked before a charge and moved after it (see
:mod:`creditline.domain.budgets` for what counts).

Only an organization that has budgets loads them (:attr:`Account.budgets`); without
any, a :class:`~creditline.domain.charging.ledger.Ledger` has no budget book and no
check runs. A hard budget's check is made on the state the group's previous commands
left, under the organization's lock, before any credit is taken: a refusal costs
nothing. Each move is recorded in the decision (:attr:`Decision.budget_usage`,
:attr:`Decision.budget_alerts`) to be written in the same transaction as the ledger.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from creditline.domain.budgets import Budget, Counted
from creditline.domain.charging.outcome import BudgetAlert, Decision
from creditline.domain.errors import BudgetExceeded

__all__ = ["BudgetBook", "BudgetCount"]


@dataclass(slots=True)
class BudgetCount(Counted):
    """One budget as loaded under its organization's lock.

    Attributes:
        budget: the budget.
        start, end: its running period ``[start, end)``.
        consumed: micro-credits its scope consumed in the period.
        held: micro-credits its scope's open holds hold.
        alerted: the highest alert threshold already fired this period (0: none).
    """

    budget: Budget
    start: datetime
    end: datetime
    consumed: int = 0
    held: int = 0
    alerted: int = 0


class BudgetBook:
    """The budgets of one organization while a group is decided."""

    def __init__(self, counts: Sequence[BudgetCount], out: Decision) -> None:
        self.counts = counts
        self._out = out

    def covering(self, project_id: str | None, member_id: str | None) -> list[BudgetCount]:
        if project_id is None and member_id is None:
            return []
        return [c for c in self.counts if c.budget.covers(project_id, member_id)]

    def check(self, project_id: str | None, member_id: str | None, cost: int) -> None:
        """Refuse ``cost`` if it would carry a hard budget covering it past its amount.

        Raises:
            BudgetExceeded: naming the first such budget; nothing changed.
        """
        for c in self.covering(project_id, member_id):
            b = c.budget
            if b.hard and c.used + cost > b.amount:
                raise BudgetExceeded(b.id, b.describe_scope(), b.amount, c.used, cost)

    def room(self, project_id: str | None, member_id: str | None) -> int | None:
        """What the hard budgets covering a charge still allow (``None``: no hard one)."""
        rooms = [c.room for c in self.covering(project_id, member_id) if c.budget.hard]
        return min(rooms) if rooms else None

    def consume(self, project_id: str | None, member_id: str | None, amount: int) -> None:
        """Count ``amount`` consumed against every budget covering it."""
        if not amount:
            return
        usage = self._out.budget_usage
        for c in self.covering(project_id, member_id):
            c.consumed += amount
            key = (c.budget.id, c.start)
            found = usage.get(key)
            if found is None:
                usage[key] = [amount, c.alerted]
            else:
                found[0] += amount
            self._alert(c)

    def hold(self, project_id: str | None, member_id: str | None, amount: int) -> None:
        """Count a hold's ``amount`` (negative: freed) against every budget covering it."""
        for c in self.covering(project_id, member_id):
            c.held += amount
            if amount > 0:
                self._alert(c)

    def _alert(self, c: BudgetCount) -> None:
        """Fire each threshold the budget's consumption reached, once per period."""
        b = c.budget
        reached = [p for p in b.alerts if p > c.alerted and c.used * 100 >= p * b.amount]
        if not reached:
            return
        c.alerted = max(reached)
        usage = self._out.budget_usage
        key = (b.id, c.start)
        found = usage.get(key)
        if found is None:
            usage[key] = [0, c.alerted]
        else:
            found[1] = c.alerted
        self._out.budget_alerts.append(BudgetAlert(b, c.start, c.end, c.alerted, c.used))
