"""Holds: a reservation made from the grants alone (``reserve``), its settlement
(commit, release), whose excess over the hold the depletion policy may cover, and,
while its operation runs, its heartbeat (``extend``) and growth (``increase``).

**Extend** pushes an open hold's expiry to now + ttl, never shortening it (a heartbeat
arriving late or twice changes nothing), and never past ``created_at`` + the plan's
longest hold (``max_hold_hours``; default :data:`MAX_TTL`), which also bounds a new
hold's time-to-live. **Increase** draws more from the grants into the same hold,
exactly as ``reserve`` draws (consumption order, scoped grants, never flex), with one
``reserve`` entry per grant naming the reservation; refused whole otherwise. Only an
open hold before its expiry may be extended or increased (:class:`Conflict`).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from creditline.domain.api_keys import ApiKey
from creditline.domain.charging.caps import (
    Slot,
    check_operation,
    check_room,
    count,
    key_of,
    room,
    slot_of,
)
from creditline.domain.charging.checks import increase_fingerprint, reserve_fingerprint
from creditline.domain.charging.commands import (
    MAX_TTL,
    Extend,
    Increase,
    Reserve,
    Settle,
    Settlement,
)
from creditline.domain.charging.ledger import Ledger, key_replay
from creditline.domain.charging.outcome import Decision
from creditline.domain.charging.quotes import usable_quote, use_quote
from creditline.domain.errors import (
    Conflict,
    InvalidSetting,
    PlanGateRefused,
    QuoteMismatch,
    ReservationNotFound,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import Plan
from creditline.domain.reservations import CommitPlan, Reservation, ReservationStatus, plan_commit
from creditline.domain.spending import Allocation

__all__ = ["extend", "increase", "longest_hold", "reserve", "settle"]

_HOLD = CauseType.RESERVATION.value
"""A hold's cause, as grace reads it (a hold never takes grace)."""


def longest_hold(plan: Plan) -> timedelta:
    """How long a hold of this plan may live from its creation, extensions included."""
    return MAX_TTL if plan.max_hold_hours is None else timedelta(hours=plan.max_hold_hours)


def _too_long(plan: Plan, ttl: timedelta, until: datetime, limit: datetime) -> InvalidSetting:
    hours = int(longest_hold(plan).total_seconds()) // 3600
    return InvalidSetting(
        "time-to-live", ttl,
        f"the hold would expire at {until.isoformat()}, past {limit.isoformat()}: plan "
        f"{plan.name!r} holds credits at most {hours} hours from a hold's creation "
        f"(max_hold_hours {hours})",
    )  # fmt: skip


def reserve(book: Ledger, cmd: Reserve, out: Decision, key: ApiKey | None = None) -> Reservation:
    request_hash = None
    if cmd.idempotency_key is not None:
        request_hash = reserve_fingerprint(cmd)
        stored = key_replay(book, cmd.idempotency_key, request_hash)
        if stored is not None:
            if isinstance(stored, Reservation):
                return book.reservations.get(stored.id, stored)
            return _reservation(book, stored["reservation_id"])[0]
    book.check_attribution(cmd.project_id, cmd.member_id)
    slot = _key_room(book, out, key, cmd.operation, cmd.amount)
    if cmd.ttl > longest_hold(book.m.plan):
        until = book.now + cmd.ttl
        raise _too_long(book.m.plan, cmd.ttl, until, book.now + longest_hold(book.m.plan))
    limit = book.m.plan.max_open_reservations
    if limit is not None and book.open_holds >= limit:
        raise PlanGateRefused(
            book.m.plan.name, "max_open_reservations",
            f"{book.open_holds} holds are open and the plan allows {limit} at once; "
            "commit or release one first",
        )  # fmt: skip
    budgets = book.budgets
    if budgets is not None:
        budgets.check(cmd.project_id, cmd.member_id, cmd.amount)
    holds = book.take(cmd.amount, cmd.operation, cmd.dimensions, flex=False, cause=(_HOLD, None))
    if budgets is not None:
        budgets.hold(cmd.project_id, cmd.member_id, cmd.amount)
    now = book.now
    res_id = book._new_id("res")
    hold = Cause(CauseType.RESERVATION, res_id)
    out.entries.extend(
        NewEntry(book.org_id, a.grant_id, EntryType.RESERVE, -a.amount, hold, now,
                 cmd.project_id, cmd.member_id)
        for a in holds
    )  # fmt: skip
    res = Reservation(
        id=res_id, org_id=book.org_id, status=ReservationStatus.OPEN, amount=cmd.amount,
        held=cmd.amount, consumed=0, shortfall=0, holds=holds, cause=cmd.cause or hold,
        project_id=cmd.project_id, member_id=cmd.member_id, expires_at=now + cmd.ttl,
        created_at=now, metadata=dict(cmd.metadata), operation=cmd.operation,
        dimensions=dict(cmd.dimensions or {}), key_id=None if slot is None else slot[0],
    )  # fmt: skip
    count(out, slot, cmd.amount)
    out.new_reservations.append(res)
    book.held += cmd.amount
    book.open_holds += 1
    if cmd.idempotency_key is not None and request_hash is not None:
        book.keys[cmd.idempotency_key] = (request_hash, res)
        out.keys.append(
            (book.org_id, cmd.idempotency_key, request_hash, {"reservation_id": res_id})
        )
    return res


