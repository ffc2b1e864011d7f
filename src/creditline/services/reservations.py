"""Reserving, extending, increasing, committing and releasing holds (C6); see
:mod:`creditline.domain.reservations`.

A hold, a commit and a release are charging commands: decided by
:func:`creditline.domain.charging.decide` under the organization's lock, alone
(:func:`reserve`, :func:`settle`) or in a group with other callers' commands
(:func:`creditline.services.charging.apply_group`). Reserving is refused whole when
the spendable grants cannot cover the hold (a hold never takes flex); the excess of a
commit over its hold follows the depletion policy, and what nothing covers is the
reservation's shortfall. Settling a reservation that is no longer open writes nothing
and returns the outcome of its settlement.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

from creditline.domain.charging import (
    MAX_TTL,
    Extend,
    Increase,
    Reserve,
    Settle,
    Settlement,
    slot_of,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.time import Clock
from creditline.services.charging import apply_group
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.posting import post

__all__ = [
    "MAX_TTL",
    "Extend",
    "Increase",
    "Reserve",
    "Settle",
    "Settlement",
    "expire_reservations",
    "extend",
    "increase",
    "reserve",
    "settle",
]


def reserve(cmd: Reserve, uow: UnitOfWork, clock: Clock) -> Reservation:
    """Hold credits for a running operation, or raise InsufficientCredits writing nothing."""
    (answer,) = apply_group([cmd], uow, clock)
    result: Reservation = answer.unwrap()
    return result


def settle(cmd: Settle, uow: UnitOfWork, clock: Clock) -> Settlement:
    """Commit the actual cost of a held operation, or release its hold."""
    (answer,) = apply_group([cmd], uow, clock)
    result: Settlement = answer.unwrap()
    return result


def extend(cmd: Extend, uow: UnitOfWork, clock: Clock) -> Reservation:
    """Push an open hold's expiry to now + ttl (never shortening it), within its plan's
    longest hold."""
    (answer,) = apply_group([cmd], uow, clock)
    result: Reservation = answer.unwrap()
    return result


def increase(cmd: Increase, uow: UnitOfWork, clock: Clock) -> Reservation:
    """Draw more into an open hold, or raise InsufficientCredits writing nothing."""
    (answer,) = apply_group([cmd], uow, clock)
    result: Reservation = answer.unwrap()
    return result


def expire_reservations(org_id: str, uow: UnitOfWork, now: datetime) -> int:
    """Release every open hold of an organization past its time-to-live (inside the
    caller's transaction, which holds the lock). Returns how many were released."""
    due = uow.reservations.due(org_id, now)
    capped = uow.api_keys.many(sorted({r.key_id for r in due if r.key_id is not None}))
    freed: dict[tuple[str, datetime], int] = {}
    for res in due:
        hold = Cause(CauseType.RESERVATION, res.id)
        entries = [
            NewEntry(res.org_id, g, EntryType.RELEASE, a, hold, now, res.project_id, res.member_id)
            for g, a in res.holds
        ]
        released = replace(res, status=ReservationStatus.EXPIRED, held=0, holds=(), settled_at=now)
        uow.reservations.save(released, {"consumed": 0, "released": res.held, "shortfall": 0})
        post(uow, org_id, entries, now, held=-res.held)
        key = capped.get(res.key_id) if res.key_id is not None else None
        slot = None if key is None else slot_of(key, res.created_at)
        if slot is not None:  # the capped key's hold is freed too
            freed[slot] = freed.get(slot, 0) - res.held
    if freed:
        uow.charging.count_key_usage(freed)
    return len(due)
