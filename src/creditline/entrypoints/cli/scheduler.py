"""The scheduler's commands: ``tick`` once (for cron) and the ``worker`` that ticks until
stopped.
"""

from __future__ import annotations

import json
import logging
import signal
import sys
import threading
from collections.abc import Callable
from typing import Annotated

import typer

from creditline.domain.errors import CreditlineError
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.errors import describe
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.cycles import tick_line, tick_view
from creditline.services.scheduler import TickReport, run_worker

commands = typer.Typer()
"""``tick``, ``worker``."""


__all__ = ["commands"]


@commands.command("tick")
def tick_command(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Run the scheduler once, for cron: renew the cycles due (every one missed, in
    order), expire grants and overdue holds, then the other jobs (invoices).

    Safe to run again and from several processes at once. Exit 0 when every job did
    all its work; otherwise the report, then the first error and its exit code.
    """
    report = open_engine(ctx).tick()
    emit(fmt, tick_view(report))
    if report.errors:
        raise report.errors[0]


_log = logging.getLogger("creditline.worker")


def _log_tick(fmt: Format) -> Callable[[TickReport], None]:
    def on_tick(report: TickReport) -> None:
        _log.log(logging.INFO if report.ok else logging.WARNING, tick_line(report))
        if fmt is Format.JSON:
            typer.echo(json.dumps(tick_view(report).data, ensure_ascii=False))

    return on_tick


def _log_error(exc: Exception) -> None:
    if isinstance(exc, CreditlineError):
        _log.error("tick failed: %s", describe(exc))
    else:
        _log.error("tick failed", exc_info=exc)


@commands.command("worker")
def worker_command(
    ctx: typer.Context,
    interval: Annotated[
        float, typer.Option(min=0.01, metavar="SECONDS", help="Time between ticks.")
    ] = 60.0,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Tick every --interval seconds until SIGINT or SIGTERM, then exit 0.

    Each tick is logged on stderr (with -f json its report is also printed as one JSON
    line on stdout). A stop signal lets the tick under way finish. A failed tick is
    logged and the next one runs on time. Several workers may run at once.
    """
    cl = open_engine(ctx)
    stop = threading.Event()
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    _log.addHandler(handler)
    _log.setLevel(logging.INFO)
    previous = {sig: signal.signal(sig, lambda *_: stop.set()) for sig in _STOP_SIGNALS}
    try:
        _log.info("worker started: a tick every %ss on %s", interval, cl.dialect)
        ticks = run_worker(cl.tick, interval, stop, on_tick=_log_tick(fmt), on_error=_log_error)
        _log.info("worker stopped after %d tick(s)", ticks)
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)
        _log.removeHandler(handler)


_STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)
