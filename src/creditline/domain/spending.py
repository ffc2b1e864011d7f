"""Spending: which grants pay for a debit (requirement B2).

A debit of N micro-credits draws from the organization's spendable grants in the
consumption order of their kinds; within a kind, the soonest-expiring grant first
(grants that never expire last), then the oldest (earliest effective time, then
earliest created, then earliest in the organization's ledger). A debit may take
from several grants. One that the spendable grants cannot cover is refused whole:
:func:`allocate` either returns a complete allocation or raises, and never changes
anything itself.

**Scoped grants** (:mod:`creditline.domain.scopes`) come first: a debit for an
operation draws from the scoped grants that cover it (in the same order among
themselves), then from the general grants as above. A debit for no operation, or one
no scope covers, draws from the general grants only; a scoped grant that does not
cover a debit is never touched by it, and does not count as available for it.

:class:`Pool` does the same for many debits in a row (a batch): it keeps the
remaining amounts in memory so each debit sees what the previous ones left.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime
from typing import NamedTuple

from creditline.domain.errors import InsufficientCredits, InvalidAmount
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, Grant, GrantKind
from creditline.domain.scopes import GrantScope
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


class _Scoped:
    """The scoped grants of a pool, in spending order: drawn first by what they cover."""

    __slots__ = ("ids", "original", "remaining", "scopes")

    def __init__(self, grants: Sequence[Grant]) -> None:
        self.ids = [g.id for g in grants]
        self.scopes: list[GrantScope] = [g.scope for g in grants if g.scope is not None]
        self.remaining = [g.remaining for g in grants]
        self.original = list(self.remaining)

    def covering(self, operation: str, dimensions: Mapping[str, str]) -> list[int]:
        """The indexes of the grants with credits left that cover the charge, in order."""
        remaining = self.remaining
        return [
            i
            for i, scope in enumerate(self.scopes)
            if remaining[i] and scope.covers(operation, dimensions)
        ]


_NO_DIMENSIONS: Mapping[str, str] = {}


class Pool:
    """The spendable grants of one organization at one instant, drawn down in order.

    ``available`` is what the *general* grants hold (what any debit may take); a debit
    for an operation may also take what the scoped grants covering it hold
    (:meth:`available_for`).
    """

    __slots__ = (
        "_cursor",
        "_ids",
        "_original",
        "_remaining",
        "available",
        "org_id",
        "scoped",
    )

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
        self.scoped: _Scoped | None = None
        for g in ordered:
            if g.scope is not None:  # rare: split the scoped grants off
                self.scoped = _Scoped([g for g in ordered if g.scope is not None])
                ordered = [g for g in ordered if g.scope is None]
                break
        self.org_id = org_id
        self._ids = [g.id for g in ordered]
        self._remaining = [g.remaining for g in ordered]
        self._original = list(self._remaining)
        self._cursor = 0
        self.available = sum(self._remaining)

    def available_for(
        self, operation: str | None, dimensions: Mapping[str, str] | None = None
    ) -> int:
        """What a debit for ``operation`` may take: the general grants, and the scoped
        grants that cover it."""
        scoped = self.scoped
        if scoped is None or operation is None:
            return self.available
        dims = _NO_DIMENSIONS if dimensions is None else dimensions
        return self.available + sum(scoped.remaining[i] for i in scoped.covering(operation, dims))

    def take(
        self,
        amount: int,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
    ) -> tuple[Allocation, ...]:
        """Allocate ``amount`` or raise :class:`InsufficientCredits`, leaving the pool as it was.

        A debit for ``operation`` (with ``dimensions``) draws first from the scoped
        grants that cover it; one for no operation only from the general grants.
        """
        if amount <= 0:
            raise InvalidAmount(amount, "a debit takes more than zero")
        if self.scoped is not None and operation is not None:
            return self._take_scoped(amount, operation, dimensions or _NO_DIMENSIONS)
        if amount > self.available:
            raise InsufficientCredits(self.org_id, amount, self.available)
        # _take_general, inlined: this runs once per debit of a batch.
        self.available -= amount
        remaining = self._remaining
        i = self._cursor
        have = remaining[i]
        if have > amount:  # the usual case: the current grant covers the whole debit
            remaining[i] = have - amount
            return (_allocation((self._ids[i], amount)),)
        return self._draw(amount)

    def _take_scoped(
        self, amount: int, operation: str, dimensions: Mapping[str, str]
    ) -> tuple[Allocation, ...]:
        scoped = self.scoped
        assert scoped is not None
        covering = scoped.covering(operation, dimensions)
        remaining = scoped.remaining
        room = self.available + sum(remaining[i] for i in covering)
        if amount > room:
            raise InsufficientCredits(self.org_id, amount, room)
        allocations: list[Allocation] = []
        left = amount
        for i in covering:
            part = min(remaining[i], left)
            remaining[i] -= part
            left -= part
            allocations.append(Allocation(scoped.ids[i], part))
            if not left:
                return tuple(allocations)
        return (*allocations, *self._take_general(left))

    def _take_general(self, amount: int) -> tuple[Allocation, ...]:
        """Draw ``amount`` (at most ``available``) from the general grants, in order."""
        self.available -= amount
        return self._draw(amount)

    def _draw(self, amount: int) -> tuple[Allocation, ...]:
        """Draw ``amount`` (already counted out of ``available``) from the general
        grants, from the cursor on."""
        remaining = self._remaining
        i = self._cursor
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
        scoped = self.scoped
        if scoped is not None and grant_id in scoped.ids:
            scoped.remaining[scoped.ids.index(grant_id)] += amount

    def changes(self) -> dict[str, int]:
        """The signed change of each grant drawn from so far (only grants that changed)."""
        ids, now, before = self._ids, self._remaining, self._original
        scoped = self.scoped
        if scoped is not None:
            ids = scoped.ids + ids
            now = scoped.remaining + now
            before = scoped.original + before
        return {
            grant_id: after - first
            for grant_id, after, first in zip(ids, now, before, strict=True)
            if after != first
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
    *,
    operation: str | None = None,
    dimensions: Mapping[str, str] | None = None,
) -> tuple[Allocation, ...]:
    """Which grants pay for a debit of ``amount`` at ``now``, for ``operation`` with
    ``dimensions`` when given (see the module docstring)."""
    return Pool(org_id, grants, now, order).take(amount, operation, dimensions)
