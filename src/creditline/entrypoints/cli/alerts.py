"""The alert commands of ``creditline``: ``alert`` (rules on an organization's credits)
and ``webhook`` (endpoints, the delivery log, re-sending).

They follow :mod:`creditline.entrypoints.cli` (one engine call, a view, ``--format``,
errors as one line and an exit code from its one table) and are registered on its app
when it is imported. Alerts are evaluated and delivered by ``creditline tick`` and
``creditline worker``; e-mails need ``CREDITLINE_SMTP_HOST``
(:func:`creditline.bootstrap.mailer_from_env`).
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditline.domain.alerts import AlertKind
from creditline.domain.deliveries import DeliveryStatus
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import LimitOption, OrgArg, org_option, parse_amount
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.alerts import (
    deliveries_view,
    delivery_view,
    endpoint_view,
    endpoints_view,
    rule_view,
    rules_view,
)

__all__ = ["alert_app", "webhook_app"]

alert_app = typer.Typer(
    help="Alert rules: thresholds on an organization's credits, depletion, read-only, "
    "forecast depletion, failed payments.",
    no_args_is_help=True,
)
webhook_app = typer.Typer(
    help="Webhook endpoints that receive alerts, signed per Standard Webhooks; the delivery log.",
    no_args_is_help=True,
)

KINDS = ", ".join(k.value for k in AlertKind)
DeliveryArg = Annotated[
    str, typer.Argument(metavar="DELIVERY", help="The delivery's id (msg_...).")
]


@alert_app.command("add")
def alert_add(
    ctx: typer.Context,
    org: OrgArg,
    kind: Annotated[str, typer.Argument(metavar="KIND", help=f"One of: {KINDS}.")],
    *,
    threshold: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="remaining_below: fire below this.")
    ] = None,
    rearm_above: Annotated[
        str | None,
        typer.Option(metavar="CREDITS", help="remaining_below: re-arm at or above this."),
    ] = None,
    percent: Annotated[
        int | None,
        typer.Option(
            help="% of the cycle's grant: remaining_below_percent fires when strictly less "
            "is left, used_percent when at least this much is used."
        ),
    ] = None,
    rearm_percent: Annotated[
        int | None,
        typer.Option(
            help="remaining_below_percent: re-arm at or above this % left; used_percent: "
            "re-arm below this % used."
        ),
    ] = None,
    days: Annotated[
        int | None, typer.Option(help="forecast_depletion: fire when credits last <= days.")
    ] = None,
    rearm_days: Annotated[
        int | None, typer.Option(help="forecast_depletion: re-arm beyond this many days.")
    ] = None,
    lookback_days: Annotated[
        int | None, typer.Option(help="forecast_depletion: burn-rate window [7].")
    ] = None,
    channel: Annotated[
        list[str] | None,
        typer.Option(
            "--channel", metavar="CHANNEL", help="webhook or email (repeat for both) [webhook]."
        ),
    ] = None,
    email: Annotated[
        str | None, typer.Option(help="Send alerts to this address (implies --channel email).")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Add an alert rule to an organization; it fires once per crossing (exit 2 listing
    every problem of the rule)."""
    rule = open_engine(ctx).add_alert(
        org,
        kind,
        threshold=None if threshold is None else parse_amount(threshold),
        rearm_above=None if rearm_above is None else parse_amount(rearm_above),
        percent=percent,
        rearm_percent=rearm_percent,
        days=days,
        rearm_days=rearm_days,
        lookback_days=lookback_days,
        channels=channel or None,
        email=email,
    )
    emit(fmt, rule_view(rule))


@alert_app.command("list")
def alert_list(
    ctx: typer.Context,
    org: OrgArg,
    all_: Annotated[bool, typer.Option("--all", help="Include removed rules.")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's alert rules and where each stands (armed or fired)."""
    emit(fmt, rules_view(open_engine(ctx).alert_rules(org, include_disabled=all_)))


@alert_app.command("remove")
def alert_remove(
    ctx: typer.Context,
    rule: Annotated[str, typer.Argument(metavar="RULE", help="The rule's id (alr_...).")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Remove an alert rule (it stops firing; its deliveries stay in the log)."""
    emit(fmt, rule_view(open_engine(ctx).disable_alert(rule)))


# -- webhooks ------------------------------------------------------------------------------


@webhook_app.command("add")
def webhook_add(
    ctx: typer.Context,
    url: Annotated[str, typer.Argument(metavar="URL", help="Where to POST (http or https).")],
    *,
    org: Annotated[str | None, org_option("Only this organization's events [every one's].")] = None,
    event: Annotated[
        list[str] | None,
        typer.Option(
            "--event", metavar="TYPE", help="Only this event type (repeat for more) [all]."
        ),
    ] = None,
    description: Annotated[str | None, typer.Option(help="A note for people.")] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Add a webhook endpoint; prints its signing secret, the only time it is shown."""
    endpoint = open_engine(ctx).add_webhook(
        url, org_id=org, event_types=event or (), description=description
    )
    emit(fmt, endpoint_view(endpoint))


@webhook_app.command("list")
def webhook_list(
    ctx: typer.Context,
    org: Annotated[str | None, org_option("Only this organization's [all].")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include removed endpoints.")] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Webhook endpoints (never their secrets)."""
    found = open_engine(ctx).webhook_endpoints(org, include_disabled=all_)
    emit(fmt, endpoints_view(found))


@webhook_app.command("remove")
def webhook_remove(
    ctx: typer.Context,
    endpoint: Annotated[
        str, typer.Argument(metavar="ENDPOINT", help="The endpoint's id (whe_...).")
    ],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Remove a webhook endpoint: nothing more is sent to it."""
    emit(fmt, endpoint_view(open_engine(ctx).disable_webhook(endpoint)))


@webhook_app.command("deliveries")
def webhook_deliveries(
    ctx: typer.Context,
    *,
    org: Annotated[str | None, org_option("Only this organization's events.")] = None,
    endpoint: Annotated[
        str | None, typer.Option(metavar="ENDPOINT", help="Only to this endpoint.")
    ] = None,
    status: Annotated[
        DeliveryStatus | None, typer.Option(help="Only deliveries in this status.")
    ] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """The delivery log, newest first: webhooks and alert e-mails, their attempts and
    last answers."""
    found = open_engine(ctx).webhook_deliveries(
        org, endpoint_id=endpoint, status=status, limit=limit
    )
    emit(fmt, deliveries_view(found))


@webhook_app.command("show")
def webhook_show(
    ctx: typer.Context,
    delivery: DeliveryArg,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """One delivery, its payload and every attempt."""
    emit(fmt, delivery_view(open_engine(ctx).webhook_delivery(delivery)))


@webhook_app.command("resend")
def webhook_resend(
    ctx: typer.Context,
    delivery: DeliveryArg,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Queue a delivery again, due now (the next tick sends it, same webhook-id)."""
    emit(fmt, delivery_view(open_engine(ctx).redeliver_webhook(delivery)))
