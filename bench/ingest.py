"""Ingest benchmark: priced-and-debited usage events per second, and record/reserve latency.

Run with ``make bench-ingest`` (or ``.venv/bin/python bench/ingest.py``). For SQLite and
PostgreSQL it prints:

- events/s recorded in batches of 1,000, all for one organization and spread over
  10,000 organizations (each event validated, priced by the rate card in force at its
  timestamp, gated, debited from grants, stored with its outcome, one commit a batch);
- the rate of a plain bulk insert of the same number of event rows into a table of the
  same shape in the same database, one commit a batch, and the ratio of the two; and the
  same insert into a copy of the events table with its keys and indexes (what storing
  the rows costs the database itself, before the engine decides anything);
- single-event record latency and reserve latency, p50 and p99, beside the floor of any
  acknowledged write: one row inserted and committed on the engine's own connections
  (``*_raw_commit_p50_ms`` / ``_p99_ms``, the same number of samples);
- 16 library threads reserving at once through one engine: reserves/s, p99, and the
  commits/s of its group commit writer (commands per commit shows the sharing).

The last line is one JSON object with every figure. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from creditline import Creditline, credits
from creditline.domain.usage import UsageEvent

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "examples" / "aixplain" / "ratecard.toml").read_text()
BATCH = 1_000


def event(org: str, n: int, at: datetime) -> UsageEvent:
    """A translate call of a varying size (so no two events price alike)."""
    return UsageEvent(
        f"evt-{org[-6:]}-{n}",
        org,
        "translate",
        at,
        {"characters": 1_000 + n % 5_000},
        {"model": "azure-translator"},
    )


def setup_orgs(cl: Creditline, count: int) -> list[str]:
    orgs = []
    for i in range(count):
        org = cl.create_org(f"bench-{i}").id
        orgs.append(org)
    with cl._engine.begin() as conn:  # bulk set-up: the card for all, and credits
        conn.execute(text("UPDATE organizations SET rate_card = 'aixplain'"))
    for org in orgs:
        cl.grant(org, credits(1_000_000), "prepaid")
    return orgs


def batch_rate(cl: Creditline, orgs: list[str], batches: int, start: int) -> float:
    at = cl.clock.now() - timedelta(seconds=1)
    plan = [
        [event(orgs[(b * BATCH + i) % len(orgs)], start + b * BATCH + i, at) for i in range(BATCH)]
        for b in range(batches)
    ]
    began = time.perf_counter()
    for events in plan:
        results = cl.record_usage(events)
        assert all(r.status == "accepted" for r in results), results[0]
    return batches * BATCH / (time.perf_counter() - began)


def raw_rate(cl: Creditline, batches: int, *, indexed: bool = False) -> float:
    """A plain bulk insert of event rows of the same shape: the floor for the engine.

    ``indexed``: into a copy of ``usage_events`` with its primary key and indexes."""
    engine = cl._engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_raw_events"))
        if not indexed:
            conn.execute(
                text("CREATE TABLE bench_raw_events AS SELECT * FROM usage_events WHERE 1 = 0")
            )
        elif engine.dialect.name == "postgresql":
            conn.execute(text("CREATE TABLE bench_raw_events (LIKE usage_events INCLUDING ALL)"))
        else:
            for (sql,) in conn.execute(
                text(
                    "SELECT sql FROM sqlite_master WHERE tbl_name = 'usage_events' "
                    "AND sql IS NOT NULL ORDER BY type DESC"
                )
            ):  # the table first, then its indexes, under new names
                conn.execute(text(_renamed(sql)))
    now = datetime.now(UTC).isoformat(sep=" ")
    body = json.dumps({"quantities": {"characters": "1234"}, "dimensions": {"model": "x"}})
    columns = (
        "org_id, event_id, operation, project_id, member_id, parent_id, occurred_at, "
        "recorded_at, status, cost_micros, reason, rate_card, request_hash, body, batch_id"
    )
    began = time.perf_counter()
    for b in range(batches):
        rows = [
            ("org_raw", f"raw-{b}-{i}", "translate", None, None, None, now, now, "accepted",
             12_340, None, "aixplain@2023-10", "0" * 64, body, f"ub_{b}")
            for i in range(BATCH)
        ]  # fmt: skip
        with engine.begin() as conn:
            raw = conn.connection.driver_connection
            assert raw is not None
            if engine.dialect.name == "postgresql":
                with (
                    raw.cursor() as cur,
                    cur.copy(f"COPY bench_raw_events ({columns}) FROM STDIN") as cp,
                ):
                    for row in rows:
                        cp.write_row(row)
            else:
                conn.exec_driver_sql(
                    f"INSERT INTO bench_raw_events ({columns}) VALUES ({','.join('?' * 15)})", rows
                )
    rate = batches * BATCH / (time.perf_counter() - began)
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE bench_raw_events"))
    return rate


def _renamed(sql: str) -> str:
    """SQLite's DDL of ``usage_events`` or one of its indexes, for ``bench_raw_events``."""
    sql = sql.replace('"usage_events"', "bench_raw_events")
    sql = sql.replace(" usage_events ", " bench_raw_events ")
    sql = sql.replace("ON usage_events", "ON bench_raw_events")
    sql = sql.replace("TABLE usage_events", "TABLE bench_raw_events")
    return sql.replace("ix_usage_events", "ix_bench_raw_events")


