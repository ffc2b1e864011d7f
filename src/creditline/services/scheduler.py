"""The scheduler: time-driven work, run in order on every tick, and a worker loop (F1).

A *tick* runs a list of named jobs, in order, each given the tick's instant: the
engine's are cycle renewals, then expiry (which also releases overdue reservations);
others (monthly flex invoicing) are added to the end with
:meth:`creditline.Creditline.add_tick_job`. Every job is idempotent and catches up on
its own, so a tick after any downtime does every missed renewal and expiry exactly
once, and running ticks from several processes at once is safe.

A job that fails with an engine error (:class:`~creditline.domain.errors.CreditlineError`)
is reported in the tick's :class:`TickReport` and the next job still runs; anything
else is a bug and propagates. A job that did part of its work (the renewals of every
organization but one) returns a :class:`JobOutcome`: its summary and the errors.

:func:`run_worker` ticks every ``interval`` seconds until its stop event is set (the
command line sets it on SIGINT or SIGTERM): the tick under way finishes, then it
returns. Ticks are scheduled from the worker's start, so a slow tick does not shift
the ones after it; a tick longer than the interval is followed at once by the next.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from creditline.domain.errors import CreditlineError, InvalidSetting

__all__ = ["JobOutcome", "JobRun", "TickJob", "TickReport", "run_jobs", "run_worker"]

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class JobOutcome:
    """What a job did (its summary) and the engine errors of the parts it could not do."""

    summary: Mapping[str, Any]
    errors: tuple[CreditlineError, ...] = ()


class TickJob(Protocol):
    """A job run on every tick: does what is due at ``now`` and returns a summary of
    it, JSON-able (numbers, strings, lists, mappings), for the tick's report, or a
    :class:`JobOutcome` when part of it failed."""

    def __call__(self, now: datetime) -> Mapping[str, Any] | JobOutcome: ...


@dataclass(frozen=True, slots=True)
class JobRun:
    """One job of one tick: its summary, and the engine errors it met (an error that
    stopped it leaves the summary empty)."""

    name: str
    summary: Mapping[str, Any]
    seconds: float
    errors: tuple[CreditlineError, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.errors


@dataclass(frozen=True, slots=True)
class TickReport:
    """What one tick did: each job's run, in the order they ran."""

    at: datetime
    jobs: tuple[JobRun, ...]

    @property
    def ok(self) -> bool:
        return all(j.ok for j in self.jobs)

    @property
    def errors(self) -> tuple[CreditlineError, ...]:
        return tuple(e for j in self.jobs for e in j.errors)

    def job(self, name: str) -> JobRun:
        """The run of the job called ``name``."""
        for run in self.jobs:
            if run.name == name:
                return run
        raise KeyError(name)


def run_jobs(
    jobs: Sequence[tuple[str, TickJob]],
    now: datetime,
    timer: Callable[[], float] = time.perf_counter,
) -> TickReport:
    """Run ``jobs`` in order at ``now`` (see the module docstring)."""
    runs = []
    for name, job in jobs:
        began = timer()
        try:
            done = job(now)
        except CreditlineError as exc:
            done = JobOutcome({}, (exc,))
        if not isinstance(done, JobOutcome):
            done = JobOutcome(done)
        runs.append(JobRun(name, dict(done.summary), timer() - began, done.errors))
    return TickReport(now, tuple(runs))


def run_worker(
    tick: Callable[[], T],
    interval: float,
    stop: threading.Event,
    *,
    on_tick: Callable[[T], None] = lambda _: None,
    on_error: Callable[[Exception], None] = lambda _: None,
    clock: Callable[[], float] = time.monotonic,
) -> int:
    """Call ``tick`` every ``interval`` seconds until ``stop`` is set; return how many
    ticks ran. ``on_tick`` gets each tick's result; a tick that raises goes to
    ``on_error`` and the worker carries on.

    Raises:
        InvalidSetting: an interval that is not a positive number of seconds.
    """
    if isinstance(interval, bool) or not isinstance(interval, int | float) or not interval > 0:
        raise InvalidSetting("worker interval", interval, "must be a positive number of seconds")
    ticks = 0
    due = clock()
    while not stop.is_set():
        try:
            on_tick(tick())
        except Exception as exc:  # the worker outlives a failed tick; it is reported
            on_error(exc)
        ticks += 1
        due += interval
        now = clock()
        due = max(due, now)  # after a tick longer than the interval, the next one at once
        stop.wait(due - now)
    return ticks
