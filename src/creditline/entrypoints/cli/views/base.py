"""What every CLI view is made of: a :class:`View` (``data`` for ``--format json``,
``parts`` for a terminal) and the small pieces the views share (ISO times, credit pairs,
tables).

In JSON every credit amount appears twice, exactly: as a decimal string of credits
(``"amount": "2.5"``) and as an integer of micro-credits (``"amount_micros": 2500000``).
Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rich.console import RenderableType
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from creditline import Cause, GrantSource, format_credits
from creditline.domain.spending import Allocation

__all__ = [
    "NEVER",
    "View",
    "Whole",
    "allocations_data",
    "allocations_table",
    "cause_data",
    "count",
    "escaped",
    "credit_fields",
    "iso",
    "key_values",
    "new_table",
    "when",
]

NEVER = "never"


@dataclass(frozen=True, slots=True)
class View:
    """One result ready to print: ``data`` for JSON, ``parts`` for a terminal."""

    data: Any
    parts: tuple[RenderableType, ...]


@dataclass(frozen=True, slots=True)
class Whole:
    """A line a terminal must print whole, never wrapped or cut at the terminal's width
    (a link, a key: copied from the terminal, it must stay one piece)."""

    text: str
    style: str = ""

    def __rich__(self) -> Text:
        return Text(self.text, style=self.style)


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.astimezone(UTC).isoformat()


def credit_fields(name: str, micros: int | None) -> dict[str, Any]:
    """An amount as ``name`` (decimal credits) and ``name_micros``; both null when none."""
    return {name: None if micros is None else format_credits(micros), f"{name}_micros": micros}


def cause_data(cause: Cause | GrantSource) -> dict[str, str]:
    """What caused an entry, a hold or a grant: its type and reference."""
    return {"type": cause.type.value, "ref": cause.ref}


def allocations_data(allocations: Iterable[Allocation]) -> list[dict[str, Any]]:
    """Which grant paid (or holds) how much."""
    return [{"grant_id": a.grant_id, **credit_fields("amount", a.amount)} for a in allocations]


def when(moment: datetime | None, empty: str = "") -> str:
    """A time in UTC for a table, to the second; ``empty`` when there is none."""
    return empty if moment is None else moment.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")


_NUMERIC = ("credits", "amount", "remaining", "grants", "held", "consumed", "shortfall")


def new_table(title: str, *columns: str, right: Collection[str] | None = None) -> Table:
    """A table whose ``id``-like columns fold rather than lose characters; the columns
    named in ``right`` are right-aligned (by default those of credits and counts)."""
    table = Table(title=title, title_justify="left", show_edge=False, pad_edge=False)
    for name in columns:
        numeric = name.startswith(_NUMERIC) if right is None else name in right
        table.add_column(name, justify="right" if numeric else "left", overflow="fold")
    return table


def key_values(title: str, rows: Iterable[tuple[str, str]]) -> Table:
    table = Table(title=title, title_justify="left", show_header=False, show_edge=False)
    table.add_column("field", style="bold")
    table.add_column("value", overflow="fold")
    for key, value in rows:
        table.add_row(key, value)
    return table


def allocations_table(title: str, allocations: Iterable[Allocation]) -> Table:
    """Which grant paid (or holds) how much, a row a grant."""
    table = new_table(title, "grant", "credits")
    for a in allocations:
        table.add_row(a.grant_id, format_credits(a.amount))
    return table


def count(n: int, noun: str) -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def escaped(rows: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Free text from events and errors: "[...]" in it is not rich markup."""
    return [(escape(key), escape(value)) for key, value in rows]
