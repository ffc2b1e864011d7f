"""Reserving, committing and releasing holds (C6); see :mod:`creditline.domain.reservations`.

Every step runs in one transaction under the organization's lock. Reserving is
refused whole when the spendable grants cannot cover the hold. Settling a reservation
that is no longer open writes nothing and returns the outcome of its settlement.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any, NamedTuple

from creditline.domain.amounts import require_positive_micros
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidSetting,
    OrganizationNotFound,
    PlanGateRefused,
    ReservationNotFound,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.reservations import CommitPlan, Reservation, ReservationStatus, plan_commit
from creditline.domain.spending import Allocation, Pool
from creditline.domain.time import Clock
from creditline.domain.usage import Metering
from creditline.services.flex import FlexAccount
from creditline.services.idempotency import fingerprint
from creditline.services.ids import new_id
from creditline.services.posting import Attribution, post
from creditline.services.unit_of_work import UnitOfWork

__all__ = [
    "MAX_TTL",
    "Reserve",
    "Settle",
    "Settlement",
    "expire_reservations",
    "reserve",
    "settle",
]

MAX_TTL = timedelta(days=30)
"""The longest a hold may live: every hold has a time-to-live, and a bounded one."""


@dataclass(frozen=True, slots=True)
class Reserve:
    """Hold ``amount`` micro-credits for ``ttl`` (at most :data:`MAX_TTL`)."""

    org_id: str
    amount: int
    ttl: timedelta = timedelta(hours=1)
    cause: Cause | None = None
    project_id: str | None = None
    member_id: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Settle:
    """Commit ``amount`` (``None``: release everything). ``final=False`` keeps the rest held."""

    org_id: str
    reservation_id: str
    amount: int | None
    final: bool = True


class Settlement(NamedTuple):
    """What one commit or release did, in micro-credits."""

    reservation: Reservation
    consumed: int
    released: int
    shortfall: int
    replayed: bool = False


def _check(cmd: Reserve) -> None:
    require_positive_micros(cmd.amount)
    if not isinstance(cmd.ttl, timedelta) or not timedelta(0) < cmd.ttl <= MAX_TTL:
        raise InvalidSetting("time-to-live", cmd.ttl, f"must be above zero and at most {MAX_TTL}")
    if not isinstance(cmd.metadata, dict):
        raise InvalidSetting("metadata", cmd.metadata, "must be a mapping")


def reserve(cmd: Reserve, uow: UnitOfWork, clock: Clock) -> Reservation:
    """Hold credits for a running operation, or raise InsufficientCredits writing nothing."""
    _check(cmd)
    request = {"op": "reserve", "amount": cmd.amount, "ttl": cmd.ttl.total_seconds(),
               "cause": str(cmd.cause) if cmd.cause else None}  # fmt: skip
    with uow:
        m = uow.usage.metering([cmd.org_id], lock=True).get(cmd.org_id)
        if m is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        if cmd.idempotency_key is not None:
            stored = uow.idempotency.get(cmd.org_id, cmd.idempotency_key)
            if stored is not None:
                if stored[0] != fingerprint(request):
                    raise IdempotencyKeyReused(cmd.idempotency_key)
                found = uow.reservations.get(cmd.org_id, stored[1]["reservation_id"])
                assert found is not None
                return found[0]
        Attribution(uow, cmd.org_id).check(cmd.project_id, cmd.member_id)
        _check_open_limit(uow, m)
        pool = Pool(m.org_id, uow.grants.active(m.org_id), now, m.order)
        holds = pool.take(cmd.amount)
        res_id = new_id("res")
        hold = Cause(CauseType.RESERVATION, res_id)
        entries = [
            NewEntry(m.org_id, a.grant_id, EntryType.RESERVE, -a.amount, hold, now,
                     cmd.project_id, cmd.member_id)
            for a in holds
        ]  # fmt: skip
        res = Reservation(
            id=res_id, org_id=m.org_id, status=ReservationStatus.OPEN, amount=cmd.amount,
            held=cmd.amount, consumed=0, shortfall=0, holds=holds, cause=cmd.cause or hold,
            project_id=cmd.project_id, member_id=cmd.member_id, expires_at=now + cmd.ttl,
            created_at=now, metadata=dict(cmd.metadata),
        )  # fmt: skip
        uow.reservations.add(res)
        post(uow, m.org_id, entries, now, held=cmd.amount)
        if cmd.idempotency_key is not None:
            outcome = {"reservation_id": res_id}
            uow.idempotency.put_many(
                m.org_id, [(cmd.idempotency_key, fingerprint(request), outcome)], now
            )
        uow.commit()
    return res


def _check_open_limit(uow: UnitOfWork, m: Metering) -> None:
    """Refuse a new hold when the plan's limit of open holds is reached (C9)."""
    limit = m.plan.max_open_reservations
    if limit is not None:
        count = uow.reservations.open_count(m.org_id)
        if count >= limit:
            raise PlanGateRefused(
                m.plan.name, "max_open_reservations",
                f"{count} holds are open and the plan allows {limit} at once; "
                "commit or release one first",
            )  # fmt: skip


