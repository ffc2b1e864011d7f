"""A concurrency harness: several processes spending from one organization at once.

:func:`run` starts ``processes`` worker processes (multiprocessing, "spawn" context),
each with its own :class:`Creditline` opened on the same database URL
(``migrate=False``), holds them at a barrier until every one of them is connected,
releases them together and collects one :class:`Report` per worker: how many debits
were accepted, refused, or failed with an error, and when the worker started and
finished (``time.monotonic``, which is system-wide on Linux, so the parent can tell
that the workers really ran at the same time).

What a worker does is a picklable *job*:

* :class:`DebitJob` performs ``debits`` single debits of one credit through a
  pluggable spend function: :func:`real_spend` (the engine) or
  :func:`broken_check_then_write` (a deliberately wrong implementation, see there).
* :class:`MixedJob` runs a seeded random mix of ``spend_many`` batches (some with
  idempotency keys, some re-sent as a retry would), grants (some expiring within
  the run) and ``expire_due`` sweeps.

The checkers (:func:`check_debit_promises`, :func:`check_mixed_promises`) assert
the promises of ../shared/RELIABILITY.md on the outcome and raise one
``AssertionError`` listing every promise that was broken. Rule 8 ("test the
tests") is why the broken spend function lives here: the test suite runs it
through the same harness and checker and requires the checker to fail.
"""

from __future__ import annotations

import itertools
import os
import queue
import random
import tempfile
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from multiprocessing import get_context
from multiprocessing.synchronize import Barrier
from typing import Any, Protocol

from sqlalchemy import Engine, insert, select, update

from creditline import (
    Cause,
    CauseType,
    Creditline,
    Debit,
    DebitStatus,
    EntryType,
    GrantKind,
    InsufficientCredits,
    credits,
)
from creditline.adapters.db import tables as t
from creditline.adapters.db.engine import READ_ONLY, make_engine

__all__ = [
    "ONE",
    "RACE_WINDOW",
    "DebitJob",
    "MixedJob",
    "Report",
    "RunResult",
    "Worker",
    "broken_check_then_write",
    "check_debit_promises",
    "check_mixed_promises",
    "entry_sums",
    "handoffs",
    "real_spend",
    "run",
]

ONE = credits(1)
"""One credit in micro-credits: the size of every single debit."""

START_TIMEOUT = 60.0
"""Seconds the workers wait at the barrier for the slowest one to connect."""

RUN_TIMEOUT = 240.0
"""Seconds the parent waits for all reports before killing the workers."""

RACE_WINDOW = 0.002
"""Seconds :func:`broken_check_then_write` sleeps between its check and its write."""

TOO_MUCH = credits(1_000_000)
"""A debit no :class:`MixedJob` organization can ever cover (it grants far less)."""

LOCK_FILE = os.path.join(tempfile.gettempdir(), "creditline-concurrency-harness.lock")
"""Held by a :func:`run` for its duration: one harness run at a time on a machine."""


# -- what runs in a worker process ------------------------------------------------------


@dataclass
class Worker:
    """One worker process's handles on the database."""

    index: int
    cl: Creditline
    engine: Engine
    """A second, raw engine for code that bypasses the services (the broken variant)."""
    sequence: int = 0

    @classmethod
    def open(cls, url: str, index: int) -> Worker:
        cl = Creditline.open(url, migrate=False)
        try:
            engine = make_engine(url)
        except BaseException:
            cl.close()
            raise
        return cls(index, cl, engine)

    def close(self) -> None:
        self.cl.close()
        self.engine.dispose()

    def cause(self) -> Cause:
        """A new debit cause naming this worker (``w<index>-<n>``): see :func:`handoffs`."""
        self.sequence += 1
        return Cause(CauseType.DEBIT, f"w{self.index}-{self.sequence}")


SpendFn = Callable[[Worker, str], bool]
"""Spend one credit of an organization: True if accepted, False if refused; raise on error."""


