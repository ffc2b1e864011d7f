"""Views of usage: recorded events, imports and their bad lines, usage reports and
reservations.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from creditline import format_credits
from creditline.domain.reports import UsageReport
from creditline.domain.reservations import Reservation
from creditline.domain.usage import EventResult, StoredUsage
from creditline.entrypoints.cli.views.base import (
    NEVER,
    View,
    allocations_data,
    allocations_table,
    cause_data,
    credit_fields,
    escaped,
    iso,
    key_values,
    new_table,
    when,
)
from creditline.entrypoints.jsonl import BadLine, ImportReport
from creditline.entrypoints.usage_export import NAMED, usage_rows
from creditline.services.reservations import Settlement

# -- usage ------------------------------------------------------------------------------


def _quantities(values: Mapping[str, object]) -> dict[str, str]:
    """Quantities as exact decimal text, whatever type they were given in."""
    return {name: str(value) for name, value in values.items()}


def _pairs_text(values: Mapping[str, object]) -> str:
    return ", ".join(f"{k}={v}" for k, v in values.items())


def _components_data(components: Sequence[tuple[str, int]]) -> list[dict[str, Any]]:
    return [{"operation": op, **credit_fields("cost", cost)} for op, cost in components]


def _result_data(result: EventResult) -> dict[str, Any]:
    return {
        "event_id": result.event_id,
        "status": result.status.value,
        **credit_fields("cost", result.cost),
        "reason": result.reason,
        "rate_card": result.rate_card,
        "components": _components_data(result.components),
    }


def _stored_data(stored: StoredUsage) -> dict[str, Any]:
    event = stored.event
    return {
        "event_id": event.event_id,
        "org_id": event.org_id,
        "operation": event.operation,
        "timestamp": iso(event.occurred_at),
        "quantities": _quantities(event.quantities),
        "dimensions": dict(event.dimensions),
        "project_id": event.project_id,
        "member_id": event.member_id,
        "parent_id": event.parent_id,
        "steps": [
            {
                "operation": s.operation,
                "quantities": _quantities(s.quantities),
                "dimensions": dict(s.dimensions),
            }
            for s in event.steps
        ],
        "metadata": dict(event.metadata),
        "status": stored.status,
        **credit_fields("cost", stored.cost),
        "reason": stored.reason,
        "rate_card": stored.rate_card,
        "components": _components_data(stored.components),
        "allocations": allocations_data(stored.allocations),
    }


def usage_result_view(result: EventResult) -> View:
    """What became of one recorded event."""
    rows = [
        ("event", result.event_id),
        ("status", result.status.value),
        ("cost (credits)", format_credits(result.cost)),
        ("rate card", result.rate_card or ""),
    ]
    rows += [(f"  {op}", format_credits(cost)) for op, cost in result.components]
    if result.reason is not None:
        rows.append(("reason", result.reason))
    return View(_result_data(result), (key_values("Usage event", escaped(rows)),))


def usage_event_view(stored: StoredUsage) -> View:
    """One stored event: its usage, its outcome, its components and who paid."""
    event = stored.event
    rows = [
        ("event", event.event_id),
        ("organization", event.org_id),
        ("operation", event.operation),
        ("timestamp (UTC)", when(event.occurred_at, NEVER)),
        ("quantities", _pairs_text(event.quantities)),
        ("dimensions", _pairs_text(event.dimensions)),
        ("project", event.project_id or ""),
        ("member", event.member_id or ""),
        ("status", stored.status),
        ("cost (credits)", format_credits(stored.cost)),
        ("rate card", stored.rate_card or ""),
        ("reason", stored.reason or ""),
    ]
    rows += [
        (f"step {i + 1}", f"{s.operation}: {_pairs_text({**s.quantities, **s.dimensions})}")
        for i, s in enumerate(event.steps)
    ]
    components = new_table("Components", "operation", "credits")
    for op, cost in stored.components:
        components.add_row(Text(op), format_credits(cost))
    allocations = allocations_table("Paid by", stored.allocations)
    parts: tuple[RenderableType, ...] = (key_values("Usage event", escaped(rows)),)
    parts += (components,) if stored.components else ()
    parts += (allocations,) if stored.allocations else ()
    return View(_stored_data(stored), parts)


def usage_events_view(events: Sequence[StoredUsage]) -> View:
    table = new_table(
        "Usage events", "event", "when (UTC)", "operation", "status", "credits", "rate card",
        "project", "member",
    )  # fmt: skip
    for s in events:
        e = s.event
        table.add_row(
            Text(e.event_id), when(e.occurred_at, NEVER), Text(e.operation), s.status,
            format_credits(s.cost), Text(s.rate_card or ""), e.project_id or "",
            e.member_id or "",
        )  # fmt: skip
    return View([_stored_data(s) for s in events], (table,))


def _bad_lines_text(source: str, bad: Sequence[BadLine], lines: int) -> Text:
    head = f"{source}: {len(bad)} bad line{'' if len(bad) == 1 else 's'} of {lines}"
    return Text("\n".join([head, *(f"  {b}" for b in bad)]), style="red")


def _bad_data(bad: Sequence[BadLine]) -> list[dict[str, Any]]:
    return [{"line": b.line, "problems": list(b.problems)} for b in bad]


def bad_lines_view(source: str, bad: Sequence[BadLine], lines: int) -> View:
    """Why an import sent nothing: every bad line, with its line number."""
    data = {"file": source, "lines": lines, "recorded": False, "bad_lines": _bad_data(bad)}
    return View(data, (_bad_lines_text(source, bad, lines),))


def import_view(report: ImportReport) -> View:
    """An import's summary: events per outcome, credits charged, what was not accepted."""
    counts = {status.value: count for status, count in report.counts.items()}
    data = {
        "file": report.source,
        "lines": report.lines,
        "recorded": True,
        "sent": report.sent,
        **counts,
        "skipped": len(report.bad),
        **credit_fields("charged", report.charged),
        "bad_lines": _bad_data(report.bad),
        "not_accepted": [{"line": line, **_result_data(r)} for line, r in report.not_accepted],
    }
    summary = Text(
        f"{report.source}: {report.sent} events sent from {report.lines} lines: "
        + ", ".join(f"{count} {status}" for status, count in counts.items())
        + f"; {format_credits(report.charged)} credits charged"
    )
    parts: tuple[RenderableType, ...] = (summary,)
    if report.not_accepted:
        table = new_table("Not accepted", "line", "event", "status", "reason")
        for line, r in report.not_accepted:
            table.add_row(str(line), Text(r.event_id), r.status.value, Text(r.reason or ""))
        parts += (table,)
    if report.bad:
        parts += (_bad_lines_text(f"skipped: {report.source}", report.bad, report.lines),)
    return View(data, parts)