def raw_commit_ms(cl: Creditline, count: int) -> tuple[float, float]:
    """p50 and p99 of one row inserted and committed, ``count`` times: the floor of a
    durable write on this database, this machine and this minute."""
    engine = cl._engine
    with engine.begin() as conn:
        conn.execute(text("DROP TABLE IF EXISTS bench_raw_commits"))
        conn.execute(text("CREATE TABLE bench_raw_commits (id BIGINT PRIMARY KEY, at TEXT)"))

    def one(n: int) -> None:
        with engine.begin() as conn:
            conn.exec_driver_sql(
                "INSERT INTO bench_raw_commits (id, at) VALUES (%s, 'x')"
                if engine.dialect.name == "postgresql"
                else "INSERT INTO bench_raw_commits (id, at) VALUES (?, 'x')",
                (n,),
            )

    try:
        return latency_ms(one, count)
    finally:
        with engine.begin() as conn:
            conn.execute(text("DROP TABLE bench_raw_commits"))


def latency_ms(call: Callable[[int], Any], count: int) -> tuple[float, float]:
    p50, p99 = common.latency_us(call, count)
    return p50 / 1_000, p99 / 1_000


def threads_reserving(
    cl: Creditline, org: str, threads: int, each: int
) -> tuple[float, float, float]:
    """``threads`` threads reserving ``each`` holds at once: reserves/s, p99 (ms) and the
    writer's commits/s over the same span."""
    samples: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(threads + 1)

    def work() -> None:
        mine = []
        start.wait()
        for _ in range(each):
            began = time.perf_counter_ns()
            cl.reserve(org, credits(1))
            mine.append((time.perf_counter_ns() - began) / 1e6)
        with lock:
            samples.extend(mine)

    pool = [threading.Thread(target=work) for _ in range(threads)]
    for thread in pool:
        thread.start()
    writer = cl._writer
    groups = writer.groups if writer is not None else 0
    start.wait()
    began = time.perf_counter()
    for thread in pool:
        thread.join()
    elapsed = time.perf_counter() - began
    writer = cl._writer
    commits = (writer.groups if writer is not None else 0) - groups
    samples.sort()
    p99 = samples[max(0, int(len(samples) * 0.99) - 1)]
    return len(samples) / elapsed, p99, commits / elapsed


def run(backend: str, url: str, args: argparse.Namespace, out: dict[str, float]) -> None:
    with Creditline.open(url) as cl:
        cl.load_rate_card(CARD)
        one = setup_orgs(cl, 1)
        rates = [batch_rate(cl, one, args.batches, r * 10_000_000) for r in range(args.rounds)]
        out[f"{backend}_batch_events_per_s"] = rate = statistics.median(rates)
        print(f"{backend}: events in batches of {BATCH:,}, 1 org       {rate:>10,.0f} events/s")
        many = setup_orgs(cl, args.orgs)
        rate = batch_rate(cl, many, args.batches, 900_000_000)
        out[f"{backend}_batch_events_per_s_{args.orgs}_orgs"] = rate
        print(
            f"{backend}: events in batches of {BATCH:,}, {args.orgs:,} orgs {rate:>10,.0f} events/s"
        )
        raw = raw_rate(cl, args.batches)
        out[f"{backend}_raw_insert_rows_per_s"] = raw
        out[f"{backend}_engine_to_raw_ratio"] = out[f"{backend}_batch_events_per_s"] / raw
        print(
            f"{backend}: plain bulk insert of event rows  {raw:>10,.0f} rows/s"
            f"  (engine/raw = {out[f'{backend}_engine_to_raw_ratio']:.2f})"
        )
        indexed = raw_rate(cl, args.batches, indexed=True)
        out[f"{backend}_raw_indexed_insert_rows_per_s"] = indexed
        out[f"{backend}_raw_indexed_to_raw_ratio"] = indexed / raw
        print(
            f"{backend}: the same, with the events' keys  {indexed:>10,.0f} rows/s"
            f"  (indexed/raw = {indexed / raw:.2f}: the most the engine could reach)"
        )
        org = one[0]
        at = cl.clock.now() - timedelta(seconds=1)
        p50, p99 = latency_ms(lambda n: cl.record_usage([event(org, 2_000_000_000 + n, at)]),
                              args.samples)  # fmt: skip
        out[f"{backend}_record_p50_ms"], out[f"{backend}_record_p99_ms"] = p50, p99
        print(f"{backend}: record one event   p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        p50, p99 = latency_ms(lambda n: cl.reserve(org, credits(1)), args.samples)
        out[f"{backend}_reserve_p50_ms"], out[f"{backend}_reserve_p99_ms"] = p50, p99
        print(f"{backend}: reserve            p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")
        p50, p99 = raw_commit_ms(cl, args.samples)
        out[f"{backend}_raw_commit_p50_ms"], out[f"{backend}_raw_commit_p99_ms"] = p50, p99
        print(f"{backend}: insert one row and commit (the floor) "
              f"p50 {p50:6.2f} ms   p99 {p99:6.2f} ms")  # fmt: skip
        rate, p99, commits = threads_reserving(cl, org, 16, args.samples // 8)
        out[f"{backend}_threads16_reserves_per_s"] = rate
        out[f"{backend}_threads16_reserve_p99_ms"] = p99
        out[f"{backend}_threads16_commits_per_s"] = commits
        print(
            f"{backend}: 16 threads reserving {rate:>10,.0f} reserves/s  p99 {p99:6.2f} ms  "
            f"{commits:,.0f} commits/s ({rate / max(commits, 1e-9):.1f} reserves a commit)"
        )
        report = cl.verify()
        assert report.ok, report.problems[:5]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument("--batches", type=int, default=20, help="batches of 1,000 per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--orgs", type=int, default=10_000)
    parser.add_argument("--samples", type=int, default=1_000)
    args = parser.parse_args(argv)
    return common.run_backends(run, args, digits=3)


if __name__ == "__main__":
    sys.exit(main())
