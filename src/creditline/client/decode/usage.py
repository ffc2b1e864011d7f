"""Usage events, their results and reports."""

from __future__ import annotations

import re
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from creditline.client.decode._common import Doc, components, record, when
from creditline.client.errors import error_from_problem
from creditline.domain.errors import CreditlineError
from creditline.domain.reports import UsageReport, UsageRow
from creditline.domain.usage import EventResult, StoredUsage, UsageEvent

_INT = re.compile(r"^-?[0-9]+$")


def quantity(text: Any) -> int | Decimal | str:
    """A stored quantity as the service writes it (text): an ``int`` when whole digits,
    else an exact ``Decimal``."""
    if isinstance(text, int | Decimal):
        return text
    value = str(text)
    if _INT.match(value):
        return int(value)
    try:
        return Decimal(value)
    except ArithmeticError:
        return value


def event_result(d: Doc, error: CreditlineError | None = None) -> EventResult:
    return record(EventResult, d, error=error, components=components(d["components"]))


def usage_event(d: Doc) -> UsageEvent:
    """A stored event's request (its ``steps`` are not in the answer: empty)."""
    quantities = {k: quantity(v) for k, v in d["quantities"].items()}
    return record(UsageEvent, d, quantities=quantities)


def batch_result(d: Doc, org_id: str) -> EventResult:
    """A result of a batch: its refusal or rejection is its problem type and reason."""
    error = None
    if d["problem"] is not None:
        problem = {"type": d["problem"], "detail": d["reason"] or ""}
        error = error_from_problem(problem, None, org_id)
    return event_result(d, error)


def stored_usage(d: Doc) -> StoredUsage:
    return record(
        StoredUsage, d, event=usage_event(d), request_hash="",
        components=components(d["components"]),
    )  # fmt: skip


_ID_COLUMNS = {"project": "project_id", "member": "member_id"}


def usage_row(d: Doc, columns: Sequence[str]) -> UsageRow:
    """A report's row: its key's values in ``columns`` order."""
    key = tuple(d.get(_ID_COLUMNS.get(c, c)) for c in columns)
    return UsageRow(key, d["events"], d["cost_micros"])


def usage_report(d: Doc) -> UsageReport:
    columns = tuple(d["group_by"]) + (("period",) if d["period"] else ())
    rows = tuple(usage_row(row, columns) for row in d["rows"])
    names = {
        row[f"{c}_id"]: row[f"{c}_name"]
        for row in d["rows"]
        for c in ("project", "member")
        if row.get(f"{c}_id") and row.get(f"{c}_name") is not None
    }
    return UsageReport(d["org_id"], columns, when(d["since"]), when(d["until"]), rows, names)
