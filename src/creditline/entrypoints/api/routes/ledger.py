"""Credits in and out: grants and adjustments (operators), spends, the balance and the
ledger's history."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from fastapi import Query
from pydantic import BaseModel

from creditline.domain.amounts import CostBasis
from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import Grant, GrantSource, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.entrypoints.api import answers
from creditline.entrypoints.api.codec import JsonBytes
from creditline.entrypoints.api.routes.common import Engine, EngineKey, Meter, make_router
from creditline.entrypoints.api.schemas.common import (
    CauseIn,
)
from creditline.entrypoints.api.schemas.ledger import (
    AdjustmentCreate,
    AdjustmentOut,
    BalanceOut,
    DebitOut,
    EntryOut,
    GrantCreate,
    GrantOut,
    SpendCreate,
)
from creditline.entrypoints.api.security import OrgOperator, OrgReader, OrgWriter
from creditline.services.spending import Debit, DebitResult, SpendCredits

router = make_router("credits")

__all__ = ["router"]


class LedgerPage(BaseModel):
    """Entries, newest first; ``next_cursor`` pages on to older ones (``null``: no more)."""

    items: list[EntryOut]
    next_cursor: str | None


def _cause(cause: CauseIn | None) -> Cause | None:
    return None if cause is None else Cause(cause.type, cause.ref)


@router.post(
    "/v1/orgs/{org_id}/grants",
    status_code=201,
    summary="Grant credits (operator); with a scope, credits for some operations only",
)
def create_grant(*, body: GrantCreate, scope: OrgOperator, cl: Engine, key: EngineKey) -> GrantOut:
    basis = body.cost_basis
    grant = cl.grant(
        scope.org_id,
        body.micros,
        body.kind,
        expires_at=body.expires_at,
        effective_at=body.effective_at,
        source=GrantSource(SourceType.OPERATOR, body.reason or "api"),
        cost_basis=None
        if basis is None
        else CostBasis(basis.unit_price_minor, basis.currency.upper()),
        metadata=body.metadata,
        idempotency_key=key,
        scope=body.scope_document(),
    )
    return GrantOut.of(grant)


@router.get("/v1/orgs/{org_id}/grants", summary="The organization's grants")
def list_grants(
    *,
    scope: OrgReader,
    cl: Engine,
    include_spent: Annotated[bool, Query(description="Also grants with nothing left.")] = True,
) -> list[GrantOut]:
    return [GrantOut.of(g) for g in cl.grants(scope.org_id, include_spent)]


@router.post(
    "/v1/orgs/{org_id}/adjustments",
    status_code=201,
    summary="Correct a balance (operator): a positive amount grants, a negative one takes",
)
def adjust(
    *, body: AdjustmentCreate, scope: OrgOperator, cl: Engine, key: EngineKey
) -> AdjustmentOut:
    done = cl.adjust(scope.org_id, body.micros, body.reason, idempotency_key=key)
    if isinstance(done, Grant):
        return AdjustmentOut(grant=GrantOut.of(done))
    return AdjustmentOut(debit=DebitOut.of(done))


@router.get("/v1/orgs/{org_id}/balance", summary="The balance now")
def balance(*, scope: OrgReader, cl: Engine) -> BalanceOut:
    return BalanceOut.of(cl.balance(scope.org_id))


@router.get("/v1/orgs/{org_id}/ledger", summary="Ledger history, newest first")
def ledger(
    *,
    scope: OrgReader,
    cl: Engine,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    cursor: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,18}$", description="next_cursor of a page.")
    ] = None,
    type: Annotated[list[EntryType] | None, Query(description="Only these types.")] = None,
    grant_id: Annotated[str | None, Query(max_length=40)] = None,
    cause_type: Annotated[CauseType | None, Query()] = None,
    cause_ref: Annotated[str | None, Query(min_length=1, max_length=200)] = None,
) -> LedgerPage:
    if (cause_type is None) != (cause_ref is None):
        raise InvalidSetting("cause", cause_type or cause_ref, "give cause_type and cause_ref")
    cause = None if cause_type is None or cause_ref is None else Cause(cause_type, cause_ref)
    entries = cl.history(
        scope.org_id,
        limit,
        before_id=None if cursor is None else int(cursor),
        types=type or (),
        grant_id=grant_id,
        cause=cause,
    )
    more = len(entries) == limit
    return LedgerPage(
        items=[EntryOut.of(e) for e in entries],
        next_cursor=str(entries[-1].id) if more and entries else None,
    )


@router.post(
    "/v1/orgs/{org_id}/spend", status_code=201, summary="Spend credits", response_model=DebitOut
)
async def spend(
    *, body: SpendCreate, scope: OrgWriter, cl: Engine, key: EngineKey, meter: Meter
) -> Any:
    debit = Debit(
        body.micros,
        cause=_cause(body.cause),
        project_id=body.project_id,
        member_id=body.member_id,
        idempotency_key=key,
        metadata=body.metadata,
        operation=body.operation,
        dimensions=None if body.dimensions is None else dict(body.dimensions),
    )
    results: list[DebitResult] = await asyncio.wrap_future(
        cl.submit(SpendCredits(scope.org_id, [debit], key_id=scope.principal.charging_key))
    )
    (result,) = results
    if result.error is not None:
        raise result.error
    if not result.replayed:
        meter.consumed.inc(result.amount)
    return JsonBytes(answers.debit(result), status_code=201)
