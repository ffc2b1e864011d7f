"""Operators' routes: API keys, the scheduler's tick, the ledger's verification."""

from __future__ import annotations

from typing import Annotated

from fastapi import Query

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.admin import (
    ApiKeyCreate,
    ApiKeyOut,
    IssuedKeyOut,
    TickOut,
    VerifyOut,
)
from creditline.entrypoints.api.security import OperatorKey, OrgReader

router = make_router("operations")

__all__ = ["router"]


@router.post(
    "/v1/api-keys",
    status_code=201,
    summary="Make an API key (operator); its text is in `key`, shown this once",
)
def create_api_key(*, body: ApiKeyCreate, cl: Engine, _: OperatorKey) -> IssuedKeyOut:
    issued = cl.create_api_key(
        body.role, body.org_id, name=body.name, expires_at=body.expires_at,
        cap=body.cap_micros, cap_window=body.cap_window, operations=body.operations,
    )  # fmt: skip
    return IssuedKeyOut.issued(issued)


@router.get("/v1/api-keys", summary="API keys, never their secrets (operator)")
def list_api_keys(
    *,
    cl: Engine,
    _: OperatorKey,
    org_id: Annotated[str | None, Query(max_length=40)] = None,
    include_revoked: bool = True,
) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in cl.api_keys(org_id, include_revoked)]


@router.get("/v1/api-keys/{key_id}", summary="One API key (operator)")
def get_api_key(*, key_id: str, cl: Engine, _: OperatorKey) -> ApiKeyOut:
    return ApiKeyOut.of(cl.api_key(key_id))


@router.post(
    "/v1/api-keys/{key_id}/revoke", summary="Revoke an API key (operator): it stops at once"
)
def revoke_api_key(*, key_id: str, cl: Engine, _: OperatorKey) -> ApiKeyOut:
    return ApiKeyOut.of(cl.revoke_api_key(key_id))


@router.get(
    "/v1/orgs/{org_id}/api-keys",
    summary="The organization's API keys, each capped one with its cap, used and room",
)
def org_api_keys(*, scope: OrgReader, cl: Engine) -> list[ApiKeyOut]:
    return [ApiKeyOut.of(k) for k in cl.api_keys(scope.org_id)]


@router.post("/v1/tick", summary="Run the scheduler once (operator)")
def tick(*, cl: Engine, _: OperatorKey) -> TickOut:
    report = cl.tick()
    return TickOut(
        at=report.at,
        ok=report.ok,
        jobs=[
            {"name": j.name, "summary": dict(j.summary), "seconds": j.seconds,
             "errors": [str(e) for e in j.errors]}
            for j in report.jobs
        ],
    )  # fmt: skip


@router.get("/v1/verify", summary="Check every balance against the ledger (operator)")
def verify(*, cl: Engine, _: OperatorKey) -> VerifyOut:
    report = cl.verify()
    return VerifyOut(
        ok=report.ok,
        organizations=report.organizations,
        grants=report.grants,
        problems=[str(p) for p in report.problems],
    )
