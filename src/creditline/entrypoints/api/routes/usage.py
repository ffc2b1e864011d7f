"""Usage: events one by one or in batches (JSON or CloudEvents 1.0), their corrections,
quotes, and usage reports."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any

from fastapi import Query, Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from creditline.domain.api_keys import Principal
from creditline.domain.errors import (
    InvalidSetting,
    OrganizationNotFound,
    PermissionDenied,
    ValidationError,
)
from creditline.domain.pricing import Step
from creditline.domain.usage import EventResult, EventStatus, UsageEvent, UsageStep
from creditline.entrypoints import jsonl
from creditline.entrypoints.api.observability import Metrics
from creditline.entrypoints.api.problems import PROBLEM_JSON, http_problem, problem, problem_type
from creditline.entrypoints.api.routes.common import Engine, ExactRequest, Meter, make_router
from creditline.entrypoints.api.schemas import (
    AmendIn,
    BatchOut,
    EventResultOut,
    OverviewOut,
    QuoteIn,
    QuoteOut,
    StepIn,
    StoredUsageOut,
    UsageBatchIn,
    UsageEventIn,
    UsageReportOut,
    batch_out,
)
from creditline.entrypoints.api.security import AnyKey, OrgOperator, OrgReader, OrgWriter
from creditline.entrypoints.usage_export import usage_report_csv

router = make_router("usage")

__all__ = ["router"]

CLOUDEVENTS = "application/cloudevents+json"
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"


def _steps(steps: Sequence[StepIn] | None) -> tuple[UsageStep, ...]:
    return tuple(
        UsageStep(s.operation, dict(s.quantities or {}), dict(s.dimensions or {}))
        for s in steps or ()
    )


def _event(org_id: str, body: UsageEventIn, now: datetime) -> UsageEvent:
    return UsageEvent(
        event_id=body.event_id,
        org_id=org_id,
        operation=body.operation,
        occurred_at=body.occurred_at or now,
        quantities=dict(body.quantities or {}),
        dimensions=dict(body.dimensions or {}),
        project_id=body.project_id,
        member_id=body.member_id,
        parent_id=body.parent_id,
        steps=_steps(body.steps),
        metadata=dict(body.metadata or {}),
    )


def _problem_of(result: EventResult) -> str | None:
    return None if result.error is None else problem_type(result.error).uri


def _count(meter: Metrics, results: Sequence[EventResult]) -> None:
    for r in results:
        meter.events.labels(r.status.value).inc()
        if r.status is EventStatus.ACCEPTED:
            meter.consumed.inc(r.cost)


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
def record_event(
    *, body: UsageEventIn, scope: OrgWriter, cl: Engine, meter: Meter, request: Request
) -> Any:
    (result,) = cl.record_usage([_event(scope.org_id, body, cl.clock.now())])
    _count(meter, [result])
    out = EventResultOut.of(result, problem=_problem_of(result))
    if result.error is not None:  # refused (402, 403; stored) or rejected (422, 404)
        detail = problem(result.error, request.state.request_id)
        detail["event"] = out.model_dump(mode="json")
        return JSONResponse(detail, status_code=detail["status"], media_type=PROBLEM_JSON)
    status = 200 if result.status is EventStatus.DUPLICATE else 201
    return JSONResponse(out.model_dump(mode="json"), status_code=status)


@router.post(
    "/v1/orgs/{org_id}/usage/batch",
    summary="Record a batch of usage events: a result per event",
    description="The batch is one transaction: every accepted or refused event is durable "
    "before the answer. Each event is accepted, refused, rejected (bad input; not stored) "
    "or a duplicate of an event id already recorded.",
)
def record_batch(
    *, body: UsageBatchIn, scope: OrgWriter, cl: Engine, meter: Meter, request: Request
) -> BatchOut:
    _check_size(request, len(body.events))
    now = cl.clock.now()
    results = cl.record_usage([_event(scope.org_id, e, now) for e in body.events])
    _count(meter, results)
    return batch_out([EventResultOut.of(r, i, _problem_of(r)) for i, r in enumerate(results)])


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


@router.post("/v1/orgs/{org_id}/quote", summary="What an operation would cost; spends nothing")
def quote(*, body: QuoteIn, scope: OrgReader, cl: Engine) -> QuoteOut:
    found = cl.quote(
        scope.org_id,
        body.operation,
        dict(body.quantities or {}),
        dict(body.dimensions or {}),
        steps=[Step(s.operation, dict(s.quantities or {}), dict(s.dimensions or {}))
               for s in body.steps or ()],
        at=body.at,
        rate_card=body.rate_card,
    )  # fmt: skip
    return QuoteOut(**found.to_dict())


# -- CloudEvents -------------------------------------------------------------------------

_CE_EXAMPLE = {
    "specversion": "1.0",
    "id": "run-42",
    "source": "/trainer",
    "type": "train",
    "subject": "org_...",
    "time": "2026-01-05T10:00:00Z",
    "data": {"quantities": {"attributes": 3}, "dimensions": {"mode": "Business"}},
}
_CE_SCHEMA = {"type": "object", "additionalProperties": True, "example": _CE_EXAMPLE}
_CE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            CLOUDEVENTS: {"schema": _CE_SCHEMA},
            CLOUDEVENTS_BATCH: {"schema": {"type": "array", "items": _CE_SCHEMA}},
            "application/json": {
                "schema": {"oneOf": [_CE_SCHEMA, {"type": "array", "items": _CE_SCHEMA}]}
            },
        },
    }
}


def _visible(who: Principal, event: UsageEvent) -> bool:
    return who.can_see(event.org_id)


@router.post(
    "/v1/events",
    summary="Ingest CloudEvents 1.0 (structured or batch mode): a result per event",
    description="`subject` is the organization, `type` the operation, `id` the event id, "
    "`time` its time; `data` holds quantities, dimensions, project, member, steps and "
    "metadata, or is flat (numbers are quantities, strings dimensions), as OpenMeter's "
    "clients send it. The same route answers at `/api/v1/events`. An organization's key "
    "may only send its own organization's events (others are rejected as not found).",
    openapi_extra=_CE_BODY,
    response_model=BatchOut,
)
async def ingest_cloudevents(
    *, request: Request, cl: Engine, who: AnyKey, meter: Meter
) -> BatchOut:
    if not who.role.writes:
        raise PermissionDenied(who.role.value, "a key that may write")
    try:
        document = await ExactRequest(request.scope, request.receive).json()
    except ValueError:  # JSONDecodeError included
        body = http_problem("malformed-request", "the body is not JSON", request.state.request_id)
        return JSONResponse(body, status_code=400, media_type=PROBLEM_JSON)  # type: ignore[return-value]
    items = document if isinstance(document, list) else [document]
    if not items:
        raise InvalidSetting("body", [], "at least one event")
    _check_size(request, len(items))
    now = cl.clock.now()
    slots: list[EventResultOut | None] = []
    good: list[tuple[int, UsageEvent]] = []
    for i, item in enumerate(items):
        event, problems = jsonl.parse_event(item, now)
        if event is None or problems:
            ident = item.get("id") if isinstance(item, dict) else None
            slots.append(_rejected(i, ident if isinstance(ident, str) else "", problems))
        elif not _visible(who, event):
            error = OrganizationNotFound(event.org_id)
            result = EventResult(event.event_id, EventStatus.REJECTED, 0, str(error), error)
            slots.append(EventResultOut.of(result, i, _problem_of(result)))
        else:
            slots.append(None)
            good.append((i, event))
    results = await run_in_threadpool(cl.record_usage, [e for _, e in good])
    _count(meter, results)
    for (i, _), result in zip(good, results, strict=True):
        slots[i] = EventResultOut.of(result, i, _problem_of(result))
    return batch_out([s for s in slots if s is not None])


def _rejected(index: int, event_id: str, problems: Sequence[str]) -> EventResultOut:
    error = ValidationError("; ".join(problems))
    result = EventResult(event_id, EventStatus.REJECTED, 0, str(error), error)
    return EventResultOut.of(result, index, problem_type(error).uri)


router.add_api_route(
    "/api/v1/events",
    ingest_cloudevents,
    methods=["POST"],
    include_in_schema=False,
    response_model=BatchOut,
)


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
        list[str] | None, Query(description="Any of project, operation, member (repeat).")
    ] = None,
    period: Annotated[
        str | None,
        Query(
            pattern="^(day|week|month)$",
            description="UTC days (2026-01-05), ISO weeks (2026-W02) or months (2026-01).",
        ),
    ] = None,
    since: Annotated[datetime | None, Query(description="From (inclusive).")] = None,
    until: Annotated[datetime | None, Query(description="To (exclusive); default now.")] = None,
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
def overview(*, scope: OrgReader, cl: Engine) -> OverviewOut:
    return OverviewOut.of(cl.overview(scope.org_id))
