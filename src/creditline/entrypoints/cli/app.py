"""The ``creditline`` command's shell: the Typer app (whose root command turns the
engine's errors into one line and an exit code, :mod:`.errors`), its global options
(``--db``, ``--now``), opening the engine on the session's database, and ``init``.

The command groups live one module each and are registered on the app in
:mod:`creditline.entrypoints.cli.program`.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Any

import typer
from typer.core import TyperGroup

from creditline import Creditline, ManualClock
from creditline.adapters.db.engine import normalize_url
from creditline.bootstrap import mailer_from_env, payments_from_env
from creditline.domain.errors import ConfigurationError, CreditlineError
from creditline.domain.time import Clock
from creditline.entrypoints.cli.errors import describe, exit_code
from creditline.entrypoints.cli.options import parse_time
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.ledger import database_view

__all__ = ["DATABASE_URL_ENV", "DEFAULT_DATABASE_URL", "Session", "app", "open_engine"]

DEFAULT_DATABASE_URL = "sqlite:///creditline.db"
DATABASE_URL_ENV = "CREDITLINE_DATABASE_URL"


class _Shell(TyperGroup):
    """The root command: turns the engine's errors into one line and an exit code."""

    def invoke(self, ctx: Any) -> Any:  # typer's own (vendored) click Context
        try:
            return super().invoke(ctx)
        except CreditlineError as exc:
            typer.echo(f"error: {describe(exc)}", err=True)
            raise typer.Exit(exit_code(exc)) from None


app = typer.Typer(
    cls=_Shell,
    name="creditline",
    help="An exact credits engine: organizations, grants, spending, an append-only ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)

if TYPE_CHECKING:
    from creditline.entrypoints.cli.demo.world import Outside


@dataclass(frozen=True, slots=True)
class Session:
    """The global options: which database, and which clock."""

    url: str
    clock: Clock | None

    @classmethod
    def of(cls, ctx: typer.Context) -> Session:
        """The global options of the command running in ``ctx``."""
        session = ctx.find_object(cls)
        assert session is not None
        return session

    def shown_url(self) -> str:
        """The database's URL as it may be printed: its password hidden."""
        return normalize_url(self.url).render_as_string(hide_password=True)


def open_engine(
    ctx: typer.Context,
    *,
    migrate: bool = False,
    clock: Clock | None = None,
    outside: Outside | None = None,
) -> Creditline:
    """The engine on the session's database, closed when the command ends; with the
    payment provider and mailer the environment configures (so ``tick`` and ``worker``
    charge invoices and send receipts as the API does), or the demo's world in memory
    (``outside``: Stripe and a webhook receiver, no mailer)."""
    session = Session.of(ctx)
    try:
        if outside is not None:
            cl = Creditline.open(
                session.url, clock=clock, migrate=migrate, payments=outside.payments,
                webhook_sender=outside.receiver, webhook_allow_networks=outside.networks,
            )  # fmt: skip
        else:
            cl = Creditline.open(
                session.url,
                clock=clock or session.clock,
                migrate=migrate,
                payments=payments_from_env(os.environ),
                mailer=mailer_from_env(os.environ),
            )
    except OSError as exc:  # a SQLite directory that cannot be made; the engine lets it out
        where = session.shown_url()
        raise ConfigurationError(f"cannot open {where}: {exc.strerror or exc}") from exc
    ctx.call_on_close(cl.close)
    return cl


@app.callback()
def _global(
    ctx: typer.Context,
    db: Annotated[
        str,
        typer.Option(
            "--db",
            envvar=DATABASE_URL_ENV,
            metavar="URL",
            help="sqlite:///file.db, postgresql://user@host/db, or a file path (SQLite).",
        ),
    ] = DEFAULT_DATABASE_URL,
    now: Annotated[
        str | None,
        typer.Option(
            "--now",
            metavar="ISO-TIMESTAMP",
            help="Pin the clock (with a time zone: 2026-02-01T00:00:00Z); for tests.",
            hidden=True,
        ),
    ] = None,
) -> None:
    """creditline: credits for AI platforms, exact to the micro-credit."""
    moment = parse_time(now, "--now")
    ctx.obj = Session(db, ManualClock(moment) if moment else None)


@app.command()
def init(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Create the database schema, or bring it up to date."""
    cl = open_engine(ctx, migrate=True)
    emit(fmt, database_view(Session.of(ctx).shown_url(), cl.dialect))
