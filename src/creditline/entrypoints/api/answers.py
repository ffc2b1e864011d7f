"""The answers of the hot routes as plain JSON values, made without a pydantic model.

Each function makes exactly what the matching model of :mod:`.schemas` dumps (same
fields, same order, same values: ``Model.of(x).model_dump(mode="json")``), for a
fraction of its cost: a batch of 1,000 events answers 1,000 results. The models stay
the routes' documented ``response_model``; ``tests/api/test_http_path.py`` holds the two
equal.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from creditline.domain.amounts import format_credits
from creditline.domain.reservations import Reservation
from creditline.domain.usage import EventResult, EventStatus
from creditline.entrypoints.api.problems import problem_type

__all__ = ["accepted", "batch", "debit", "event_result", "reservation", "settlement"]


def _iso(moment: datetime | None) -> str | None:
    """A time as pydantic writes it (UTC as ``Z``)."""
    if moment is None:
        return None
    text = moment.isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _utc(moment: datetime | None) -> str | None:
    return None if moment is None else _iso(moment.astimezone(UTC))


def event_result(r: EventResult, index: int | None = None) -> dict[str, Any]:
    """:class:`~.schemas.EventResultOut` of ``r`` (its problem type, if it has an error)."""
    return {
        "event_id": r.event_id,
        "status": r.status.value,
        "cost": format_credits(r.cost),
        "cost_micros": r.cost,
        "reason": r.reason,
        "problem": None if r.error is None else problem_type(r.error).uri,
        "rate_card": r.rate_card,
        "components": [
            {"operation": op, "cost": format_credits(cost), "cost_micros": cost}
            for op, cost in r.components
        ],
        "index": index,
    }


def batch(results: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """:class:`~.schemas.BatchOut` of the per-event results (:func:`event_result`)."""
    counts = {"accepted": 0, "refused": 0, "rejected": 0, "duplicate": 0}
    cost = 0
    for r in results:
        counts[r["status"]] += 1
        if r["status"] == "accepted":
            cost += r["cost_micros"]
    return {
        "results": list(results),
        **counts,
        "cost": format_credits(cost),
        "cost_micros": cost,
    }


def accepted(results: Sequence[EventResult]) -> int:
    """Micro-credits charged by the accepted events of ``results``."""
    return sum(r.cost for r in results if r.status is EventStatus.ACCEPTED)


def _credits(name: str, micros: int) -> dict[str, Any]:
    return {name: format_credits(micros), f"{name}_micros": micros}


def reservation(r: Reservation) -> dict[str, Any]:
    """:class:`~.schemas.ReservationOut` of ``r``."""
    return {
        "id": r.id,
        "org_id": r.org_id,
        "status": r.status.value,
        **_credits("amount", r.amount),
        **_credits("held", r.held),
        **_credits("consumed", r.consumed),
        **_credits("shortfall", r.shortfall),
        "cause": {"type": r.cause.type.value, "ref": r.cause.ref},
        "project_id": r.project_id,
        "member_id": r.member_id,
        "expires_at": _iso(r.expires_at),
        "created_at": _iso(r.created_at),
        "settled_at": _utc(r.settled_at),
        "metadata": dict(r.metadata),
        "operation": r.operation,
        "dimensions": dict(r.dimensions),
        "key_id": r.key_id,
    }


def settlement(s: Any) -> dict[str, Any]:
    """:class:`~.schemas.SettlementOut` of a settlement."""
    return {
        "reservation": reservation(s.reservation),
        **_credits("consumed", s.consumed),
        **_credits("released", s.released),
        **_credits("shortfall", s.shortfall),
        "replayed": bool(s.replayed),
    }


def debit(r: Any) -> dict[str, Any]:
    """:class:`~.schemas.DebitOut` of a debit's result."""
    return {
        "status": r.status.value,
        **_credits("amount", r.amount),
        "cause": None if r.cause is None else {"type": r.cause.type.value, "ref": r.cause.ref},
        "replayed": bool(r.replayed),
        "allocations": [
            {"grant_id": a.grant_id, **_credits("amount", a.amount)} for a in r.allocations
        ],
    }
