"""``creditline usage``: usage events recorded one by one or imported from JSON lines, listed,
shown, voided, amended and credited back.
"""

from __future__ import annotations

import sys
from collections import deque
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import MofNCompleteColumn, Progress

from creditline import Creditline
from creditline.domain.errors import InvalidSetting
from creditline.domain.usage import EventResult, EventStatus, UsageEvent, UsageStep
from creditline.entrypoints import jsonl
from creditline.entrypoints.cli.app import open_engine
from creditline.entrypoints.cli.errors import UsageRefused, UsageRejected
from creditline.entrypoints.cli.options import (
    DimensionOption,
    EventArg,
    LimitOption,
    MemberOption,
    OperationArg,
    OrgArg,
    ProjectOption,
    QuantityOption,
    QuoteOption,
    StepOption,
    parse_pairs,
    parse_step,
    parse_time,
)
from creditline.entrypoints.cli.output import Format, FormatOption, emit
from creditline.entrypoints.cli.views.base import count
from creditline.entrypoints.cli.views.ledger import grant_view
from creditline.entrypoints.cli.views.usage import (
    bad_lines_view,
    import_view,
    usage_event_view,
    usage_events_view,
    usage_result_view,
)

__all__ = ["usage_app"]

usage_app = typer.Typer(
    help="Usage events: record, import, list, show, void and amend.", no_args_is_help=True
)


def _outcome_error(result: EventResult) -> Exception | None:
    """The error that decides ``usage record``'s exit code: the engine's own, or for a
    duplicate of a refused event (no new error: the first outcome replayed), a refusal."""
    if result.error is not None:
        return result.error
    if not result.accepted:
        return UsageRefused(
            f"event {result.event_id!r} was refused when first recorded: {result.reason}"
        )
    return None


def _usage_step(spec: str) -> UsageStep:
    step = parse_step(spec)
    return UsageStep(step.operation, step.quantities, step.dimensions)


