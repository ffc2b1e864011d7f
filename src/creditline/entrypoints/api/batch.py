"""The body of ``POST /v1/orgs/{org_id}/usage/batch``, read without a pydantic model per
event.

A batch of 1,000 events validated as 1,000 pydantic models costs the request more than
the engine's work on it. :func:`read_batch` takes the decoded body (numbers exact,
:mod:`.codec`) and, for the usual shape of an event (ids, operation, an RFC 3339 time,
quantities, dimensions, attribution; no steps, no metadata), checks every rule the
schema :class:`~.schemas.UsageBatchIn` states (types, lengths, sizes, unknown fields)
and builds the :class:`~creditline.domain.usage.UsageEvent` straight away; the engine's
own checks (:meth:`UsageEvent.problems`) run when it records them, as for every event.

When any event is not of that shape, or breaks a rule, the whole body goes through
:class:`~.schemas.UsageBatchIn` as before: its answer, a 422 listing every field's
problem (``body.events.3.quantities.tokens``), or the events of the models, is exactly
what it always was. So the schema stays the one statement of what the route accepts,
and the fast reading only ever accepts what it accepts, the same way.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pydantic
from fastapi.exceptions import RequestValidationError

from creditline.domain.usage import UsageEvent, UsageStep
from creditline.entrypoints.api.schemas.events import (
    StepIn,
    UsageBatchIn,
    UsageEventIn,
)

__all__ = ["event_of", "read_batch"]

"""What an event's time becomes: given the body's time (``None``: it has none)."""

_FIELDS = frozenset(UsageEventIn.model_fields)
_PLAIN = frozenset(
    ("event_id", "operation", "occurred_at", "quantities", "dimensions", "project_id",
     "member_id", "parent_id")
)  # fmt: skip
_TIME = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?"
    r"(Z|[+-][0-9]{2}:[0-9]{2})$"
)
_MAX_ID = 200
_MAX_ENTRIES = 100
_MAX_NAME = 100


def _ident(value: Any, optional: bool = True) -> bool:
    if value is None:
        return optional
    return type(value) is str and 0 < len(value) <= _MAX_ID


def _quantities(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not dict or len(value) > _MAX_ENTRIES:
        return False
    for name, number in value.items():
        if len(name) > _MAX_NAME:
            return False
        kind = type(number)
        if kind is int or kind is Decimal:
            continue
        if kind is not str or len(number) > _MAX_NAME:
            return False
    return True


def _dimensions(value: Any) -> bool:
    if value is None:
        return True
    if type(value) is not dict or len(value) > _MAX_ENTRIES:
        return False
    for name, text in value.items():
        if len(name) > _MAX_NAME or type(text) is not str or len(text) > _MAX_ID:
            return False
    return True


def _time(value: Any) -> datetime | bool | None:
    """The event's time (``None``: none given), or ``False`` for anything this reading
    does not handle (the schema then decides)."""
    if value is None:
        return None
    if type(value) is not str or not _TIME.match(value):
        return False
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return False
    return moment if moment.tzinfo is UTC else moment.astimezone(UTC)


def _fast(org_id: str, item: Any) -> UsageEvent | None:
    """The event of one decoded item of the usual shape, or ``None``."""
    if type(item) is not dict or not item.keys() <= _PLAIN:
        return None
    event_id: Any = item.get("event_id")
    operation: Any = item.get("operation")
    quantities = item.get("quantities")
    dimensions = item.get("dimensions")
    project_id = item.get("project_id")
    member_id = item.get("member_id")
    parent_id = item.get("parent_id")
    when = _time(item.get("occurred_at"))
    if (
        when is False
        or not _ident(event_id, optional=False)
        or not _ident(operation, optional=False)
        or not _quantities(quantities)
        or not _dimensions(dimensions)
        or not (_ident(project_id) and _ident(member_id) and _ident(parent_id))
    ):
        return None
    assert when is not True
    return UsageEvent(
        event_id=event_id,
        org_id=org_id,
        operation=operation,
        occurred_at=when,
        quantities=quantities or {},
        dimensions=dimensions or {},
        project_id=project_id,
        member_id=member_id,
        parent_id=parent_id,
    )


def _steps(steps: list[StepIn] | None) -> tuple[UsageStep, ...]:
    return tuple(
        UsageStep(s.operation, dict(s.quantities or {}), dict(s.dimensions or {}))
        for s in steps or ()
    )


def event_of(org_id: str, body: UsageEventIn) -> UsageEvent:
    """The engine's event of a validated :class:`~.schemas.UsageEventIn`."""
    return UsageEvent(
        event_id=body.event_id,
        org_id=org_id,
        operation=body.operation,
        occurred_at=body.occurred_at,
        quantities=dict(body.quantities or {}),
        dimensions=dict(body.dimensions or {}),
        project_id=body.project_id,
        member_id=body.member_id,
        parent_id=body.parent_id,
        steps=_steps(body.steps),
        metadata=dict(body.metadata or {}),
        quote_id=body.quote_id,
    )


def read_batch(org_id: str, document: Any) -> list[UsageEvent]:
    """The events of a decoded batch body, in order.

    Raises:
        RequestValidationError: the body breaks :class:`~.schemas.UsageBatchIn` (every
            field's problem, located under ``body`` as FastAPI locates them).
    """
    if type(document) is dict and document.keys() == {"events"}:
        items = document["events"]
        if type(items) is list and items:
            events = []
            for item in items:
                event = _fast(org_id, item)
                if event is None:
                    break
                events.append(event)
            else:
                return events
    try:
        batch = UsageBatchIn.model_validate(document)
    except pydantic.ValidationError as exc:
        raise RequestValidationError(
            [{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]
        ) from None
    return [event_of(org_id, e) for e in batch.events]


def missing_body() -> RequestValidationError:
    """The error of a request without a body, as FastAPI answers it."""
    return RequestValidationError(
        [{"type": "missing", "loc": ("body",), "msg": "Field required", "input": None}]
    )


assert _PLAIN <= _FIELDS
