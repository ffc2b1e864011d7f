"""One format for usage reports outside the engine: the rows of the API's and the CLI's
JSON, and the one CSV that the CLI (``report usage -f csv``), the API
(``GET /v1/orgs/{org}/reports/usage?format=csv``) and the portal's export all write.

A row has the report's group columns in its order, a project or member with its name
beside its id (``project_id``, ``project_name``; ``member_id``, ``member_name``), then
``period`` when the report has one, ``events``, ``cost`` (exact decimal credits) and
``cost_micros`` (micro-credits). A group without a project or member has no id and no
name: ``null`` in JSON, empty cells in CSV. The CSV has a header line and ``\\n`` line
ends.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from creditline.domain.amounts import format_credits
from creditline.domain.reports import UsageReport, UsageRow

__all__ = ["NAMED", "usage_csv", "usage_fields", "usage_report_csv", "usage_rows"]

NAMED = {"project": ("project_id", "project_name"), "member": ("member_id", "member_name")}
"""The columns that name a thing: its id's field and its name's field."""


def usage_fields(columns: Sequence[str]) -> list[str]:
    """The fields of a row of a report with ``columns`` (``project``, ``period``...)."""
    fields: list[str] = []
    for column in columns:
        fields.extend(NAMED.get(column, (column,)))
    return [*fields, "events", "cost", "cost_micros"]


def usage_rows(
    columns: Sequence[str], rows: Iterable[UsageRow], names: Mapping[str, str]
) -> list[dict[str, Any]]:
    """Each row as a dict of :func:`usage_fields`; ``names`` names projects and members."""
    out = []
    for row in rows:
        data: dict[str, Any] = {}
        for column, key in zip(columns, row.keys, strict=True):
            if column in NAMED:
                id_field, name_field = NAMED[column]
                data[id_field] = key
                data[name_field] = None if key is None else names.get(key, key)
            else:
                data[column] = key
        data.update(events=row.events, cost=format_credits(row.cost), cost_micros=row.cost)
        out.append(data)
    return out


def usage_csv(columns: Sequence[str], rows: Iterable[UsageRow], names: Mapping[str, str]) -> str:
    """The CSV of rows grouped by ``columns``: a header line, then one line a row."""
    fields = usage_fields(columns)
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fields, lineterminator="\n")
    writer.writeheader()
    for data in usage_rows(columns, rows, names):
        writer.writerow({k: "" if v is None else v for k, v in data.items()})
    return buffer.getvalue()


def usage_report_csv(report: UsageReport) -> str:
    """A usage report as CSV (see the module's docstring)."""
    return usage_csv(report.columns, report.rows, report.names)
