"""Expiring grants (B3 mechanics) and overdue holds: per organization, exactly once.

``due_organizations`` finds the organizations holding a grant past its expiry with
credits left, or a reservation past its time-to-live; ``expire_organization`` locks
one of them, releases its overdue holds (giving the credits back to their grants),
then re-reads its grants under the lock and writes an expire entry for each one due.
A second run, or a second process racing the first, finds the remaining already at
zero (and the holds already settled) and writes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.expiry import expiry_entries
from creditline.domain.time import Clock
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.posting import post
from creditline.services.reservations import expire_reservations

__all__ = ["Expired", "due_organizations", "expire_organization"]


@dataclass(frozen=True, slots=True)
class Expired:
    """What one organization lost to expiry in one run."""

    org_id: str
    grants: int
    amount: int
    reservations: int = 0

    @property
    def changed(self) -> bool:
        return bool(self.grants or self.reservations)


def due_organizations(uow: UnitOfWork, now: datetime, limit: int = 1000) -> list[str]:
    with uow:
        due = set(uow.grants.orgs_with_due(now, limit))
        due.update(uow.reservations.orgs_with_due(now, limit))
        return sorted(due)


def expire_organization(org_id: str, uow: UnitOfWork, clock: Clock) -> Expired:
    with uow:
        if uow.balances.lock(org_id) is None:
            return Expired(org_id, 0, 0)
        now = clock.now()  # under the lock, so entry times follow entry ids
        released = expire_reservations(org_id, uow, now)
        entries = expiry_entries(uow.grants.active(org_id), now)
        if not entries and not released:
            return Expired(org_id, 0, 0)
        total = sum(e.amount for e in entries)
        post(uow, org_id, entries, now)
        uow.commit()
    return Expired(org_id, len(entries), -total, released)
