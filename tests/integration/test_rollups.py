"""The rollups behind reports and the overview, on SQLite and PostgreSQL.

- After a random mix of single and batch records (with and without a project or a
  member, across days and weeks), voids and amendments, every report read from the
  rollups equals the same report computed by a scan of the events, for every grouping,
  every period and windows that start and end inside days.
- ``usage_rollups`` and ``balance_days`` kept by the services equal the ones rebuilt from
  the events and the ledger in one pass, and the ones migration 0010 fills a database
  that had history before it.
- A batch's usage is rolled up per key with the right counts; a void takes the event out
  of its group and an amendment moves the group's cost.
"""

from __future__ import annotations

import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from alembic import command
from sqlalchemy import select

from creditline import Creditline, ManualClock, credits
from creditline.adapters.db import tables as t
from creditline.adapters.db.migrate import alembic_config
from creditline.adapters.db.reports import ReportRepository, rebuild_rollups
from creditline.adapters.db.uow import SqlUnitOfWork
from creditline.domain.amounts import MAX_MICROS
from creditline.domain.reports import GROUPS, PERIODS, UsageRow
from creditline.domain.usage import UsageEvent
from tests.metering import card_doc

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)


def _setup(cl: Creditline) -> tuple[str, list[str | None], list[str | None]]:
    cl.load_rate_card(card_doc())
    org = cl.create_org("Rollups").id
    other = cl.create_org("Other").id
    cl.grant(org, credits(1_000_000), "prepaid")
    cl.grant(other, credits(1_000), "prepaid")
    cl.record(other, "x-1", "ping")  # another organization's usage never shows
    projects: list[str | None] = [None, *(cl.create_project(org, f"p{i}").id for i in range(2))]
    members: list[str | None] = [None, cl.add_member(org, "Ada", "ada@r.example").id]
    return org, projects, members


Attribution = tuple[list[str | None], list[str | None]]


def _event(rng: random.Random, org: str, n: int, at: datetime, who: Attribution) -> UsageEvent:
    projects, members = who
    op = rng.choice(["ping", "translate", "render"])
    quantities = {"characters": rng.randint(1, 3) * 100_000} if op == "translate" else {}
    dimensions = {"mode": rng.choice(["basic", "pro"])} if op == "render" else {}
    return UsageEvent(
        f"e-{n}", org, op, at, quantities, dimensions, rng.choice(projects), rng.choice(members)
    )


def _random_history(cl: Creditline, clock: ManualClock, seed: int) -> str:
    """Twenty days of usage: batches and singles at random times, some voided, some
    amended (translate events re-priced)."""
    rng = random.Random(seed)
    org, projects, members = _setup(cl)
    recorded: list[UsageEvent] = []
    n = 0
    for _ in range(20):
        clock.advance(timedelta(hours=rng.randint(6, 30), minutes=rng.randint(0, 59)))
        now = clock.now()
        batch = []
        for _ in range(rng.randint(0, 12)):
            n += 1
            at = now - timedelta(minutes=rng.randint(0, 4), seconds=rng.randint(0, 59))
            batch.append(_event(rng, org, n, at, (projects, members)))
        if rng.random() < 0.3 and batch:
            batch.append(batch[0])  # a duplicate in the batch: counted once
        results = cl.record_usage(batch)
        recorded += [e for e, r in zip(batch, results, strict=True) if r.status == "accepted"]
        n += 1
        single = _event(rng, org, n, now, (projects, members))
        if cl.record_usage([single])[0].status == "accepted":
            recorded.append(single)
        for event in rng.sample(recorded, min(len(recorded), rng.randint(0, 2))):
            if rng.random() < 0.5:
                cl.void_event(org, event.event_id)
            elif event.operation == "translate":
                cl.amend_event(org, event.event_id, {"characters": rng.randint(1, 9) * 100_000})
    return org


def _reports(cl: Creditline, org: str, since: datetime, until: datetime) -> list[tuple]:
    """Every grouping and period, from the rollups and from the scan."""
    with SqlUnitOfWork(cl._engine, read_only=True) as uow:
        found = []
        for group_by in [(), ("project",), ("operation", "member"), GROUPS]:
            for period in (None, *PERIODS):
                args = (org, group_by, since, until, period)
                found.append((args, uow.reports.usage(*args), uow.reports.usage_scan(*args)))
        return found


def _table(cl: Creditline, table: Any) -> list[tuple]:
    with cl._engine.connect() as conn:
        return sorted(tuple(r) for r in conn.execute(select(table)))


@pytest.mark.parametrize("seed", [1, 2])
def test_reports_from_rollups_equal_a_scan_of_the_events(
    cl: Creditline, clock: ManualClock, seed: int
) -> None:
    org = _random_history(cl, clock, seed)
    rng = random.Random(seed)
    windows = [
        (T0, clock.now() + DAY),  # whole days only
        (T0 + timedelta(hours=rng.randint(20, 70)), clock.now() - timedelta(hours=13)),
        (T0 + timedelta(days=3, minutes=7), T0 + timedelta(days=3, hours=9)),  # inside a day
    ]
    compared = 0
    for since, until in windows:
        for args, rolled, scanned in _reports(cl, org, since, until):
            assert rolled == scanned, args
            compared += sum(r.events for r in rolled)
    assert compared > 0


