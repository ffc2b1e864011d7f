"""Balances: what an organization holds, and what it can spend right now.

``total`` is the fold of the organization's ledger entries (the sum of its grants'
``remaining``), read in O(1) from a cached row. ``available`` is the part that is
spendable at ``as_of``: it leaves out grants not yet effective and grants past their
expiry whose expire entry the scheduler has not written yet (expiry is enforced at
spending time, not only by the sweeper).

**Scoped credits** (:mod:`creditline.domain.scopes`) are shown apart. Of ``available``:

- ``general``: what the general grants hold, spendable on anything;
- ``scoped``: what the scoped grants hold, spendable only on what each one covers
  (``scoped_grants`` lists them, with their scope);

so ``available == general + scoped``. ``by_kind`` splits ``general`` by kind (the
scoped credits are not in it). What one operation may take is
:meth:`Balance.available_for`: the general credits and the scoped credits that cover
it, the figure a charge of that operation is checked against.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from creditline.domain.grants import Grant, GrantKind
from creditline.domain.scopes import GrantScope
from creditline.domain.spending import spending_order

__all__ = ["Balance", "ScopedCredits", "summarize"]


@dataclass(frozen=True, slots=True)
class ScopedCredits:
    """A scoped grant's spendable credits, and what it covers."""

    grant_id: str
    kind: GrantKind
    remaining: int
    scope: GrantScope
    expires_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class Balance:
    """An organization's credits at one instant, all in micro-credits.

    ``available`` is everything spendable now: ``general`` (on anything) plus
    ``scoped`` (only on what each scoped grant covers, listed in ``scoped_grants``).
    ``by_kind`` splits ``general``. ``available_for(operation, dimensions)`` is what a
    charge of that operation may take.
    """

    org_id: str
    as_of: datetime
    total: int
    available: int
    pending: int
    expired_unswept: int
    by_kind: dict[GrantKind, int] = field(default_factory=dict)
    held: int = 0
    """Held by open reservations: already out of ``total`` and ``available``."""
    scoped: int = 0
    """The part of ``available`` that only some operations may spend."""
    scoped_grants: tuple[ScopedCredits, ...] = ()
    """The spendable scoped grants, in the order charges draw from them (by the default
    consumption order of their kinds)."""

    @property
    def general(self) -> int:
        """The part of ``available`` that any charge may spend."""
        return self.available - self.scoped

    def available_for(self, operation: str, dimensions: Mapping[str, str] | None = None) -> int:
        """What a charge of ``operation`` with ``dimensions`` may take: the general credits
        and the scoped credits that cover it (flex, if the plan has it, not counted)."""
        return self.general + sum(
            s.remaining for s in self.scoped_grants if s.scope.covers(operation, dimensions)
        )


def summarize(
    org_id: str, total: int, active: Iterable[Grant], now: datetime, held: int = 0
) -> Balance:
    """Build a :class:`Balance` from the cached total and the grants with credits left."""
    available = pending = expired = 0
    by_kind: dict[GrantKind, int] = {}
    scoped: list[Grant] = []
    for g in active:
        if g.remaining <= 0:
            continue
        if g.is_expired(now):
            expired += g.remaining
        elif g.effective_at > now:
            pending += g.remaining
        else:
            available += g.remaining
            if g.scope is not None:
                scoped.append(g)
            else:
                by_kind[g.kind] = by_kind.get(g.kind, 0) + g.remaining
    if not scoped:
        return Balance(org_id, now, total, available, pending, expired, by_kind, held)
    ordered = tuple(
        ScopedCredits(g.id, g.kind, g.remaining, g.scope, g.expires_at)
        for g in spending_order(scoped, now)
        if g.scope is not None
    )
    return Balance(
        org_id, now, total, available, pending, expired, by_kind, held,
        sum(s.remaining for s in ordered), ordered,
    )  # fmt: skip
