"""Budgets inside an organization's pool: what a project or member may consume per
period (hard: refused past it, 402 ``budget-exceeded``; soft: alerts only), listed with
their consumption.

An organization's key sees and changes only its own budgets: another organization's
answer 404, as if they did not exist.
"""

from __future__ import annotations

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.budgets import BudgetCreate, BudgetOut
from creditline.entrypoints.api.security import OrgReader, OrgWriter

router = make_router("budgets")

__all__ = ["router"]


@router.post(
    "/v1/orgs/{org_id}/budgets",
    status_code=201,
    summary="Cap what a project or member consumes per period",
)
def create_budget(*, body: BudgetCreate, scope: OrgWriter, cl: Engine) -> BudgetOut:
    kind = {f"{body.scope}_id": body.scope_id}
    standing = cl.create_budget(
        scope.org_id,
        **kind,
        amount=body.micros,
        period=body.period,
        mode=body.mode,
        alerts=body.alerts,
    )
    return BudgetOut.of(standing)


@router.get(
    "/v1/orgs/{org_id}/budgets",
    summary="Budgets with their consumption in the running period, oldest first",
)
def list_budgets(*, scope: OrgReader, cl: Engine) -> list[BudgetOut]:
    return [BudgetOut.of(s) for s in cl.budgets(scope.org_id)]


@router.post(
    "/v1/orgs/{org_id}/budgets/{budget_id}/delete",
    summary="Delete a budget: what its scope consumes is no longer capped",
)
def delete_budget(*, scope: OrgWriter, budget_id: str, cl: Engine) -> BudgetOut:
    return BudgetOut.of(cl.delete_budget(scope.org_id, budget_id))