def _reservation(book: Ledger, res_id: str) -> tuple[Reservation, dict[str, Any] | None]:
    """A reservation as this group left it (or as loaded), with its stored outcome."""
    found = book.reservations.get(res_id)
    if found is not None:
        return found, book.outcomes.get(res_id)
    stored = book.books.reservations.get((book.org_id, res_id))
    if stored is None:
        raise ReservationNotFound(res_id)
    return stored


def _entries(
    res: Reservation, kind: EntryType, parts: Iterable[Allocation], cause: Cause, now: datetime
) -> list[NewEntry]:
    sign = -1 if kind is EntryType.CONSUME else 1
    return [
        NewEntry(res.org_id, g, kind, sign * a, cause, now, res.project_id, res.member_id)
        for g, a in parts
    ]


def _replay_settlement(res: Reservation, outcome: dict[str, Any] | None) -> Settlement:
    stored = outcome or {}
    return Settlement(
        res, stored.get("consumed", 0), stored.get("released", 0), stored.get("shortfall", 0),
        replayed=True,
    )  # fmt: skip


def _quoted(book: Ledger, cmd: Settle, res: Reservation, out: Decision) -> int:
    """The price of the binding quote the commit names, if the hold may be settled at it
    (the quote is then used, with the commit)."""
    assert cmd.quote_id is not None
    quote = usable_quote(book, cmd.quote_id, out)
    quote.check_hold(res.operation, res.dimensions)
    if cmd.amount is not None and cmd.amount != quote.total:
        raise QuoteMismatch(
            quote.id, f"it binds {quote.total} micro-credits, the commit says {cmd.amount}"
        )
    use_quote(book, quote, Cause(CauseType.RESERVATION, res.id), out)
    return quote.total


def settle(book: Ledger, cmd: Settle, out: Decision) -> Settlement:
    res, outcome = _reservation(book, cmd.reservation_id)
    if not res.is_open:
        return _replay_settlement(res, outcome)
    capped = _capped(book, res)  # before anything moves
    now = book.now
    amount = cmd.amount if cmd.quote_id is None else _quoted(book, cmd, res, out)
    releasing = amount is None
    final = cmd.final or releasing
    plan: CommitPlan = plan_commit(res.holds, 0 if amount is None else amount)
    hold = Cause(CauseType.RESERVATION, res.id)
    entries = _entries(res, EntryType.RELEASE, plan.from_hold, hold, now)
    entries += _entries(res, EntryType.CONSUME, plan.from_hold, res.cause, now)
    released = 0
    pool = book.pool
    if final:
        entries += _entries(res, EntryType.RELEASE, plan.kept, hold, now)
        released = sum(a.amount for a in plan.kept)
        for grant_id, amount in plan.kept:  # spendable again by the next command
            pool.give(grant_id, amount)
    operation, dimensions = res.operation, res.dimensions
    wanted = _bounded_excess(book, out, res, plan.excess, released=released, capped=capped)
    available = pool.available_for(operation, dimensions)
    if wanted > available:  # the policy may cover the rest with flex
        book.cover(wanted - available)
        available = pool.available_for(operation, dimensions)
    covered = min(wanted, available)
    if covered:
        taken = pool.take(covered, operation, dimensions)
        entries += _entries(res, EntryType.CONSUME, taken, res.cause, now)
    consumed = sum(a.amount for a in plan.from_hold) + covered
    shortfall = plan.excess - covered
    unheld = sum(a.amount for a in plan.from_hold) + released
    status = ReservationStatus.OPEN
    if final:
        status = ReservationStatus.RELEASED if releasing else ReservationStatus.COMMITTED
    res = replace(
        res, status=status, held=res.held - unheld, holds=() if final else plan.kept,
        consumed=res.consumed + consumed, shortfall=res.shortfall + shortfall,
        settled_at=now if final else None,
    )  # fmt: skip
    stored_outcome = (
        {"consumed": consumed, "released": released, "shortfall": shortfall} if final else None
    )
    count(out, None if capped is None else capped[1], covered - released)
    book.reservations[res.id] = res
    book.outcomes[res.id] = stored_outcome
    out.settled.append((res, stored_outcome))
    out.entries.extend(entries)
    book.held -= unheld
    budgets = book.budgets
    if budgets is not None:
        budgets.hold(res.project_id, res.member_id, -unheld)
        budgets.consume(res.project_id, res.member_id, consumed)
    if final:
        book.open_holds -= 1
    return Settlement(res, consumed, released, shortfall)


