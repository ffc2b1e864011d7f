"""The platform's catalogue: rate cards, plans, credit packs (read by any key, written by
operators), and which card and plan an organization is on."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import Body, Query

from creditline.domain.errors import PackNotFound
from creditline.domain.grace import MAX_GRACE_HOURS, GraceBilling
from creditline.domain.plans import Plan
from creditline.domain.pricing import RateCard, RateCardHistory
from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schema_rules import NOT_BLANK
from creditline.entrypoints.api.schemas.catalogue import (
    CatalogueOut,
    OrgPlanOut,
    OrgRateCardOut,
    PacksLoad,
    PlanAssign,
    PlanOut,
    RateCardAssign,
    RateCardHistoryOut,
    RateCardLoad,
    RateCardVersionOut,
)
from creditline.entrypoints.api.schemas.common import (
    TimeQuery,
)
from creditline.entrypoints.api.schemas.whatif import WhatIfOut, WhatIfRequest
from creditline.entrypoints.api.security import AnyKey, OperatorKey, OrgOperator, OrgReader

router = make_router("catalogue")

__all__ = ["router"]


def _version(card: RateCard) -> RateCardVersionOut:
    return RateCardVersionOut(
        name=card.name,
        version=card.version,
        effective_from=card.effective_from,
        operations=list(card.operations),
        document=card.to_dict(),
    )


def _history(history: RateCardHistory) -> RateCardHistoryOut:
    return RateCardHistoryOut(name=history.name, versions=[_version(c) for c in history.versions])


def _plan(plan: Plan) -> PlanOut:
    return PlanOut(name=plan.name, document=plan.to_dict())


@router.post(
    "/v1/rate-cards",
    status_code=201,
    summary="Load a rate card version (operator); every problem is listed",
)
def load_rate_card(*, body: RateCardLoad, cl: Engine, _: OperatorKey) -> RateCardVersionOut:
    if body.document is not None:
        return _version(cl.load_rate_card(body.document))
    assert body.toml is not None
    return _version(cl.load_rate_card(body.toml, "toml"))


@router.post(
    "/v1/rate-cards/what-if",
    summary="Re-price past usage by a draft rate card (operator); nothing is loaded or written",
)
def what_if(*, body: WhatIfRequest, cl: Engine, _: OperatorKey) -> WhatIfOut:
    """What the draft would have charged for the accepted usage that happened from
    ``since`` to ``until``: per organization and operation, the events, what they were
    charged and what the draft would have charged; and the organizations that would have
    run out of credits earlier, and when. The draft re-prices ``org_id`` or every
    organization priced by its card; it is validated like a loaded card (422 lists every
    problem) but never loaded."""
    draft: Any = body.document if body.document is not None else body.toml
    syntax: Literal["toml", "json"] = "toml"
    report = cl.what_if(draft, since=body.since, until=body.until, org_id=body.org_id,
                        syntax=syntax)  # fmt: skip
    return WhatIfOut.of(report)


@router.get("/v1/rate-cards", summary="Every rate card and its versions")
def list_rate_cards(*, cl: Engine, _: AnyKey) -> list[RateCardHistoryOut]:
    return [_history(h) for h in cl.rate_cards()]


@router.get("/v1/rate-cards/{name}", summary="Every version of one rate card")
def get_rate_card(*, name: str, cl: Engine, _: AnyKey) -> RateCardHistoryOut:
    return _history(cl.rate_card_history(name))


@router.get("/v1/rate-cards/{name}/current", summary="The version in force (now, or at)")
def current_rate_card(
    *, name: str, cl: Engine, _: AnyKey, at: Annotated[TimeQuery | None, Query()] = None
) -> RateCardVersionOut:
    return _version(cl.rate_card(name, at))


@router.get("/v1/orgs/{org_id}/rate-card", summary="The card the organization is priced by")
def org_rate_card(*, scope: OrgReader, cl: Engine) -> OrgRateCardOut:
    return OrgRateCardOut(org_id=scope.org_id, rate_card=cl.org_rate_card(scope.org_id))


@router.put("/v1/orgs/{org_id}/rate-card", summary="Price the organization by a card (operator)")
def set_org_rate_card(*, body: RateCardAssign, scope: OrgOperator, cl: Engine) -> OrgRateCardOut:
    return OrgRateCardOut(
        org_id=scope.org_id, rate_card=cl.set_rate_card(scope.org_id, body.rate_card)
    )


GRACE_PROPERTIES = {
    "grace_hours": {"type": "integer", "minimum": 0, "maximum": MAX_GRACE_HOURS,
                    "description": "Grace after depletion lasts at most this long."},
    "grace_credits": {"type": "string", "description": "Grace pays for at most this many "
                      "credits (decimal text)."},
    "grace_billing": {"type": "string", "enum": [b.value for b in GraceBilling],
                      "description": "flex: billed with the month's flex; write_off: never."},
    "read_only_hours": {"type": "integer", "minimum": 0, "maximum": MAX_GRACE_HOURS,
                        "description": "Read-only after grace, then paused (none: until "
                        "credits arrive)."},
}  # fmt: skip
"""The grace terms of a plan's document (domain/grace.py), documented in its schema."""


