"""CloudEvents 1.0 ingest, as the CloudEvents SDK and OpenMeter's clients send it.

Two routes read the same events:

- ``POST /v1/events`` answers with a result per event (:class:`BatchOut`); a single
  event (structured or binary mode) that is rejected gets its problem's 4xx, with the
  result in ``results``;
- ``POST /api/v1/events`` answers as OpenMeter's ingest route does, so its clients work
  unchanged: **204** when every event is accepted, a duplicate or refused (stored with
  its reason); **400** problem details naming each bad event otherwise. An event that
  breaks the CloudEvents spec or creditline's field limits, or names no organization
  the key may see, makes the whole request 400 and nothing is recorded (OpenMeter too
  refuses a body it cannot read, whole). An event the engine rejects when it prices it
  (an unknown operation) is rejected alone: the others of the batch are recorded
  (``recorded`` counts them), so a corrected retry finds them as duplicates.

Content modes (the CloudEvents HTTP binding): *structured* (``application/
cloudevents+json``, or JSON with ``specversion``), *batch* (``application/
cloudevents-batch+json``, or a JSON array) and *binary* (the attributes in ``ce-*``
headers, ``data`` the body, its ``Content-Type`` the ``datacontenttype``). ``data`` may
come as ``data_base64``. ``subject`` is the organization's id or its ``external_ref``;
``time`` may be left out. How ``type`` and ``data`` become an operation and its
quantities: :mod:`creditline.entrypoints.jsonl`.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import unquote

from fastapi import Request, Response
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from creditline.bootstrap import Creditline
from creditline.domain import event_limits as limits
from creditline.domain.api_keys import Principal
from creditline.domain.errors import (
    CreditlineError,
    InvalidSetting,
    OrganizationNotFound,
    PermissionDenied,
    ValidationError,
)
from creditline.domain.event_limits import shown
from creditline.domain.usage import EventResult, EventStatus, UsageEvent
from creditline.entrypoints import exact_json, jsonl
from creditline.entrypoints.api.observability import Metrics
from creditline.entrypoints.api.problems import PROBLEM_JSON, http_problem, problem, problem_type
from creditline.entrypoints.api.routes.common import Engine, ExactRequest, Meter, make_router
from creditline.entrypoints.api.schema_rules import NOT_BLANK
from creditline.entrypoints.api.schemas.events import (
    BatchOut,
    EventResultOut,
    batch_out,
)
from creditline.entrypoints.api.security import AnyKey
from creditline.services.usage import RecordUsage

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


# -- reading the request ---------------------------------------------------------------


class _Malformed(Exception):
    """A body that is not JSON (or nested too deep): 400."""


async def _documents(request: Request) -> tuple[list[Any], bool]:
    """The request's events as decoded JSON values, and whether it sent a single event
    (structured or binary mode) rather than a batch."""
    headers = request.headers
    if "ce-specversion" in headers:
        return [await _binary(request)], True
    try:
        document = await ExactRequest(request.scope, request.receive).json()
    except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError included
        raise _Malformed("the body is not JSON") from exc
    if isinstance(document, list):
        return document, False
    return [document], True


async def _binary(request: Request) -> dict[str, Any]:
    """A binary-mode event: its attributes from the ``ce-*`` headers (percent-decoded),
    its data the body."""
    event: dict[str, Any] = {
        name[3:]: unquote(value)
        for name, value in request.headers.items()
        if name.startswith("ce-") and len(name) > 3
    }
    body = await request.body()
    kind = request.headers.get("content-type")
    if kind is not None:
        event["datacontenttype"] = kind
    if not body:
        return event
    if kind is None or jsonl.JSON_TYPE.match(kind):
        try:
            event["data"] = exact_json.loads(body)
        except ValueError as exc:
            raise _Malformed(f"the body (the event's data) is not JSON: {exc}") from exc
    else:
        event["data_base64"] = base64.b64encode(body).decode()
    return event


@dataclass(slots=True)
class _Item:
    """One event of the request as read: the event, or why it was rejected."""

    index: int
    ident: str
    event: UsageEvent | None = None
    error: CreditlineError | None = None


def _ident(document: Any) -> str:
    """The event's id as answers quote it: a long one cut short, a missing one empty."""
    found = document.get("id") if isinstance(document, dict) else None
    if not isinstance(found, str):
        return ""
    return found if len(found) <= limits.MAX_ID else shown(found)