def real_spend(worker: Worker, org_id: str) -> bool:
    """The engine's own debit: ``Creditline.spend`` of one credit."""
    try:
        worker.cl.spend(org_id, ONE, cause=worker.cause())
    except InsufficientCredits:
        return False
    return True


def broken_check_then_write(worker: Worker, org_id: str) -> bool:
    """DELIBERATELY WRONG: a check-then-write debit without any lock. Never copy this.

    It exists only so the tests can show that the harness catches an overdraw
    (RELIABILITY.md rule 8). It breaks rule 1 on purpose:

    1. *check* in one read-only transaction, taking no lock: read the first grant
       that still holds a credit, and its ``remaining_micros``;
    2. sleep :data:`RACE_WINDOW` to widen the gap, as a slow network or a busy
       server would;
    3. *write* in a second transaction, trusting the stale read: set the grant's
       ``remaining_micros`` to ``<value read> - 1 credit`` (an absolute write, so
       concurrent debits overwrite each other: a lost update), append the consume
       entry and take one credit off the balance row.

    Every process that read the same value "succeeds", so more debits are accepted
    than there were credits, the balance row goes below zero and the grant's
    ``remaining`` no longer equals the sum of its entries.
    """
    g = t.grants
    with worker.engine.connect() as reader:
        conn = reader.execution_options(**{READ_ONLY: True})  # SQLite: a deferred BEGIN
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
        conn.execute(update(g).where(g.c.id == grant_id).values(remaining_micros=seen - ONE))
        conn.execute(
            insert(t.ledger_entries).values(
                org_id=org_id,
                grant_id=grant_id,
                entry_type=EntryType.CONSUME.value,
                amount_micros=-ONE,
                cause_type=CauseType.DEBIT.value,
                cause_ref=worker.cause().ref,
                occurred_at=now,
                recorded_at=now,
                metadata=None,
            )
        )
        conn.execute(
            update(t.balances)
            .where(t.balances.c.org_id == org_id)
            .values(
                balance_micros=t.balances.c.balance_micros - ONE,
                entry_count=t.balances.c.entry_count + 1,
                updated_at=now,
            )
        )
    return True


@dataclass
class Report:
    """What one worker did. ``totals`` holds job-specific sums (micro-credits)."""

    index: int
    pid: int
    accepted: int = 0
    refused: int = 0
    errors: int = 0
    error_samples: list[str] = field(default_factory=list)
    totals: dict[str, int] = field(default_factory=dict)
    started: float = 0.0
    finished: float = 0.0
    fatal: str | None = None

    def error(self, exc: BaseException) -> None:
        self.errors += 1
        if len(self.error_samples) < 5:
            self.error_samples.append(f"{type(exc).__name__}: {exc}")

    def add(self, name: str, amount: int) -> None:
        self.totals[name] = self.totals.get(name, 0) + amount

    def attempt(self, name: str, amount: int, step: Callable[..., bool], *args: Any) -> None:
        """Run ``step(*args)``: accepted (``amount`` added under ``name``), refused (it
        answered False) or an error."""
        try:
            accepted = step(*args)
        except Exception as exc:
            self.error(exc)
            return
        if accepted:
            self.accepted += 1
            self.add(name, amount)
        else:
            self.refused += 1


class Job(Protocol):
    def __call__(self, worker: Worker, report: Report) -> None: ...


@dataclass(frozen=True)
class DebitJob:
    """``debits`` debits of one credit each from ``org_id`` through ``spend``."""

    org_id: str
    debits: int
    spend: SpendFn = real_spend

    def __call__(self, worker: Worker, report: Report) -> None:
        for _ in range(self.debits):
            try:
                accepted = self.spend(worker, self.org_id)
            except Exception as exc:
                report.error(exc)
                continue
            if accepted:
                report.accepted += 1
            else:
                report.refused += 1


