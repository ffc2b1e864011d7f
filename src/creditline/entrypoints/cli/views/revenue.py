"""Views of the revenue report (:mod:`creditline.domain.revenue`): per currency, the
month's money at cost basis; then every line's credits, those with no cash and flex
included. JSON is the API's document (:func:`~creditline.entrypoints.revenue_export.
revenue_document`)."""

from __future__ import annotations

from creditline import format_credits
from creditline.domain.money import format_money
from creditline.domain.revenue import RevenueReport
from creditline.entrypoints.cli.views.base import View, new_table
from creditline.entrypoints.revenue_export import FLOWS, revenue_document, revenue_rows

__all__ = ["revenue_view"]

_MONEY = ("opening", "sold", "recognised", "breakage", "refunded", "adjusted", "closing")
_CREDITS = ("opening", "sold / granted", "consumed", "expired", "refunded", "adjusted", "closing")


def revenue_view(report: RevenueReport) -> View:
    money = new_table(
        f"Deferred revenue at cost basis, {report.month} (UTC)", "currency", *_MONEY,
        right=_MONEY,
    )  # fmt: skip
    for line in report.lines:
        flows = (getattr(line, flow) for flow in FLOWS)
        # the row names the currency: its cells are amounts only (100.00)
        amounts = (format_money(f.minor, line.currency).split(" ", 1)[1] for f in flows)
        money.add_row(line.currency, *amounts)
    credits = new_table("Credits", "line", *_CREDITS, right=_CREDITS)
    for row in revenue_rows(report):
        name = row["currency"] or row["kind"]
        label = {"cash": name, "no_cash": f"{name} (no cash)"}.get(row["section"], "flex")
        credits.add_row(label, *(format_credits(row[f"{flow}_micros"]) for flow in FLOWS))
    return View(revenue_document(report), (money, credits))
