"""The subscriptions repository: organizations' plans with billing, and the cycles
renewed (tables ``subscriptions`` and ``cycle_renewals``), in SQLAlchemy Core.

Like every repository it works on the connection of the unit of work that made it; its
writes are only made by services holding the organization's lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, select, update

from creditline.domain.cycles import Cycle
from creditline.domain.subscriptions import CycleRenewal, Subscription

from . import tables as t
from .records import Codec

__all__ = ["SubscriptionRepository"]

_S = t.subscriptions.c
_R = t.cycle_renewals.c


_SUBSCRIPTION = Codec(Subscription, columns={"interval": "billing_interval"})
_RENEWAL = Codec(CycleRenewal, columns={"amount": "amount_micros"}, skip={"cycle"})


def _renewal(row: Row[Any]) -> CycleRenewal:
    m = row._mapping
    cycle = Cycle(int(m["cycle_index"]), m["cycle_start"], m["cycle_end"])
    return _RENEWAL.decode(row, cycle=cycle)


class SubscriptionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, org_id: str) -> Subscription | None:
        row = self._conn.execute(select(t.subscriptions).where(_S.org_id == org_id)).first()
        return None if row is None else _SUBSCRIPTION.decode(row)

    def add(self, sub: Subscription) -> None:
        self._conn.execute(insert(t.subscriptions).values(**_SUBSCRIPTION.encode(sub)))

    def save(self, sub: Subscription) -> None:
        """Write a subscription that exists already (the caller holds its org's lock)."""
        self._conn.execute(
            update(t.subscriptions)
            .where(_S.org_id == sub.org_id)
            .values(**_SUBSCRIPTION.encode(sub, without={"org_id"}))
        )

    def due(self, now: datetime, limit: int = 1000, after: str | None = None) -> list[str]:
        """Organizations whose next renewal is due at ``now``, by id, after ``after``."""
        query = (
            select(_S.org_id)
            .where(_S.next_renewal_at.is_not(None), _S.next_renewal_at <= now)
            .order_by(_S.org_id)
            .limit(limit)
        )
        if after is not None:
            query = query.where(_S.org_id > after)
        return [r.org_id for r in self._conn.execute(query)]

    def add_renewal(self, renewal: CycleRenewal) -> None:
        """Record a cycle as renewed; a second record of it violates the primary key."""
        self._conn.execute(
            insert(t.cycle_renewals).values(
                cycle_index=renewal.cycle.index,
                cycle_start=renewal.cycle.start,
                cycle_end=renewal.cycle.end,
                **_RENEWAL.encode(renewal),
            )
        )

    def renewals(
        self, org_id: str, limit: int = 100, anchor_no: int | None = None
    ) -> list[CycleRenewal]:
        """An organization's renewed cycles, newest first (of one anchor, if given)."""
        where = [_R.org_id == org_id]
        if anchor_no is not None:
            where.append(_R.anchor_no == anchor_no)
        rows = self._conn.execute(
            select(t.cycle_renewals)
            .where(and_(*where))
            .order_by(_R.anchor_no.desc(), _R.cycle_index.desc())
            .limit(limit)
        )
        return [_renewal(r) for r in rows]
