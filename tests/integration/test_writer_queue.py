"""SQLite writers of one process take their turn first-come first-served."""

from __future__ import annotations

import threading
import time

from creditline.adapters.db.engine import WriterQueue


def _wait_for(predicate: object, what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, what
        time.sleep(0.001)


def test_waiting_writers_get_the_lock_in_arrival_order() -> None:
    queue = WriterQueue()
    assert queue.acquire(timeout=1)
    order: list[int] = []

    def writer(n: int) -> None:
        assert queue.acquire(timeout=10)
        order.append(n)
        queue.release()

    threads = []
    for n in range(6):
        thread = threading.Thread(target=writer, args=(n,))
        thread.start()
        threads.append(thread)
        _wait_for(lambda n=n: len(queue._waiters) == n + 1, f"writer {n} never queued")
    queue.release()
    for thread in threads:
        thread.join(10)
    assert order == list(range(6))
    assert queue.acquire(timeout=0)  # free again once everyone is done


def test_a_writer_that_times_out_leaves_the_queue() -> None:
    queue = WriterQueue()
    assert queue.acquire(timeout=1)
    assert not queue.acquire(timeout=0.01)
    assert not queue._waiters
    queue.release()
    assert queue.acquire(timeout=0)
