"""Racing holds: workers of :mod:`tests.concurrency` growing their holds and spending
from one organization at once.

:class:`HoldJob` is a worker's job: it reserves a one-credit hold, then alternates
between increasing it by one credit (through a pluggable increase function) and
spending one credit, ``rounds`` times, heartbeating its hold as it goes; at the end it
commits exactly what its hold holds. Every accepted step takes exactly one credit and
nothing is ever given back, so however the processes interleave, exactly ``granted``
one-credit steps are accepted and the rest refused (:func:`check_hold_promises`).

:func:`broken_increase` is DELIBERATELY WRONG (RELIABILITY.md rule 8): a
check-then-write increase without the organization's lock, which the checker must
catch overdrawing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import insert, select, update

from creditline import CauseType, Creditline, EntryType, InsufficientCredits
from creditline.adapters.db import tables as t
from creditline.adapters.db.engine import READ_ONLY
from creditline.domain.reservations import ReservationStatus
from tests.concurrency import ONE, RACE_WINDOW, Report, RunResult, Worker, entry_sums, real_spend

__all__ = ["HoldJob", "broken_increase", "check_hold_promises", "real_increase"]

IncreaseFn = Callable[[Worker, str, str], bool]
"""Increase a hold (organization, reservation) by one credit: True if accepted."""


def real_increase(worker: Worker, org_id: str, reservation_id: str) -> bool:
    """The engine's own increase: ``Creditline.increase_reservation`` of one credit."""
    try:
        worker.cl.increase_reservation(org_id, reservation_id, ONE)
    except InsufficientCredits:
        return False
    return True


def broken_increase(worker: Worker, org_id: str, reservation_id: str) -> bool:
    """DELIBERATELY WRONG: an increase that checks, then writes, without any lock.

    It reads the first grant still holding a credit in a read-only transaction, sleeps
    :data:`RACE_WINDOW`, then, trusting that stale read, sets the grant's remaining to
    the value read less one credit (a lost update when others did the same), writes the
    ``reserve`` entry and moves the balance and the hold (taking the rows in the
    engine's order, balance first, so that it races without deadlocking). Never copy
    this.
    """
    g, r = t.grants, t.reservations
    with worker.engine.connect() as reader:
        conn = reader.execution_options(**{READ_ONLY: True})
        with conn.begin():
            row = conn.execute(
                select(g.c.id, g.c.remaining_micros)
                .where(g.c.org_id == org_id, g.c.remaining_micros >= ONE)
                .order_by(g.c.created_at, g.c.id)
                .limit(1)
            ).first()
    if row is None:
        return False
    grant_id, seen = row[0], int(row[1])
    time.sleep(RACE_WINDOW)
    now = datetime.now(UTC)
    with worker.engine.begin() as conn:
        conn.execute(
            update(t.balances)
            .where(t.balances.c.org_id == org_id)
            .values(
                balance_micros=t.balances.c.balance_micros - ONE,
                held_micros=t.balances.c.held_micros + ONE,
                entry_count=t.balances.c.entry_count + 1,
                updated_at=now,
            )
        )
        conn.execute(
            insert(t.ledger_entries).values(
                org_id=org_id, grant_id=grant_id, entry_type=EntryType.RESERVE.value,
                amount_micros=-ONE, cause_type=CauseType.RESERVATION.value,
                cause_ref=reservation_id, occurred_at=now, recorded_at=now, metadata=None,
            )
        )  # fmt: skip
        conn.execute(update(g).where(g.c.id == grant_id).values(remaining_micros=seen - ONE))
        held = conn.execute(select(r.c.holds).where(r.c.id == reservation_id)).scalar_one()
        holds = dict((str(k), int(v)) for k, v in held)
        holds[grant_id] = holds.get(grant_id, 0) + ONE
        conn.execute(
            update(r)
            .where(r.c.id == reservation_id)
            .values(
                amount_micros=r.c.amount_micros + ONE,
                held_micros=r.c.held_micros + ONE,
                holds=[[k, v] for k, v in holds.items()],
            )
        )
    return True


@dataclass(frozen=True)
class HoldJob:
    """Reserve one credit, then ``rounds`` times: increase the hold by one credit and
    spend one credit; heartbeat the hold every tenth round; commit the hold at the end.

    Totals reported: ``increased`` and ``spent`` (accepted steps, micro-credits) and
    ``committed`` (what the final commit consumed). A refused reserve leaves the worker
    with spends only."""

    org_id: str
    rounds: int
    increase: IncreaseFn = real_increase

    def __call__(self, worker: Worker, report: Report) -> None:
        cl, org = worker.cl, self.org_id
        try:
            hold: str | None = cl.reserve(org, ONE, ttl=timedelta(minutes=10)).id
            report.accepted += 1
            report.add("reserved", ONE)
        except InsufficientCredits:
            hold = None
            report.refused += 1
        for n in range(self.rounds):
            if hold is not None:
                report.attempt("increased", ONE, self.increase, worker, org, hold)
                if n % 10 == 9:
                    cl.extend_reservation(org, hold, timedelta(minutes=10))
            report.attempt("spent", ONE, real_spend, worker, org)
        if hold is not None:
            held = cl.reservation(org, hold).held
            done = cl.commit(org, hold, held)
            report.add("committed", done.consumed)


def check_hold_promises(result: RunResult, cl: Creditline, org_id: str, *, granted: int) -> None:
    """Assert the outcome of a :class:`HoldJob` run that asks for more than the
    ``granted`` micro-credits (whole credits) of its organization: exactly that many
    one-credit steps (reserves, increases, spends) accepted, some refused, no errors,
    every hold committed whole, no credit left, nothing held, and the ledger sound."""
    expected = granted // ONE
    problems: list[str] = []
    if result.errors:
        problems.append(f"{result.errors} steps failed with an error")
    if result.accepted != expected:
        problems.append(f"{result.accepted} one-credit steps accepted, expected {expected}")
    if not result.refused:
        problems.append("no step was refused: the run never ran out of credits")
    held_in = result.total("reserved") + result.total("increased")
    if result.total("committed") != held_in:
        problems.append(f"committed {result.total('committed')}, held {held_in}")
    balance = cl.balance(org_id)
    if (balance.total, balance.held) != (granted - expected * ONE, 0):
        problems.append(f"balance {balance.total} and {balance.held} held after the run")
    open_holds = cl.reservations(org_id, ReservationStatus.OPEN)
    if open_holds:
        problems.append(f"{len(open_holds)} holds still open")
    problems.extend(f"verify: {p}" for p in cl.verify().problems)
    sums = entry_sums(cl, org_id)
    reserved = -sums.get(EntryType.RESERVE, (0, 0))[1]
    if reserved != held_in:
        problems.append(f"reserve entries sum to {reserved}, the holds took {held_in}")
    if problems:
        raise AssertionError(
            "hold promises broken:\n  - " + "\n  - ".join(problems) + "\n" + result.describe()
        )
