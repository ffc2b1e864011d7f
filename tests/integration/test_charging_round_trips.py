"""A charging group's transaction on the wire.

On PostgreSQL a group sends its ``BEGIN`` with its first reads and its ``COMMIT`` with
its last writes, so a reserve waits for the server twice. These tests count the
round trips (the ``Sync`` messages the driver sends, from libpq's own trace, not a
clock) and check what that must not cost: a group whose last statement fails stores
nothing although its ``COMMIT`` was queued behind it, and the pool gets back
connections that start their own transactions.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest
from sqlalchemy import event

from creditline import Creditline, ManualClock, credits
from creditline.adapters.db.charging import ChargingRepository
from creditline.adapters.db.raw import Sql
from creditline.domain.usage import EventStatus
from creditline.services import budgets
from tests.conftest import T0
from tests.databases import database, migrated
from tests.metering import card_doc

_BROKEN = Sql("INSERT INTO organizations (id) VALUES (?)")


@pytest.fixture
def pg(tmp_path: Path) -> Iterator[Creditline]:
    with (
        database("postgres", tmp_path) as url,
        Creditline.open(migrated(url), clock=ManualClock(T0)) as cl,
    ):
        yield cl


def _funded(cl: Creditline) -> str:
    """A new organization with 10 credits."""
    org = cl.create_org("Acme").id
    cl.grant(org, credits(10))
    return org


def _syncs(cl: Creditline, call: Any) -> int:
    """How many times the driver waits for the server while ``call()`` runs."""
    traced: list[Any] = []
    with tempfile.TemporaryFile("w+") as trace:

        def on_checkout(dbapi_conn: Any, _record: Any, _proxy: Any) -> None:
            dbapi_conn.pgconn.trace(trace.fileno())
            traced.append(dbapi_conn)

        event.listen(cl._engine, "checkout", on_checkout)
        try:
            call()
        finally:
            event.remove(cl._engine, "checkout", on_checkout)
            for conn in traced:
                conn.pgconn.untrace()
        trace.seek(0)
        lines = [line.split("\t") for line in trace.read().splitlines()]
    return sum(1 for line in lines if line[1:2] == ["F"] and line[3:4] == ["Sync"])


@pytest.mark.postgres
def test_a_reserve_waits_for_postgresql_twice_begin_with_the_reads_commit_with_the_writes(
    pg: Creditline,
) -> None:
    org = _funded(pg)
    pg.reserve(org, credits(1))  # the statements are prepared by now

    assert _syncs(pg, lambda: pg.reserve(org, credits(1))) == 2
    assert pg.balance(org).held == credits(2)
    assert pg.verify().ok


@pytest.mark.postgres
def test_recording_an_event_waits_for_postgresql_twice_its_stored_twin_and_card_read_with_the_lock(
    pg: Creditline,
) -> None:
    pg.load_rate_card(card_doc())
    org = _funded(pg)
    pg.record(org, "evt-0", "render", dimensions={"mode": "pro"})

    assert _syncs(pg, lambda: pg.record(org, "evt-1", "render", dimensions={"mode": "pro"})) == 2
    again = pg.record(org, "evt-1", "render", dimensions={"mode": "pro"})
    assert again.status is EventStatus.DUPLICATE
    assert pg.verify().ok


def test_a_group_that_counts_a_budget_after_its_rows_commits_both_or_neither(
    cl: Creditline, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = _funded(cl)
    team = cl.create_project(org, "vision").id
    cl.create_budget(org, project_id=team, amount=credits(5), period="day")
    before = cl.balance(org)
    write_counts = budgets.write_counts

    def failing(uow: Any, decision: Any, now: Any) -> None:
        write_counts(uow, decision, now)
        raise RuntimeError("the budget's count could not be written")

    # the rows go first: were their COMMIT sent with them, they would outlive this
    monkeypatch.setattr(budgets, "write_counts", failing)
    with pytest.raises(RuntimeError, match="budget's count"):
        cl.spend(org, credits(1), project_id=team)

    assert cl.balance(org) == before
    assert [e.type.value for e in cl.history(org)] == ["grant"]
    (standing,) = cl.budgets(org)
    assert standing.consumed == 0
    assert cl.verify().ok


def test_a_group_whose_last_statement_fails_stores_nothing_though_its_commit_was_queued(
    cl: Creditline, monkeypatch: pytest.MonkeyPatch
) -> None:
    org = _funded(cl)
    before = cl.balance(org)
    move = ChargingRepository.move_balances

    def failing(self: ChargingRepository, moves: Any, now: Any) -> None:
        move(self, moves, now)
        self._raw.many(_BROKEN, [(None,)])  # the group's last statement breaks a rule

    monkeypatch.setattr(ChargingRepository, "move_balances", failing)
    with pytest.raises((psycopg.errors.NotNullViolation, sqlite3.IntegrityError)):
        cl.reserve(org, credits(1))

    assert cl.reservations(org) == []
    assert cl.balance(org) == before
    assert cl.verify().ok
    monkeypatch.undo()
    hold = cl.reserve(org, credits(1))  # the connection the group used works as before
    assert cl.balance(org).held == credits(1) and cl.reservation(org, hold.id).is_open


@pytest.mark.postgres
def test_the_pool_gets_back_connections_that_start_their_own_transactions(
    pg: Creditline,
) -> None:
    org = _funded(pg)
    for _ in range(3):
        pg.reserve(org, credits(1))

    pool = pg._engine.pool
    pooled = [pg._engine.raw_connection() for _ in range(pool.checkedin())]
    try:
        assert pooled and all(c.driver_connection.autocommit is False for c in pooled)
    finally:
        for conn in pooled:
            conn.close()
