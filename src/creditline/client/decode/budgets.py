"""Budgets with their consumption in the running period."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record, when
from creditline.domain.budgets import Budget, BudgetStanding


def budget_standing(d: Doc) -> BudgetStanding:
    return record(
        BudgetStanding, d, budget=record(Budget, d), start=when(d["period_start"]),
        end=when(d["period_end"]),
    )  # fmt: skip
