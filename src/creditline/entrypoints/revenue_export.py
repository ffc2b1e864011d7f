"""One flat form of the revenue report outside the engine: the rows of the CSV that the
CLI (``report revenue -f csv``) and the API (``GET /v1/reports/revenue?format=csv``)
write, and the console shows (:mod:`creditline.domain.revenue`).

A row is one line of the report: ``section`` (``cash`` for a currency, ``no_cash`` for a
kind of credits with no cash, ``flex`` for usage past zero), ``currency`` or ``kind``,
then for each of ``opening``, ``sold`` (credits granted, for a line with no cash),
``consumed``, ``expired``, ``refunded``, ``adjusted`` and ``closing``: the credits
(exact decimal), the micro-credits and, on a cash line, the minor units of its currency
(empty otherwise). The CSV has a header line and ``\\n`` line ends.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from creditline.domain.amounts import format_credits
from creditline.domain.revenue import COLUMNS, CurrencyLine, FreeLine, RevenueReport

__all__ = ["FLOWS", "FREE_FLOWS", "free_flows", "revenue_csv", "revenue_fields", "revenue_rows"]

FLOWS = ("opening", *COLUMNS, "closing")
"""The report's columns, in the order of its identity."""

FREE_FLOWS = ("opening", "granted", *COLUMNS[1:], "closing")
"""The columns of a line with no cash (the API's names: credits are granted, not sold)."""


def revenue_fields() -> list[str]:
    """The fields of a row."""
    fields = ["section", "currency", "kind"]
    for flow in FLOWS:
        fields += [f"{flow}_credits", f"{flow}_micros", f"{flow}_minor"]
    return fields


def _cash(line: CurrencyLine) -> dict[str, Any]:
    row: dict[str, Any] = {"section": "cash", "currency": line.currency, "kind": None}
    for flow in FLOWS:
        value = getattr(line, flow)
        row |= {f"{flow}_credits": format_credits(value.credits),
                f"{flow}_micros": value.credits, f"{flow}_minor": value.minor}  # fmt: skip
    return row


def _free(section: str, line: FreeLine) -> dict[str, Any]:
    row: dict[str, Any] = {"section": section, "currency": None, "kind": line.kind.value}
    for flow, micros in zip(FLOWS, free_flows(line), strict=True):
        row |= {f"{flow}_credits": format_credits(micros), f"{flow}_micros": micros,
                f"{flow}_minor": None}  # fmt: skip
    return row


def free_flows(line: FreeLine) -> tuple[int, ...]:
    """A line with no cash's micro-credits in the order of :data:`FREE_FLOWS`."""
    return tuple(getattr(line, flow) for flow in FREE_FLOWS)


def revenue_rows(report: RevenueReport) -> list[dict[str, Any]]:
    """The report's lines as rows of :func:`revenue_fields`: currencies, then the kinds
    with no cash, then flex."""
    rows = [_cash(line) for line in report.lines]
    rows += [_free("no_cash", line) for line in report.free]
    if report.flex is not None:
        rows.append(_free("flex", report.flex))
    return rows


def revenue_csv(report: RevenueReport) -> str:
    """The report as CSV (see the module's docstring)."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, revenue_fields(), lineterminator="\n")
    writer.writeheader()
    for row in revenue_rows(report):
        writer.writerow({k: "" if v is None else v for k, v in row.items()})
    return buffer.getvalue()