def _entries(
    res: Reservation, kind: EntryType, parts: Iterable[Allocation], cause: Cause, now: datetime
) -> list[NewEntry]:
    sign = -1 if kind is EntryType.CONSUME else 1
    return [
        NewEntry(res.org_id, g, kind, sign * a, cause, now, res.project_id, res.member_id)
        for g, a in parts
    ]


class _Outcome(NamedTuple):
    entries: list[NewEntry]
    consumed: int
    released: int
    shortfall: int


def _settle_entries(
    res: Reservation, plan: CommitPlan, final: bool, pool: Pool, now: datetime, *, flex: FlexAccount
) -> _Outcome:
    """The entries of one settlement: hold to consumption, the rest released, any excess."""
    hold = Cause(CauseType.RESERVATION, res.id)
    entries = _entries(res, EntryType.RELEASE, plan.from_hold, hold, now)
    entries += _entries(res, EntryType.CONSUME, plan.from_hold, res.cause, now)
    released = 0
    if final:
        entries += _entries(res, EntryType.RELEASE, plan.kept, hold, now)
        released = sum(a.amount for a in plan.kept)
    if plan.excess > pool.available:  # the policy may cover the rest with flex
        flex.cover(plan.excess - pool.available)
    covered = min(plan.excess, pool.available)
    if covered:
        entries += _entries(res, EntryType.CONSUME, pool.take(covered), res.cause, now)
    consumed = sum(a.amount for a in plan.from_hold) + covered
    return _Outcome(entries, consumed, released, plan.excess - covered)


def _replay(res: Reservation, outcome: dict[str, Any] | None) -> Settlement:
    stored = outcome or {}
    return Settlement(
        res, stored.get("consumed", 0), stored.get("released", 0), stored.get("shortfall", 0),
        replayed=True,
    )  # fmt: skip


def settle(cmd: Settle, uow: UnitOfWork, clock: Clock) -> Settlement:
    """Commit the actual cost of a held operation, or release its hold."""
    if cmd.amount is not None and (
        isinstance(cmd.amount, bool) or not isinstance(cmd.amount, int) or cmd.amount < 0
    ):
        raise InvalidAmount(cmd.amount, "a committed cost is a whole number of micro-credits >= 0")
    with uow:
        m = uow.usage.metering([cmd.org_id], lock=True).get(cmd.org_id)
        if m is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        found = uow.reservations.get(cmd.org_id, cmd.reservation_id)
        if found is None:
            raise ReservationNotFound(cmd.reservation_id)
        res, stored = found
        if not res.is_open:
            return _replay(res, stored)
        releasing = cmd.amount is None
        final = cmd.final or releasing
        plan = plan_commit(res.holds, 0 if cmd.amount is None else cmd.amount)
        pool = Pool(m.org_id, uow.grants.active(m.org_id), now, m.order)
        done = _settle_entries(res, plan, final, pool, now, flex=FlexAccount(uow, m, pool, now))
        unheld = sum(a.amount for a in plan.from_hold) + done.released
        status = ReservationStatus.OPEN
        if final:
            status = ReservationStatus.RELEASED if releasing else ReservationStatus.COMMITTED
        res = replace(
            res, status=status, held=res.held - unheld, holds=() if final else plan.kept,
            consumed=res.consumed + done.consumed, shortfall=res.shortfall + done.shortfall,
            settled_at=now if final else None,
        )  # fmt: skip
        outcome = {"consumed": done.consumed, "released": done.released,
                   "shortfall": done.shortfall} if final else None  # fmt: skip
        uow.reservations.save(res, outcome)
        post(uow, m.org_id, done.entries, now, held=-unheld)
        uow.commit()
    return Settlement(res, done.consumed, done.released, done.shortfall)


def expire_reservations(org_id: str, uow: UnitOfWork, now: datetime) -> int:
    """Release every open hold of an organization past its time-to-live (inside the
    caller's transaction, which holds the lock). Returns how many were released."""
    due = uow.reservations.due(org_id, now)
    for res in due:
        hold = Cause(CauseType.RESERVATION, res.id)
        entries = _entries(res, EntryType.RELEASE, res.holds, hold, now)
        released = replace(res, status=ReservationStatus.EXPIRED, held=0, holds=(), settled_at=now)
        uow.reservations.save(released, {"consumed": 0, "released": res.held, "shortfall": 0})
        post(uow, org_id, entries, now, held=-res.held)
    return len(due)
