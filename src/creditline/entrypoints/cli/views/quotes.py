"""Views of binding quotes: one (its price, validity, state and breakdown) and a list."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from rich.text import Text

from creditline import format_credits
from creditline.domain.quotes import BindingQuote
from creditline.entrypoints.cli.views.base import View, credit_fields, iso, new_table, when

__all__ = ["binding_quote_view", "binding_quotes_view"]


def _data(quote: BindingQuote, now: datetime) -> dict[str, Any]:
    return {
        "id": quote.id,
        "org_id": quote.org_id,
        "operation": quote.operation,
        "quantities": {k: v if type(v) is int else str(v) for k, v in quote.quantities.items()},
        "dimensions": dict(quote.dimensions),
        **credit_fields("total", quote.total),
        "card": quote.card,
        "version": quote.version,
        "state": quote.state(now).value,
        "created_at": iso(quote.created_at),
        "expires_at": iso(quote.expires_at),
        "used_at": iso(quote.used_at),
        "used_by": quote.used_by,
        "breakdown": dict(quote.breakdown),
    }


def _table(found: Sequence[BindingQuote], now: datetime, title: str) -> Any:
    table = new_table(title, "id", "operation", "credits", "state", "expires", "used by")
    for q in found:
        table.add_row(
            q.id, q.usage_text(), format_credits(q.total), q.state(now).value,
            when(q.expires_at), q.used_by or "",
        )  # fmt: skip
    return table


def binding_quote_view(quote: BindingQuote, now: datetime) -> View:
    """A binding quote: its id to use, the price it binds until when, and its state."""
    summary = Text(
        f"quote {quote.id}: {format_credits(quote.total)} credits for {quote.usage_text()} "
        f"({quote.card} {quote.version}), {quote.state(now).value}, valid until "
        f"{when(quote.expires_at)} UTC; use it once with --quote {quote.id}"
    )
    return View(_data(quote, now), (summary, _table([quote], now, "Quote")))


def binding_quotes_view(found: Sequence[BindingQuote], now: datetime) -> View:
    return View([_data(q, now) for q in found], (_table(found, now, "Quotes"),))
