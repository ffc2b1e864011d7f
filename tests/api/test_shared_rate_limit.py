"""Several server processes share one rate-limit table: a key's burst and rate are the
same however many processes answer it."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

from creditline.entrypoints.api.limits import SharedTokenBuckets, TokenBuckets


def _take_all(path: str, key: str, attempts: int, start: object, out: object) -> None:
    buckets = SharedTokenBuckets(path, rate=0.001, burst=50)
    start.wait()  # type: ignore[attr-defined]
    allowed = sum(1 for _ in range(attempts) if buckets.take(key) == 0)
    out.put(allowed)  # type: ignore[attr-defined]


def test_processes_sharing_the_table_share_one_burst(tmp_path: Path) -> None:
    path = tmp_path / "buckets"
    SharedTokenBuckets.create(path)
    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    workers = [
        context.Process(target=_take_all, args=(str(path), "key_a", 40, start, out))
        for _ in range(3)
    ]
    for worker in workers:
        worker.start()
    start.set()
    allowed = [out.get(timeout=60) for _ in workers]
    for worker in workers:
        worker.join(60)
    assert sum(allowed) == 50  # 120 attempts, one burst of 50, whichever process took them
    # Separate processes' own buckets would have let 3 x 40 through.
    alone = TokenBuckets(rate=0.001, burst=50)
    assert sum(1 for _ in range(120) if alone.take("key_a") == 0) == 50


def test_an_empty_bucket_says_how_long_to_wait_and_refills(tmp_path: Path) -> None:
    path = tmp_path / "buckets"
    SharedTokenBuckets.create(path)
    one, other = (SharedTokenBuckets(path, rate=2.0, burst=2) for _ in range(2))
    assert one.take("k") == 0 and other.take("k") == 0
    wait = one.take("k")
    assert 0 < wait <= 0.5
    assert other.take("another key") == 0  # keys do not share buckets


def test_a_crowded_probe_path_evicts_the_stalest_key(tmp_path: Path) -> None:
    path = tmp_path / "buckets"
    SharedTokenBuckets.create(path)
    buckets = SharedTokenBuckets(path, rate=0.001, burst=1)
    buckets.SLOTS = 4  # type: ignore[misc]  # every key on one short probe path
    for n in range(4):
        assert buckets.take(f"k{n}") == 0
    assert buckets.take("k0") > 0  # still remembered: empty
    assert buckets.take("k4") == 0  # a fifth key takes the stalest slot
