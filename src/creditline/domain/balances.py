"""Balances: what an organization holds, and what it can spend right now.

``total`` is the fold of the organization's ledger entries (the sum of its grants'
``remaining``), read in O(1) from a cached row. ``available`` is the part that is
spendable at ``as_of``: it leaves out grants not yet effective and grants past their
expiry whose expire entry the scheduler has not written yet (expiry is enforced at
spending time, not only by the sweeper).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime

from creditline.domain.grants import Grant, GrantKind

__all__ = ["Balance", "summarize"]


@dataclass(frozen=True, slots=True)
class Balance:
    """An organization's credits at one instant, all in micro-credits."""

    org_id: str
    as_of: datetime
    total: int
    available: int
    pending: int
    expired_unswept: int
    by_kind: dict[GrantKind, int] = field(default_factory=dict)
    held: int = 0
    """Held by open reservations: already out of ``total`` and ``available``."""


def summarize(
    org_id: str, total: int, active: Iterable[Grant], now: datetime, held: int = 0
) -> Balance:
    """Build a :class:`Balance` from the cached total and the grants with credits left."""
    available = pending = expired = 0
    by_kind: dict[GrantKind, int] = {}
    for g in active:
        if g.remaining <= 0:
            continue
        if g.is_expired(now):
            expired += g.remaining
        elif g.effective_at > now:
            pending += g.remaining
        else:
            available += g.remaining
            by_kind[g.kind] = by_kind.get(g.kind, 0) + g.remaining
    return Balance(org_id, now, total, available, pending, expired, by_kind, held)