@usage_app.command("record")
def usage_record(
    ctx: typer.Context,
    org: OrgArg,
    event_id: EventArg,
    operation: OperationArg,
    *,
    quantity: QuantityOption = None,
    dimension: DimensionOption = None,
    step: StepOption = None,
    at: Annotated[
        str | None, typer.Option("--at", metavar="ISO", help="When it happened [now].")
    ] = None,
    project: ProjectOption = None,
    member: MemberOption = None,
    quote: QuoteOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Record one usage event, priced by its rate card and gated by its plan.

    With --quote, it is charged a binding quote's price (creditline quote --valid-for).

    Prints the outcome. Exit 0: accepted, or a duplicate of an accepted event;
    5: refused (insufficient credits, the plan's gates); 2: rejected as bad
    input (3 for an unknown organization or quote, 4 for an event id reused with
    other usage, or a quote expired or used already).
    """
    result = open_engine(ctx).record(
        org,
        event_id,
        operation,
        parse_pairs(quantity, "--quantity"),
        parse_pairs(dimension, "--dimension"),
        occurred_at=parse_time(at, "--at"),
        project_id=project,
        member_id=member,
        steps=[_usage_step(spec) for spec in step or ()],
        quote_id=quote,
    )
    emit(fmt, usage_result_view(result))
    error = _outcome_error(result)
    if error is not None:
        raise error


EventsFileArg = Annotated[
    str,
    typer.Argument(metavar="FILE", help="A JSON-lines file of events, one a line; - for stdin."),
]


def _read_events(source: str) -> bytes:
    if source == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise InvalidSetting("events file", source, exc.strerror or str(exc)) from None


def _import_error(report: jsonl.ImportReport) -> Exception | None:
    """What decides an import's exit code: bad lines or rejected events 2, refusals 5."""
    rejected = report.counts[EventStatus.REJECTED]
    refused = len(report.not_accepted) - rejected
    found = [
        f"{count(n, noun)} {what}"
        for n, noun, what in ((len(report.bad), "bad line", "skipped"),
                              (rejected, "event", "rejected"), (refused, "event", "refused"))
        if n
    ]  # fmt: skip
    message = f"{report.source}: {', '.join(found)}"
    if report.bad or rejected:
        return UsageRejected(message)
    return UsageRefused(message) if refused else None


def _batches(
    cl: Creditline, events: Sequence[tuple[int, UsageEvent]], size: int, report: jsonl.ImportReport
) -> Iterator[int]:
    """Send the events in batches of ``size``, one transaction each; yield each batch's size."""
    for start in range(0, len(events), size):
        batch = events[start : start + size]
        report.add([line for line, _ in batch], cl.record_usage([e for _, e in batch]))
        yield len(batch)


def _interactive() -> bool:
    """Whether a person watches stderr (a progress bar is drawn there, never in a pipe)."""
    return sys.stderr.isatty()


def _send(batches: Iterator[int], total: int, show: bool) -> None:
    """Drain ``batches``, with a progress bar on stderr when ``show``."""
    if not show:
        deque(batches, maxlen=0)
        return
    columns = (*Progress.get_default_columns(), MofNCompleteColumn())
    console = Console(stderr=True, force_terminal=True)  # show was decided by _interactive
    with Progress(*columns, console=console, transient=True) as progress:
        task = progress.add_task("recording", total=total)
        for done in batches:
            progress.advance(task, done)


@usage_app.command("import")
def usage_import(
    ctx: typer.Context,
    source: EventsFileArg,
    *,
    skip_bad: Annotated[
        bool, typer.Option("--skip-bad", help="Record the good lines even if some are bad.")
    ] = False,
    batch_size: Annotated[
        int, typer.Option(min=1, max=100_000, help="Events per transaction.")
    ] = 1000,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Record the usage events of a JSON-lines file, one JSON object a line.

    A line is {"id", "org", "operation", "timestamp", "quantities",
    "dimensions", "project", "member", "parent", "steps", "metadata"} (the
    first four required), or a CloudEvent 1.0 whose "type" is the operation,
    "subject" the organization, "time" the timestamp and "data" holds the
    rest. An organization is named by its id or its external reference.

    Numbers are read exactly, never as floats: 0.5 minutes is the decimal 0.5.
    Every line is checked first. A bad line (not JSON, a missing or unknown
    field, a wrong type, a negative quantity...) is reported as 'line N:
    problem'; by default any bad line means nothing is recorded (exit 2).
    With --skip-bad the good lines are recorded and the bad ones listed
    (still exit 2). Events go to the engine in batches; an event id already
    recorded comes back a duplicate, so a failed import can be run again.
    Exit 0 when every event was accepted (or a duplicate of an accepted
    one); 2 for bad lines or rejected events; 5 for refused ones.
    """
    cl = open_engine(ctx)
    parsed = jsonl.parse_events(_read_events(source), cl.clock.now())
    if parsed.bad and not skip_bad:
        emit(fmt, bad_lines_view(source, parsed.bad, parsed.lines))
        raise UsageRejected(
            f"{source}: {count(len(parsed.bad), 'bad line')}; nothing was recorded "
            "(--skip-bad records the good lines)"
        )
    report = jsonl.ImportReport(source, parsed.lines, parsed.bad)
    show = fmt is Format.TABLE and _interactive()
    events = jsonl.with_orgs(parsed.events, cl.resolve_orgs(e.org_id for _, e in parsed.events))
    _send(_batches(cl, events, batch_size, report), len(events), show)
    emit(fmt, import_view(report))
    error = _import_error(report)
    if error is not None:
        raise error


@usage_app.command("list")
def usage_list(
    ctx: typer.Context,
    org: OrgArg,
    limit: LimitOption = 100,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """An organization's usage events, newest first (accepted, refused and voided)."""
    emit(fmt, usage_events_view(open_engine(ctx).usage_events(org, limit)))


@usage_app.command("show")
def usage_show(
    ctx: typer.Context, org: OrgArg, event_id: EventArg, fmt: FormatOption = Format.TABLE
) -> None:
    """One usage event: its usage, outcome, cost by component and the grants that paid."""
    emit(fmt, usage_event_view(open_engine(ctx).usage_event(org, event_id)))


@usage_app.command("void")
def usage_void(
    ctx: typer.Context, org: OrgArg, event_id: EventArg, fmt: FormatOption = Format.TABLE
) -> None:
    """Cancel an accepted event: its credits go back to the grants that paid (again: no-op)."""
    emit(fmt, usage_event_view(open_engine(ctx).void_event(org, event_id)))


@usage_app.command("amend")
def usage_amend(
    ctx: typer.Context,
    org: OrgArg,
    event_id: EventArg,
    *,
    quantity: QuantityOption = None,
    dimension: DimensionOption = None,
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Re-price an accepted event with corrected usage at its own time.

    The -q quantities replace the event's (give all of them); -d dimensions, if
    any are given, replace its dimensions. The difference is charged or
    given back.
    """
    amended = open_engine(ctx).amend_event(
        org,
        event_id,
        parse_pairs(quantity, "--quantity"),
        parse_pairs(dimension, "--dimension") if dimension else None,
    )
    emit(fmt, usage_event_view(amended))


@usage_app.command("credit-back")
def usage_credit_back(
    ctx: typer.Context,
    org: OrgArg,
    event_id: EventArg,
    *,
    reason: Annotated[
        str, typer.Option(help="Why, kept on the ledger entry.")
    ] = "acceptance criteria not met",
    fmt: FormatOption = Format.TABLE,
) -> None:
    """Credit back an accepted event's fee (seed 003: a training run whose acceptance
    criteria were not met): a refund grant whose entry names the event; once per event."""
    emit(fmt, grant_view(open_engine(ctx).credit_back(org, event_id, reason)))
