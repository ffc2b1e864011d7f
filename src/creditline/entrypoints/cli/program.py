"""The whole ``creditline`` command: the app with every command group registered on it.

This is the one place that registers groups: each group's module makes its commands
and knows nothing of the others (nor of this module). Commands and groups are listed
in ``--help`` in the order they are registered here.
"""

from __future__ import annotations

import inspect

import typer

from creditline.entrypoints.cli.alerts import alert_app, webhook_app
from creditline.entrypoints.cli.api import commands as api_commands
from creditline.entrypoints.cli.api import key_app
from creditline.entrypoints.cli.app import app
from creditline.entrypoints.cli.billing import billing_app, invoice_app, pack_app, purchase_app
from creditline.entrypoints.cli.budgets import budget_app
from creditline.entrypoints.cli.demo_command import commands as demo_commands
from creditline.entrypoints.cli.grace import grace_app
from creditline.entrypoints.cli.ledger import commands as ledger_commands
from creditline.entrypoints.cli.orgs import member_app, org_app, project_app
from creditline.entrypoints.cli.plans import plan_app
from creditline.entrypoints.cli.portal import portal_app
from creditline.entrypoints.cli.ratecards import commands as ratecards_commands
from creditline.entrypoints.cli.ratecards import examples_app, ratecard_app
from creditline.entrypoints.cli.reports import report_app
from creditline.entrypoints.cli.reservations import commands as reservations_commands
from creditline.entrypoints.cli.sales import sales_app
from creditline.entrypoints.cli.scheduler import commands as scheduler_commands
from creditline.entrypoints.cli.topups import topup_app
from creditline.entrypoints.cli.usage import usage_app

__all__ = ["app", "main"]

# Commands straight under `creditline` (after `init`, the app's own).
for commands in (
    ledger_commands,
    demo_commands,
    ratecards_commands,
    reservations_commands,
    scheduler_commands,
    api_commands,
):
    app.add_typer(commands)

# The groups: `creditline GROUP COMMAND`.
for group, name in (
    (org_app, "org"),
    (project_app, "project"),
    (member_app, "member"),
    (ratecard_app, "ratecard"),
    (examples_app, "examples"),
    (usage_app, "usage"),
    (plan_app, "plan"),
    (report_app, "report"),
    (portal_app, "portal"),
    (budget_app, "budget"),
    (alert_app, "alert"),
    (webhook_app, "webhook"),
    (key_app, "key"),
    (pack_app, "pack"),
    (purchase_app, "purchase"),
    (invoice_app, "invoice"),
    (billing_app, "billing"),
    (sales_app, "sales"),
    (topup_app, "topup"),
    (grace_app, "grace"),
):
    app.add_typer(group, name=name)


def _plain_help(typer_app: typer.Typer) -> None:
    """Help as click writes it, for every command: paragraphs re-wrapped to the terminal and
    flags without a type (rich's panels show ``--help <bool>``, keep a docstring's line
    breaks and read ``[now]`` as markup). A command list shows each command's whole first
    paragraph, wrapped, rather than click's first sentence cut at the column's width."""
    typer_app.rich_markup_mode = None
    for command in typer_app.registered_commands:
        text = command.help or (command.callback.__doc__ if command.callback else None)
        if command.short_help is None and isinstance(text, str):
            command.short_help = _first_paragraph(text)
    for group in typer_app.registered_groups:
        if group.typer_instance is not None:
            info = group.typer_instance.info
            if isinstance(info.help, str) and not isinstance(info.short_help, str):
                info.short_help = _first_paragraph(info.help)
            _plain_help(group.typer_instance)


def _first_paragraph(text: str) -> str:
    return " ".join(inspect.cleandoc(text).split("\n\n")[0].split())


_plain_help(app)


def main() -> None:
    """The console script ``creditline``."""
    app(prog_name="creditline")
