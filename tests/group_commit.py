"""A job for the multi-process harness (tests/concurrency.py): threads in each process
reserving, committing, recording usage and spending against one organization at once,
through the facade (so through each process's group commit writer).

Every acknowledged write is noted in the worker's report (``totals``), keyed by what
identifies it, so the checker can find each one in the database afterwards:

- ``evt:<id>``: an accepted event and its cost;
- ``res:<id>``: a committed reservation and what it consumed;
- ``key:<key>``: an accepted keyed debit and its amount (sent twice: once charged);
- ``groups`` and ``commands``: what the process's writer committed.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass

from sqlalchemy import func, select

from creditline import Creditline, InsufficientCredits, credits
from creditline.adapters.db import tables as t
from creditline.domain.charging import Debit
from creditline.domain.ledger import CauseType
from creditline.domain.usage import EventStatus
from tests.concurrency import Report, RunResult, Worker

__all__ = ["GroupJob", "check_group_promises"]

PRICE = credits(1)
"""What every operation of the job costs: a hold of one credit committed whole, a
``ping`` event (flat, 1 credit on tests.metering's card), a debit of one credit."""


@dataclass(frozen=True)
class GroupJob:
    org_id: str
    threads: int
    ops: int
    seed: int = 7

    def __call__(self, worker: Worker, report: Report) -> None:
        lock = threading.Lock()
        barrier = threading.Barrier(self.threads)

        def run(index: int) -> None:
            rng = random.Random(self.seed * 10_000 + worker.index * 100 + index)
            barrier.wait(60)
            for n in range(self.ops):
                name = f"w{worker.index}-t{index}-{n}"
                try:
                    noted = _one(worker.cl, self.org_id, name, rng.random())
                except Exception as exc:
                    with lock:
                        report.error(exc)
                    continue
                with lock:
                    if noted is None:
                        report.refused += 1
                    else:
                        report.accepted += 1
                        report.totals[noted[0]] = noted[1]

        threads = [threading.Thread(target=run, args=(i,)) for i in range(self.threads)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        writer = worker.cl._writer
        if writer is not None:
            report.totals["groups"] = writer.groups
            report.totals["commands"] = writer.commands


def _one(cl: Creditline, org_id: str, name: str, roll: float) -> tuple[str, int] | None:
    """One operation; what to note if it was acknowledged, ``None`` if refused."""
    if roll < 0.4:
        try:
            res = cl.reserve(org_id, PRICE)
        except InsufficientCredits:
            return None
        done = cl.commit(org_id, res.id, PRICE)
        return f"res:{res.id}", done.consumed
    if roll < 0.75:
        result = cl.record(org_id, f"evt-{name}", "ping")
        if result.status is EventStatus.REFUSED:
            return None
        assert result.status is EventStatus.ACCEPTED, result
        again = cl.record(org_id, f"evt-{name}", "ping")  # a client's retry
        assert again.status is EventStatus.DUPLICATE, again
        return f"evt:evt-{name}", result.cost
    debits = [Debit(PRICE, idempotency_key=f"key-{name}")]
    (first,) = cl.spend_many(org_id, debits)
    (again,) = cl.spend_many(org_id, debits)
    assert again.replayed and again.status is first.status, (first, again)
    if not first.accepted:
        return None
    return f"key:key-{name}", first.amount


def check_group_promises(result: RunResult, cl: Creditline, org_id: str, granted: int) -> None:
    """Raise one AssertionError listing every broken promise."""
    problems: list[str] = []
    if result.errors or any(r.fatal for r in result.reports):
        problems.append(f"errors in the workers:\n{result.describe()}")
        problems.extend(r.fatal or "" for r in result.reports if r.fatal)
    report = cl.verify()
    if not report.ok:
        problems.append(f"verify: {report.problems[:5]}")
    balance = cl.balance(org_id)
    acknowledged = {k: v for r in result.reports for k, v in r.totals.items() if ":" in k}
    charged = sum(acknowledged.values())
    if balance.total < 0 or balance.held != 0:
        problems.append(f"overdrawn or left held: {balance}")
    if granted - balance.total != charged:
        problems.append(f"charged {granted - balance.total}, acknowledged {charged}")
    engine = cl._engine
    with engine.connect() as conn:
        events = dict(
            conn.execute(
                select(t.usage_events.c.event_id, func.count())
                .where(t.usage_events.c.org_id == org_id, t.usage_events.c.status == "accepted")
                .group_by(t.usage_events.c.event_id)
            ).all()
        )
        keyed = dict(
            conn.execute(
                select(t.ledger_entries.c.cause_ref, func.sum(t.ledger_entries.c.amount_micros))
                .where(
                    t.ledger_entries.c.org_id == org_id,
                    t.ledger_entries.c.cause_type == CauseType.DEBIT.value,
                )
                .group_by(t.ledger_entries.c.cause_ref)
            ).all()
        )
        committed = dict(
            conn.execute(
                select(t.reservations.c.id, t.reservations.c.consumed_micros).where(
                    t.reservations.c.org_id == org_id, t.reservations.c.status == "committed"
                )
            ).all()
        )
    for name, amount in acknowledged.items():
        kind, ident = name.split(":", 1)
        if kind == "evt" and events.get(ident) != 1:
            problems.append(f"acknowledged event {ident} stored {events.get(ident, 0)} times")
        if kind == "key" and keyed.get(ident) != -amount:
            problems.append(f"key {ident} charged {keyed.get(ident)}, acknowledged {amount}")
        if kind == "res" and committed.get(ident) != amount:
            problems.append(f"reservation {ident} consumed {committed.get(ident)}, ack {amount}")
    if len(events) != sum(1 for k in acknowledged if k.startswith("evt:")):
        problems.append("accepted events that no caller was told of")
    assert not problems, "\n".join(problems)
