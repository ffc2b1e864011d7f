"""The scheduler inside the server: :meth:`creditline.Creditline.tick` (renewals, expiry,
flex invoices, alerts, webhook deliveries) in a background thread, so that one
``creditline serve`` is a whole installation. Ticks are safe to run from several
processes at once (each job claims its work), so every worker process may run one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from creditline.bootstrap import Creditline
from creditline.services.scheduler import TickReport, run_worker

__all__ = ["background_ticks"]

_log = logging.getLogger("creditline.scheduler")


def _report(report: TickReport) -> None:
    for job in report.jobs:
        if not job.ok:
            _log.warning("tick job %s: %s", job.name, "; ".join(map(str, job.errors)))


def _failed(exc: Exception) -> None:
    _log.error("tick failed: %s", exc)


@contextmanager
def background_ticks(creditline: Creditline, every_seconds: float) -> Iterator[None]:
    """Tick every ``every_seconds`` while the block runs (``0``: not at all); on leaving,
    the tick in progress finishes first."""
    if every_seconds <= 0:
        yield
        return
    stop = threading.Event()
    thread = threading.Thread(
        target=run_worker,
        args=(creditline.tick, every_seconds, stop),
        kwargs={"on_tick": _report, "on_error": _failed},
        name="creditline-scheduler",
        daemon=True,
    )
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(60)
