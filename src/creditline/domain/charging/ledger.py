"""One organization's running state while a group is decided, and who pays for a charge.

**Who pays.** A charge draws from the organization's spendable grants in the
consumption order (:mod:`creditline.domain.spending`). What they cannot cover is
settled by the **depletion policy** (:mod:`creditline.domain.plans`), the same for
usage, debits and the excess of a commit:

- ``pause`` and ``read_only``: refused whole (:class:`InsufficientCredits`; a usage
  event is stored as ``refused``, a commit records the rest as its shortfall).
- ``flex`` (while flex is enabled for the organization): the shortfall is granted on
  the spot as a ``flex`` grant (cause ``system``, ref ``flex:YYYY-MM``) and taken from
  it, as long as the month's flex stays within the plan's ``flex_limit``. Past the
  limit the charge is refused with the limit, the flex used this month and the room
  left (:attr:`InsufficientCredits.flex_limit`, ``flex_used``, ``flex_room``); a
  commit whose excess the room cannot cover takes what the grants have and records
  the rest as its shortfall.
- ``unlimited``: the same, on an ``unlimited:YYYY-MM`` grant, never capped.

A plan with **grace** (:mod:`creditline.domain.grace`) puts a grace period between
``pause``/``read_only`` and the refusal: the shortfall is paid by grace, then the
organization is read-only, then paused (:mod:`creditline.domain.charging.grace`).

**Scoped grants** (:mod:`creditline.domain.scopes`) pay first for what they cover:
a usage event is a charge of its operation and dimensions, a hold or a debit of the
``operation`` and ``dimensions`` it names (none: general grants only), and a commit's
excess of what its hold was for. What a charge may take (and what a refusal reports
as available) counts only the grants that may pay for it.

Two movements never take flex: a **hold** (``reserve``) comes from the grants alone
(a hold may be released, and flex is billed), and an operator's negative
**adjustment** corrects the grants, it does not buy credits.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from creditline.domain.charging.books import Account, Books, flex_ref
from creditline.domain.charging.budgets import BudgetBook
from creditline.domain.charging.grace import ChargeCause, GraceBook
from creditline.domain.charging.outcome import Decision, NewFlexGrant
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InsufficientCredits,
    MemberNotFound,
    ProjectNotFound,
)
from creditline.domain.grace import Standing
from creditline.domain.grants import GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import DepletionPolicy, Gates
from creditline.domain.reservations import Reservation
from creditline.domain.spending import Allocation, Pool
from creditline.domain.usage import EventResult

__all__ = ["Ledger", "key_replay"]


_NO_GATES = Gates()
_GRACE_POLICIES = (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY)


class Ledger:
    """One organization's running state while a group is decided.

    It owns the pool of spendable grants, the month's flex and the holds count; every
    charge goes through :meth:`take`, which applies the depletion policy.
    """

    def __init__(
        self,
        account: Account,
        now: datetime,
        new_id: Callable[[str], str],
        out: Decision,
        books: Books | None = None,
    ) -> None:
        m = account.metering
        self.books = books if books is not None else Books({})
        self.account = account
        self.m = m
        self.org_id = m.org_id
        self.now = now
        # Suspended for an overdue invoice (dunning): nothing is spendable, no flex.
        grants = () if m.hold is not None else account.grants
        self.pool = Pool(m.org_id, grants, now, m.order, empty=True)
        self.ref = None if m.hold is not None else flex_ref(m, now)
        self.flex_used = account.flex_used
        self.open_holds = account.open_holds
        self.held = 0
        self.seq = m.entry_count
        self._new_id = new_id
        self._out = out
        self.gated = m.plan.gates != _NO_GATES
        # usage consumption netted per (grant, project, member): [amount, event id or None]
        self.consumed: dict[tuple[str, str | None, str | None], list[Any]] = {}
        self.seen: dict[str, tuple[str, EventResult, datetime]] = {}
        self.keys: dict[str, tuple[str, Any]] = {}
        # reservations made or settled in this group, and their stored outcomes
        self.reservations: dict[str, Reservation] = {}
        self.outcomes: dict[str, dict[str, Any] | None] = {}
        # its budgets (None: it has none, and no budget check runs)
        self.budgets = BudgetBook(account.budgets, out) if account.budgets else None
        # the plan's grace (domain/charging/grace.py), where it applies
        self.grace: GraceBook | None = None
        terms = m.plan.grace
        if terms is not None and m.hold is None and m.depletion in _GRACE_POLICIES:
            self.grace = GraceBook(self, out, terms, m.grace or Standing())

    # -- the depletion policy ----------------------------------------------------------

    def room(self) -> int | None:
        """Flex this organization may still take this month (``None``: no cap)."""
        if self.ref is None:
            return 0
        limit = self.m.plan.flex_limit
        if self.m.depletion is DepletionPolicy.UNLIMITED or limit is None:
            return None
        return max(0, limit - self.flex_used)

    def refusal(self, cost: int, available: int) -> InsufficientCredits:
        if self.m.hold is not None:
            return InsufficientCredits(self.org_id, cost, 0, overdue_invoice=self.m.hold)
        if self.ref is None or self.m.depletion is DepletionPolicy.UNLIMITED:
            return InsufficientCredits(self.org_id, cost, available)
        limit = self.m.plan.flex_limit
        room = self.room() or 0
        return InsufficientCredits(
            self.org_id, cost, available + room, flex_limit=limit, flex_used=self.flex_used
        )

    def cover(self, short: int) -> int:
        """Grant ``short`` micro-credits of flex into the pool, if the policy allows all
        of it (a shortfall is covered whole or not at all); how much it granted."""
        room = self.room()
        amount = short
        if amount <= 0 or self.ref is None or (room is not None and room < short):
            return 0
        self.system_grant(amount, self.ref)
        self.flex_used += amount
        return amount

    def system_grant(self, amount: int, ref: str) -> None:
        """Grant ``amount`` micro-credits of flex under ``ref`` into the pool."""
        grant_id = self._new_id("grt")
        new = NewGrant(
            self.org_id, GrantKind.FLEX, amount, self.now, None,
            GrantSource(SourceType.SYSTEM, ref),
        )  # fmt: skip
        self._out.grants.append(NewFlexGrant(grant_id, new, self.seq))
        self.seq += 1
        self._out.entries.append(
            NewEntry(self.org_id, grant_id, EntryType.GRANT, amount,
                     Cause(CauseType.SYSTEM, ref), self.now)
        )  # fmt: skip
        self.pool.add(grant_id, amount)

    def take(
        self,
        cost: int,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
        *,
        flex: bool = True,
        cause: ChargeCause | None = None,
    ) -> tuple[Allocation, ...]:
        """Take ``cost`` for ``operation`` (scoped grants covering it first, then the
        general ones), the shortfall as the policy allows. A charge names its ``cause``
        (``None``: an operator's adjustment): grace, where the plan has it, refuses it
        while read-only or paused and pays its shortfall in grace.

        Raises:
            InsufficientCredits: the grants and the policy cannot cover it whole (naming
                the flex limit when that is what stops it); nothing changed.
        """
        pool = self.pool
        if pool.scoped is None or operation is None:
            available = pool.available
        else:
            available = pool.available_for(operation, dimensions)
        grace = self.grace
        if grace is not None and cause is not None and grace.locked:
            raise grace.refusal(cost, available)
        if cost <= available:
            return pool.take(cost, operation, dimensions) if cost else ()
        if grace is not None and flex and cause is not None:
            grace.cover(cost, available, cause)
            return pool.take(cost, operation, dimensions)
        if not flex:
            if self.m.hold is not None:
                raise self.refusal(cost, available)
            raise InsufficientCredits(self.org_id, cost, available)
        short = cost - available
        room = self.room()
        if self.ref is None or (room is not None and room < short):
            raise self.refusal(cost, available)
        self.cover(short)
        return pool.take(cost, operation, dimensions)

    def check_attribution(self, project_id: str | None, member_id: str | None) -> None:
        if project_id is not None and project_id not in self.account.projects:
            raise ProjectNotFound(project_id)
        if member_id is not None and member_id not in self.account.members:
            raise MemberNotFound(member_id)


def key_replay(book: Ledger, key: str, request_hash: str) -> Any | None:
    """The first outcome stored under ``key`` (in this group or before), or ``None``."""
    seen = book.keys.get(key)
    if seen is None:
        stored = book.books.keys.get((book.org_id, key))
        if stored is None:
            return None
        seen = (stored[0], stored[1])
    if seen[0] != request_hash:
        raise IdempotencyKeyReused(key)
    return seen[1]
