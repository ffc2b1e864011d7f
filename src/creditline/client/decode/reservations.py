"""Reservations and their settlements."""

from __future__ import annotations

from creditline.client.decode._common import Doc, cause, maybe_when, when
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.services.reservations import Settlement


def reservation(d: Doc) -> Reservation:
    return Reservation(
        id=d["id"],
        org_id=d["org_id"],
        status=ReservationStatus(d["status"]),
        amount=d["amount_micros"],
        held=d["held_micros"],
        consumed=d["consumed_micros"],
        shortfall=d["shortfall_micros"],
        holds=(),
        cause=cause(d["cause"]),
        project_id=d["project_id"],
        member_id=d["member_id"],
        expires_at=when(d["expires_at"]),
        created_at=when(d["created_at"]),
        settled_at=maybe_when(d["settled_at"]),
        metadata=dict(d["metadata"]),
        operation=d.get("operation"),
        dimensions=dict(d.get("dimensions") or {}),
    )


def settlement(d: Doc, replayed: bool = False) -> Settlement:
    return Settlement(
        reservation=reservation(d["reservation"]),
        consumed=d["consumed_micros"],
        released=d["released_micros"],
        shortfall=d["shortfall_micros"],
        replayed=bool(d["replayed"]) or replayed,
    )