def _read(documents: list[Any], cl: Creditline, who: Principal) -> list[_Item]:
    """Every event read and its ``subject`` resolved (an organization's id or its
    ``external_ref``); an organization the key may not see is not found."""
    now = cl.clock.now()
    items: list[_Item] = []
    for i, document in enumerate(documents):
        item = _Item(i, _ident(document))
        event, problems = jsonl.parse_event(document, now)
        if event is None or problems:
            item.error = ValidationError("; ".join(problems))
        else:
            item.event = event
        items.append(item)
    subjects = cl.resolve_orgs(it.event.org_id for it in items if it.event is not None)
    for item in items:
        if item.event is None:
            continue
        org_id = subjects.get(item.event.org_id)
        if org_id is None or not who.can_see(org_id):
            item.error = OrganizationNotFound(shown(item.event.org_id, limits.MAX_ID))
            item.event = None
        elif org_id != item.event.org_id:
            item.event = replace(item.event, org_id=org_id)
    return items


async def _record(cl: Creditline, items: list[_Item]) -> list[EventResult | None]:
    """Record the good events in one batch, awaited (the engine's group commit: no
    worker thread waits for the database); a result for each item (``None`` for one
    rejected before recording)."""
    good = [it for it in items if it.event is not None]
    events = [it.event for it in good if it.event is not None]
    results: list[EventResult] = (
        await asyncio.wrap_future(cl.submit(RecordUsage(events))) if events else []
    )
    answers: list[EventResult | None] = [None] * len(items)
    for item, result in zip(good, results, strict=True):
        answers[item.index] = result
    return answers


def _rejected(item: _Item) -> EventResult:
    error = item.error or ValidationError("rejected")
    return EventResult(item.ident, EventStatus.REJECTED, 0, str(error), error)


async def _ingest(
    request: Request, cl: Creditline, who: Principal
) -> tuple[list[_Item], bool] | Response:
    if not who.role.writes:
        raise PermissionDenied(who.role.value, "a key that may write")
    try:
        documents, single = await _documents(request)
    except _Malformed as exc:
        body = http_problem("malformed-request", str(exc), request.state.request_id)
        return JSONResponse(body, status_code=400, media_type=PROBLEM_JSON)
    if not documents:
        raise InvalidSetting("body", [], "at least one event")
    _check_size(request, len(documents))
    items = await run_in_threadpool(_read, documents, cl, who)
    return items, single


# -- the routes ------------------------------------------------------------------------

_ID_PATTERN = r"^[^/\x00-\x1f\x7f]+$"
_CE_EXAMPLE = {
    "specversion": "1.0",
    "id": "run-42",
    "source": "/trainer",
    "type": "train",
    "subject": "acme-42",
    "time": "2026-01-05T10:00:00Z",
    "data": {"quantities": {"attributes": 3}, "dimensions": {"mode": "Business"}},
}
_TEXT = {
    "type": "string",
    "minLength": 1,
    "pattern": rf"^[^\x00-\x1f\x7f]*{NOT_BLANK}[^\x00-\x1f\x7f]*$",
}
_CE_SCHEMA: dict[str, Any] = {
    "type": "object",
    "description": "A CloudEvent 1.0 (structured mode). Extension attributes (strings, "
    "numbers, true/false) are kept in the event's metadata.",
    "required": ["specversion", "id", "source", "type", "subject"],
    "properties": {
        "specversion": {"type": "string", "enum": ["1.0"]},
        "id": {**_TEXT, "maxLength": limits.MAX_ID, "pattern": _ID_PATTERN,
               "not": {"enum": [".", ".."]},
               "description": "The event id (exactly once); any printable characters "
               "but `/`."},
        "source": {**_TEXT, "maxLength": limits.MAX_SOURCE},
        "type": {**_TEXT, "maxLength": limits.MAX_ID, "description": "The operation."},
        "subject": {**_TEXT, "maxLength": limits.MAX_ID,
                    "description": "The organization: its id or its `external_ref`."},
        "time": {"type": "string", "format": "date-time",
                 "description": "When it happened; default: when first received."},
        "datacontenttype": {"type": "string", "pattern": r"^application/([\w.+-]+\+)?json"},
        "dataschema": {"type": "string"},
        "data": {"type": "object", "description": "Quantities and dimensions (see above)."},
        "data_base64": {"type": "string", "contentEncoding": "base64",
                        "description": "`data` as base64 of a JSON object."},
    },
    "additionalProperties": {"type": ["string", "integer", "boolean"],
                             "maxLength": limits.MAX_SOURCE},
    "not": {"required": ["data", "data_base64"]},
    "example": _CE_EXAMPLE,
}  # fmt: skip
_CE_BATCH = {
    "type": "array",
    "minItems": 1,
    "items": {
        "type": "object",
        "description": "A CloudEvent, as in structured mode; each is checked on its own and "
        "answered in `results` (a bad one is `rejected`).",
    },
}
_CE_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            CLOUDEVENTS: {"schema": _CE_SCHEMA},
            CLOUDEVENTS_BATCH: {"schema": _CE_BATCH},
            "application/json": {"schema": {"oneOf": [_CE_SCHEMA, _CE_BATCH]}},
        },
    }
}
_DESCRIPTION = """\
Structured mode (one event), batch mode (an array) or binary mode (the attributes in
`ce-*` headers, the data as the body). `subject` is the organization (its id or its
`external_ref`), `type` the operation, `id` the event id (exactly once), `time` its time
(default: when first received); `data` (or `data_base64`) holds quantities, dimensions,
project, member, steps and metadata, or is flat: numbers (and decimal strings) are
quantities, other strings dimensions, as OpenMeter's meters send them. An organization's
key may only send its own organization's events (others are not found).

A batch answers 200 with a result per event. A single event answers 200 when it was
accepted, refused (stored, with its reason) or a duplicate, and with its problem (4xx,
the result in `results`) when it was rejected.

The same events are read at `/api/v1/events`, answered as OpenMeter's ingest route
answers: 204 when every event is accepted, refused or a duplicate; 400 naming each bad
event otherwise (see the README)."""


