"""What the benchmarks share: throw-away databases, the common options, running on both
backends, and latency percentiles. Nothing here asserts on time."""

from __future__ import annotations

import argparse
import json
import os
import secrets
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
from sqlalchemy.engine import make_url

Runner = Callable[[str, str, argparse.Namespace, dict[str, float]], None]


@contextmanager
def postgres_database(url: str) -> Iterator[str]:
    schema = f"bench_{secrets.token_hex(4)}"
    plain = make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield (
            make_url(url)
            .set(drivername="postgresql+psycopg", query={"options": f"-csearch_path={schema}"})
            .render_as_string(hide_password=False)
        )
    finally:
        with psycopg.connect(plain, autocommit=True) as conn:
            conn.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def sqlite_database() -> Iterator[str]:
    with tempfile.TemporaryDirectory(prefix="creditline-bench-") as tmp:
        yield f"sqlite:///{Path(tmp) / 'bench.db'}"


def parser(doc: str) -> argparse.ArgumentParser:
    """An argument parser with the options every benchmark takes."""
    made = argparse.ArgumentParser(description=doc.splitlines()[0])
    made.add_argument(
        "--postgres-url",
        default=os.environ.get("CREDITLINE_BENCH_POSTGRES_URL", "postgresql://127.0.0.1:5432/test"),
    )
    made.add_argument("--skip-postgres", action="store_true")
    return made


def run_backends(run: Runner, args: argparse.Namespace, digits: int) -> int:
    """Run on SQLite, then PostgreSQL (unless skipped); print every figure as one JSON line."""
    out: dict[str, float] = {}
    with sqlite_database() as url:
        run("sqlite", url, args, out)
    if not args.skip_postgres:
        with postgres_database(args.postgres_url) as url:
            run("postgres", url, args, out)
    print(json.dumps({k: round(v, digits) for k, v in out.items()}, sort_keys=True))
    return 0


def latency_us(call: Callable[[int], object], count: int) -> tuple[float, float]:
    """p50 and p99 of ``count`` calls (each given its number), in microseconds."""
    samples = []
    for n in range(count):
        start = time.perf_counter_ns()
        call(n)
        samples.append((time.perf_counter_ns() - start) / 1_000)
    samples.sort()
    return statistics.median(samples), samples[max(0, int(len(samples) * 0.99) - 1)]
