"""``creditline org``, ``project`` and ``member``: organizations (created, listed, priced by a
rate card, their status, name and country), their projects and members.
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditline import GrantKind
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import OrgArg
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.cycles import with_subscription
from creditline.entrypoints.cli.views.ledger import member_view, org_view, orgs_view, project_view
from creditline.entrypoints.cli.views.pricing import org_rate_card_view, org_status_view

__all__ = ["member_app", "org_app", "project_app"]

org_app = typer.Typer(help="Organizations: the holders of balances.", no_args_is_help=True)
project_app = typer.Typer(help="Projects inside an organization.", no_args_is_help=True)
member_app = typer.Typer(help="Members of an organization.", no_args_is_help=True)


@org_app.command("create")
def org_create(
    ctx: typer.Context,
    name: str,
    *,
    external_ref: Annotated[
        str | None, typer.Option(help="Your platform's id for it; unique.")
    ] = None,
    consumption_order: Annotated[
        str | None,
        typer.Option(help=f"Grant kinds, first spent first: {GrantKind.names()}."),
    ] = None,
    country: Annotated[
        str | None,
        typer.Option(
            metavar="CC", help="Its country, ISO 3166-1 alpha-2 (DE); decides self-serve buying."
        ),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Create an organization with a zero balance."""
    org = open_engine(ctx).create_org(
        name, external_ref=external_ref, consumption_order=consumption_order, country=country
    )
    emit(fmt, org_view(org))


@org_app.command("list")
def org_list(
    ctx: typer.Context,
    limit: Annotated[int, typer.Option(min=1, max=1000)] = 100,
    after: Annotated[str | None, typer.Option(help="Page on after this id.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """List organizations, by id."""
    emit(fmt, orgs_view(open_engine(ctx).list_orgs(limit=limit, after_id=after)))


@project_app.command("create")
def project_create(
    ctx: typer.Context, org: OrgArg, name: str, fmt: FormatOption = Format.TABLE
) -> None:
    """Create a project in an organization."""
    emit(fmt, project_view(open_engine(ctx).create_project(org, name)))


@member_app.command("add")
def member_add(
    ctx: typer.Context,
    org: OrgArg,
    name: str,
    email: Annotated[str | None, typer.Option(help="Unique within the organization.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Add a member to an organization."""
    emit(fmt, member_view(open_engine(ctx).add_member(org, name, email)))


@org_app.command("set-rate-card")
def org_set_rate_card(
    ctx: typer.Context,
    org: OrgArg,
    name: Annotated[
        str | None, typer.Argument(help="A loaded card's name; leave out for the default card.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Price an organization's usage by a rate card."""
    chosen = open_engine(ctx).set_rate_card(org, name)
    emit(fmt, org_rate_card_view(org, chosen))


@org_app.command("status")
def org_status(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """An organization's balance, plan, rate card, depletion policy, flex, read-only, and
    its subscription: plan, cycle, next renewal."""
    cl = open_engine(ctx)
    view = org_status_view(cl.balance(org), cl.metering(org), cl.is_read_only(org))
    emit(fmt, with_subscription(view, cl.subscription(org)))


@org_app.command("update")
def org_update(
    ctx: typer.Context,
    org: OrgArg,
    *,
    name: Annotated[str | None, typer.Option(help="A new name.")] = None,
    country: Annotated[
        str | None,
        typer.Option(metavar="CC", help="Its country, ISO 3166-1 alpha-2 (DE)."),
    ] = None,
    no_country: Annotated[bool, typer.Option("--no-country", help="Remove its country.")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Change an organization's name or country (its country decides whether it can buy
    credits self-serve)."""
    changed = open_engine(ctx).update_org(org, name=name, country=country, clear_country=no_country)
    emit(fmt, org_view(changed))
