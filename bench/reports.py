"""Reports benchmark: one organization's monthly usage report and overview in a big database.

Run with ``make bench-reports`` (or ``.venv/bin/python bench/reports.py``). For SQLite and
PostgreSQL it builds a database of ``--events`` usage events (default 10,000,000) of which
``--org-events`` (default 1,000,000) belong to one organization, spread evenly over
``--days`` days (default 365) in time order (as they would have been ingested: the
organization's rows are interleaved with 999 others'), over 5 projects, 6 operations and
10 members (and none), 2% of them refused. Then it prints:

- the organization's monthly usage report (the last whole month, by project and operation
  and day, through ``Creditline.usage_report``: read from the rollups), p50 of ``--runs``;
- the same report by a full scan of the events (``ReportRepository.usage_scan``, what the
  report cost before the rollups), p50 of a few runs, for comparison;
- the overview (``Creditline.overview``: counter, flags, cycle, burn-down, forecast), p50;
- the overview page's server time: ``GET /portal/`` of the service's app in this process,
  in a portal session (see :func:`overview_page_ms`), p50;
- how long the bulk load and the rollup build took.

Building 10M events through the engine would take hours, so the rows are bulk-inserted
directly (``executemany`` on SQLite, ``COPY`` on PostgreSQL) and the rollups are then built
by one ``INSERT ... SELECT ... GROUP BY`` each (:func:`rebuild_rollups`, what migration 0010
does for an existing database). The organization's ledger gets what the engine would have
written for its usage: a grant, then one consume entry a day (a batch's netted entries),
and its grant and balance are moved to match; ``verify`` checks that at the end. Its
subscription (a calendar-month plan) gives the overview a cycle.

The last line is one JSON object with every figure: ``sqlite_org_month_report_ms``,
``postgres_org_month_report_ms``, ``*_full_scan_ms``, ``*_overview_ms``,
``*_overview_page_ms``, ``*_load_s``, ``*_rollups_s``. Nothing here asserts on time; the
targets are under 50 ms for the monthly report and under 200 ms for the overview page.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, insert, text, update
from starlette.testclient import TestClient

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from creditline import Creditline, ManualClock
from creditline.adapters.db import tables as t
from creditline.adapters.db.reports import ReportRepository, rebuild_rollups
from creditline.adapters.db.uow import SqlUnitOfWork
from creditline.domain.reports import UsageRow
from creditline.entrypoints.api import ApiSettings, create_app

START = datetime(2025, 1, 16, tzinfo=UTC)
OTHER_ORGS = 999
OPERATIONS = ("chat", "embed", "train", "render", "transcribe", "translate")
COSTS = (1_000_000, 200_000, 12_000_000, 3_000_000, 2_500_000, 700_000)  # micro-credits
CHUNK = 100_000
COLUMNS = (
    "org_id", "event_id", "operation", "project_id", "member_id", "parent_id", "occurred_at",
    "recorded_at", "status", "cost_micros", "reason", "rate_card", "request_hash", "body",
    "batch_id",
)  # fmt: skip
HASH = "0" * 64
BODY = json.dumps(
    {"quantities": {"tokens": "1250"}, "dimensions": {"model": "bench"}, "steps": [],
     "metadata": {}, "components": [], "allocations": []},
    separators=(",", ":"),
)  # fmt: skip
PLAN = {
    "name": "bench",
    "anchor": "calendar",
    "depletion": "read_only",
    "cycle_grant": {"credits": "1000", "kind": "included"},
    "grant_expiry": "end_of_cycle",
}


class Org:
    """The measured organization: its id, projects and members (``None``: no attribution)."""

    def __init__(self, cl: Creditline) -> None:
        self.id = cl.create_org("Bench org").id
        self.projects = [None, *(cl.create_project(self.id, f"project-{i}").id for i in range(5))]
        self.members = [
            None,
            *(cl.add_member(self.id, f"m{i}", f"m{i}@bench.example").id for i in range(10)),
        ]


def rows(org: Org, total: int, mine: int, days: int) -> Iterator[list[tuple]]:
    """Every event row in time order, ``CHUNK`` at a time, timestamps in SQLite's storage
    form (UTC ISO text); every ``total // mine``-th row is the organization's. Each row's
    choices come from its number (no randomness)."""
    span = days * 86_400_000_000  # microseconds
    names = [(START + timedelta(days=d)).date().isoformat() for d in range(days + 1)]
    every = max(1, total // mine)
    others = [f"org_bench{n:06d}" for n in range(OTHER_ORGS)]
    projects, members = org.projects, org.members
    chunk: list[tuple] = []
    taken = 0
    for n in range(total):
        day, us = divmod(n * span // total, 86_400_000_000)
        seconds, fraction = divmod(us, 1_000_000)
        hours, seconds = divmod(seconds, 3_600)
        when = f"{names[day]} {hours:02d}:{seconds // 60:02d}:{seconds % 60:02d}.{fraction:06d}"
        if n % every == 0 and taken < mine:
            taken += 1
            k = n // every
            org_id, project, member = org.id, projects[k % 6], members[k * 7 % 11]
        else:
            org_id, project, member = others[n % OTHER_ORGS], None, None
        op = (n * 13 + n // 7) % 6
        refused = (n * 7 + n // 10) % 50 == 3
        cost = 0 if refused else COSTS[op] + n % 5 * 1_000
        chunk.append(
            (org_id, f"e{n}", OPERATIONS[op], project, member, None, when, when,
             "refused" if refused else "accepted", cost, "plan gate" if refused else None,
             "bench@1", HASH, BODY, None)
        )  # fmt: skip
        if len(chunk) == CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _copy_text(chunk: list[tuple]) -> str:
    """Rows in COPY's text format (no value holds a tab, newline or backslash); the UTC
    timestamps get their zone."""
    lines = []
    for row in chunk:
        cells = ["\\N" if v is None else str(v) for v in row]
        cells[6] = cells[7] = f"{row[6]}+00"
        lines.append("\t".join(cells))
    return "\n".join(lines) + "\n"


def bulk_load(engine: Engine, chunks: Iterator[list[tuple]], org_id: str) -> dict[str, int]:
    """Insert the rows, one transaction a chunk; the organization's cost per UTC day."""
    names = ", ".join(COLUMNS)
    per_day: dict[str, int] = {}
    postgres = engine.dialect.name == "postgresql"
    for chunk in chunks:
        for row in chunk:
            if row[0] == org_id and row[9]:
                day = row[6][:10]
                per_day[day] = per_day.get(day, 0) + row[9]
        with engine.begin() as conn:
            raw: Any = conn.connection.driver_connection
            if postgres:
                with raw.cursor() as cur, cur.copy(f"COPY usage_events ({names}) FROM STDIN") as cp:
                    cp.write(_copy_text(chunk))
            else:
                # A big page cache: the indexes of 10M rows do not fit in the default 2 MB.
                raw.execute("PRAGMA cache_size = -1000000")
                marks = ",".join("?" * len(COLUMNS))
                raw.executemany(f"INSERT INTO usage_events ({names}) VALUES ({marks})", chunk)
    return per_day


