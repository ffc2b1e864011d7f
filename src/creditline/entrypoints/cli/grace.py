"""``creditline grace``: where an organization stands in its plan's grace (active, grace,
read-only, paused) and its transitions, each with its cause and time (see
:mod:`creditline.domain.grace`). The terms are a plan's (``plan create --grace-hours``
...); the scheduler's ``tick`` applies the deadlines."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from creditline.domain.grace import GraceState, GraceTransition
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.options import OrgArg
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.base import (
    View,
    credit_fields,
    escaped,
    iso,
    key_values,
    new_table,
    when,
)
from creditline.services.grace import GraceStatus

__all__ = ["grace_app"]

grace_app = typer.Typer(
    help="Grace between depletion and lock: an organization's state and transitions.",
    no_args_is_help=True,
)


def _transition_data(t: GraceTransition) -> dict[str, Any]:
    return {**t.to_dict(), "at": iso(t.at)}


def grace_view(status: GraceStatus) -> View:
    s = status.standing
    data = {
        "org_id": status.org_id,
        "state": s.state.value,
        "since": iso(s.since),
        **credit_fields("used", s.used),
        **credit_fields("left", status.left),
        "until": iso(status.until),
        "terms": None if status.terms is None else status.terms.to_dict(),
        "transitions": [_transition_data(t) for t in status.transitions],
    }
    rows = [
        ("organization", status.org_id),
        ("state", s.state.value.replace("_", "-")),
        ("since", when(s.since, "-")),
        ("grace used (credits)", str(data["used"])),
        ("grace left (credits)", _left(status, data["left"])),
        ("state ends", when(status.until, "-")),
        ("plan's grace", "none" if status.terms is None else status.terms.describe()),
    ]
    table = new_table("Transitions", "#", "from", "to", "cause", "at")
    for t in status.transitions:
        cause = t.cause_type if t.cause_ref is None else f"{t.cause_type} {t.cause_ref}"
        seq = "due" if t.seq is None else str(t.seq)
        table.add_row(seq, t.from_state.value, t.to_state.value, cause, when(t.at))
    return View(data, (key_values("Grace", escaped(rows)), table))


def _left(status: GraceStatus, left: object) -> str:
    """The grace left: only in grace (``-`` otherwise), where ``None`` is no limit."""
    if status.standing.state is not GraceState.GRACE:
        return "-"
    return "no limit" if left is None else str(left)


@grace_app.command("show")
def grace_show(
    ctx: typer.Context,
    org: OrgArg,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Transitions shown.")] = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's grace state, since when, the grace left, and its transitions."""
    emit(fmt, grace_view(open_engine(ctx).grace(org, limit)))
