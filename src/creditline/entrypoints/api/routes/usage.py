"""Usage: events one by one or in batches (CloudEvents: :mod:`.events`), their
corrections, quotes, and usage reports."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Sequence
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.exceptions import RequestValidationError
from pydantic import Field

from creditline.bootstrap import Creditline
from creditline.domain.errors import InvalidSetting
from creditline.domain.usage import EventResult, EventStatus, UsageEvent
from creditline.entrypoints.api import answers
from creditline.entrypoints.api.batch import event_of, missing_body, read_batch
from creditline.entrypoints.api.codec import JsonBytes, decode
from creditline.entrypoints.api.observability import Metrics
from creditline.entrypoints.api.problems import PROBLEM_JSON, problem, problem_type
from creditline.entrypoints.api.routes.common import Engine, Meter, make_router
from creditline.entrypoints.api.schemas.common import (
    TimeQuery,
)
from creditline.entrypoints.api.schemas.events import (
    BatchOut,
    EventResultOut,
    UsageEventIn,
    pricing_steps,
)
from creditline.entrypoints.api.schemas.ledger import (
    GrantOut,
)
from creditline.entrypoints.api.schemas.usage import (
    AmendIn,
    CreditBackIn,
    OverviewOut,
    QuoteIn,
    QuoteOut,
    StoredUsageOut,
    UsageReportOut,
)
from creditline.entrypoints.api.security import OrgOperator, OrgReader, OrgScope, OrgWriter
from creditline.entrypoints.usage_export import usage_report_csv
from creditline.services.usage import RecordUsage

GroupColumn = Annotated[
    str, Field(max_length=20, json_schema_extra={"enum": ["project", "operation", "member"]})
]
"""A column of the usage report; the document lists them, the engine checks them (422
``invalid-setting``, as the library and the client answer)."""

router = make_router("usage")

__all__ = ["router"]


def _problem_of(result: EventResult) -> str | None:
    return None if result.error is None else problem_type(result.error).uri


def _count(meter: Metrics, results: Sequence[EventResult]) -> None:
    for status, count in Counter(r.status.value for r in results).items():
        meter.events.labels(status).inc(count)
    charged = answers.accepted(results)
    if charged:
        meter.consumed.inc(charged)


async def _record(cl: Creditline, events: list[UsageEvent], scope: OrgScope) -> list[EventResult]:
    """Record ``events`` (one transaction, shared with other callers'), once durable; a
    limited key's operations and cap apply."""
    command = RecordUsage(events, scope.principal.charging_key)
    results: list[EventResult] = await asyncio.wrap_future(cl.submit(command))
    return results


_EVENT_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {"model": EventResultOut, "description": "A duplicate: the first outcome."},
    201: {"model": EventResultOut, "description": "Accepted and charged; durable."},
}


@router.post(
    "/v1/orgs/{org_id}/usage",
    status_code=201,
    summary="Record one usage event (exactly once by its event_id)",
    response_model=EventResultOut,
    responses=_EVENT_RESPONSES,
)
async def record_event(
    *, body: UsageEventIn, scope: OrgWriter, cl: Engine, meter: Meter, request: Request
) -> Any:
    (result,) = await _record(cl, [event_of(scope.org_id, body)], scope)
    _count(meter, [result])
    out = answers.event_result(result)
    if result.error is not None:  # refused (402, 403; stored) or rejected (422, 404)
        detail = problem(result.error, request.state.request_id)
        detail["event"] = out
        return JsonBytes(detail, status_code=detail["status"], media_type=PROBLEM_JSON)
    status = 200 if result.status is EventStatus.DUPLICATE else 201
    return JsonBytes(out, status_code=status)


_BATCH_BODY = {
    "requestBody": {
        "content": {"application/json": {"schema": {"$ref": "#/components/schemas/UsageBatchIn"}}},
        "required": True,
    }
}


def _json_media(content_type: str | None) -> bool:
    """Whether FastAPI would read a body of this content type as JSON."""
    if not content_type:
        return True
    media = content_type.split(";", 1)[0].strip().lower()
    kind, _, subtype = media.partition("/")
    return kind == "application" and (subtype == "json" or subtype.endswith("+json"))


@router.post(
    "/v1/orgs/{org_id}/usage/batch",
    summary="Record a batch of usage events: a result per event",
    description="The batch is one transaction: every accepted or refused event is durable "
    "before the answer. Each event is accepted, refused, rejected (bad input; not stored) "
    "or a duplicate of an event id already recorded.",
    response_model=BatchOut,
    openapi_extra=_BATCH_BODY,
)
async def record_batch(*, scope: OrgWriter, cl: Engine, meter: Meter, request: Request) -> Any:
    raw = await request.body()
    if not raw:
        raise missing_body()
    document: Any = raw
    if _json_media(request.headers.get("content-type")):
        try:
            document = decode(raw)
        except ValueError as exc:
            raise RequestValidationError(
                [{"type": "json_invalid", "loc": ("body", 0), "msg": "JSON decode error",
                  "input": {}, "ctx": {"error": str(exc)}}]
            ) from None  # fmt: skip
    events = read_batch(scope.org_id, document)
    _check_size(request, len(events))
    results = await _record(cl, events, scope)
    _count(meter, results)
    return JsonBytes(answers.batch([answers.event_result(r, i) for i, r in enumerate(results)]))


