"""The HTTP API's commands of ``creditline``: ``key`` (API keys) and ``serve``.

They follow :mod:`creditline.entrypoints.cli` (one engine call, a view, ``--format``,
errors as one line and an exit code from its one table) and are registered on its app
when it is imported.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

import typer
from rich.table import Table
from rich.text import Text

from creditline.domain.amounts import format_credits
from creditline.domain.api_keys import ApiKey, CapWindow, IssuedKey, Role
from creditline.domain.errors import InvalidSetting
from creditline.entrypoints.cli.app import Session, open_engine
from creditline.entrypoints.cli.options import (
    org_option,
    parse_amount,
    parse_duration,
    parse_time,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.base import View, Whole, iso, new_table

__all__ = ["commands", "key_app"]

commands = typer.Typer()
"""``serve``."""

key_app = typer.Typer(
    help="API keys of the HTTP service: operator, org and org_read keys.", no_args_is_help=True
)


def _expiry(text: str | None, now: datetime) -> datetime | None:
    """``--expires``: an ISO time with a zone, or a duration from now (``90d``, ``12h``)."""
    if text is None:
        return None
    span = parse_duration(text)
    if span is not None:
        return now + span
    return parse_time(text, "--expires")


def _key_data(key: ApiKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "org_id": key.org_id,
        "role": key.role.value,
        "name": key.name,
        "prefix": key.prefix,
        "created_at": iso(key.created_at),
        "expires_at": iso(key.expires_at),
        "revoked_at": iso(key.revoked_at),
        "last_used_at": iso(key.last_used_at),
        "cap": _credits(key.cap_micros),
        "cap_window": None if key.cap_window is None else key.cap_window.value,
        "operations": None if key.operations is None else list(key.operations),
        "used": _credits(key.used_micros),
        "room": _credits(key.room_micros),
    }


def _credits(micros: int | None) -> str | None:
    return None if micros is None else format_credits(micros)


def _limits(key: ApiKey) -> str:
    """A key's cap and its use this window, and its operations: ``5/day, used 2, room 3``."""
    parts = []
    if key.cap_micros is not None and key.cap_window is not None:
        cap = f"{format_credits(key.cap_micros)}/{key.cap_window.value}"
        if key.used_micros is not None:
            cap += f", used {_credits(key.used_micros)}, room {_credits(key.room_micros)}"
        parts.append(cap)
    if key.operations is not None:
        parts.append("only " + ", ".join(key.operations))
    return "; ".join(parts)


def _keys_table(keys: list[ApiKey], title: str) -> Table:
    table = new_table(
        title, "id", "role", "organization", "name", "limits", "expires (UTC)", "revoked (UTC)"
    )
    for k in keys:
        table.add_row(
            k.id,
            k.role.value,
            k.org_id or "(all)",
            Text(k.name),
            Text(_limits(k)),
            iso(k.expires_at) or "never",
            iso(k.revoked_at) or "",
        )
    return table


def _issued_view(issued: IssuedKey) -> View:
    data = {**_key_data(issued.key), "key": issued.secret}
    parts = (
        _keys_table([issued.key], "API key"),
        Text(""),
        Whole(issued.secret, style="bold"),
        Text(""),
        Text("Shown once: only its hash is stored. Send it as: Authorization: Bearer <key>"),
    )
    return View(data, parts)


@key_app.command("create")
def key_create(
    ctx: typer.Context,
    *,
    operator: Annotated[
        bool, typer.Option("--operator", help="A key for everything, on every organization.")
    ] = False,
    org: Annotated[str | None, org_option("A key for this organization.")] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="With --org: a key that only reads.")
    ] = False,
    name: Annotated[str, typer.Option(help="What the key is for.")] = "api key",
    expires: Annotated[
        str | None,
        typer.Option(metavar="WHEN", help="An ISO time with a zone, or a duration: 90d, 12h."),
    ] = None,
    cap: Annotated[
        str | None,
        typer.Option(
            metavar="CREDITS",
            help="With --org: the most the key may spend a --window; past it, 402.",
        ),
    ] = None,
    window: Annotated[
        CapWindow | None, typer.Option(help="The cap's window, a UTC day (default) or month.")
    ] = None,
    operation: Annotated[
        list[str] | None,
        typer.Option(
            metavar="OPERATION", help="With --org: an operation the key may charge (repeat)."
        ),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Make an API key and print it, once: only its hash is stored. An organization's key
    may be capped (--cap 50 --window day) and limited to some operations (--operation
    chat), for an agent, a CI job or a customer's integration."""
    if operator == (org is not None):
        raise InvalidSetting("key", "--operator/--org", "give exactly one of --operator or --org")
    if operator and read_only:
        raise InvalidSetting("key", "--read-only", "an operator key cannot be read-only")
    role = Role.OPERATOR if operator else (Role.ORG_READ if read_only else Role.ORG)
    cl = open_engine(ctx, migrate=True)
    issued = cl.create_api_key(
        role, org, name=name, expires_at=_expiry(expires, cl.clock.now()),
        cap=None if cap is None else parse_amount(cap), cap_window=window,
        operations=operation or None,
    )  # fmt: skip
    emit(fmt, _issued_view(issued))


@key_app.command("list")
def key_list(
    ctx: typer.Context,
    *,
    org: Annotated[str | None, org_option("Only its keys.")] = None,
    active: Annotated[bool, typer.Option("--active", help="Leave revoked keys out.")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """API keys (never their secrets), oldest first."""
    keys = open_engine(ctx).api_keys(org, include_revoked=not active)
    emit(fmt, View([_key_data(k) for k in keys], (_keys_table(keys, "API keys"),)))


@key_app.command("revoke")
def key_revoke(
    ctx: typer.Context,
    key_id: Annotated[str, typer.Argument(metavar="KEY_ID", help="The key's id (key_...).")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Revoke an API key: it stops working at once."""
    key = open_engine(ctx).revoke_api_key(key_id)
    emit(fmt, View(_key_data(key), (_keys_table([key], "Revoked"),)))


@commands.command("serve")
def serve_command(
    ctx: typer.Context,
    *,
    host: Annotated[str, typer.Option(help="The address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="The port.")] = 8000,
    workers: Annotated[
        int, typer.Option(min=1, max=64, help="Worker processes (more than one: PostgreSQL).")
    ] = 1,
    graceful_timeout: Annotated[
        int, typer.Option(min=1, metavar="SECONDS", help="How long in-flight requests get.")
    ] = 30,
    tick_every: Annotated[
        float,
        typer.Option(
            min=0,
            metavar="SECONDS",
            help="Run the scheduler (renewals, expiry, alerts, webhooks) in each server "
            "process this often; 0: not at all (run 'creditline worker').",
        ),
    ] = 10.0,
) -> None:
    """Serve the HTTP API (OpenAPI at /docs) until SIGTERM or SIGINT, then exit 0.

    Migrates the schema first. Requests in flight at a stop signal finish. Logs are JSON
    lines on stderr. Settings: CREDITLINE_API_* (see creditline.entrypoints.api.settings).
    """
    from creditline.entrypoints.api.server import serve

    session = Session.of(ctx)
    serve(
        session.url,
        host=host,
        port=port,
        workers=workers,
        graceful_timeout=graceful_timeout,
        tick_every=tick_every,
    )