def charge(cl: Creditline, org_id: str, per_day: dict[str, int], left: int) -> None:
    """What the engine would have written for the usage: a prepaid grant of the usage's
    cost plus ``left``, then one consume entry a day; the grant and balance moved to match."""
    grant = cl.grant(org_id, sum(per_day.values()) + left, "prepaid")
    spent = sum(per_day.values())
    entries = [
        {"org_id": org_id, "grant_id": grant.id, "entry_type": "consume", "amount_micros": -cost,
         "cause_type": "usage_batch", "cause_ref": f"ub_bench_{day}",
         "occurred_at": datetime.fromisoformat(day).replace(hour=23, tzinfo=UTC),
         "recorded_at": datetime.fromisoformat(day).replace(hour=23, tzinfo=UTC)}
        for day, cost in sorted(per_day.items())
    ]  # fmt: skip
    with cl._engine.begin() as conn:
        conn.execute(insert(t.ledger_entries), entries)
        g, b = t.grants.c, t.balances.c
        conn.execute(
            update(t.grants)
            .where(g.id == grant.id)
            .values(remaining_micros=g.remaining_micros - spent)
        )
        conn.execute(
            update(t.balances)
            .where(b.org_id == org_id)
            .values(
                balance_micros=b.balance_micros - spent, entry_count=b.entry_count + len(entries)
            )
        )


def p50_ms(call: Callable[[], object], runs: int) -> float:
    samples = []
    for _ in range(runs):
        began = time.perf_counter()
        call()
        samples.append((time.perf_counter() - began) * 1_000)
    return statistics.median(samples)


