"""What-if pricing benchmark: a month of recorded usage re-priced by a draft rate card.

Run with ``make bench-whatif`` (or ``.venv/bin/python bench/whatif.py``). For SQLite
and PostgreSQL it records ``--events`` usage events (default 1,000,000) over 30 days for
100 organizations through the engine (aiXplain's card: translate and transcribe calls of
varying sizes, two translation models), then prints:

- the seconds ``Creditline.what_if`` takes to re-price the whole month for every
  organization by a draft that raises one price, and the events per second;
- the same run's baseline: reading the same rows as the engine reads them (SQLite's
  cursor; PostgreSQL's COPY) and decoding their JSON bodies, nothing priced (events per
  second), and the ratio of the two.

The last line is one JSON object with every figure. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import msgspec
from sqlalchemy import text

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
from creditline import Creditline, ManualClock, credits
from creditline.domain.usage import UsageEvent

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "examples" / "aixplain" / "ratecard.toml").read_text()
DRAFT = CARD.replace('version = "2023-10"', 'version = "draft"').replace(
    "per_unit = { credits = 10, quantity", "per_unit = { credits = 12, quantity"
)
START = datetime(2026, 11, 1, tzinfo=UTC)
DAYS = 30
ORGS = 97
BATCH = 1_000


def _event(org: str, n: int, at: datetime) -> UsageEvent:
    if n % 4 == 3:
        return UsageEvent(f"e{n}", org, "transcribe", at, {"minutes": 1 + n % 90},
                          {"model": "aws-transcribe"})  # fmt: skip
    model = "azure-translator" if n % 3 else "google-translate"
    return UsageEvent(f"e{n}", org, "translate", at, {"characters": 1_000 + n % 50_000},
                      {"model": model})  # fmt: skip


def record_month(cl: Creditline, clock: ManualClock, events: int) -> list[str]:
    """``events`` spread evenly over the month, recorded a day at a time."""
    orgs = [cl.create_org(f"bench-{i}").id for i in range(ORGS)]
    with cl._engine.begin() as conn:  # bulk set-up: the card for all
        conn.execute(text("UPDATE organizations SET rate_card = 'aixplain'"))
    for org in orgs:
        cl.grant(org, credits(10_000_000))
    per_day = events // DAYS
    n = 0
    for day in range(DAYS):
        clock.set(START + timedelta(days=day, hours=12))
        at = clock.now() - timedelta(seconds=1)
        for first in range(0, per_day, BATCH):
            batch = [
                _event(orgs[(n + i) % ORGS], n + i, at) for i in range(min(BATCH, per_day - first))
            ]
            n += len(batch)
            results = cl.record_usage(batch)
            assert all(r.status == "accepted" for r in results), results[0]
    clock.set(START + timedelta(days=DAYS + 1))
    return orgs


def raw_read_rate(cl: Creditline) -> tuple[int, float]:
    """Read every event row of the month and decode its body: the floor of any report."""
    decode = msgspec.json.Decoder().decode
    began = time.perf_counter()
    count = 0
    with cl._engine.connect() as conn:
        dbapi = conn.connection.driver_connection
        sql = (
            "SELECT org_id, operation, occurred_at, recorded_at, cost_micros, body{cast}"
            " FROM usage_events WHERE status = 'accepted'"
        )
        if conn.dialect.name == "postgresql":  # as the engine reads them: one COPY
            with (
                dbapi.cursor() as cursor,  # type: ignore[union-attr]
                cursor.copy(f"COPY ({sql.format(cast='::text')}) TO STDOUT") as copy,
            ):
                copy.set_types(["text", "text", "timestamptz", "timestamptz", "int8", "text"])
                for row in copy.rows():
                    decode(row[5])
                    count += 1
        else:
            cursor = dbapi.cursor()  # type: ignore[union-attr]
            cursor.execute(sql.format(cast=""))
            while rows := cursor.fetchmany(5_000):
                for row in rows:
                    decode(row[5])
                    count += 1
            cursor.close()
    return count, count / (time.perf_counter() - began)


def run(backend: str, url: str, args: argparse.Namespace, out: dict[str, float]) -> None:
    clock = ManualClock(START)
    with Creditline.open(url, clock=clock) as cl:
        cl.load_rate_card(CARD)
        began = time.perf_counter()
        record_month(cl, clock, args.events)
        print(f"{backend}: recorded {args.events:,} events in {time.perf_counter() - began:.1f} s")
        count, raw_rate = raw_read_rate(cl)
        began = time.perf_counter()
        report = cl.what_if(DRAFT, since=START, until=START + timedelta(days=DAYS))
        seconds = time.perf_counter() - began
        assert report.events == count, (report.events, count)
        rate = count / seconds
        print(f"{backend}: what-if re-priced {count:,} events in {seconds:.2f} s "
              f"({rate:,.0f} events/s); {len(report.impacts)} organization x operation rows; "
              f"difference {report.difference / 1e6:,.2f} credits")  # fmt: skip
        print(f"{backend}: raw read of the same rows {raw_rate:,.0f} events/s; "
              f"what-if / raw read {rate / raw_rate:.2f}")  # fmt: skip
        out[f"{backend}_whatif_events"] = count
        out[f"{backend}_whatif_seconds"] = seconds
        out[f"{backend}_whatif_events_per_s"] = rate
        out[f"{backend}_raw_read_events_per_s"] = raw_rate
        out[f"{backend}_whatif_to_raw_read_ratio"] = rate / raw_rate


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument("--events", type=int, default=1_000_000)
    args = parser.parse_args(argv)
    return common.run_backends(run, args, digits=3)


if __name__ == "__main__":
    raise SystemExit(main())
