"""Ledger benchmark: debits per second and balance-read latency, on SQLite and PostgreSQL.

Run with ``make bench`` (or ``.venv/bin/python bench/ledger.py``). Prints one line per
figure and, last, one JSON object with every figure. Nothing here asserts on time.

Options: ``--postgres-url`` (default ``$CREDITLINE_BENCH_POSTGRES_URL`` or
``postgresql://127.0.0.1:5432/test``; the benchmark works in a schema of its own and
drops it), ``--entries`` (history size for the large balance read, default 1,000,000),
``--skip-postgres``.
"""

from __future__ import annotations

import argparse
import secrets
import statistics
import sys
import time

import common
from creditline import Creditline, Debit, credits

BATCH = 1_000


def funded_org(cl: Creditline, amount: int) -> str:
    org = cl.create_org(f"bench-{secrets.token_hex(3)}")
    cl.grant(org.id, amount, "prepaid")
    return org.id


def single_debits(cl: Creditline, count: int) -> float:
    org = funded_org(cl, credits(count + 1))
    start = time.perf_counter()
    for _ in range(count):
        cl.spend(org, credits(1))
    return count / (time.perf_counter() - start)


def batch_debits(cl: Creditline, batches: int, rounds: int) -> tuple[float, float, float]:
    """Debits/s in batches of 1,000: (median, slowest, fastest) of ``rounds`` rounds.

    The median of several rounds, because a shared 2-core machine's neighbours move a
    single round's figure by a third either way."""
    org = funded_org(cl, credits(rounds * batches * BATCH + 1))
    debits = [Debit(credits(1))] * BATCH
    rates = []
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(batches):
            results = cl.spend_many(org, debits)
            assert all(r.accepted for r in results)
        rates.append(batches * BATCH / (time.perf_counter() - start))
    return statistics.median(rates), min(rates), max(rates)


def balance_reads(cl: Creditline, entries: int, reads: int) -> dict[str, tuple[float, float]]:
    """p50/p99 balance-read latency for an org with 10 entries and one with ``entries``."""
    small = funded_org(cl, credits(100))
    cl.spend_many(small, [Debit(credits(1))] * 9)
    big = funded_org(cl, credits(entries))
    batch = [Debit(1)] * BATCH
    for _ in range((entries - 1) // BATCH):
        cl.spend_many(big, batch)
    rest = (entries - 1) % BATCH
    if rest:
        cl.spend_many(big, [Debit(1)] * rest)
    return {
        "10": common.latency_us(lambda _: cl.balance(small), reads),
        str(entries): common.latency_us(lambda _: cl.balance(big), reads),
    }


def run(backend: str, url: str, args: argparse.Namespace, out: dict[str, float]) -> None:
    with Creditline.open(url) as cl:
        out[f"{backend}_single_debits_per_s"] = rate = single_debits(cl, args.singles)
        print(f"{backend}: single debits          {rate:>12,.0f} debits/s")
        rate, low, high = batch_debits(cl, args.batches, args.rounds)
        out[f"{backend}_batch_debits_per_s"] = rate
        print(
            f"{backend}: batched debits (x{BATCH})  {rate:>12,.0f} debits/s"
            f"  (median of {args.rounds} rounds; {low:,.0f} to {high:,.0f})"
        )
        if backend == "sqlite" or args.postgres_reads:
            reads = balance_reads(cl, args.entries, args.reads)
            prefix = "" if backend == "sqlite" else "postgres_"
            for size, (p50, p99) in reads.items():
                label = "1m" if size == "1000000" else size
                out[f"{prefix}balance_read_us_{label}_entries"] = p50
                out[f"{prefix}balance_read_p99_us_{label}_entries"] = p99
                print(
                    f"{backend}: balance read, {int(size):>9,} entries  p50 {p50:8.0f} us"
                    f"  p99 {p99:8.0f} us"
                )
        report = cl.verify()
        assert report.ok, report.problems


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument(
        "--postgres-reads",
        action="store_true",
        help="also measure balance reads with a long history on PostgreSQL",
    )
    parser.add_argument("--entries", type=int, default=1_000_000)
    parser.add_argument("--singles", type=int, default=2_000)
    parser.add_argument("--batches", type=int, default=40, help="batches per round")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--reads", type=int, default=2_000)
    args = parser.parse_args(argv)
    return common.run_backends(run, args, digits=1)


if __name__ == "__main__":
    sys.exit(main())
