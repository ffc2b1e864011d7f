"""Charging claimed top-ups in the background, off the threads that claimed them."""

from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Sequence

from creditline.domain.purchases import Purchase

__all__ = ["TopupRunner"]

log = logging.getLogger(__name__)


class TopupRunner:
    """Charges the top-ups claimed by charging groups, one at a time, on a thread of its
    own (started when first needed), so that neither the group's writer nor the caller
    whose usage crossed waits for the provider. :meth:`drain` waits for what is queued;
    a top-up lost with the process is charged by the next tick
    (:data:`creditline.services.topups.run.STALE_AFTER`)."""

    def __init__(self, charge: Callable[[Purchase], object], name: str) -> None:
        self._charge = charge
        self._name = name
        self._queue: queue.Queue[Purchase | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def submit(self, purchases: Sequence[Purchase]) -> None:
        if not purchases:
            return
        with self._lock:
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=self._name, daemon=True)
                self._thread.start()
        for purchase in purchases:
            self._queue.put(purchase)

    def _loop(self) -> None:
        while True:
            purchase = self._queue.get()
            try:
                if purchase is None:
                    return
                self._charge(purchase)
            except Exception:  # a failed charge is the tick's to retry; the runner goes on
                log.exception("top-up %s was not charged", purchase and purchase.id)
            finally:
                self._queue.task_done()

    def drain(self) -> None:
        """Wait until every top-up queued so far is charged (or failed)."""
        self._queue.join()

    def close(self) -> None:
        with self._lock:
            thread = self._thread
            self._thread = None
        if thread is not None and thread.is_alive():
            self._queue.put(None)
            thread.join()
