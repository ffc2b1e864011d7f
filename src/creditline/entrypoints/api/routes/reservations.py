"""Reservations: two-phase holds for long operations (C6)."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Query

from creditline.domain.ledger import Cause
from creditline.domain.reservations import ReservationStatus
from creditline.entrypoints.api.routes.common import Engine, EngineKey, Meter, make_router
from creditline.entrypoints.api.schemas import (
    CommitIn,
    ReservationCreate,
    ReservationOut,
    SettlementOut,
)
from creditline.entrypoints.api.security import OrgReader, OrgWriter

router = make_router("reservations")

__all__ = ["router"]


@router.post(
    "/v1/orgs/{org_id}/reservations",
    status_code=201,
    summary="Hold credits for a running operation (402 when they are not there)",
)
def reserve(
    *, body: ReservationCreate, scope: OrgWriter, cl: Engine, key: EngineKey
) -> ReservationOut:
    hold = cl.reserve(
        scope.org_id,
        body.micros,
        ttl=timedelta(seconds=body.ttl_seconds),
        cause=None if body.cause is None else Cause(body.cause.type, body.cause.ref),
        project_id=body.project_id,
        member_id=body.member_id,
        idempotency_key=key,
        metadata=body.metadata,
    )
    return ReservationOut.of(hold)


@router.get("/v1/orgs/{org_id}/reservations", summary="The organization's reservations")
def list_reservations(
    *,
    scope: OrgReader,
    cl: Engine,
    status: ReservationStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[ReservationOut]:
    return [ReservationOut.of(r) for r in cl.reservations(scope.org_id, status, limit)]


@router.get("/v1/orgs/{org_id}/reservations/{reservation_id}", summary="One reservation")
def get_reservation(*, scope: OrgReader, reservation_id: str, cl: Engine) -> ReservationOut:
    return ReservationOut.of(cl.reservation(scope.org_id, reservation_id))


@router.post(
    "/v1/orgs/{org_id}/reservations/{reservation_id}/commit",
    summary="Charge the actual cost: from the hold first, then the grants",
)
def commit(
    *, body: CommitIn, scope: OrgWriter, reservation_id: str, cl: Engine, meter: Meter
) -> SettlementOut:
    settled = cl.commit(scope.org_id, reservation_id, body.micros, final=body.final)
    if not settled.replayed:
        meter.consumed.inc(settled.consumed)
    return SettlementOut.of(settled)


@router.post(
    "/v1/orgs/{org_id}/reservations/{reservation_id}/release",
    summary="Give the whole hold back (the operation failed)",
)
def release(*, scope: OrgWriter, reservation_id: str, cl: Engine) -> SettlementOut:
    return SettlementOut.of(cl.release(scope.org_id, reservation_id))