def overview_page_ms(cl: Creditline, org_id: str, runs: int) -> float:
    """The overview page's server time: ``GET /portal/`` of the service's app, in this
    process (starlette's TestClient, no network), in a portal session opened by a link
    from ``cl.create_portal_session``; p50 of ``runs``."""
    app = create_app(cl, settings=ApiSettings(rate_per_second=0, log_requests=False))
    with TestClient(app) as browser:
        opened = browser.get(cl.create_portal_session(org_id, read_only=True).url)
        assert opened.status_code == 200 and opened.url.path == "/portal/", opened.status_code

        def page() -> None:
            answer = browser.get("/portal/")
            assert answer.status_code == 200, answer.status_code

        return p50_ms(page, runs)


def analyze(engine: Engine) -> None:
    """Fresh planner statistics after the bulk load (a real database has them)."""
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(text("VACUUM ANALYZE"))
    else:
        with engine.begin() as conn:
            conn.execute(text("ANALYZE"))


def run(backend: str, url: str, args: argparse.Namespace, out: dict[str, float]) -> None:
    clock = ManualClock(START - timedelta(days=1))
    with Creditline.open(url, clock=clock) as cl:
        org = Org(cl)
        began = time.perf_counter()
        chunks = rows(org, args.events, args.org_events, args.days)
        per_day = bulk_load(cl._engine, chunks, org.id)
        out[f"{backend}_load_s"] = load = time.perf_counter() - began
        print(f"{backend}: bulk load of {args.events:,} events      {load:8.1f} s")
        days = sorted(per_day)
        month_cost = sum(per_day[d] for d in days[-30:])
        charge(cl, org.id, per_day, left=month_cost)  # about a month of credits left
        end = START + timedelta(days=args.days)
        clock.set(end)
        cl.put_plan(PLAN)
        cl.subscribe(org.id, "bench")
        began = time.perf_counter()
        with cl._engine.begin() as conn:
            rebuild_rollups(conn)
        out[f"{backend}_rollups_s"] = built = time.perf_counter() - began
        print(f"{backend}: rollups built in one pass          {built:8.1f} s")
        analyze(cl._engine)

        until = end.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        since = (until - timedelta(days=1)).replace(day=1)
        groups = ("project", "operation")
        report = cl.usage_report(org.id, groups, since, until, period="day")
        ms = p50_ms(lambda: cl.usage_report(org.id, groups, since, until, period="day"), args.runs)
        out[f"{backend}_org_month_report_ms"] = ms
        print(
            f"{backend}: org month report ({report.events:,} events, {len(report.rows):,} rows)"
            f"  p50 {ms:8.2f} ms"
        )

        def scan() -> list[UsageRow]:
            with SqlUnitOfWork(cl._engine, read_only=True) as uow:
                repo: ReportRepository = uow.reports
                return repo.usage_scan(org.id, groups, since, until, "day")

        assert scan() == list(report.rows)  # the rollups answer what the scan does
        ms = p50_ms(scan, args.scan_runs)
        out[f"{backend}_org_month_full_scan_ms"] = ms
        print(f"{backend}: the same report by a full scan      p50 {ms:8.2f} ms")

        overview = cl.overview(org.id)
        ms = p50_ms(lambda: cl.overview(org.id), args.runs)
        out[f"{backend}_overview_ms"] = ms
        print(
            f"{backend}: overview ({len(overview.burn_down)} days, burn "
            f"{overview.burn_rate // 1_000_000:,} credits/day)        p50 {ms:8.2f} ms"
        )
        ms = overview_page_ms(cl, org.id, args.runs)
        out[f"{backend}_overview_page_ms"] = ms
        print(f"{backend}: overview page (GET /portal/, in-process)  p50 {ms:8.2f} ms")
        check = cl.verify()
        assert check.ok, check.problems[:5]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument("--events", type=int, default=10_000_000, help="events in the database")
    parser.add_argument("--org-events", type=int, default=1_000_000, help="of which the org's")
    parser.add_argument("--days", type=int, default=365, help="the days they are spread over")
    parser.add_argument("--runs", type=int, default=30, help="runs of each timed call")
    parser.add_argument("--scan-runs", type=int, default=3, help="runs of the full scan")
    args = parser.parse_args(argv)
    if not 0 < args.org_events <= args.events or args.days < 62:
        parser.error("need 0 < --org-events <= --events and --days >= 62")
    return common.run_backends(run, args, digits=3)


if __name__ == "__main__":
    sys.exit(main())
