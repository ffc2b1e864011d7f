"""Spending: which grants pay for a debit (requirement B2).

A debit of N micro-credits draws from the organization's spendable grants in the
consumption order of their kinds; within a kind, the soonest-expiring grant first
(grants that never expire last), then the oldest (earliest effective time, then
earliest created, then earliest in the organization's ledger). A debit may take
from several grants. One that the spendable grants cannot cover is refused whole:
:func:`allocate` either returns a complete allocation or raises, and never changes
anything itself.

:class:`Pool` does the same for many debits in a row (a batch): it keeps the
remaining amounts in memory so each debit sees what the previous ones left.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from creditline.domain.errors import InsufficientCredits, InvalidAmount
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, Grant, GrantKind
from creditline.domain.time import to_utc

__all__ = ["Allocation", "Pool", "allocate", "spending_order"]

_FOREVER = datetime.max.replace(tzinfo=UTC)


class Allocation(NamedTuple):
    """``amount`` micro-credits of one debit paid by grant ``grant_id``."""

    grant_id: str
    amount: int


def spending_order(
    grants: Iterable[Grant],
    now: datetime,
    order: Sequence[GrantKind] = DEFAULT_CONSUMPTION_ORDER,
    *,
    empty: bool = False,
) -> list[Grant]:
    """The spendable grants at ``now``, in the order a debit draws from them (with
    ``empty``, also those in force with nothing left, which a release may refill)."""
    if empty:
        spendable = [g for g in grants if g.effective_at <= now and not g.is_expired(now)]
    else:
        spendable = [g for g in grants if g.is_spendable(now)]
    if len(spendable) < 2:
        return spendable
    rank = {kind: i for i, kind in enumerate(order)}
    fallback = len(rank)

    def key(g: Grant) -> tuple[int, datetime, datetime, datetime, int, str]:
        return (
            rank.get(g.kind, fallback),
            _FOREVER if g.expires_at is None else to_utc(g.expires_at),
            to_utc(g.effective_at),
            to_utc(g.created_at),
            g.seq,
            g.id,
        )

    return sorted(spendable, key=key)


class Pool:
    """The spendable grants of one organization at one instant, drawn down in order."""

    __slots__ = ("_cursor", "_ids", "_original", "_remaining", "available", "org_id")

    def __init__(
        self,
        org_id: str,
        grants: Iterable[Grant],
        now: datetime,
        order: Sequence[GrantKind] = DEFAULT_CONSUMPTION_ORDER,
        *,
        empty: bool = False,
    ) -> None:
        ordered = spending_order(grants, now, order, empty=empty)
        self.org_id = org_id
        self._ids = [g.id for g in ordered]
        self._remaining = [g.remaining for g in ordered]
        self._original = list(self._remaining)
        self._cursor = 0
        self.available = sum(self._remaining)

    def take(self, amount: int) -> tuple[Allocation, ...]:
        """Allocate ``amount`` or raise :class:`InsufficientCredits`, leaving the pool as it was."""
        if amount <= 0:
            raise InvalidAmount(amount, "a debit takes more than zero")
        if amount > self.available:
            raise InsufficientCredits(self.org_id, amount, self.available)
        self.available -= amount
        remaining = self._remaining
        i = self._cursor
        have = remaining[i]
        if have > amount:  # the usual case: the current grant covers the whole debit
            remaining[i] = have - amount
            return (_allocation((self._ids[i], amount)),)
        allocations: list[Allocation] = []
        left = amount
        while left:
            have = remaining[i]
            if have:
                part = have if have < left else left
                remaining[i] = have - part
                left -= part
                allocations.append(Allocation(self._ids[i], part))
            if remaining[i] == 0:
                i += 1
        self._cursor = i
        return tuple(allocations)

    def add(self, grant_id: str, amount: int) -> None:
        """Put a grant made inside this transaction (a flex grant) at the end of the order."""
        self._ids.append(grant_id)
        self._remaining.append(amount)
        self._original.append(amount)
        self.available += amount

    def give(self, grant_id: str, amount: int) -> None:
        """Put back ``amount`` released to a grant of the pool (a hold given back); a
        grant not in the pool (expired, not yet in force) is not spendable, so nothing."""
        ids = self._ids
        for i in range(len(ids)):
            if ids[i] == grant_id:
                self._remaining[i] += amount
                self.available += amount
                self._cursor = min(self._cursor, i)
                return

    def changes(self) -> dict[str, int]:
        """The signed change of each grant drawn from so far (only grants that changed)."""
        return {
            grant_id: now - before
            for grant_id, now, before in zip(
                self._ids, self._remaining, self._original, strict=True
            )
            if now != before
        }


def _allocation(fields: tuple[str, int]) -> Allocation:
    # tuple.__new__ skips the generated __new__: this runs once per debit of a batch.
    return tuple.__new__(Allocation, fields)


def allocate(
    org_id: str,
    grants: Iterable[Grant],
    amount: int,
    now: datetime,
    order: Sequence[GrantKind] = DEFAULT_CONSUMPTION_ORDER,
) -> tuple[Allocation, ...]:
    """Which grants pay for a debit of ``amount`` at ``now`` (see the module docstring)."""
    return Pool(org_id, grants, now, order).take(amount)
