"""Country gating and contact sales (D8): an organization's country, whether it can buy
self-serve, and its contact-sales requests (listed for the operator)."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.orgs import (
    OrgOut,
)
from creditline.entrypoints.api.schemas.sales import (
    OrgUpdate,
    SalesRequestCreate,
    SalesRequestOut,
    SelfServeOut,
)
from creditline.entrypoints.api.security import OperatorKey, OrgOperator, OrgReader, OrgWriter

router = make_router("sales")

__all__ = ["router"]

Limit = Annotated[int, Query(ge=1, le=10_000)]


@router.patch(
    "/v1/orgs/{org_id}",
    summary="Change an organization's name or country (operator)",
    description="A field left out is unchanged; `country: null` removes the country. The "
    "country decides whether the organization can buy credits self-serve.",
)
def update_org(*, body: OrgUpdate, scope: OrgOperator, cl: Engine) -> OrgOut:
    clear = "country" in body.model_fields_set and body.country is None
    org = cl.update_org(scope.org_id, name=body.name, country=body.country, clear_country=clear)
    return OrgOut.of(org)


@router.get(
    "/v1/orgs/{org_id}/self-serve",
    summary="Whether the organization can buy credits self-serve, or contacts sales",
)
def self_serve(*, scope: OrgReader, cl: Engine) -> SelfServeOut:
    return SelfServeOut.of(cl.self_serve(scope.org_id))


@router.post(
    "/v1/orgs/{org_id}/sales-requests",
    status_code=201,
    summary="Contact sales: record a request (announced to the operator's webhook and e-mail)",
    description="For an organization that cannot buy self-serve (its purchases answer 403 "
    "`self-serve-unavailable`), or that wants to talk to sales. Nothing is bought.",
)
def contact_sales(*, body: SalesRequestCreate, scope: OrgWriter, cl: Engine) -> SalesRequestOut:
    made = cl.contact_sales(
        scope.org_id,
        body.pack,
        credits=body.micros,
        message=body.message,
        member_id=body.member_id,
        email=body.email,
        source=body.source.value,
    )
    return SalesRequestOut.of(made)


@router.get("/v1/orgs/{org_id}/sales-requests", summary="The organization's contact-sales requests")
def org_sales_requests(
    *, scope: OrgReader, cl: Engine, limit: Limit = 100
) -> list[SalesRequestOut]:
    return [SalesRequestOut.of(r) for r in cl.sales_requests(scope.org_id, limit)]


@router.get("/v1/orgs/{org_id}/sales-requests/{request_id}", summary="One contact-sales request")
def org_sales_request(*, scope: OrgReader, request_id: str, cl: Engine) -> SalesRequestOut:
    return SalesRequestOut.of(cl.sales_request(request_id, scope.org_id))


@router.get("/v1/sales-requests", summary="Every organization's contact-sales requests (operator)")
def sales_requests(*, cl: Engine, _: OperatorKey, limit: Limit = 100) -> list[SalesRequestOut]:
    return [SalesRequestOut.of(r) for r in cl.sales_requests(None, limit)]


@router.get("/v1/sales-requests/{request_id}", summary="One contact-sales request (operator)")
def sales_request(*, request_id: str, cl: Engine, _: OperatorKey) -> SalesRequestOut:
    return SalesRequestOut.of(cl.sales_request(request_id))
