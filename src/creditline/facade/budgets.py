"""Budgets inside an organization's pool: what a project or member may consume per
period (see :mod:`creditline.domain.budgets`)."""

from __future__ import annotations

from collections.abc import Sequence

from creditline.domain.budgets import BudgetStanding
from creditline.facade.core import Core
from creditline.services import budgets

__all__ = ["Budgets"]


class Budgets(Core):
    """Budgets of projects and members, with their consumption."""

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
    ) -> BudgetStanding:
        """Cap what a project (``project_id``) or a member (``member_id``) consumes::

            cl.create_budget(org.id, project_id=p.id, amount=credits(100), period="day")
            cl.create_budget(org.id, member_id=m.id, amount=credits(50), mode="soft",
                             alerts=[80, 100])

        ``amount`` in micro-credits per ``period`` (``day``, ``month`` or ``cycle``: the
        billing cycle); ``mode`` ``hard`` refuses what would pass it
        (:class:`~creditline.domain.errors.BudgetExceeded`), ``soft`` only alerts;
        ``alerts``: percents of ``amount`` that fire a ``budget.threshold_reached``
        event. Returns the budget with its consumption in the running period.

        Raises:
            InvalidBudget: listing every problem; ProjectNotFound, MemberNotFound.
        """
        scope, scope_id = "project", project_id
        if member_id is not None or project_id is None:
            scope, scope_id = "member", member_id
        if project_id is not None and member_id is not None:
            scope, scope_id = "project and member", None
        cmd = budgets.CreateBudget(
            org_id, scope, scope_id or "", amount, period, mode, tuple(alerts)
        )
        return self._run(lambda: budgets.create_budget(cmd, self._uow(), self.clock))

    def budgets(self, org_id: str) -> list[BudgetStanding]:
        """The organization's budgets, each with its consumption in its running period
        (consumed and held), oldest first."""
        return self._run(lambda: budgets.standings(org_id, self._uow(read_only=True), self.clock))

    def delete_budget(self, org_id: str, budget_id: str) -> BudgetStanding:
        """Delete a budget of the organization; it as it stood when deleted.

        Raises:
            BudgetNotFound: no such budget in this organization.
        """
        return self._run(lambda: budgets.delete_budget(org_id, budget_id, self._uow(), self.clock))
