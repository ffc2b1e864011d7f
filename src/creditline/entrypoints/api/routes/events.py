"""CloudEvents 1.0 ingest: ``POST /v1/events`` (a result per event) and the same route at
``/api/v1/events``, where OpenMeter's clients send their events."""

from __future__ import annotations

from collections.abc import Sequence

from fastapi import Request
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from creditline.domain.api_keys import Principal
from creditline.domain.errors import (
    InvalidSetting,
    OrganizationNotFound,
    PermissionDenied,
    ValidationError,
)
from creditline.domain.usage import EventResult, EventStatus, UsageEvent
from creditline.entrypoints import jsonl
from creditline.entrypoints.api.observability import Metrics
from creditline.entrypoints.api.problems import PROBLEM_JSON, http_problem, problem_type
from creditline.entrypoints.api.routes.common import Engine, ExactRequest, Meter, make_router
from creditline.entrypoints.api.schemas import BatchOut, EventResultOut, batch_out
from creditline.entrypoints.api.security import AnyKey

router = make_router("usage")

__all__ = ["router"]

CLOUDEVENTS = "application/cloudevents+json"
CLOUDEVENTS_BATCH = "application/cloudevents-batch+json"


def _problem_of(result: EventResult) -> str | None:
    return None if result.error is None else problem_type(result.error).uri


def _count(meter: Metrics, results: Sequence[EventResult]) -> None:
    for r in results:
        meter.events.labels(r.status.value).inc()
        if r.status is EventStatus.ACCEPTED:
            meter.consumed.inc(r.cost)


def _check_size(request: Request, count: int) -> None:
    limit = request.app.state.settings.max_batch
    if count > limit:
        raise InvalidSetting("events", count, f"a batch holds at most {limit} events")


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
