"""Reservations: ``reserve`` credits for a running operation, ``extend`` the hold (a
heartbeat) or ``increase`` it while the operation runs, ``commit`` its cost, ``release``
the hold, list ``reservations``.
"""

from __future__ import annotations

from typing import Annotated

import typer

from creditline import parse_credits
from creditline.domain.errors import InvalidAmount
from creditline.domain.reservations import ReservationStatus
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import (
    NUMBERS,
    AmountArg,
    ForDimensionOption,
    ForOption,
    LimitOption,
    MemberOption,
    OrgArg,
    ProjectOption,
    QuoteOption,
    parse_amount,
    parse_ttl,
    spend_target,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.usage import (
    reservation_view,
    reservations_view,
    settlement_view,
)

commands = typer.Typer()
"""``reserve``, ``extend``, ``increase``, ``commit``, ``release``, ``reservations``."""


__all__ = ["commands"]


def _cost(text: str) -> int:
    """A committed cost: a decimal number of credits, zero or more."""
    micros = parse_credits(text)
    if micros < 0:
        raise InvalidAmount(text, "must not be negative")
    return micros


ReservationArg = Annotated[
    str, typer.Argument(metavar="RESERVATION_ID", help="The hold's id (res_...).")
]


@commands.command(context_settings=NUMBERS)
def reserve(
    ctx: typer.Context,
    org: OrgArg,
    amount: AmountArg,
    *,
    ttl: Annotated[
        str, typer.Option(metavar="DURATION", help="Released if still open after: 30m, 1h, 2d.")
    ] = "1h",
    key: Annotated[
        str | None, typer.Option(help="Idempotency key: a retry returns the same hold.")
    ] = None,
    project: ProjectOption = None,
    member: MemberOption = None,
    operation: ForOption = None,
    dimension: ForDimensionOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Hold credits for a running operation (exit 5 if they cannot be covered)."""
    held = open_engine(ctx).reserve(
        org,
        parse_amount(amount),
        ttl=parse_ttl(ttl),
        project_id=project,
        member_id=member,
        idempotency_key=key,
        **spend_target(operation, dimension),
    )
    emit(fmt, reservation_view(held))


@commands.command(context_settings=NUMBERS)
def commit(
    ctx: typer.Context,
    org: OrgArg,
    reservation_id: ReservationArg,
    amount: Annotated[
        str | None,
        typer.Argument(
            metavar="[AMOUNT]",
            help="The actual cost in credits, 0 or more (with --quote: the quote's price).",
        ),
    ] = None,
    *,
    step: Annotated[
        bool, typer.Option("--step", help="One step of a longer job: keep the rest held.")
    ] = False,
    quote: QuoteOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Charge a held operation's actual cost: from the hold first, the rest released.

    With --quote, the cost is a binding quote's price (creditline quote --valid-for).
    """
    cost = None if amount is None else _cost(amount)
    settled = open_engine(ctx).commit(org, reservation_id, cost, final=not step, quote_id=quote)
    emit(fmt, settlement_view(settled))


@commands.command()
def extend(
    ctx: typer.Context,
    org: OrgArg,
    reservation_id: ReservationArg,
    *,
    ttl: Annotated[
        str,
        typer.Option(metavar="DURATION", help="The hold now expires this long from now: 6h, 1d."),
    ],
    fmt: FormatOption = Format.TABLE,
) -> None:
    """A heartbeat: push an open hold's expiry to now + --ttl, while its operation runs.

    Never shortens the hold, and never past its creation + its plan's max_hold_hours
    (default 30 days; exit 2 naming the limit). A settled hold: exit 4.
    """
    held = open_engine(ctx).extend_reservation(org, reservation_id, parse_ttl(ttl))
    emit(fmt, reservation_view(held))


@commands.command(context_settings=NUMBERS)
def increase(
    ctx: typer.Context,
    org: OrgArg,
    reservation_id: ReservationArg,
    amount: AmountArg,
    *,
    key: Annotated[
        str | None, typer.Option(help="Idempotency key: a retry draws nothing more.")
    ] = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Hold more credits in an open hold, as reserve holds them (exit 5 if they cannot be
    covered; a settled hold: exit 4)."""
    held = open_engine(ctx).increase_reservation(
        org, reservation_id, parse_amount(amount), idempotency_key=key
    )
    emit(fmt, reservation_view(held))


@commands.command()
def release(
    ctx: typer.Context,
    org: OrgArg,
    reservation_id: ReservationArg,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Give a whole hold back to the grants it came from (the operation failed)."""
    emit(fmt, settlement_view(open_engine(ctx).release(org, reservation_id)))


@commands.command()
def reservations(
    ctx: typer.Context,
    org: OrgArg,
    *,
    status: Annotated[ReservationStatus | None, typer.Option(help="Only these.")] = None,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's reservations, newest first."""
    emit(fmt, reservations_view(open_engine(ctx).reservations(org, status, limit)))