@router.post(
    "/v1/events",
    summary="Ingest CloudEvents 1.0 (structured, batch or binary mode): a result per event",
    description=_DESCRIPTION,
    openapi_extra=_CE_BODY,
    response_model=BatchOut,
)
async def ingest_cloudevents(
    *, request: Request, cl: Engine, who: AnyKey, meter: Meter
) -> Response:
    read = await _ingest(request, cl, who)
    if isinstance(read, Response):
        return read
    items, single = read
    answers = await _record(cl, items)
    results = [a if a is not None else _rejected(it) for it, a in zip(items, answers, strict=True)]
    _count(meter, results)
    out = [EventResultOut.of(r, i, _problem_of(r)) for i, r in enumerate(results)]
    if single and results[0].status is EventStatus.REJECTED and results[0].error is not None:
        detail = problem(results[0].error, request.state.request_id)
        detail["results"] = [o.model_dump(mode="json") for o in out]
        return JSONResponse(detail, status_code=detail["status"], media_type=PROBLEM_JSON)
    return JSONResponse(batch_out(out).model_dump(mode="json"))


@router.post(
    "/api/v1/events",
    include_in_schema=False,
    status_code=204,
    response_class=Response,
)
async def ingest_openmeter(*, request: Request, cl: Engine, who: AnyKey, meter: Meter) -> Response:
    read = await _ingest(request, cl, who)
    if isinstance(read, Response):
        return read
    items, _ = read
    bad = [it for it in items if it.event is None]
    if bad:  # nothing recorded
        return _invalid_events(request, bad, recorded=0)
    answers = await _record(cl, items)
    results = [a for a in answers if a is not None]
    _count(meter, results)
    for item, result in zip(items, answers, strict=True):
        if result is not None and result.status is EventStatus.REJECTED:
            item.error = result.error or ValidationError(result.reason or "rejected")
    bad = [it for it in items if it.error is not None]
    if bad:
        return _invalid_events(request, bad, recorded=len(items) - len(bad))
    return Response(status_code=204)


def _invalid_events(request: Request, bad: list[_Item], recorded: int) -> JSONResponse:
    errors = [
        {
            "field": f"events[{it.index}]",
            "index": it.index,
            "event_id": it.ident,
            "message": str(it.error),
            "problem": problem_type(it.error).uri if it.error is not None else None,
        }
        for it in bad
    ]
    kept = "nothing was recorded" if recorded == 0 else f"the other {recorded} were recorded"
    detail = f"{len(bad)} invalid event{'' if len(bad) == 1 else 's'}; {kept}"
    body = http_problem(
        "invalid-events", detail, request.state.request_id, errors=errors, recorded=recorded
    )
    return JSONResponse(body, status_code=400, media_type=PROBLEM_JSON)
