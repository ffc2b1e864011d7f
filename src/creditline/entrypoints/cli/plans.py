"""``creditline plan``: plans (gates, depletion policies, billing) loaded, created, shown and
assigned to organizations.
"""

from __future__ import annotations

import json
import tomllib
from decimal import Decimal
from pathlib import Path
from typing import Annotated, Any

import typer

from creditline import GrantKind
from creditline.domain.cycles import AnchorKind, BillingInterval
from creditline.domain.errors import InvalidSetting
from creditline.domain.grace import GraceBilling
from creditline.domain.plans import PLAN_GRANT_KINDS, DepletionPolicy
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import (
    NUMBERS,
    OrgArg,
    Syntax,
    SyntaxOption,
    file_argument,
    file_syntax,
    parse_pairs,
    read_file,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.cycles import assigned_view, plan_billing_view
from creditline.entrypoints.cli.views.pricing import metering_view, plan_view, plans_view

__all__ = ["plan_app"]

plan_app = typer.Typer(help="Plans: gates and depletion policies.", no_args_is_help=True)


PlanFileArg = Annotated[
    Path, file_argument("A TOML file of [[plans]] tables (examples/PLATFORM/plans.toml).")
]


@plan_app.command("load")
def plan_load(ctx: typer.Context, file: PlanFileArg, fmt: FormatOption = Format.TABLE) -> None:
    """Store every plan of a TOML file, each replacing one of its name; all or nothing."""
    source = read_file(file, "plans file")
    emit(fmt, plans_view(open_engine(ctx).load_plans(source)))


@plan_app.command("show")
def plan_show(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The plan's name.")],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """A plan: its depletion policy, flex settings, gates and billing."""
    plan = open_engine(ctx).plan(name)
    emit(fmt, plan_billing_view(plan_view(plan), plan))


@plan_app.command("assign")
def plan_assign(
    ctx: typer.Context,
    org: OrgArg,
    plan: Annotated[str, typer.Argument(metavar="PLAN", help="A stored plan's name.")],
    *,
    depletion: Annotated[
        DepletionPolicy | None,
        typer.Option(help="This organization's own depletion policy [the plan's]."),
    ] = None,
    flex: Annotated[
        bool | None, typer.Option("--flex/--no-flex", help="Allow flex credits [the plan's].")
    ] = None,
    subscribe: Annotated[
        bool,
        typer.Option(
            "--subscribe",
            help="Start the plan's billing: its sign-up credits now, its cycle credits at "
            "each renewal (tick).",
        ),
    ] = False,
    currency: Annotated[
        str | None, typer.Option(help="The currency the plan's fee is billed in [the plan's].")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Put an organization on a plan, optionally with its own depletion policy and flex.

    With --subscribe the plan's billing starts. An organization already subscribed
    follows its plan: another plan restarts the billing cycle now, expires what is
    left of the old plan's cycle-bound included credits and grants the new plan's.
    """
    cl = open_engine(ctx)
    assigned = cl.change_plan(
        org, plan, depletion=depletion, flex_enabled=flex, subscribe=subscribe, currency=currency
    )
    view = metering_view(assigned.metering)
    emit(fmt, assigned_view(view, assigned, cl.subscription(org)))


PlanDocumentOption = Annotated[
    Path | None,
    typer.Option(
        "--file",
        metavar="FILE",
        exists=True,
        dir_okay=False,
        readable=True,
        help="One plan's document, TOML or JSON (by a .json suffix or --syntax); the "
        "options below override its fields.",
    ),
]
_EXPIRY_FORMS = "never, end_of_cycle, 'after 6 months' or 'rollover 3'"


def _plan_document(file: Path | None, syntax: Syntax | None) -> dict[str, Any]:
    """The plan document in FILE (a plan's table, or a file of exactly one [[plans]])."""
    if file is None:
        return {}
    chosen = file_syntax(file, syntax)
    try:
        text = file.read_text(encoding="utf-8")
        document = (
            json.loads(text, parse_float=Decimal)
            if chosen is Syntax.JSON
            else tomllib.loads(text, parse_float=Decimal)
        )
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise InvalidSetting("plan file", str(file), str(exc)) from None
    if isinstance(document, dict) and isinstance(document.get("plans"), list):
        if len(document["plans"]) != 1 or set(document) != {"plans"}:
            raise InvalidSetting(
                "plan file", str(file), "holds several plans: use `plan load` for [[plans]]"
            )
        document = document["plans"][0]
    if not isinstance(document, dict):
        raise InvalidSetting("plan file", str(file), "must be one plan's table or object")
    return document


def _expiry_document(text: str) -> str | dict[str, Any]:
    """--expiry: never, end_of_cycle, 'after 6 months', 'rollover 3'."""
    words = text.split(maxsplit=1)
    if len(words) == 2 and words[0] == "after":
        return {"after": words[1]}
    if len(words) == 2 and words[0] == "rollover":
        cycles = words[1].strip()
        return {"rollover_cycles": int(cycles) if cycles.isdigit() else cycles}
    if text in ("never", "end_of_cycle"):
        return text
    raise InvalidSetting("--expiry", text, f"one of {_EXPIRY_FORMS}")


def _grant_document(credits: str | None, kind: GrantKind | None) -> dict[str, str] | None:
    if credits is None:
        return None
    return {"credits": credits, **({} if kind is None else {"kind": kind.value})}


def _gates_document(
    base: Any, forbid: list[str] | None, allow: list[str] | None, caps: list[str] | None
) -> Any:
    """The document's gates with the options' added (each replaces one of its name)."""
    if not (forbid or allow or caps):
        return base
    gates = dict(base) if isinstance(base, dict) else {}
    if forbid:
        gates["forbid_operations"] = list(forbid)
    if allow:
        chosen = parse_pairs(allow, "--allow")
        gates["allow"] = {
            **gates.get("allow", {}),
            **{k: [v.strip() for v in value.split(",")] for k, value in chosen.items()},
        }
    if caps:
        gates["max"] = {**gates.get("max", {}), **parse_pairs(caps, "--max")}
    return gates


@plan_app.command("create", context_settings=NUMBERS)
def plan_create(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(metavar="NAME", help="The plan's name [the file's].")
    ] = None,
    *,
    file: PlanDocumentOption = None,
    syntax: SyntaxOption = None,
    depletion: Annotated[
        DepletionPolicy | None, typer.Option(help="When credits run out [pause].")
    ] = None,
    flex: Annotated[bool | None, typer.Option("--flex/--no-flex", help="[--flex]")] = None,
    flex_limit: Annotated[
        int | None,
        typer.Option(min=0, metavar="MICROS", help="Most flex micro-credits a month [none]."),
    ] = None,
    max_open_reservations: Annotated[int | None, typer.Option(min=0)] = None,
    forbid: Annotated[
        list[str] | None, typer.Option(metavar="OPERATION", help="An operation refused.")
    ] = None,
    allow: Annotated[
        list[str] | None,
        typer.Option(metavar="DIM=A,B", help="The only values of a dimension: mode=Basic"),
    ] = None,
    cap: Annotated[
        list[str] | None,
        typer.Option("--max", metavar="NAME=VALUE", help="A quantity's cap: training_data_mb=100"),
    ] = None,
    interval: Annotated[BillingInterval | None, typer.Option(help="Cycle length [monthly].")] = (
        None
    ),
    anchor: Annotated[
        AnchorKind | None, typer.Option(help="Cycles from the sign-up or on months [signup].")
    ] = None,
    time_zone: Annotated[
        str | None, typer.Option(metavar="ZONE", help="IANA zone of the cycles [UTC].")
    ] = None,
    signup_credits: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="Granted at the sign-up (cycle 0).")
    ] = None,
    cycle_credits: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="Granted at each cycle's start.")
    ] = None,
    grant_kind: Annotated[
        GrantKind | None,
        typer.Option(help=f"Kind of the plan's grants: {', '.join(PLAN_GRANT_KINDS)} [included]."),
    ] = None,
    expiry: Annotated[
        str | None, typer.Option(metavar="RULE", help=f"Grants expire: {_EXPIRY_FORMS} [never].")
    ] = None,
    grace_hours: Annotated[
        int | None, typer.Option(min=0, help="Grace after depletion lasts at most [none].")
    ] = None,
    grace_credits: Annotated[
        str | None, typer.Option(metavar="CREDITS", help="Grace pays for at most [none].")
    ] = None,
    grace_billing: Annotated[
        GraceBilling | None, typer.Option(help="Grace usage billed as flex or written off [flex].")
    ] = None,
    read_only_hours: Annotated[
        int | None,
        typer.Option(min=0, help="Read-only after grace, then paused [until credits arrive]."),
    ] = None,
    replace: Annotated[
        bool, typer.Option("--replace", help="Replace a stored plan of this name.")
    ] = False,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Store one plan, from --file and/or the options (exit 4 if the name is taken).

    Every problem of the plan is listed at once (exit 2), nothing stored.
    """
    document = _plan_document(file, syntax)
    fields: dict[str, Any] = {
        "name": name,
        "depletion": None if depletion is None else depletion.value,
        "flex_enabled": flex,
        "flex_limit_micros": flex_limit,
        "max_open_reservations": max_open_reservations,
        "interval": None if interval is None else interval.value,
        "anchor": None if anchor is None else anchor.value,
        "time_zone": time_zone,
        "signup_grant": _grant_document(signup_credits, grant_kind),
        "cycle_grant": _grant_document(cycle_credits, grant_kind),
        "grant_expiry": None if expiry is None else _expiry_document(expiry),
        "grace_hours": grace_hours,
        "grace_credits": grace_credits,
        "grace_billing": None if grace_billing is None else grace_billing.value,
        "read_only_hours": read_only_hours,
    }
    document.update({k: v for k, v in fields.items() if v is not None})
    gates = _gates_document(document.get("gates"), forbid, allow, cap)
    if gates is not None:
        document["gates"] = gates
    plan = open_engine(ctx).create_plan(document, replace=replace)
    emit(fmt, plan_billing_view(plan_view(plan), plan))