# -- reservations -----------------------------------------------------------------------


def _reservation_data(res: Reservation) -> dict[str, Any]:
    return {
        "id": res.id,
        "org_id": res.org_id,
        "status": res.status.value,
        **credit_fields("amount", res.amount),
        **credit_fields("held", res.held),
        **credit_fields("consumed", res.consumed),
        **credit_fields("shortfall", res.shortfall),
        "holds": allocations_data(res.holds),
        "cause": cause_data(res.cause),
        "project_id": res.project_id,
        "member_id": res.member_id,
        "expires_at": iso(res.expires_at),
        "created_at": iso(res.created_at),
        "settled_at": iso(res.settled_at),
        "metadata": dict(res.metadata),
        "operation": res.operation,
        "dimensions": dict(res.dimensions),
    }


def _reservations_table(found: Sequence[Reservation], title: str) -> Table:
    table = new_table(
        title, "id", "status", "amount", "held", "consumed", "shortfall", "expires (UTC)",
        "project", "member",
    )  # fmt: skip
    for r in found:
        table.add_row(
            r.id, r.status.value, format_credits(r.amount), format_credits(r.held),
            format_credits(r.consumed), format_credits(r.shortfall), when(r.expires_at, NEVER),
            r.project_id or "", r.member_id or "",
        )  # fmt: skip
    return table


def reservation_view(res: Reservation) -> View:
    return View(_reservation_data(res), (_reservations_table([res], "Reservation"),))


def reservations_view(found: Sequence[Reservation]) -> View:
    return View(
        [_reservation_data(r) for r in found], (_reservations_table(found, "Reservations"),)
    )


def settlement_view(settlement: Settlement) -> View:
    """What one commit or release did to a reservation."""
    res = settlement.reservation
    data = {
        **credit_fields("consumed", settlement.consumed),
        **credit_fields("released", settlement.released),
        **credit_fields("shortfall", settlement.shortfall),
        "replayed": settlement.replayed,
        "reservation": _reservation_data(res),
    }
    replay = " (replayed: it was settled already)" if settlement.replayed else ""
    summary = Text(
        f"{res.id} {res.status.value}: consumed {format_credits(settlement.consumed)}, "
        f"released {format_credits(settlement.released)}, shortfall "
        f"{format_credits(settlement.shortfall)} credits; {format_credits(res.held)} "
        f"still held{replay}"
    )
    return View(data, (summary, _reservations_table([res], "Reservation")))


# -- usage reports ------------------------------------------------------------------------


def usage_report_view(report: UsageReport, period: str | None) -> View:
    """A usage report by ``period`` (``None``: the whole window): one row per group,
    then the total."""
    data = {
        "org_id": report.org_id,
        "group_by": [c for c in report.columns if c != "period"],
        "period": period,
        "since": iso(report.since),
        "until": iso(report.until),
        "rows": usage_rows(report.columns, report.rows, report.names),
        "events": report.events,
        **credit_fields("cost", report.cost),
    }
    window = Text(
        f"Usage of {report.org_id}\n{when(report.since, NEVER)} to {when(report.until, NEVER)} UTC"
    )
    headers = [h for c in report.columns for h in ((c, f"{c} id") if c in NAMED else (c,))]
    table = new_table("", *headers, "events", "credits")
    for row in report.rows:
        cells: list[Text] = []
        for column, key in zip(report.columns, row.keys, strict=True):
            if key is None:
                cells.append(Text("(none)", style="dim"))
            else:
                cells.append(Text(report.name(key) or key if column in NAMED else key))
            if column in NAMED:
                cells.append(Text(key or "", style="dim"))
        table.add_row(*cells, str(row.events), format_credits(row.cost))
    blanks = [""] * (len(headers) - 1) if headers else []
    total = ["total", *blanks] if headers else []
    table.add_row(*total, str(report.events), format_credits(report.cost), style="bold")
    return View(data, (window, table))
