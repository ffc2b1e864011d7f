"""The ledger's commands: ``grant``, ``spend``, ``balance``, ``grants``, ``history``,
``expire`` and ``verify``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from creditline import Cause, CauseType, EntryType, GrantKind, GrantSource, SourceType
from creditline.domain.errors import InvalidSetting
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.errors import VerificationFailed
from creditline.entrypoints.cli.options import (
    NUMBERS,
    AmountArg,
    ForDimensionOption,
    ForOption,
    OrgArg,
    parse_amount,
    parse_cost_basis,
    parse_pairs,
    parse_time,
    spend_target,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.ledger import (
    balance_view,
    debit_view,
    expiry_view,
    grant_view,
    grants_view,
    history_view,
    verify_view,
)

commands = typer.Typer()
"""``grant``, ``spend``, ``balance``, ``grants``, ``history``, ``expire``, ``verify``."""


__all__ = ["commands"]

ScopeOption = Annotated[
    list[str] | None,
    typer.Option(
        "--scope",
        metavar="OPERATION[:DIM=V|V,...]",
        help="A scoped grant: pays only for this operation (with these dimension values; "
        '"any" for any value); repeat for more. Or JSON: [{"operation": "train"}].',
    ),
]


def _scope_rules(items: Sequence[str] | None) -> list[dict[str, Any]] | None:
    """``--scope`` options as a scope's rules: ``train``, ``train:mode=Basic|Business``,
    ``train:mode=any,delivery=Fast``, or one JSON document."""
    if not items:
        return None
    rules: list[dict[str, Any]] = []
    for item in items:
        text = item.strip()
        if text.startswith(("[", "{")):
            try:
                document = json.loads(text)
            except json.JSONDecodeError as exc:
                raise InvalidSetting("--scope", item, f"not JSON: {exc}") from None
            rules += document if isinstance(document, list) else [document]
            continue
        operation, _, rest = text.partition(":")
        rule: dict[str, Any] = {"operation": operation.strip()}
        dims = parse_pairs([p for p in rest.split(",") if p.strip()], "--scope dimension")
        if dims:
            rule["dimensions"] = {
                name: value if value == "any" else value.split("|") for name, value in dims.items()
            }
        rules.append(rule)
    return rules


@commands.command(context_settings=NUMBERS)
def grant(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    kind: Annotated[GrantKind, typer.Option(help="Decides when it is spent.")] = (
        GrantKind.PREPAID
    ),
    expires: Annotated[
        str | None, typer.Option(metavar="ISO", help="First instant it is no longer spendable.")
    ] = None,
    effective: Annotated[
        str | None, typer.Option(metavar="ISO", help="First instant it is spendable [now].")
    ] = None,
    source_type: Annotated[SourceType, typer.Option(help="What made it.")] = SourceType.OPERATOR,
    source_ref: Annotated[str, typer.Option(help="Its reference (purchase id...).")] = "manual",
    unit_price_minor: Annotated[
        int | None, typer.Option(help="Price of one credit in minor units (cents).")
    ] = None,
    currency: Annotated[str | None, typer.Option(help="ISO 4217 code of the price.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="A retry with the same key returns the same grant.")
    ] = None,
    scope: ScopeOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Grant credits to an organization as a new lot (with --scope: for some operations
    only, spent first by them)."""
    new = open_engine(ctx).grant(
        org,
        parse_amount(amount),
        kind,
        expires_at=parse_time(expires, "--expires"),
        effective_at=parse_time(effective, "--effective"),
        source=GrantSource(source_type, source_ref),
        cost_basis=parse_cost_basis(unit_price_minor, currency),
        idempotency_key=idempotency_key,
        scope=_scope_rules(scope),
    )
    emit(fmt, grant_view(new))


@commands.command(context_settings=NUMBERS)
def spend(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    project: Annotated[str | None, typer.Option(help="Project id to attribute it to.")] = None,
    member: Annotated[str | None, typer.Option(help="Member id to attribute it to.")] = None,
    idempotency_key: Annotated[
        str | None, typer.Option(help="A retry with the same key is answered, not re-spent.")
    ] = None,
    cause_ref: Annotated[
        str | None, typer.Option(help="What spent it (a debit reference); [the key or new]")
    ] = None,
    operation: ForOption = None,
    dimension: ForDimensionOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Spend credits, drawn from the grants in the consumption order; all or nothing."""
    result = open_engine(ctx).spend(
        org,
        parse_amount(amount),
        cause=Cause(CauseType.DEBIT, cause_ref) if cause_ref is not None else None,
        project_id=project,
        member_id=member,
        idempotency_key=idempotency_key,
        **spend_target(operation, dimension),
    )
    emit(fmt, debit_view(result))


@commands.command()
def balance(ctx: typer.Context, org: OrgArg, fmt: FormatOption = Format.TABLE) -> None:
    """An organization's balance now: total, available, by kind; scoped credits (for
    some operations only) apart from the general ones."""
    emit(fmt, balance_view(open_engine(ctx).balance(org)))


@commands.command()
def grants(
    ctx: typer.Context,
    org: OrgArg,
    active: Annotated[bool, typer.Option("--active", help="Only grants with credits left.")] = (
        False
    ),
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's grants: kind, amount, remaining, expiry."""
    emit(fmt, grants_view(open_engine(ctx).grants(org, include_spent=not active)))


@commands.command()
def history(
    ctx: typer.Context,
    org: OrgArg,
    *,
    limit: Annotated[int, typer.Option(help="At most this many entries (1 to 10000).")] = 50,
    before: Annotated[int | None, typer.Option(help="Page on: entries older than this id.")] = (
        None
    ),
    types: Annotated[
        list[EntryType] | None, typer.Option("--type", help="Only these entry types.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's ledger entries, newest first, each with its cause."""
    entries = open_engine(ctx).history(org, limit, before_id=before, types=types or ())
    emit(fmt, history_view(entries))


@commands.command()
def expire(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Expire what is left of every grant past its expiry (safe to run again)."""
    emit(fmt, expiry_view(open_engine(ctx).expire_due()))


@commands.command()
def verify(ctx: typer.Context, fmt: FormatOption = Format.TABLE) -> None:
    """Recompute every balance from the ledger; exit 8 when anything disagrees."""
    report = open_engine(ctx).verify()
    emit(fmt, verify_view(report))
    if not report.ok:
        raise VerificationFailed(len(report.problems))
