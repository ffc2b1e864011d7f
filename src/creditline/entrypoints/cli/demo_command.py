"""``creditline demo``: the demo story (:mod:`creditline.entrypoints.cli.demo`) on a database
of its own, then its report.
"""

from __future__ import annotations

import typer

from creditline import ManualClock
from creditline.adapters.clock import SystemClock
from creditline.entrypoints.cli.app import Session, open_engine
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.ledger import demo_view

commands = typer.Typer()
"""``demo``."""


__all__ = ["commands"]


@commands.command("demo")
def demo_command(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Play four months of an AI lab's credits up to now on a database of its own, then
    show it.

    Needs no set-up (creates the schema). Re-running resumes the same story on the
    same organization: at the same moment (--now) it adds nothing. Payments and alert
    webhooks stay in memory. Refuses a database holding other organizations.
    """
    session = Session.of(ctx)
    now = (session.clock or SystemClock()).now()
    clock = ManualClock(now)
    # the demo's world (Stripe in memory): this command only
    from creditline.entrypoints.cli.demo import story, world

    outside = world.Outside()
    report = story.run(
        open_engine(ctx, migrate=True, clock=clock, outside=outside), clock, outside, now
    )
    emit(fmt, demo_view(report))