@dataclass(frozen=True)
class MixedJob:
    """A seeded random mix of spends, retried spends, grants and expiry sweeps.

    Whether a debit is accepted depends on the timing; that some are refused does
    not: one debit in twenty asks for :data:`TOO_MUCH`, more than the organization
    can ever hold, in a batch with debits that may be accepted.

    Totals reported: ``spent`` (accepted debits), ``granted``, ``expired`` (by this
    worker's sweeps), ``replayed`` and ``last_expiry_us`` (the latest expiry it
    granted, in microseconds since the epoch). A replayed debit whose outcome differs
    from the first one counts as an error.
    """

    org_id: str
    ops: int
    seed: int

    def __call__(self, worker: Worker, report: Report) -> None:
        rng = random.Random(self.seed * 1_000 + worker.index)
        last: list[Debit] = []
        first: list[DebitStatus] = []
        for n in range(self.ops):
            roll = rng.random()
            try:
                if roll < 0.08 and last:
                    self._replay(worker, report, last, first)
                elif roll < 0.65:
                    last = [
                        Debit(
                            TOO_MUCH if rng.random() < 0.05 else rng.randint(1, 3 * ONE),
                            idempotency_key=f"w{worker.index}-{n}-{j}"
                            if rng.random() < 0.5
                            else None,
                        )
                        for j in range(rng.randint(1, 5))
                    ]
                    first = self._spend(worker, report, last)
                elif roll < 0.88:
                    self._grant(worker, report, rng)
                else:
                    report.add("expired", worker.cl.expire_due().amount)
            except Exception as exc:
                report.error(exc)

    def _spend(self, worker: Worker, report: Report, debits: list[Debit]) -> list[DebitStatus]:
        results = worker.cl.spend_many(self.org_id, debits)
        for r in results:
            if r.status is DebitStatus.ACCEPTED:
                report.accepted += 1
                report.add("spent", r.amount)
            elif r.status is DebitStatus.REFUSED:
                report.refused += 1
            else:
                report.error(r.error or RuntimeError("rejected"))
        return [r.status for r in results]

    def _replay(
        self, worker: Worker, report: Report, debits: list[Debit], first: list[DebitStatus]
    ) -> None:
        """Send the last batch again, as a client retrying after a timeout would."""
        results = worker.cl.spend_many(self.org_id, debits)
        for debit, was, r in zip(debits, first, results, strict=True):
            if debit.idempotency_key is None:
                # No key: a new debit like any other.
                if r.status is DebitStatus.ACCEPTED:
                    report.accepted += 1
                    report.add("spent", r.amount)
                elif r.status is DebitStatus.REFUSED:
                    report.refused += 1
                else:
                    report.error(r.error or RuntimeError("rejected"))
            elif not r.replayed or r.status is not was:
                report.error(AssertionError(f"replay of {debit} gave {r.status}, first {was}"))
            else:
                report.add("replayed", 1)

    def _grant(self, worker: Worker, report: Report, rng: random.Random) -> None:
        amount = rng.randint(1, 20 * ONE)
        kind = rng.choice([GrantKind.INCLUDED, GrantKind.PREPAID, GrantKind.PROMOTIONAL])
        expires_at = None
        if rng.random() < 0.5:
            expires_at = datetime.now(UTC) + timedelta(seconds=rng.uniform(0.05, 0.5))
        worker.cl.grant(self.org_id, amount, kind, expires_at=expires_at)
        report.add("granted", amount)
        if expires_at is not None:
            stamp = int(expires_at.timestamp() * 1_000_000)
            report.totals["last_expiry_us"] = max(report.totals.get("last_expiry_us", 0), stamp)


def _main(url: str, job: Job, index: int, barrier: Barrier, out: Any) -> None:
    """A worker process: connect, wait for the others, run the job, report."""
    report = Report(index, os.getpid())
    worker: Worker | None = None
    try:
        worker = Worker.open(url, index)
        barrier.wait(START_TIMEOUT)
        report.started = time.monotonic()
        job(worker, report)
        report.finished = time.monotonic()
    except BaseException:
        barrier.abort()
        report.fatal = traceback.format_exc()
    finally:
        if worker is not None:
            worker.close()
        out.put(report)


# -- what runs in the parent ------------------------------------------------------------


