"""Budgets of projects and members inside an organization's pool."""

from __future__ import annotations

from collections.abc import Sequence

from creditline.client import decode
from creditline.client._wire import Flow, op, seg
from creditline.domain.budgets import BudgetStanding

from ._requests import fetch, fetch_each, org_get, org_post


class BudgetOperations:
    """Budgets of projects and members inside an organization's pool."""

    @op
    def create_budget(
        self,
        org_id: str,
        *,
        project_id: str | None = None,
        member_id: str | None = None,
        amount: int,
        period: str = "month",
        mode: str = "hard",
        alerts: Sequence[int] = (),
    ) -> Flow[BudgetStanding]:
        """Cap what a project or a member consumes per period (``amount`` in
        micro-credits); see :meth:`Creditline.create_budget`.

        Raises:
            InvalidBudget: listing every problem; ProjectNotFound, MemberNotFound.
        """
        scope, scope_id = ("member", member_id) if project_id is None else ("project", project_id)
        if project_id is not None and member_id is not None:
            scope = "project and member"  # the engine names the problem
        body = {
            "scope": scope, "scope_id": scope_id or "", "amount_micros": amount,
            "period": period, "mode": mode, "alerts": list(alerts),
        }  # fmt: skip
        return (yield from fetch(decode.budget_standing, org_post(org_id, "/budgets", body)))

    @op
    def budgets(self, org_id: str) -> Flow[list[BudgetStanding]]:
        """The organization's budgets with their consumption, oldest first."""
        return (yield from fetch_each(decode.budget_standing, org_get(org_id, "/budgets")))

    @op
    def delete_budget(self, org_id: str, budget_id: str) -> Flow[BudgetStanding]:
        """Delete a budget of the organization; it as it stood.

        Raises:
            BudgetNotFound: no such budget in this organization.
        """
        path = f"/budgets/{seg(budget_id)}/delete"
        return (yield from fetch(decode.budget_standing, org_post(org_id, path)))
