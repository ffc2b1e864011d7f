"""The ``creditline budget`` commands: budgets of projects and members inside an
organization's pool (create, list, delete).

They follow :mod:`creditline.entrypoints.cli` (one engine call, a view, ``--format``,
errors as one line and an exit code from its one table) and are registered on its app
by :mod:`creditline.entrypoints.cli.program`. A charge a hard budget refuses exits 5.
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import AmountArg, OrgArg, parse_amount
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.budgets import budget_view, budgets_view

__all__ = ["budget_app"]

budget_app = typer.Typer(
    help="Budgets: what a project or member may consume per day, month or billing cycle "
    "(hard: refused past it; soft: alerts only).",
    no_args_is_help=True,
)


@budget_app.command("create")
def budget_create(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    project: Annotated[
        str | None, typer.Option(metavar="ID", help="Cap this project (prj_...).")
    ] = None,
    member: Annotated[
        str | None, typer.Option(metavar="ID", help="Cap this member (mbr_...).")
    ] = None,
    period: Annotated[
        str, typer.Option(metavar="PERIOD", help="day, month (UTC) or cycle (billing cycle).")
    ] = "month",
    soft: Annotated[
        bool, typer.Option("--soft", help="Only alert; never refuse [hard: refuse].")
    ] = False,
    alert: Annotated[
        list[int] | None,
        typer.Option("--alert", metavar="PERCENT", help="Alert at this % (repeat for more)."),
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Cap what a project (--project) or member (--member) consumes: AMOUNT credits per
    period (exit 2 listing every problem of the budget)."""
    standing = open_engine(ctx).create_budget(
        org,
        project_id=project,
        member_id=member,
        amount=parse_amount(amount),
        period=period,
        mode="soft" if soft else "hard",
        alerts=alert or (),
    )
    emit(fmt, budget_view(standing))


@budget_app.command("list")
def budget_list(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """An organization's budgets, each with what it counted this period (holds included)."""
    emit(fmt, budgets_view(open_engine(ctx).budgets(org)))


@budget_app.command("delete")
def budget_delete(
    ctx: typer.Context,
    org: OrgArg,
    budget: Annotated[str, typer.Argument(metavar="BUDGET", help="The budget's id (bgt_...).")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Delete a budget: its project or member is no longer capped."""
    emit(fmt, budget_view(open_engine(ctx).delete_budget(org, budget)))
