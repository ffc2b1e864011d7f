"""``creditline portal``: signed, short-lived links into an organization's web portal."""

from __future__ import annotations

from datetime import UTC
from typing import Annotated

import typer
from rich.text import Text

from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import OrgArg, parse_ttl
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.base import View, Whole

__all__ = ["portal_app"]

portal_app = typer.Typer(
    help="The web customer portal: signed, short-lived links into an organization's pages.",
    no_args_is_help=True,
)


@portal_app.command("link")
def portal_link(
    ctx: typer.Context,
    org: OrgArg,
    *,
    member: Annotated[
        str | None, typer.Option(metavar="MEMBER", help="Act as this member (mem_...).")
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="A session that sees everything, changes nothing.")
    ] = False,
    ttl: Annotated[
        str, typer.Option(metavar="TTL", help="How long the link opens: 90s, 30m, 1h (30s to 1h).")
    ] = "1h",
    base_url: Annotated[
        str, typer.Option(metavar="URL", help="The server's address the link is on.")
    ] = "http://127.0.0.1:8000",
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Print a portal link for an organization: opening it in a browser signs in to the
    organization's portal (overview, usage, transactions, billing, alerts)."""
    seconds = int(parse_ttl(ttl).total_seconds())
    made = open_engine(ctx).create_portal_session(
        org, member_id=member, read_only=read_only, ttl_seconds=seconds
    )
    url = base_url.rstrip("/") + made.url
    expires = made.expires_at.astimezone(UTC).isoformat()
    data = {
        "url": url,
        "path": made.url,
        "org_id": made.org_id,
        "member_id": made.member_id,
        "read_only": made.read_only,
        "expires_at": expires,
    }
    scope = ("read-only, " if made.read_only else "") + f"as {made.member_id or 'the organization'}"
    parts = (Whole(url, style="bold"), Text(f"opens until {expires} ({scope})"))
    emit(fmt, View(data, parts))


# The billing commands (pack, purchase, invoice, billing), the alert commands (alert,
# webhook), the HTTP API's (key, serve), top-ups' (topup) and country gating's (org update,
