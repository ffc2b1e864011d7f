"""The repository of automatic and recurring top-ups (domain/topups.py): their settings
and schedules, and the purchase queries they need. SQLAlchemy Core, in the unit of work's
transaction.

Locks: the callers hold the organization's lock (``uow.balances.lock``, or the charging
group's locks) around every change of a setting, so :meth:`TopupRepository.setting` needs
none of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, func, insert, select, update

from creditline.domain.money import Money
from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.topups import AutoTopup, BuyKind, RecurringTopup, Trigger

from . import tables as t
from .billing.purchases import purchase_from_row

__all__ = ["TopupRepository"]

_TOPUPS = (Trigger.AUTOMATIC.value, Trigger.RECURRING.value)


def _setting(row: Row[Any]) -> AutoTopup:
    cap = row.monthly_cap_minor
    return AutoTopup(
        org_id=row.org_id,
        enabled=bool(row.enabled),
        threshold=row.threshold_micros,
        buy=BuyKind(row.buy),
        pack=row.pack,
        credits=row.credits_micros,
        currency=row.currency,
        monthly_cap=None if cap is None else Money(cap, row.currency),
        max_failures=row.max_failures,
        armed=bool(row.armed),
        crossings=row.crossings,
        pending_id=row.pending_id,
        failures=row.failures,
        retry_at=row.retry_at,
        last_skip=row.last_skip,
        disabled_reason=row.disabled_reason,
        updated_at=row.updated_at,
    )


def _setting_values(s: AutoTopup, now: datetime) -> dict[str, Any]:
    return {
        "enabled": s.enabled,
        "threshold_micros": s.threshold,
        "buy": s.buy.value,
        "pack": s.pack,
        "credits_micros": s.credits,
        "currency": s.currency,
        "monthly_cap_minor": None if s.monthly_cap is None else s.monthly_cap.minor,
        "max_failures": s.max_failures,
        "armed": s.armed,
        "crossings": s.crossings,
        "pending_id": s.pending_id,
        "failures": s.failures,
        "retry_at": s.retry_at,
        "last_skip": s.last_skip,
        "disabled_reason": s.disabled_reason,
        "updated_at": now,
    }


def _schedule(row: Row[Any]) -> RecurringTopup:
    return RecurringTopup(
        org_id=row.org_id,
        pack=row.pack,
        currency=row.currency,
        day=row.day_of_month,
        starts_at=row.starts_at,
        active=bool(row.active),
        last_period=row.last_period,
        updated_at=row.updated_at,
    )


class TopupRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- automatic ------------------------------------------------------------------------

    def setting(self, org_id: str) -> AutoTopup | None:
        s = t.topup_settings
        row = self._conn.execute(select(s).where(s.c.org_id == org_id)).first()
        return None if row is None else _setting(row)

    def enabled_for(self, org_ids: Sequence[str]) -> dict[str, AutoTopup]:
        """The enabled settings of ``org_ids`` (one indexed query: the charging group's)."""
        s = t.topup_settings
        rows = self._conn.execute(
            select(s).where(s.c.org_id.in_(list(org_ids)), s.c.enabled.is_(True))
        )
        return {row.org_id: _setting(row) for row in rows}

    def put_setting(self, setting: AutoTopup, now: datetime) -> None:
        s = t.topup_settings
        values = _setting_values(setting, now)
        changed = self._conn.execute(
            update(s).where(s.c.org_id == setting.org_id).values(**values)
        ).rowcount
        if not changed:
            self._conn.execute(insert(s).values(org_id=setting.org_id, **values))

    def disarm(self, setting: AutoTopup, now: datetime) -> bool:
        """Store ``setting`` (disarmed, its top-up pending) if the stored one is still
        armed with nothing in flight: the compare-and-set behind the organization's lock."""
        s = t.topup_settings
        changed = self._conn.execute(
            update(s)
            .where(s.c.org_id == setting.org_id, s.c.armed.is_(True), s.c.pending_id.is_(None))
            .values(**_setting_values(setting, now))
        ).rowcount
        return bool(changed)

    def enabled_orgs(self, limit: int, after: str | None) -> list[str]:
        s = t.topup_settings
        query = select(s.c.org_id).where(s.c.enabled.is_(True))
        if after is not None:
            query = query.where(s.c.org_id > after)
        return list(self._conn.execute(query.order_by(s.c.org_id).limit(limit)).scalars())

    def automatic_spend(self, org_id: str, currency: str, since: datetime) -> int:
        """Minor units of the automatic top-ups bought since ``since`` (pending or paid)."""
        p = t.purchases
        total = self._conn.execute(
            select(func.coalesce(func.sum(p.c.amount_minor), 0)).where(
                p.c.org_id == org_id,
                p.c.trigger == Trigger.AUTOMATIC.value,
                p.c.currency == currency,
                p.c.created_at >= since,
                p.c.status.in_([PurchaseStatus.PENDING.value, PurchaseStatus.PAID.value]),
            )
        ).scalar()
        return int(total or 0)

    def pending(self, created_before: datetime, limit: int = 100) -> list[Purchase]:
        """Top-ups still pending that were made before ``created_before``, oldest first."""
        p = t.purchases
        rows = self._conn.execute(
            select(p)
            .where(
                p.c.trigger.in_(_TOPUPS),
                p.c.status == PurchaseStatus.PENDING.value,
                p.c.created_at <= created_before,
            )
            .order_by(p.c.created_at, p.c.id)
            .limit(limit)
        )
        return [purchase_from_row(row) for row in rows]

    # -- recurring ------------------------------------------------------------------------

    def schedule(self, org_id: str) -> RecurringTopup | None:
        s = t.topup_schedules
        row = self._conn.execute(select(s).where(s.c.org_id == org_id)).first()
        return None if row is None else _schedule(row)

    def put_schedule(self, schedule: RecurringTopup, now: datetime) -> None:
        s = t.topup_schedules
        values = {
            "pack": schedule.pack,
            "currency": schedule.currency,
            "day_of_month": schedule.day,
            "starts_at": schedule.starts_at,
            "active": schedule.active,
            "last_period": schedule.last_period,
            "updated_at": now,
        }
        changed = self._conn.execute(
            update(s).where(s.c.org_id == schedule.org_id).values(**values)
        ).rowcount
        if not changed:
            self._conn.execute(insert(s).values(org_id=schedule.org_id, **values))

    def active_schedules(self, limit: int, after: str | None) -> list[RecurringTopup]:
        s = t.topup_schedules
        query = select(s).where(s.c.active.is_(True))
        if after is not None:
            query = query.where(s.c.org_id > after)
        rows = self._conn.execute(query.order_by(s.c.org_id).limit(limit))
        return [_schedule(row) for row in rows]
