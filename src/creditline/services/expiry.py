"""Expiring grants (B3 mechanics): one organization per transaction, exactly once.

``due_organizations`` finds the organizations holding a grant past its expiry with
credits left; ``expire_organization`` locks one of them, re-reads its grants under
the lock and writes an expire entry for each one due. A second run, or a second
process racing the first, finds the remaining already at zero and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.expiry import expiry_entries
from creditline.domain.time import Clock
from creditline.services.unit_of_work import UnitOfWork

__all__ = ["Expired", "due_organizations", "expire_organization"]


@dataclass(frozen=True, slots=True)
class Expired:
    """What one organization lost to expiry in one run."""

    org_id: str
    grants: int
    amount: int


def due_organizations(uow: UnitOfWork, now: datetime, limit: int = 1000) -> list[str]:
    with uow:
        return uow.grants.orgs_with_due(now, limit)


def expire_organization(org_id: str, uow: UnitOfWork, clock: Clock) -> Expired:
    with uow:
        if uow.balances.lock(org_id) is None:
            return Expired(org_id, 0, 0)
        now = clock.now()  # under the lock, so entry times follow entry ids
        entries = expiry_entries(uow.grants.active(org_id), now)
        if not entries:
            return Expired(org_id, 0, 0)
        uow.ledger.append(entries, now)
        uow.grants.apply({e.grant_id: e.amount for e in entries})
        total = sum(e.amount for e in entries)
        uow.balances.apply(org_id, total, len(entries), now)
        uow.commit()
    return Expired(org_id, len(entries), -total)
