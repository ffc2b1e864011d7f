"""Expiry mechanics (B3): what is left of a grant at its expiry becomes an expire entry.

Expiry never changes a balance silently: each expired grant gets one ``expire``
entry for exactly its remaining amount, dated at the grant's expiry time. A grant
with nothing left gets no entry. Running expiry again finds nothing to do, because
the expired grant's remaining is then zero.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from creditline.domain.grants import Grant
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry

__all__ = ["expiry_entries"]


def expiry_entries(grants: Iterable[Grant], now: datetime) -> list[NewEntry]:
    """The expire entries due at ``now`` for ``grants`` (all of one organization)."""
    return [
        NewEntry(
            org_id=g.org_id,
            grant_id=g.id,
            type=EntryType.EXPIRE,
            amount=-g.remaining,
            cause=Cause(CauseType.EXPIRY, g.id),
            occurred_at=g.expires_at,
        )
        for g in grants
        if g.remaining > 0 and g.expires_at is not None and g.expires_at <= now
    ]