def _check_size(request: Request, count: int) -> None:
    limit = request.app.state.settings.max_batch
    if count > limit:
        raise InvalidSetting("events", count, f"a batch holds at most {limit} events")


@router.get("/v1/orgs/{org_id}/usage", summary="The organization's latest usage events")
def list_events(
    *, scope: OrgReader, cl: Engine, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[StoredUsageOut]:
    return [StoredUsageOut.of(s) for s in cl.usage_events(scope.org_id, limit)]


@router.get("/v1/orgs/{org_id}/usage/{event_id}", summary="One usage event")
def get_event(*, scope: OrgReader, event_id: str, cl: Engine) -> StoredUsageOut:
    return StoredUsageOut.of(cl.usage_event(scope.org_id, event_id))


@router.post(
    "/v1/orgs/{org_id}/usage/{event_id}/void",
    summary="Void an event (operator): its credits go back to the grants that paid",
)
def void_event(*, scope: OrgOperator, event_id: str, cl: Engine) -> StoredUsageOut:
    return StoredUsageOut.of(cl.void_event(scope.org_id, event_id))


@router.post(
    "/v1/orgs/{org_id}/usage/{event_id}/amend",
    summary="Amend an event (operator): re-priced at its own time, the difference charged "
    "or given back",
)
def amend_event(*, body: AmendIn, scope: OrgOperator, event_id: str, cl: Engine) -> StoredUsageOut:
    stored = cl.amend_event(
        scope.org_id,
        event_id,
        dict(body.quantities),
        None if body.dimensions is None else dict(body.dimensions),
    )
    return StoredUsageOut.of(stored)


@router.post(
    "/v1/orgs/{org_id}/usage/{event_id}/credit-back",
    status_code=201,
    summary="Credit back an event's fee (operator): a refund grant caused by the event, "
    "once per event",
)
def credit_back(*, body: CreditBackIn, scope: OrgOperator, event_id: str, cl: Engine) -> GrantOut:
    return GrantOut.of(cl.credit_back(scope.org_id, event_id, body.reason))


@router.post("/v1/orgs/{org_id}/quote", summary="What an operation would cost; spends nothing")
def quote(*, body: QuoteIn, scope: OrgReader, cl: Engine) -> QuoteOut:
    found = cl.quote(
        scope.org_id,
        body.operation,
        dict(body.quantities or {}),
        dict(body.dimensions or {}),
        steps=pricing_steps(body.steps),
        at=body.at,
        rate_card=body.rate_card,
    )  # fmt: skip
    return QuoteOut(**found.to_dict())


# -- reports -----------------------------------------------------------------------------


@router.get(
    "/v1/orgs/{org_id}/reports/usage",
    summary="Accepted usage grouped by project, operation, member and period",
    responses={200: {"content": {"text/csv": {}}, "description": "JSON, or CSV (format=csv)."}},
    response_model=UsageReportOut,
)
def usage_report(
    *,
    scope: OrgReader,
    cl: Engine,
    group_by: Annotated[
        list[GroupColumn] | None,
        Query(description="Any of project, operation, member (repeat)."),
    ] = None,
    period: Annotated[
        str | None,
        Query(
            pattern="^(day|week|month)$",
            description="UTC days (2026-01-05), ISO weeks (2026-W02) or months (2026-01).",
        ),
    ] = None,
    since: Annotated[TimeQuery | None, Query(description="From (inclusive).")] = None,
    until: Annotated[TimeQuery | None, Query(description="To (exclusive); default now.")] = None,
    format: Annotated[str, Query(pattern="^(json|csv)$")] = "json",
) -> Any:
    report = cl.usage_report(
        scope.org_id,
        tuple(group_by) if group_by is not None else ("project",),
        since,
        until,
        period=period,
    )
    if format == "csv":
        return Response(usage_report_csv(report), media_type="text/csv")
    return UsageReportOut.of(report, period)


@router.get(
    "/v1/orgs/{org_id}/overview",
    summary="The dashboard's data: credits by kind, state, cycle, burn-down, forecast",
)
def overview(
    *,
    scope: OrgReader,
    cl: Engine,
    history_days: Annotated[
        int,
        Query(ge=0, le=366, description="At least this many days of burn-down history."),
    ] = 0,
) -> OverviewOut:
    return OverviewOut.of(cl.overview(scope.org_id, history_days=history_days))
