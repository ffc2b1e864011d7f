"""The revenue report outside the engine (:mod:`creditline.domain.revenue`): the one JSON
document that the API (``GET /v1/reports/revenue``) and the CLI (``report revenue -f
json``) answer (:func:`revenue_document`), and the rows of the one CSV they write
(``format=csv``, :func:`revenue_csv`).

In the document, each flow of a currency's line is ``credits`` (exact decimal),
``credits_micros``, ``minor`` (what they are worth, minor units) and ``money`` (written:
``EUR 6.67``); a line with no cash has ``credits`` and ``credits_micros`` only, and its
credits are ``granted`` rather than sold.

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
from datetime import UTC
from typing import Any

from creditline.domain.amounts import format_credits
from creditline.domain.money import format_money
from creditline.domain.revenue import COLUMNS, CurrencyLine, Flow, FreeLine, RevenueReport

__all__ = [
    "FLOWS",
    "FREE_FLOWS",
    "revenue_csv",
    "revenue_document",
    "revenue_fields",
    "revenue_rows",
]

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
    for flow, micros in zip(FLOWS, _free_flows(line), strict=True):
        row |= {f"{flow}_credits": format_credits(micros), f"{flow}_micros": micros,
                f"{flow}_minor": None}  # fmt: skip
    return row


def _free_flows(line: FreeLine) -> tuple[int, ...]:
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


def _money_flow(flow: Flow, currency: str) -> dict[str, Any]:
    return {"credits": format_credits(flow.credits), "credits_micros": flow.credits,
            "minor": flow.minor, "money": format_money(flow.minor, currency)}  # fmt: skip


def _cash_document(line: CurrencyLine) -> dict[str, Any]:
    return {
        "currency": line.currency,
        **{flow: _money_flow(getattr(line, flow), line.currency) for flow in FLOWS},
        "recognised_minor": line.recognised_minor,
        "breakage_minor": line.breakage_minor,
        "reconciles": line.reconciles(),
    }


def _free_document(line: FreeLine) -> dict[str, Any]:
    return {
        "kind": line.kind.value,
        **{
            flow: {"credits": format_credits(micros), "credits_micros": micros}
            for flow, micros in zip(FREE_FLOWS, _free_flows(line), strict=True)
        },
    }


def revenue_document(report: RevenueReport) -> dict[str, Any]:
    """The report as JSON (see the module's docstring)."""
    return {
        "month": report.month,
        "since": report.since.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "until": report.until.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "currencies": [_cash_document(line) for line in report.lines],
        "no_cash": [_free_document(line) for line in report.free],
        "flex": None if report.flex is None else _free_document(report.flex),
    }
