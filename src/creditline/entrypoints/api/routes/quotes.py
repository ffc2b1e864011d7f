"""Binding quotes (C3): issue one, read it, list an organization's. A usage event
(``quote_id``) or a reservation's commit (``quote_id``) uses it."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

from fastapi import Query

from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schemas.events import pricing_steps
from creditline.entrypoints.api.schemas.quotes import BindingQuoteIn, BindingQuoteOut
from creditline.entrypoints.api.security import OrgReader, OrgWriter

router = make_router("usage")

__all__ = ["router"]


@router.post(
    "/v1/orgs/{org_id}/quotes",
    status_code=201,
    summary="Issue a binding quote: the price of one use, held for valid_for_seconds",
    description="Prices the usage by the organization's rate card in force now, and stores "
    "the quote with its breakdown. A usage event (or a reservation's commit) sent with "
    "`quote_id` before `expires_at` is charged `total`, even if a new rate card version "
    "took effect in between, once; an expired or used quote is refused (409 "
    "`quote-expired`, `quote-used`), usage other than quoted is 422 `quote-mismatch`.",
)
def issue_quote(*, body: BindingQuoteIn, scope: OrgWriter, cl: Engine) -> BindingQuoteOut:
    quote = cl.issue_quote(
        scope.org_id,
        body.operation,
        dict(body.quantities or {}),
        dict(body.dimensions or {}),
        steps=pricing_steps(body.steps),
        valid_for=timedelta(seconds=body.valid_for_seconds),
    )  # fmt: skip
    return BindingQuoteOut.of(quote, cl.clock.now())


@router.get("/v1/orgs/{org_id}/quotes", summary="The organization's binding quotes, newest first")
def list_quotes(
    *, scope: OrgReader, cl: Engine, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[BindingQuoteOut]:
    now = cl.clock.now()
    return [BindingQuoteOut.of(q, now) for q in cl.binding_quotes(scope.org_id, limit)]


@router.get("/v1/orgs/{org_id}/quotes/{quote_id}", summary="One binding quote and its state")
def get_quote(*, scope: OrgReader, quote_id: str, cl: Engine) -> BindingQuoteOut:
    return BindingQuoteOut.of(cl.binding_quote(scope.org_id, quote_id), cl.clock.now())
