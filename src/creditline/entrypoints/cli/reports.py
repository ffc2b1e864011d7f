"""``creditline report``: an organization's accepted usage by group and period; the
operator's monthly revenue (deferred revenue and breakage at cost basis)."""

from __future__ import annotations

import enum
import re
from datetime import datetime
from typing import Annotated

import typer

from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import OrgArg, parse_time
from creditline.entrypoints.cli.output import Format, emit
from creditline.entrypoints.cli.views.revenue import revenue_view
from creditline.entrypoints.cli.views.usage import usage_report_view
from creditline.entrypoints.revenue_export import revenue_csv
from creditline.entrypoints.usage_export import usage_report_csv

__all__ = ["ReportFormat", "report_app", "report_time"]

report_app = typer.Typer(
    help="Reports: usage by project, operation, member and period; the month's revenue.",
    no_args_is_help=True,
)


class ReportFormat(enum.StrEnum):
    TABLE = "table"
    CSV = "csv"
    JSON = "json"


class Period(enum.StrEnum):
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


def report_time(text: str | None, what: str) -> datetime | None:
    """A report bound: an ISO 8601 timestamp with a zone, or a date (midnight UTC)."""
    if text is not None and re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        return parse_time(f"{text}T00:00:00+00:00", what)
    return parse_time(text, what)


@report_app.command("usage")
def report_usage(
    ctx: typer.Context,
    org: OrgArg,
    *,
    by: Annotated[
        str,
        typer.Option("--by", metavar="GROUPS", help="Comma-separated: project, operation, member."),
    ] = "project",
    period: Annotated[
        Period | None,
        typer.Option(help="Also by UTC day, ISO week (2026-W02) or month; default: none."),
    ] = None,
    since: Annotated[
        str | None, typer.Option(help="From (inclusive): 2026-01-01 or a timestamp.")
    ] = None,
    until: Annotated[
        str | None, typer.Option(help="To (exclusive); default: now. Default window: 30 days.")
    ] = None,
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table for people, csv or json for other tools."),
    ] = ReportFormat.TABLE,
) -> None:
    """An organization's accepted usage: events and credits by group and period.

    Voided events are left out and amended ones count at their amended cost;
    a group without a project or member shows "(none)" (an empty CSV cell,
    null in JSON). Amounts are credits; JSON adds micro-credits (cost_micros).
    """
    groups = [g.strip() for g in by.split(",") if g.strip()]
    name = None if period is None else period.value
    report = open_engine(ctx).usage_report(
        org, groups, report_time(since, "--since"), report_time(until, "--until"), period=name
    )
    if fmt is ReportFormat.CSV:
        typer.echo(usage_report_csv(report), nl=False)
    else:
        emit(Format(fmt.value), usage_report_view(report, name))


@report_app.command("revenue")
def report_revenue(
    ctx: typer.Context,
    *,
    month: Annotated[str, typer.Option(help="A calendar month in UTC: 2026-11.")],
    fmt: Annotated[
        ReportFormat,
        typer.Option("--format", "-f", help="table for people, csv or json for other tools."),
    ] = ReportFormat.TABLE,
) -> None:
    """The month's deferred revenue and breakage at cost basis, per currency.

    Credits sold and their cash; consumed (revenue recognised) and expired
    unused (breakage), valued at the cost basis of the grants that paid;
    refunded; and the liability at the month's start and end (held credits
    included). Each currency reconciles to the minor unit: opening + sold -
    consumed - expired - refunded - adjusted = closing. Credits with no cash
    (included, promotional...) and flex are shown apart, in credits.
    """
    report = open_engine(ctx).revenue_report(month)
    if fmt is ReportFormat.CSV:
        typer.echo(revenue_csv(report), nl=False)
    else:
        emit(Format(fmt.value), revenue_view(report))
