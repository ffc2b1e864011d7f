"""``creditline topup``: automatic and recurring top-ups (D9).

``topup show ORG``, ``topup set ORG --threshold N (--pack P | --credits N | --target N)
[--monthly-cap MINOR] [--max-failures N] --currency C``, ``topup disable ORG``,
``topup recurring set ORG PACK --day D --currency C``, ``topup recurring cancel ORG``,
``topup run`` (the tick's top-up job, once). They follow :mod:`creditline.entrypoints.cli`
and are registered on its app when it is imported. The top-ups themselves are listed by
``purchase list`` with their trigger.
"""

from __future__ import annotations

from typing import Annotated, Any

import typer

from creditline.domain.amounts import format_credits
from creditline.domain.money import format_money
from creditline.domain.topups import AutoTopup, RecurringTopup
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import (
    NUMBERS,
    CurrencyOption,
    OrgArg,
    parse_amount,
    parse_time,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.base import NEVER, View, credit_fields, iso, key_values, when
from creditline.services.topups import TopupRun

__all__ = ["recurring_app", "topup_app"]

topup_app = typer.Typer(
    help="Automatic and recurring top-ups: buying credits with the saved card.",
    no_args_is_help=True,
)
recurring_app = typer.Typer(help="Buy a pack every month on a day.", no_args_is_help=True)
topup_app.add_typer(recurring_app, name="recurring")


def _auto_data(s: AutoTopup | None) -> dict[str, Any] | None:
    if s is None:
        return None
    cap = s.monthly_cap
    return {
        "org_id": s.org_id, "enabled": s.enabled, **credit_fields("threshold", s.threshold),
        "buy": s.buy.value, "pack": s.pack,
        "credits_micros": s.credits, "currency": s.currency,
        "monthly_cap_minor": None if cap is None else cap.minor, "max_failures": s.max_failures,
        "armed": s.armed, "crossings": s.crossings, "pending_id": s.pending_id,
        "failures": s.failures, "retry_at": iso(s.retry_at), "last_skip": s.last_skip,
        "disabled_reason": s.disabled_reason,
    }  # fmt: skip


def _recurring_data(r: RecurringTopup | None) -> dict[str, Any] | None:
    if r is None:
        return None
    return {"org_id": r.org_id, "pack": r.pack, "currency": r.currency, "day": r.day,
            "starts_at": iso(r.starts_at), "active": r.active,
            "last_period": r.last_period}  # fmt: skip


def auto_view(s: AutoTopup | None, r: RecurringTopup | None = None) -> View:
    parts: list[Any] = []
    if s is None:
        parts.append("automatic top-ups: none")
    else:
        cap = "none" if s.monthly_cap is None else format_money(s.monthly_cap.minor, s.currency)
        state = "off" if not s.enabled else ("armed" if s.armed else "waiting to re-arm")
        rows = [
            ("state", state), ("below", f"{format_credits(s.threshold)} credits"),
            ("buys", s.describe()), ("pays in", s.currency), ("monthly cap", cap),
            ("failures", f"{s.failures} of {s.max_failures}"),
            ("in flight", s.pending_id or "-"), ("top-ups so far", str(s.crossings)),
        ]  # fmt: skip
        if s.retry_at is not None:
            rows.append(("retry after", when(s.retry_at, NEVER)))
        if s.last_skip:
            rows.append(("last skipped", s.last_skip))
        if s.disabled_reason:
            rows.append(("disabled", s.disabled_reason))
        parts.append(key_values("Automatic top-up", rows))
    if r is not None:
        parts.append(recurring_view(r).parts[0])
    return View({"auto": _auto_data(s), "recurring": _recurring_data(r)}, tuple(parts))


def recurring_view(r: RecurringTopup) -> View:
    rows = [("pack", r.pack), ("pays in", r.currency), ("day", f"{r.day} of every month"),
            ("from", when(r.starts_at, NEVER)), ("active", "yes" if r.active else "cancelled"),
            ("last bought", r.last_period or "-")]  # fmt: skip
    return View(_recurring_data(r), (key_values("Recurring top-up", rows),))


@topup_app.command("show")
def topup_show(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """An organization's automatic top-up (its state) and recurring top-up."""
    cl = open_engine(ctx)
    emit(fmt, auto_view(cl.auto_topup(org), cl.recurring_topup(org)))


@topup_app.command("set", context_settings=NUMBERS)
def topup_set(
    ctx: typer.Context,
    org: OrgArg,
    *,
    threshold: Annotated[
        str, typer.Option(metavar="AMOUNT", help="Buy when available credits fall below this.")
    ],
    currency: CurrencyOption = "USD",
    pack: Annotated[str | None, typer.Option(help="Buy this pack (see pack list).")] = None,
    credits: Annotated[
        str | None, typer.Option(metavar="AMOUNT", help="Or buy this many credits.")
    ] = None,
    target: Annotated[
        str | None, typer.Option(metavar="AMOUNT", help="Or buy enough to reach this balance.")
    ] = None,
    monthly_cap: Annotated[
        int | None, typer.Option(metavar="MINOR", help="At most this much a month (cents).")
    ] = None,
    max_failures: Annotated[
        int, typer.Option(min=1, help="Disable after this many declined charges in a row.")
    ] = 3,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Buy automatically (off-session, with the saved card) when credits run low."""
    setting = open_engine(ctx).set_auto_topup(
        org, threshold=parse_amount(threshold), currency=currency.upper(), pack=pack,
        credits=None if credits is None else parse_amount(credits),
        target=None if target is None else parse_amount(target), monthly_cap=monthly_cap,
        max_failures=max_failures,
    )  # fmt: skip
    emit(fmt, auto_view(setting))


@topup_app.command("disable")
def topup_disable(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """Turn automatic top-ups off (``topup set`` turns them on again)."""
    emit(fmt, auto_view(open_engine(ctx).disable_auto_topup(org)))


@topup_app.command("run")
def topup_run(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Do the top-up work due now, as the tick does: retry, buy recurring, claim."""
    run: TopupRun = open_engine(ctx).run_topups()
    data = run.summary()
    rows = [(k, str(v)) for k, v in data.items()]
    emit(fmt, View(data, (key_values("Top-ups", rows),)))


@recurring_app.command("set", context_settings=NUMBERS)
def recurring_set(
    ctx: typer.Context,
    org: OrgArg,
    pack: Annotated[str, typer.Argument(metavar="PACK", help="A pack's name (see pack list).")],
    *,
    day: Annotated[int, typer.Option(help="Day of the month, 1 to 28 (00:00 UTC).")],
    currency: CurrencyOption = "USD",
    starts_at: Annotated[
        str | None, typer.Option(metavar="TIME", help="From this instant (default: now).")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Buy PACK every month on --day with the saved card (replacing any schedule)."""
    schedule = open_engine(ctx).set_recurring_topup(
        org,
        pack,
        currency=currency.upper(),
        day=day,
        starts_at=parse_time(starts_at, "--starts-at"),
    )
    emit(fmt, recurring_view(schedule))


@recurring_app.command("cancel")
def recurring_cancel(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """Stop buying every month."""
    emit(fmt, recurring_view(open_engine(ctx).cancel_recurring_topup(org)))