@dataclass(frozen=True)
class RunResult:
    """Every worker's report, in worker order, and the wall time of the run."""

    reports: tuple[Report, ...]
    elapsed: float

    @property
    def accepted(self) -> int:
        return sum(r.accepted for r in self.reports)

    @property
    def refused(self) -> int:
        return sum(r.refused for r in self.reports)

    @property
    def errors(self) -> int:
        return sum(r.errors for r in self.reports)

    def total(self, name: str) -> int:
        return sum(r.totals.get(name, 0) for r in self.reports)

    @property
    def overlapped(self) -> bool:
        """Whether every worker was running at one same instant."""
        return max(r.started for r in self.reports) < min(r.finished for r in self.reports)

    def describe(self) -> str:
        lines = [f"{len(self.reports)} workers in {self.elapsed:.2f}s:"]
        for r in self.reports:
            lines.append(
                f"  worker {r.index} (pid {r.pid}): {r.accepted} accepted, {r.refused} refused, "
                f"{r.errors} errors, ran {r.finished - r.started:.2f}s {r.totals or ''}"
            )
            lines.extend(f"    {s}" for s in r.error_samples)
        return "\n".join(lines)


@contextmanager
def _one_run_at_a_time() -> Iterator[None]:
    """Queue up behind any other harness run on this machine (pytest-xdist workers).

    Two runs of 4 processes each on a 2-core runner do not test anything more; they
    only preempt each other's lock holders and take five times as long.
    """
    try:
        import fcntl
    except ImportError:  # Windows: no queueing
        yield
        return
    with open(LOCK_FILE, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def run(url: str, job: Job, processes: int = 4, timeout: float = RUN_TIMEOUT) -> RunResult:
    """Run ``job`` in ``processes`` spawned processes released together; collect reports.

    Raises:
        AssertionError: a worker crashed, or the run did not finish within ``timeout``.
    """
    with _one_run_at_a_time():
        return _run(url, job, processes, timeout)


def _run(url: str, job: Job, processes: int, timeout: float) -> RunResult:
    ctx = get_context("spawn")
    barrier = ctx.Barrier(processes)
    out = ctx.Queue()
    procs = [
        ctx.Process(target=_main, args=(url, job, i, barrier, out), name=f"creditline-worker-{i}")
        for i in range(processes)
    ]
    began = time.monotonic()
    reports: list[Report] = []
    try:
        for p in procs:
            p.start()
        deadline = began + timeout
        while len(reports) < processes and time.monotonic() < deadline:
            try:
                reports.append(out.get(timeout=0.5))
            except queue.Empty:
                if not any(p.is_alive() for p in procs) and out.empty():
                    break
        elapsed = time.monotonic() - began
    finally:
        for p in procs:
            if p.pid is None:
                continue
            p.join(timeout=10 if len(reports) == processes else 0)
            if p.is_alive():
                p.kill()
                p.join()
            p.close()
        out.close()
        out.join_thread()
    if len(reports) < processes:
        raise AssertionError(
            f"only {len(reports)} of {processes} workers reported within {timeout}s"
        )
    fatal = [r for r in reports if r.fatal]
    if fatal:
        raise AssertionError(
            "a worker failed:\n" + "\n".join(f"worker {r.index}:\n{r.fatal}" for r in fatal)
        )
    return RunResult(tuple(sorted(reports, key=lambda r: r.index)), elapsed)


def entry_sums(cl: Creditline, org_id: str) -> dict[EntryType, tuple[int, int]]:
    """(number of entries, sum of amounts) of an organization's entries, by type."""
    sums: dict[EntryType, tuple[int, int]] = {}
    before: int | None = None
    while True:
        page = cl.history(org_id, limit=10_000, before_id=before)
        for e in page:
            count, total = sums.get(e.type, (0, 0))
            sums[e.type] = (count + 1, total + e.amount)
        if len(page) < 10_000:
            return sums
        before = page[-1].id


def handoffs(cl: Creditline, org_id: str) -> int:
    """How often two consecutive consume entries (in ledger order) were written by
    different workers: 3 means the 4 workers ran one after the other, hundreds mean
    their debits interleaved in the database."""
    writers = [
        e.cause.ref.split("-")[0]
        for e in reversed(cl.history(org_id, limit=10_000, types=[EntryType.CONSUME]))
    ]
    return sum(a != b for a, b in pairwise(writers))


def _fail(problems: Iterable[str], result: RunResult) -> None:
    problems = list(problems)
    if problems:
        raise AssertionError(
            "concurrency promises broken:\n  - "
            + "\n  - ".join(problems)
            + "\n"
            + result.describe()
        )


def check_debit_promises(
    result: RunResult, cl: Creditline, org_id: str, *, granted: int, attempts: int
) -> None:
    """Assert the outcome of a :class:`DebitJob` run on an organization that held
    ``granted`` micro-credits in whole credits: exactly ``granted`` one-credit debits
    accepted, the rest refused, no errors, balance zero, ledger sound, one consume
    entry per accepted debit."""
    expected = min(granted // ONE, attempts)
    problems: list[str] = []
    if result.errors:
        problems.append(f"{result.errors} debits failed with an error")
    if result.accepted != expected:
        problems.append(f"{result.accepted} debits accepted, expected {expected}")
    if result.refused != attempts - expected:
        problems.append(f"{result.refused} debits refused, expected {attempts - expected}")
    balance = cl.balance(org_id)
    if balance.total != granted - expected * ONE:
        problems.append(f"balance is {balance.total}, expected {granted - expected * ONE}")
    report = cl.verify()
    problems.extend(f"verify: {p}" for p in report.problems)
    consumed, _ = entry_sums(cl, org_id).get(EntryType.CONSUME, (0, 0))
    if consumed != expected:
        problems.append(f"{consumed} consume entries, expected {expected}")
    backwards = times_out_of_order(cl, org_id)
    if backwards:
        problems.append(f"{backwards} entries recorded before the entry written ahead of them")
    _fail(problems, result)


def times_out_of_order(cl: Creditline, org_id: str) -> int:
    """Entries whose ``recorded_at`` is earlier than that of the entry before them (by id).

    The clock is read under the organization's lock, so the ledger's times must follow
    its order of writing."""
    entries = list(reversed(cl.history(org_id, limit=10_000)))
    return sum(1 for a, b in itertools.pairwise(entries) if b.recorded_at < a.recorded_at)


def check_mixed_promises(
    result: RunResult, cl: Creditline, org_id: str, *, initial: int
) -> dict[str, int]:
    """Assert the outcome of a :class:`MixedJob` run: no errors, the ledger verifies,
    and it accounts for every micro-credit the workers say they granted, spent and
    expired. First waits for the last expiring grant and sweeps it. Returns the
    totals (``granted``, ``spent``, ``expired``) in micro-credits."""
    last_expiry = max((r.totals.get("last_expiry_us", 0) for r in result.reports), default=0)
    wait = last_expiry / 1_000_000 - time.time()
    if wait > 0:
        time.sleep(wait + 0.01)
    swept = cl.expire_due().amount
    granted = initial + result.total("granted")
    spent = result.total("spent")
    expired = result.total("expired") + swept
    problems: list[str] = []
    if result.errors:
        problems.append(f"{result.errors} operations failed with an error")
    problems.extend(f"verify: {p}" for p in cl.verify().problems)
    balance = cl.balance(org_id)
    if balance.total != granted - spent - expired:
        problems.append(
            f"balance {balance.total} != granted {granted} - spent {spent} - expired {expired}"
        )
    if balance.expired_unswept:
        problems.append(f"{balance.expired_unswept} expired but not swept")
    sums = entry_sums(cl, org_id)
    for kind, want in (
        (EntryType.GRANT, granted),
        (EntryType.CONSUME, -spent),
        (EntryType.EXPIRE, -expired),
    ):
        got = sums.get(kind, (0, 0))[1]
        if got != want:
            problems.append(f"{kind} entries sum to {got}, the workers account for {want}")
    _fail(problems, result)
    return {"granted": granted, "spent": spent, "expired": expired}
