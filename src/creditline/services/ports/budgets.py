"""What the budget services need from storage: budgets, what each consumed per period,
and the open holds of their scopes (SQL in :mod:`creditline.adapters.db.budgets`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from creditline.domain.budgets import Budget, BudgetScope

__all__ = ["BudgetStore"]


class BudgetStore(Protocol):
    def add(self, budget: Budget, consumed: int, start: datetime) -> None: ...
    def remove(self, budget_id: str) -> None: ...
    def of_orgs(self, org_ids: Sequence[str]) -> list[Budget]: ...
    def scope_consumed(
        self, org_id: str, scope: BudgetScope, scope_id: str, since: datetime
    ) -> int: ...
    def consumed(
        self, budget_ids: Sequence[str], since: datetime
    ) -> dict[tuple[str, datetime], tuple[int, int]]: ...
    def held(self, org_ids: Sequence[str]) -> dict[tuple[str, str | None, str | None], int]: ...
    def count(self, rows: Sequence[tuple[str, datetime, int, int]]) -> None: ...
