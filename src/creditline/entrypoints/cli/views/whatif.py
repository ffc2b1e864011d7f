"""Views of a what-if report (:mod:`creditline.domain.whatif`): per organization and
operation, what was charged and what the draft would have charged; who would have run
out earlier. CSV has one row per organization and operation."""

from __future__ import annotations

import csv
import io
from typing import Any

from creditline import format_credits
from creditline.domain.whatif import OperationImpact, RunOut, WhatIf
from creditline.entrypoints.cli.views.base import View, credit_fields, iso, key_values, new_table
from creditline.entrypoints.cli.views.base import when as table_time

__all__ = ["CSV_COLUMNS", "whatif_csv", "whatif_view"]

CSV_COLUMNS = (
    "org_id", "operation", "events", "charged", "repriced", "difference",
    "charged_micros", "repriced_micros", "difference_micros", "unpriced", "unpriced_reason",
)  # fmt: skip


def _signed(micros: int) -> str:
    return ("+" if micros > 0 else "") + format_credits(micros)


def _impact(i: OperationImpact) -> dict[str, Any]:
    return {
        "org_id": i.org_id,
        "operation": i.operation,
        "events": i.events,
        **credit_fields("charged", i.charged),
        **credit_fields("repriced", i.repriced),
        **credit_fields("difference", i.difference),
        "unpriced": i.unpriced,
        "unpriced_reason": i.unpriced_reason,
    }


def _run_out(r: RunOut) -> dict[str, Any]:
    return {
        "org_id": r.org_id,
        "at": iso(r.at),
        **credit_fields("short", r.short),
        "ran_out_at": iso(r.ran_out_at),
    }


def whatif_data(report: WhatIf) -> dict[str, Any]:
    return {
        "card": report.card,
        "version": report.version,
        "since": iso(report.start),
        "until": iso(report.end),
        "events": report.events,
        **credit_fields("charged", report.charged),
        **credit_fields("repriced", report.repriced),
        **credit_fields("difference", report.difference),
        "unpriced": report.unpriced,
        "operations": [_impact(i) for i in report.impacts],
        "run_outs": [_run_out(r) for r in report.run_outs],
    }


def whatif_view(report: WhatIf) -> View:
    summary = key_values(
        f"What if: {report.card} {report.version}",
        [
            ("period (UTC)", f"{table_time(report.start)} to {table_time(report.end)}"),
            ("events", f"{report.events:,}"),
            ("charged", format_credits(report.charged)),
            ("repriced", format_credits(report.repriced)),
            ("difference", _signed(report.difference)),
            ("unpriced events", f"{report.unpriced:,}"),
        ],
    )
    table = new_table(
        "By organization and operation", "organization", "operation", "events",
        "credits charged", "credits repriced", "credits difference", "unpriced",
    )  # fmt: skip
    for i in report.impacts:
        table.add_row(
            i.org_id, i.operation, f"{i.events:,}", format_credits(i.charged),
            format_credits(i.repriced), _signed(i.difference), f"{i.unpriced:,}",
        )  # fmt: skip
    parts: list[Any] = [summary, table]
    if report.run_outs:
        outs = new_table(
            "Would have run out earlier", "organization", "at (UTC)", "shortfall", "really"
        )
        for r in report.run_outs:
            outs.add_row(
                r.org_id, table_time(r.at), format_credits(r.short),
                table_time(r.ran_out_at, "did not run out"),
            )  # fmt: skip
        parts.append(outs)
    return View(whatif_data(report), tuple(parts))


def whatif_csv(report: WhatIf) -> str:
    """One row per organization and operation; credits as decimals and micro-credits."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for i in report.impacts:
        writer.writerow([
            i.org_id, i.operation, i.events, format_credits(i.charged),
            format_credits(i.repriced), format_credits(i.difference), i.charged, i.repriced,
            i.difference, i.unpriced, i.unpriced_reason or "",
        ])  # fmt: skip
    return out.getvalue()
