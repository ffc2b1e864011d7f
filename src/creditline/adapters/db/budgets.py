"""Budgets and what each consumed per period (tables ``budgets``, ``budget_usage``).

The charging group's reads and writes (:meth:`BudgetRepository.of_orgs`,
:meth:`~BudgetRepository.consumed`, :meth:`~BudgetRepository.held`,
:meth:`~BudgetRepository.count`) run under the organizations' locks, in the group's
transaction, one statement each whatever the number of budgets; the rest is the
budgets' management. Every query of these tables lives here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, delete, func, insert, select

from creditline.domain.budgets import Budget, BudgetMode, BudgetPeriod, BudgetScope
from creditline.domain.ledger import EntryType

from . import tables as t
from .raw import IN_LIST, Raw, Sql

__all__ = ["BudgetRepository"]

_COLUMNS = (
    "id", "org_id", "scope", "scope_id", "amount_micros", "period", "mode", "alerts",
    "created_at",
)  # fmt: skip
_OF_ORGS = Sql(
    f"SELECT {', '.join(_COLUMNS)} FROM budgets WHERE org_id {IN_LIST} ORDER BY created_at, id"
)
_CONSUMED = Sql(
    "SELECT budget_id, period_start, consumed_micros, alerted FROM budget_usage "
    f"WHERE budget_id {IN_LIST} AND period_start >= ?"
)
_HELD = Sql(
    "SELECT org_id, project_id, member_id, SUM(held_micros) AS held FROM reservations "
    f"WHERE org_id {IN_LIST} AND status = 'open' GROUP BY org_id, project_id, member_id"
)
_COUNT = Sql(
    "INSERT INTO budget_usage (budget_id, period_start, consumed_micros, alerted) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, period_start) DO UPDATE SET "
    "consumed_micros = budget_usage.consumed_micros + excluded.consumed_micros, "
    "alerted = max(budget_usage.alerted, excluded.alerted)",
    "INSERT INTO budget_usage (budget_id, period_start, consumed_micros, alerted) "
    "VALUES (?, ?, ?, ?) ON CONFLICT (budget_id, period_start) DO UPDATE SET "
    "consumed_micros = budget_usage.consumed_micros + excluded.consumed_micros, "
    "alerted = GREATEST(budget_usage.alerted, excluded.alerted)",
)


def _budget(raw: Raw, row: Mapping[str, Any]) -> Budget:
    created = row["created_at"]
    return Budget(
        row["id"], row["org_id"], BudgetScope(row["scope"]), row["scope_id"],
        int(row["amount_micros"]), BudgetPeriod(row["period"]), BudgetMode(row["mode"]),
        tuple(raw.read_json(row["alerts"])),
        raw.read_when(created),
    )  # fmt: skip


class BudgetRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    # -- management ----------------------------------------------------------------------

    def add(self, budget: Budget, consumed: int, start: datetime) -> None:
        """Store a new budget, starting its period at ``consumed`` micro-credits."""
        b = budget
        self._conn.execute(
            insert(t.budgets).values(
                id=b.id, org_id=b.org_id, scope=b.scope.value, scope_id=b.scope_id,
                amount_micros=b.amount, period=b.period.value, mode=b.mode.value,
                alerts=list(b.alerts), created_at=b.created_at,
            )
        )  # fmt: skip
        if consumed:
            self.count([(b.id, start, consumed, 0)])

    def remove(self, budget_id: str) -> None:
        """Delete a budget and what it counted."""
        self._conn.execute(delete(t.budget_usage).where(t.budget_usage.c.budget_id == budget_id))
        self._conn.execute(delete(t.budgets).where(t.budgets.c.id == budget_id))

    def of_orgs(self, org_ids: Sequence[str]) -> list[Budget]:
        """The budgets of these organizations, oldest first."""
        if not org_ids:
            return []
        raw = self._raw
        return [_budget(raw, row) for row in raw.records(_OF_ORGS, (raw.in_list(org_ids),))]

    def scope_consumed(
        self, org_id: str, scope: BudgetScope, scope_id: str, since: datetime
    ) -> int:
        """Micro-credits a project or member consumed since ``since`` (the ledger's
        consume entries: usage, debits, commits; not an operator's adjustment)."""
        e = t.ledger_entries
        column = e.c.project_id if scope is BudgetScope.PROJECT else e.c.member_id
        total = self._conn.execute(
            select(func.coalesce(func.sum(e.c.amount_micros), 0)).where(
                e.c.org_id == org_id, column == scope_id,
                e.c.entry_type == EntryType.CONSUME.value, e.c.occurred_at >= since,
            )
        ).scalar_one()  # fmt: skip
        return -int(total)

    # -- the charging group's reads and writes ------------------------------------------

    def consumed(
        self, budget_ids: Sequence[str], since: datetime
    ) -> dict[tuple[str, datetime], tuple[int, int]]:
        """(consumed micro-credits, highest alert fired) per (budget, period start), of
        the periods starting at ``since`` or later."""
        if not budget_ids:
            return {}
        raw = self._raw
        rows = raw.records(_CONSUMED, (raw.in_list(budget_ids), raw.when(since)))
        found = {}
        for row in rows:
            start = raw.read_when(row["period_start"])
            found[(row["budget_id"], start)] = (int(row["consumed_micros"]), int(row["alerted"]))
        return found

    def held(self, org_ids: Sequence[str]) -> dict[tuple[str, str | None, str | None], int]:
        """Micro-credits the open holds hold, per (organization, project, member)."""
        if not org_ids:
            return {}
        raw = self._raw
        rows = raw.records(_HELD, (raw.in_list(org_ids),))
        return {(r["org_id"], r["project_id"], r["member_id"]): int(r["held"]) for r in rows}

    def count(self, rows: Sequence[tuple[str, datetime, int, int]]) -> None:
        """Add (budget, period start, consumed micro-credits, alert fired) to the counts."""
        raw = self._raw
        raw.many(_COUNT, [(b, raw.when(start), used, alerted) for b, start, used, alerted in rows])
