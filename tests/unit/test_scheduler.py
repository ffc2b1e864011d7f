"""The scheduler without a database: jobs run in order, errors are reported, and the
worker loop ticks on schedule until stopped (a fake clock, never sleeping)."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

import pytest

from creditline.domain.errors import InvalidSetting, PlanNotFound, StorageError
from creditline.services.scheduler import JobOutcome, run_jobs, run_worker

NOW = datetime(2026, 2, 1, tzinfo=UTC)


def test_jobs_run_in_order_at_the_ticks_instant_and_errors_do_not_stop_the_tick() -> None:
    seen: list[str] = []

    def renewals(now: datetime) -> JobOutcome:
        seen.append(f"renewals {now.date()}")
        return JobOutcome({"cycles": 3}, (PlanNotFound("gone"),))

    def expiry(now: datetime) -> dict[str, int]:
        seen.append("expiry")
        raise StorageError("database is down")

    def invoices(now: datetime) -> dict[str, int]:
        seen.append("invoices")
        return {"invoices": 2}

    ticks = iter(range(100))
    report = run_jobs(
        [("renewals", renewals), ("expiry", expiry), ("invoices", invoices)],
        NOW,
        timer=lambda: float(next(ticks)),
    )
    assert seen == ["renewals 2026-02-01", "expiry", "invoices"]
    assert [(j.name, dict(j.summary), j.seconds, j.ok) for j in report.jobs] == [
        ("renewals", {"cycles": 3}, 1.0, False),
        ("expiry", {}, 1.0, False),
        ("invoices", {"invoices": 2}, 1.0, True),
    ]
    assert [type(e) for e in report.errors] == [PlanNotFound, StorageError]
    assert not report.ok and report.at == NOW
    assert report.job("invoices").summary == {"invoices": 2}
    with pytest.raises(KeyError):
        report.job("nope")


def test_a_bug_in_a_job_is_not_swallowed() -> None:
    def broken(now: datetime) -> dict[str, int]:
        raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        run_jobs([("broken", broken)], NOW)


class FakeTime:
    """A monotonic clock that ``stop.wait`` moves forward instead of sleeping."""

    def __init__(self) -> None:
        self.now = 100.0
        self.waits: list[float] = []


class FakeStop(threading.Event):
    def __init__(self, time: FakeTime, after: int) -> None:
        super().__init__()
        self.time = time
        self.after = after

    def wait(self, timeout: float | None = None) -> bool:
        assert timeout is not None
        self.time.waits.append(round(timeout, 6))
        self.time.now += timeout
        if len(self.time.waits) >= self.after:
            self.set()
        return self.is_set()


def test_the_worker_ticks_on_schedule_until_stopped_and_outlives_a_failed_tick() -> None:
    time = FakeTime()
    stop = FakeStop(time, after=4)
    durations = iter([2.0, 75.0, 1.0, 0.5])
    results: list[int] = []
    errors: list[Exception] = []
    calls = 0

    def tick() -> int:
        nonlocal calls
        calls += 1
        time.now += next(durations)
        if calls == 3:
            raise StorageError("database is down")
        return calls

    ran = run_worker(tick, 60, stop, on_tick=results.append, on_error=errors.append,
                     clock=lambda: time.now)  # fmt: skip
    assert ran == 4
    assert results == [1, 2, 4]
    assert [str(e) for e in errors] == ["database is down"]
    # Scheduled from the start: 58s after a 2s tick; at once after a 75s one; then the
    # schedule restarts from there.
    assert time.waits == [58.0, 0.0, 59.0, 59.5]


def test_a_stopped_worker_does_not_tick_and_a_bad_interval_is_refused() -> None:
    stop = threading.Event()
    stop.set()
    assert run_worker(lambda: 1, 60, stop) == 0
    for bad in (0, -1, True, "60"):
        with pytest.raises(InvalidSetting):
            run_worker(lambda: 1, bad, threading.Event())  # type: ignore[arg-type]
