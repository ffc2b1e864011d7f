"""Racing a capped key: workers of :mod:`tests.concurrency` charging one organization
through one capped API key at once.

:class:`KeyCapJob` is a worker's job: ``rounds`` times, with the key, it records a
one-credit usage event, spends one credit (through a pluggable spend function), and
holds two credits then commits one (the commit frees the other). Each accepted step
adds what it took to ``taken``, each commit what it freed to ``freed``. The
organization holds far more than the cap, so only the key's cap refuses, and however
the processes interleave (:func:`check_cap_promises`): the key's counter equals
``taken - freed`` and every credit the organization lost, it never passes the cap, and
the run ends at the cap give or take what the last commits freed.

:func:`broken_capped_spend` is DELIBERATELY WRONG (RELIABILITY.md rule 8): it checks
the key's room in one transaction, then spends without the key and counts the spend on
the key's counter in another, which the checker must catch going past the cap.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.dialects import postgresql, sqlite

from creditline import Creditline, DebitStatus
from creditline.adapters.db import tables as t
from creditline.adapters.db.engine import READ_ONLY
from creditline.domain.api_keys import CapWindow, window_bounds
from creditline.domain.errors import KeyCapExceeded
from creditline.domain.reservations import ReservationStatus
from tests.concurrency import ONE, RACE_WINDOW, Report, RunResult, Worker

__all__ = ["KeyCapJob", "broken_capped_spend", "check_cap_promises", "real_capped_spend"]

SpendFn = Callable[[Worker, str, str], bool]
"""Spend one credit of an organization with a capped key: True if accepted."""


def real_capped_spend(worker: Worker, org_id: str, key_id: str) -> bool:
    """The engine's own debit with the key: ``Creditline.spend(..., key_id=)``."""
    try:
        worker.cl.spend(org_id, ONE, cause=worker.cause(), key_id=key_id)
    except KeyCapExceeded:
        return False
    return True


def _window(now: datetime) -> datetime:
    return window_bounds(CapWindow.DAY, now)[0]


def broken_capped_spend(worker: Worker, org_id: str, key_id: str) -> bool:
    """DELIBERATELY WRONG: a capped spend that checks, then writes, without the lock.

    It reads the key's cap and its counter in a read-only transaction, sleeps
    :data:`RACE_WINDOW`, then, trusting that stale read, spends one credit *without*
    the key (the engine does not check the cap) and adds it to the key's counter in
    another transaction. Workers that read the same room all spend. Never copy this.
    """
    k, u = t.api_keys, t.key_usage
    start = _window(datetime.now(UTC))
    with worker.engine.connect() as reader:
        conn = reader.execution_options(**{READ_ONLY: True})
        with conn.begin():
            cap = conn.execute(select(k.c.cap_micros).where(k.c.id == key_id)).scalar_one()
            used = conn.execute(
                select(u.c.used_micros).where(u.c.key_id == key_id, u.c.window_start == start)
            ).scalar()
    if (used or 0) + ONE > cap:
        return False
    time.sleep(RACE_WINDOW)
    if worker.cl.spend(org_id, ONE, cause=worker.cause()).status is not DebitStatus.ACCEPTED:
        return False
    with worker.engine.begin() as conn:
        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(u).values(key_id=key_id, window_start=start, used_micros=ONE)
        conn.execute(
            statement.on_conflict_do_update(
                index_elements=[u.c.key_id, u.c.window_start],
                set_={"used_micros": u.c.used_micros + ONE},
            )
        )
    return True


@dataclass(frozen=True)
class KeyCapJob:
    """``rounds`` times with the capped key ``key_id``: a one-credit usage event, a
    one-credit spend (``spend``), a two-credit hold committed at one credit; with
    ``spends_only``, the spend alone (three a round: the broken variant's race is then
    the whole run)."""

    org_id: str
    key_id: str
    rounds: int
    spend: SpendFn = real_capped_spend
    spends_only: bool = False

    def __call__(self, worker: Worker, report: Report) -> None:
        for n in range(self.rounds):
            if self.spends_only:
                for _ in range(3):
                    report.attempt("taken", ONE, self.spend, worker, self.org_id, self.key_id)
                continue
            report.attempt("taken", ONE, self._usage, worker, n)
            report.attempt("taken", ONE, self.spend, worker, self.org_id, self.key_id)
            report.attempt("taken", 2 * ONE, self._hold, worker, report)

    def _usage(self, worker: Worker, n: int) -> bool:
        event_id = f"w{worker.index}-e{n}"
        result = worker.cl.record(self.org_id, event_id, "ping", key_id=self.key_id)
        if result.error is not None and not isinstance(result.error, KeyCapExceeded):
            raise result.error
        return result.status == "accepted"

    def _hold(self, worker: Worker, report: Report) -> bool:
        cl, org = worker.cl, self.org_id
        try:
            hold = cl.reserve(org, 2 * ONE, ttl=timedelta(minutes=10), key_id=self.key_id)
        except KeyCapExceeded:
            return False
        done = cl.commit(org, hold.id, ONE)
        report.add("freed", done.released)
        return True


def check_cap_promises(
    result: RunResult, cl: Creditline, org_id: str, key_id: str, *, granted: int, processes: int
) -> None:
    """Assert the outcome of a :class:`KeyCapJob` run that asks for more than the key's
    cap: no errors, some refusals, the key's counter equal to what the steps took less
    what the commits freed and to what the organization lost, never past the cap, and
    within ``processes`` credits of it (the last commits may free one each)."""
    key = cl.api_key(key_id)
    assert key.cap_micros is not None
    cap, used = key.cap_micros, key.used_micros or 0
    net = result.total("taken") - result.total("freed")
    problems: list[str] = []
    if result.errors:
        problems.append(f"{result.errors} steps failed with an error")
    if not result.refused:
        problems.append("no step was refused: the run never reached the cap")
    if used > cap:
        problems.append(f"the key spent {used}, past its cap of {cap}")
    if used != net:
        problems.append(f"the key's counter is {used}, its steps took {net} net")
    lost = granted - cl.balance(org_id).total
    if lost != used:
        problems.append(f"the organization lost {lost}, the key counted {used}")
    if used < cap - processes * ONE:
        problems.append(f"the key stopped at {used}, short of its cap of {cap}")
    if cl.reservations(org_id, ReservationStatus.OPEN):
        problems.append("holds still open")
    problems.extend(f"verify: {p}" for p in cl.verify().problems)
    if problems:
        raise AssertionError(
            "cap promises broken:\n  - " + "\n  - ".join(problems) + "\n" + result.describe()
        )