def test_rollups_kept_by_the_services_equal_rollups_rebuilt_from_history(
    cl: Creditline, clock: ManualClock
) -> None:
    _random_history(cl, clock, 3)
    kept = _table(cl, t.usage_rollups), _table(cl, t.balance_days)
    with cl._engine.begin() as conn:
        rebuild_rollups(conn)
    rebuilt = _table(cl, t.usage_rollups), _table(cl, t.balance_days)
    # A group whose every event was voided keeps a row of zeros; a rebuild has none.
    assert [r for r in kept[0] if r[-2] != 0] == rebuilt[0]
    assert kept[1] == rebuilt[1]
    assert rebuilt[0] and rebuilt[1]


def test_a_batch_is_rolled_up_per_day_project_operation_and_member(
    cl: Creditline, clock: ManualClock
) -> None:
    org, (_, project, _), (_, member) = _setup(cl)
    clock.set(T0 + timedelta(days=2, hours=1))
    late = T0 + timedelta(days=1, hours=23, minutes=58)  # the day before, in UTC
    cl.record_usage([
        UsageEvent("a", org, "ping", late, project_id=project),
        UsageEvent("b", org, "ping", late, project_id=project),
        UsageEvent("c", org, "ping", clock.now()),
        UsageEvent("d", org, "render", clock.now(), {}, {"mode": "pro"}, project, member),
    ])  # fmt: skip
    rows = [r for r in _table(cl, t.usage_rollups) if r[0] == org]
    assert rows == [
        (org, date(2026, 1, 2), project, "ping", "", 2, credits(2)),
        (org, date(2026, 1, 3), "", "ping", "", 1, credits(1)),
        (org, date(2026, 1, 3), project, "render", member, 1, credits(3)),
    ]


def test_a_void_takes_the_event_out_of_its_group_and_an_amendment_moves_the_cost(
    cl: Creditline, clock: ManualClock
) -> None:
    org, _, _ = _setup(cl)
    cl.record(org, "t-1", "translate", {"characters": 100_000})  # 1 credit
    cl.record(org, "t-2", "translate", {"characters": 100_000})
    cl.amend_event(org, "t-1", {"characters": 300_000})  # now 3 credits
    report = cl.usage_report(org, ["operation"])
    assert report.rows == (UsageRow(("translate",), 2, credits(4)),)
    cl.void_event(org, "t-1")
    cl.void_event(org, "t-1")  # a second void changes nothing
    assert cl.usage_report(org, ["operation"]).rows == (UsageRow(("translate",), 1, credits(1)),)
    cl.void_event(org, "t-2")
    assert cl.usage_report(org, ["operation"]).rows == ()


def test_the_balance_days_sum_each_days_movements(cl: Creditline, clock: ManualClock) -> None:
    org, _, _ = _setup(cl)  # day 1: granted 1,000,000
    cl.record(org, "p-1", "ping")
    clock.advance(DAY)
    cl.record(org, "p-2", "ping")
    cl.void_event(org, "p-1")  # given back on day 2: that day's burn nets to 0
    hold = cl.reserve(org, credits(5))
    cl.release(org, hold.id)
    cl.spend(org, credits(2))  # a plain debit is consumption too
    with SqlUnitOfWork(cl._engine, read_only=True) as uow:
        days = ReportRepository.balance_days(uow.reports, org, T0.date(), T0.date() + DAY)
    assert [(d.day, d.credited, d.debited, d.net, d.burnt) for d in days] == [
        (date(2026, 1, 1), credits(1_000_000), credits(1), credits(1_000_000 - 1), credits(1)),
        (date(2026, 1, 2), credits(1 + 5), credits(1 + 5 + 2), -credits(2), credits(2)),
    ]


def test_flows_beyond_the_64_bit_range_saturate_the_rollups_and_never_fail_a_movement(
    cl: Creditline, clock: ManualClock
) -> None:
    org, _, _ = _setup(cl)
    for n in range(3):  # the most a balance can hold, in and out, three times in a day
        cl.grant(org, MAX_MICROS - cl.balance(org).total, "prepaid")
        cl.spend(org, cl.balance(org).available, idempotency_key=f"all-{n}")
    assert cl.balance(org).total == 0 and cl.verify().ok
    with SqlUnitOfWork(cl._engine, read_only=True) as uow:
        (day,) = uow.reports.balance_days(org, T0.date(), T0.date())
    assert (day.credited, day.debited, day.burnt) == (MAX_MICROS, MAX_MICROS, MAX_MICROS)
    assert day.net == 0  # the day's change of balance is exact
    assert cl.overview(org).burn_down[-1].closing == 0


def test_migration_0010_fills_the_rollups_from_the_stored_history(
    cl: Creditline, clock: ManualClock
) -> None:
    _random_history(cl, clock, 4)
    kept = _table(cl, t.usage_rollups), _table(cl, t.balance_days)
    config = alembic_config()
    with cl._engine.connect() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, "0009")  # drops the rollups (and what came after)
        command.upgrade(config, "head")  # builds them again from the events and entries
    assert _table(cl, t.usage_rollups) == [r for r in kept[0] if r[-2] != 0]
    assert _table(cl, t.balance_days) == kept[1]
