"""Reservations: two-phase holds for long operations (C6).

Holding, extending (a heartbeat), increasing, committing and releasing go through
:meth:`Creditline.submit` and are awaited: no request waits in a worker thread for the
database."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Annotated, Any

from fastapi import Query

from creditline.bootstrap import Creditline
from creditline.domain.ledger import Cause
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.entrypoints.api import answers
from creditline.entrypoints.api.codec import JsonBytes
from creditline.entrypoints.api.routes.common import Engine, EngineKey, Meter, make_router
from creditline.entrypoints.api.schemas.reservations import (
    CommitIn,
    ExtendIn,
    IncreaseIn,
    ReservationCreate,
    ReservationOut,
    SettlementOut,
)
from creditline.entrypoints.api.security import OrgReader, OrgWriter
from creditline.services.reservations import Extend, Increase, Reserve, Settle, Settlement

router = make_router("reservations")

__all__ = ["router"]


async def _settle(cl: Creditline, command: Settle) -> Settlement:
    settled: Settlement = await asyncio.wrap_future(cl.submit(command))
    return settled


@router.post(
    "/v1/orgs/{org_id}/reservations",
    status_code=201,
    summary="Hold credits for a running operation (402 when they are not there)",
    response_model=ReservationOut,
)
async def reserve(*, body: ReservationCreate, scope: OrgWriter, cl: Engine, key: EngineKey) -> Any:
    command = Reserve(
        org_id=scope.org_id,
        amount=body.micros,
        ttl=timedelta(seconds=body.ttl_seconds),
        cause=None if body.cause is None else Cause(body.cause.type, body.cause.ref),
        project_id=body.project_id,
        member_id=body.member_id,
        idempotency_key=key,
        metadata=body.metadata or {},
        operation=body.operation,
        dimensions=None if body.dimensions is None else dict(body.dimensions),
        key_id=scope.principal.charging_key,
    )
    hold: Reservation = await asyncio.wrap_future(cl.submit(command))
    return JsonBytes(answers.reservation(hold), status_code=201)


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
    response_model=SettlementOut,
)
async def commit(
    *, body: CommitIn, scope: OrgWriter, reservation_id: str, cl: Engine, meter: Meter
) -> Any:
    command = Settle(scope.org_id, reservation_id, body.micros, body.final, body.quote_id)
    settled = await _settle(cl, command)
    if not settled.replayed:
        meter.consumed.inc(settled.consumed)
    return JsonBytes(answers.settlement(settled))


@router.post(
    "/v1/orgs/{org_id}/reservations/{reservation_id}/extend",
    summary="A heartbeat: the open hold now expires ttl_seconds from now",
    description="Pushes an open hold's expiry to now + `ttl_seconds` while its operation "
    "runs; an expiry earlier than the hold's own changes nothing (a hold is never "
    "shortened). The new expiry may not pass the hold's creation plus its plan's "
    "`max_hold_hours` (default 30 days): 422, naming the limit. A settled, released or "
    "expired hold: 409. Writes no ledger entry.",
    response_model=ReservationOut,
)
async def extend(*, body: ExtendIn, scope: OrgWriter, reservation_id: str, cl: Engine) -> Any:
    command = Extend(scope.org_id, reservation_id, timedelta(seconds=body.ttl_seconds))
    hold: Reservation = await asyncio.wrap_future(cl.submit(command))
    return JsonBytes(answers.reservation(hold))


@router.post(
    "/v1/orgs/{org_id}/reservations/{reservation_id}/increase",
    summary="Hold more credits in an open hold (402 when they are not there)",
    description="Draws `amount` more from the grants into the same hold, as a reservation "
    "draws them (consumption order, scoped grants, never flex), with one `reserve` entry "
    "per grant naming the reservation; refused whole (402) otherwise. A settled, "
    "released or expired hold: 409. With `Idempotency-Key` a retry draws nothing more.",
    response_model=ReservationOut,
)
async def increase(
    *, body: IncreaseIn, scope: OrgWriter, reservation_id: str, cl: Engine, key: EngineKey
) -> Any:
    command = Increase(scope.org_id, reservation_id, body.micros, key)
    hold: Reservation = await asyncio.wrap_future(cl.submit(command))
    return JsonBytes(answers.reservation(hold))


@router.post(
    "/v1/orgs/{org_id}/reservations/{reservation_id}/release",
    summary="Give the whole hold back (the operation failed)",
    response_model=SettlementOut,
)
async def release(*, scope: OrgWriter, reservation_id: str, cl: Engine) -> Any:
    settled = await _settle(cl, Settle(scope.org_id, reservation_id, None))
    return JsonBytes(answers.settlement(settled))