def _key_room(
    book: Ledger, out: Decision, key: ApiKey | None, operation: str | None, amount: int
) -> Slot | None:
    """Check that the request's key may hold ``amount`` for ``operation``: its operations
    and, for a capped key, its room; the capped key's counter (``None``: no cap)."""
    if key is None:
        return None
    check_operation(key, operation)
    slot = slot_of(key, book.now)
    if slot is not None:
        check_room(book.books, out, key, slot, amount)
    return slot


def _bounded_excess(
    book: Ledger, out: Decision, res: Reservation, excess: int, *, released: int,
    capped: tuple[ApiKey, Slot] | None,
) -> int:  # fmt: skip
    """What of a commit's excess over its hold the limits let it take: the capped key's room
    and the room of the hard budgets covering the hold, each with what this settlement
    frees (``released``)."""
    wanted = excess
    if capped is not None:
        wanted = min(wanted, room(book.books, out, *capped) + released)
    budgets = book.budgets
    budget_room = None if budgets is None else budgets.room(res.project_id, res.member_id)
    if budget_room is not None:
        wanted = min(wanted, budget_room + released)
    return wanted


def _capped(book: Ledger, res: Reservation) -> tuple[ApiKey, Slot] | None:
    """The capped key a hold counts against, and its counter (the hold's window)."""
    if res.key_id is None:
        return None
    key = key_of(book.books, res.key_id, res.org_id)
    slot = None if key is None else slot_of(key, res.created_at)
    return None if key is None or slot is None else (key, slot)


def _open(book: Ledger, reservation_id: str, doing: str) -> Reservation:
    """The reservation, if it is an open hold not yet due to expire; else refused."""
    res = _reservation(book, reservation_id)[0]
    if not res.is_open:
        raise Conflict(
            f"reservation {res.id!r} is {res.status.value}: only an open hold can be {doing}"
        )
    if res.expires_at <= book.now:
        raise Conflict(
            f"reservation {res.id!r} expired at {res.expires_at.isoformat()}: "
            f"an expired hold cannot be {doing}"
        )
    return res


def extend(book: Ledger, cmd: Extend, out: Decision) -> Reservation:
    """Push the hold's expiry to now + ttl; an earlier expiry than its own changes nothing.

    Raises:
        InvalidSetting: past the plan's longest hold from the hold's creation.
        Conflict: the hold is settled, or expired.
    """
    res = _open(book, cmd.reservation_id, "extended")
    until = book.now + cmd.ttl
    if until <= res.expires_at:  # never shortens: a late or repeated heartbeat
        return res
    limit = res.created_at + longest_hold(book.m.plan)
    if until > limit:
        raise _too_long(book.m.plan, cmd.ttl, until, limit)
    res = replace(res, expires_at=until)
    book.reservations[res.id] = res
    book.outcomes[res.id] = None
    out.reshaped.append(res)
    return res


def increase(book: Ledger, cmd: Increase, out: Decision) -> Reservation:
    """Draw ``cmd.amount`` more into the hold, as a reserve draws.

    Raises:
        InsufficientCredits: the spendable grants cannot cover it; nothing changed.
        Conflict: the hold is settled, or expired.
    """
    key, request_hash = cmd.idempotency_key, None
    if key is not None:  # a retry: the hold as it is, drawn once (before any check)
        request_hash = increase_fingerprint(cmd)
        stored = key_replay(book, key, request_hash)
        if stored is not None:
            if isinstance(stored, Reservation):
                return book.reservations.get(stored.id, stored)
            return _reservation(book, stored["reservation_id"])[0]
    res = _open(book, cmd.reservation_id, "increased")
    capped = _capped(book, res)
    if capped is not None:
        check_room(book.books, out, *capped, cmd.amount)
    budgets = book.budgets
    if budgets is not None:
        budgets.check(res.project_id, res.member_id, cmd.amount)
    taken = book.take(cmd.amount, res.operation, res.dimensions, flex=False, cause=(_HOLD, res.id))
    count(out, None if capped is None else capped[1], cmd.amount)
    if budgets is not None:
        budgets.hold(res.project_id, res.member_id, cmd.amount)
    hold = Cause(CauseType.RESERVATION, res.id)
    now = book.now
    out.entries.extend(
        NewEntry(book.org_id, a.grant_id, EntryType.RESERVE, -a.amount, hold, now,
                 res.project_id, res.member_id)
        for a in taken
    )  # fmt: skip
    holds = dict(res.holds)  # one allocation per grant, in the order first drawn
    for grant_id, amount in taken:
        holds[grant_id] = holds.get(grant_id, 0) + amount
    res = replace(
        res, amount=res.amount + cmd.amount, held=res.held + cmd.amount,
        holds=tuple(Allocation(g, a) for g, a in holds.items()),
    )  # fmt: skip
    book.reservations[res.id] = res
    book.outcomes[res.id] = None
    out.settled.append((res, None))
    out.reshaped.append(res)
    book.held += cmd.amount
    if key is not None and request_hash is not None:
        book.keys[key] = (request_hash, res)
        out.keys.append((book.org_id, key, request_hash, {"reservation_id": res.id}))
    return res
