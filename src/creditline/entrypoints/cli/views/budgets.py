"""How budgets look (see :mod:`creditline.entrypoints.cli.views.base` for the
conventions): each with its consumption in its running period."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from creditline.domain.amounts import format_credits
from creditline.domain.budgets import BudgetStanding
from creditline.entrypoints.cli.views.base import View, credit_fields, iso, new_table, when

__all__ = ["budget_view", "budgets_view"]


def _data(s: BudgetStanding) -> dict[str, Any]:
    b = s.budget
    return {
        "id": b.id, "org_id": b.org_id, "scope": b.scope.value, "scope_id": b.scope_id,
        **credit_fields("amount", b.amount), "period": b.period.value, "mode": b.mode.value,
        "alerts": list(b.alerts), "created_at": iso(b.created_at),
        "period_start": iso(s.start), "period_end": iso(s.end),
        **credit_fields("consumed", s.consumed), **credit_fields("held", s.held),
        **credit_fields("used", s.used), **credit_fields("room", s.room), "percent": s.percent,
    }  # fmt: skip


def _table(standings: Sequence[BudgetStanding], title: str) -> Table:
    right = {"budget", "consumed", "held", "room", "used %"}
    table = new_table(
        title, "id", "caps", "budget", "per", "mode", "consumed", "held", "room", "used %",
        "period from (UTC)", right=right,
    )  # fmt: skip
    for s in standings:
        b = s.budget
        table.add_row(
            b.id, b.describe_scope(), format_credits(b.amount), b.period.value, b.mode.value,
            format_credits(s.consumed), format_credits(s.held), format_credits(s.room),
            f"{s.percent}%", when(s.start),
        )  # fmt: skip
    return table


def budget_view(standing: BudgetStanding) -> View:
    return View(_data(standing), (_table([standing], "Budget"),))


def budgets_view(standings: Sequence[BudgetStanding]) -> View:
    if not standings:
        return View([], (Text("no budgets (creditline budget create ORG ...)"),))
    return View([_data(s) for s in standings], (_table(standings, "Budgets"),))