@router.post("/v1/plans", status_code=201, summary="Store a plan (operator)")
def create_plan(
    *,
    cl: Engine,
    _: OperatorKey,
    document: Annotated[
        dict[str, Any],
        Body(
            examples=[
                {"name": "pro", "depletion": "flex", "flex_limit_micros": 500000000},
                {
                    "name": "team",
                    "depletion": "pause",
                    "grace_hours": 72,
                    "grace_credits": "50",
                    "grace_billing": "flex",
                    "read_only_hours": 168,
                },
            ],
            json_schema_extra={
                "required": ["name"],
                "properties": {
                    "name": {"type": "string", "minLength": 1, "pattern": NOT_BLANK},
                    **GRACE_PROPERTIES,
                },
            },
        ),
    ],
    replace: Annotated[bool, Query(description="Replace a plan of that name.")] = False,
) -> PlanOut:
    return _plan(cl.create_plan(document, replace=replace))


@router.get("/v1/plans", summary="Every plan")
def list_plans(*, cl: Engine, _: AnyKey) -> list[PlanOut]:
    return [_plan(p) for p in cl.plans()]


@router.get("/v1/plans/{name}", summary="One plan")
def get_plan(*, name: str, cl: Engine, _: AnyKey) -> PlanOut:
    return _plan(cl.plan(name))


def _org_plan(cl: Any, org_id: str, change: str | None = None) -> OrgPlanOut:
    return OrgPlanOut.of(
        cl.metering(org_id), cl.subscription(org_id), cl.is_read_only(org_id), change
    )


@router.get("/v1/orgs/{org_id}/plan", summary="The organization's plan, policy, subscription")
def org_plan(*, scope: OrgReader, cl: Engine) -> OrgPlanOut:
    return _org_plan(cl, scope.org_id)


@router.put(
    "/v1/orgs/{org_id}/plan",
    summary="Put the organization on a plan (operator); subscribe starts its billing",
)
def assign_plan(*, body: PlanAssign, scope: OrgOperator, cl: Engine) -> OrgPlanOut:
    assigned = cl.change_plan(
        scope.org_id,
        body.plan,
        depletion=body.depletion,
        flex_enabled=body.flex_enabled,
        subscribe=body.subscribe,
        currency=body.currency,
    )
    return _org_plan(cl, scope.org_id, assigned.change.value)


@router.put("/v1/packs", summary="Store the credit pack catalogue (operator)")
def load_packs(*, body: PacksLoad, cl: Engine, _: OperatorKey) -> CatalogueOut:
    catalogue = cl.load_packs(body.toml)
    return CatalogueOut(name=catalogue.name, document=catalogue.to_document())


@router.get("/v1/packs", summary="The credit pack catalogue")
def packs(*, cl: Engine, _: AnyKey) -> CatalogueOut:
    catalogue = cl.packs()
    if catalogue is None:
        raise PackNotFound("catalogue")
    return CatalogueOut(name=catalogue.name, document=catalogue.to_document())
