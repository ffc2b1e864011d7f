"""The subscriptions repository: organizations' plans with billing, and the cycles
renewed (tables ``subscriptions`` and ``cycle_renewals``), in SQLAlchemy Core.

Like every repository it works on the connection of the unit of work that made it; its
writes are only made by services holding the organization's lock.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, insert, select, update

from creditline.domain.cycles import AnchorKind, BillingInterval, Cycle
from creditline.domain.subscriptions import CycleRenewal, Subscription

from . import tables as t

__all__ = ["SubscriptionRepository"]

_S = t.subscriptions.c
_R = t.cycle_renewals.c


def _row(sub: Subscription) -> dict[str, Any]:
    return {
        "plan": sub.plan,
        "billing_interval": sub.interval.value,
        "anchor_kind": sub.anchor_kind.value,
        "time_zone": sub.time_zone,
        "started_at": sub.started_at,
        "anchored_at": sub.anchored_at,
        "anchor_no": sub.anchor_no,
        "signup": sub.signup,
        "last_cycle": sub.last_cycle,
        "next_renewal_at": sub.next_renewal_at,
        "ended_at": sub.ended_at,
        "updated_at": sub.updated_at,
        "currency": sub.currency,
    }


def _subscription(row: Row[Any]) -> Subscription:
    m = row._mapping
    return Subscription(
        org_id=m["org_id"],
        plan=m["plan"],
        interval=BillingInterval(m["billing_interval"]),
        anchor_kind=AnchorKind(m["anchor_kind"]),
        time_zone=m["time_zone"],
        started_at=m["started_at"],
        anchored_at=m["anchored_at"],
        anchor_no=int(m["anchor_no"]),
        signup=bool(m["signup"]),
        last_cycle=None if m["last_cycle"] is None else int(m["last_cycle"]),
        next_renewal_at=m["next_renewal_at"],
        updated_at=m["updated_at"],
        ended_at=m["ended_at"],
        currency=m["currency"],
    )


def _renewal(row: Row[Any]) -> CycleRenewal:
    m = row._mapping
    return CycleRenewal(
        org_id=m["org_id"],
        anchor_no=int(m["anchor_no"]),
        cycle=Cycle(int(m["cycle_index"]), m["cycle_start"], m["cycle_end"]),
        plan=m["plan"],
        grant_id=m["grant_id"],
        amount=int(m["amount_micros"]),
        renewed_at=m["renewed_at"],
    )


class SubscriptionRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, org_id: str) -> Subscription | None:
        row = self._conn.execute(select(t.subscriptions).where(_S.org_id == org_id)).first()
        return None if row is None else _subscription(row)

    def add(self, sub: Subscription) -> None:
        self._conn.execute(insert(t.subscriptions).values(org_id=sub.org_id, **_row(sub)))

    def save(self, sub: Subscription) -> None:
        """Write a subscription that exists already (the caller holds its org's lock)."""
        self._conn.execute(
            update(t.subscriptions).where(_S.org_id == sub.org_id).values(**_row(sub))
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
                org_id=renewal.org_id,
                anchor_no=renewal.anchor_no,
                cycle_index=renewal.cycle.index,
                plan=renewal.plan,
                cycle_start=renewal.cycle.start,
                cycle_end=renewal.cycle.end,
                grant_id=renewal.grant_id,
                amount_micros=renewal.amount,
                renewed_at=renewal.renewed_at,
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
