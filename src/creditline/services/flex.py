"""Flex credits (A4, D6): what covers usage after every spendable grant is gone.

When an organization's policy is ``flex`` (and flex is enabled for it) or
``unlimited``, the part of a charge the grants cannot cover is granted on the spot as a
``flex`` grant and taken from it: the ledger shows the grant (cause ``system``, ref
``flex:YYYY-MM`` or ``unlimited:YYYY-MM``) and then its consumption. Flex is billed in
arrears, month by month; a plan's ``flex_limit`` caps one month's flex (the billing
threshold). Unlimited is metered the same way, never capped, and not billed.
"""

from __future__ import annotations

from datetime import datetime

from creditline.domain.errors import InsufficientCredits
from creditline.domain.grants import GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import DepletionPolicy
from creditline.domain.spending import Allocation, Pool
from creditline.domain.usage import Metering
from creditline.services.ids import new_id
from creditline.services.unit_of_work import UnitOfWork

__all__ = ["FlexAccount"]


class FlexAccount:
    """One organization's flex for this transaction (which holds its lock)."""

    def __init__(self, uow: UnitOfWork, metering: Metering, pool: Pool, now: datetime) -> None:
        self._uow = uow
        self._m = metering
        self._pool = pool
        self._now = now
        self._used: int | None = None
        self.grants_made = 0

    def take(self, cost: int) -> tuple[Allocation, ...]:
        """Take ``cost`` from the pool, the shortfall granted as flex when the policy allows.

        Raises:
            InsufficientCredits: the grants and the policy cannot cover it; the pool is
                as it was.
        """
        if cost == 0:  # a free event (no usage, a zero price): nothing to take
            return ()
        pool = self._pool
        if cost > pool.available and not self.cover(cost - pool.available):
            raise InsufficientCredits(self._m.org_id, cost, pool.available)
        return pool.take(cost)

    def cover(self, short: int) -> bool:
        """Grant ``short`` micro-credits of flex into the pool, if the policy allows it."""
        m = self._m
        unlimited = m.depletion is DepletionPolicy.UNLIMITED
        if not (unlimited or (m.depletion is DepletionPolicy.FLEX and m.flex_enabled)):
            return False
        ref = f"{'unlimited' if unlimited else 'flex'}:{self._now:%Y-%m}"
        if self._used is None:
            self._used = self._uow.usage.flex_used(m.org_id, ref)
        limit = m.plan.flex_limit
        if not unlimited and limit is not None and self._used + short > limit:
            return False
        self._grant(ref, short)
        self._used += short
        return True

    def _grant(self, ref: str, amount: int) -> None:
        m, now, uow = self._m, self._now, self._uow
        new = NewGrant(
            m.org_id, GrantKind.FLEX, amount, now, None, GrantSource(SourceType.SYSTEM, ref)
        )
        grant = uow.grants.add(new_id("grt"), new, now, seq=m.entry_count + self.grants_made)
        entry = NewEntry(
            m.org_id, grant.id, EntryType.GRANT, amount, Cause(CauseType.SYSTEM, ref), now
        )
        uow.ledger.append([entry], now)
        uow.balances.apply(m.org_id, amount, 1, now)
        self.grants_made += 1
        self._pool.add(grant.id, amount)
