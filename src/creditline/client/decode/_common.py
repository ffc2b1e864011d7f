"""The shapes every answer shares: instants, causes, allocations, money."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from creditline.domain.ledger import Cause, CauseType
from creditline.domain.money import Money
from creditline.domain.spending import Allocation

Doc = Mapping[str, Any]


def when(value: str) -> datetime:
    return datetime.fromisoformat(value)


def maybe_when(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def cause(d: Doc) -> Cause:
    return Cause(CauseType(d["type"]), d["ref"])


def maybe_cause(d: Doc | None) -> Cause | None:
    return None if d is None else cause(d)


def allocations(items: Sequence[Doc]) -> tuple[Allocation, ...]:
    return tuple(Allocation(a["grant_id"], a["amount_micros"]) for a in items)


def components(items: Sequence[Doc]) -> tuple[tuple[str, int], ...]:
    return tuple((c["operation"], c["cost_micros"]) for c in items)


def money(d: Doc) -> Money:
    return Money(d["minor"], d["currency"])
