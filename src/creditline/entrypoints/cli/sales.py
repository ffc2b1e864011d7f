"""Country gating's commands of ``creditline`` (D8): ``org update`` (a name, a country)
and ``sales`` (whether an organization buys self-serve; contact-sales requests).

They follow :mod:`creditline.entrypoints.cli` (one engine call, a view, ``--format``,
errors as one line and an exit code from its one table: a purchase refused because
self-serve buying is not available in the organization's country exits 10) and are
registered on its app when it is imported. The self-serve countries come from
``CREDITLINE_SELF_SERVE_COUNTRIES`` (unset: everywhere), the sales address from
``CREDITLINE_SALES_EMAIL``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from creditline.domain.sales import SalesRequest
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import NUMBERS, LimitOption, OrgArg, parse_amount
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.base import View, credit_fields, iso, new_table, when
from creditline.services.sales import SelfServe

__all__ = ["sales_app"]

sales_app = typer.Typer(
    help="Contact sales: where credits can be bought self-serve, and the requests of the "
    "organizations that cannot.",
    no_args_is_help=True,
)


def _request_data(r: SalesRequest) -> dict[str, Any]:
    return {
        "id": r.id,
        "org_id": r.org_id,
        "country": r.country,
        "member_id": r.member_id,
        "email": r.email,
        "pack": r.pack,
        **credit_fields("credits", r.credits),
        "message": r.message,
        "source": r.source.value,
        "created_at": iso(r.created_at),
    }


def _requests_table(found: Sequence[SalesRequest], title: str) -> Table:
    table = new_table(
        title, "id", "organization", "country", "asks about", "reply to", "message", "at"
    )
    for r in found:
        table.add_row(
            r.id, r.org_id, r.country or "", r.wants(), r.email or "", r.message, when(r.created_at)
        )  # fmt: skip
    return table


def _self_serve_view(state: SelfServe) -> View:
    data = {
        "org_id": state.org_id,
        "country": state.country,
        "available": state.available,
        "countries": None if state.countries is None else list(state.countries),
    }
    table = Table(title="Self-serve buying", title_justify="left", show_header=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    table.add_row("organization", state.org_id)
    table.add_row("country", state.country or "(none)")
    where = "everywhere" if state.countries is None else ",".join(state.countries) or "nowhere"
    table.add_row("self-serve countries", where)
    table.add_row(
        "buys", "self-serve (checkout)" if state.available else "through sales (contact sales)"
    )
    return View(data, (table,))


@sales_app.command("check")
def sales_check(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """Whether an organization can buy credits self-serve, or contacts sales."""
    emit(fmt, _self_serve_view(open_engine(ctx).self_serve(org)))


@sales_app.command("request", context_settings=NUMBERS)
def sales_request(
    ctx: typer.Context,
    org: OrgArg,
    *,
    pack: Annotated[str | None, typer.Option(help="A pack of the catalogue.")] = None,
    amount: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="Or an amount of credits: 750")
    ] = None,
    message: Annotated[str | None, typer.Option(help="What to tell sales.")] = None,
    member: Annotated[
        str | None, typer.Option(metavar="MEMBER", help="The member asking (mem_...).")
    ] = None,
    email: Annotated[str | None, typer.Option(help="Where to answer.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Contact sales: record a request (sent to the operator's webhook and e-mail)."""
    made = open_engine(ctx).contact_sales(
        org,
        pack,
        credits=None if amount is None else parse_amount(amount),
        message=message,
        member_id=member,
        email=email,
    )
    emit(fmt, View(_request_data(made), (_requests_table([made], "Contact-sales request"),)))


@sales_app.command("list")
def sales_list(
    ctx: typer.Context,
    org: Annotated[
        str | None, typer.Argument(metavar="[ORG]", help="Only this organization's.")
    ] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Contact-sales requests, newest first: every organization's, or one's."""
    found = open_engine(ctx).sales_requests(org, limit)
    emit(
        fmt,
        View(
            [_request_data(r) for r in found], (_requests_table(found, "Contact-sales requests"),)
        ),
    )


@sales_app.command("show")
def sales_show(
    ctx: typer.Context,
    request: Annotated[str, typer.Argument(metavar="REQUEST", help="The request's id (csr_...).")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """One contact-sales request."""
    found = open_engine(ctx).sales_request(request)
    emit(fmt, View(_request_data(found), (_requests_table([found], "Contact-sales request"),)))
