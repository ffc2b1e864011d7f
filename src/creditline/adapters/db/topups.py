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

from sqlalchemy import Connection, Table, func, insert, select, update

from creditline.domain.purchases import Purchase, PurchaseStatus
from creditline.domain.topups import AutoTopup, RecurringTopup, Trigger

from . import tables as t
from .billing.purchases import purchase_from_row
from .records import Codec

__all__ = ["TopupRepository"]

_TOPUPS = (Trigger.AUTOMATIC.value, Trigger.RECURRING.value)


_SETTING = Codec(
    AutoTopup,
    columns={
        "threshold": "threshold_micros",
        "credits": "credits_micros",
        "monthly_cap": "monthly_cap_minor",
    },
)
_SCHEDULE = Codec(RecurringTopup, columns={"day": "day_of_month"})


def _values(codec: Codec[Any], record: Any, now: datetime) -> dict[str, Any]:
    """The columns of a setting or a schedule but its organization, changed ``now``."""
    return {**codec.encode(record, without={"org_id"}), "updated_at": now}


class TopupRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    # -- automatic ------------------------------------------------------------------------

    def setting(self, org_id: str) -> AutoTopup | None:
        s = t.topup_settings
        row = self._conn.execute(select(s).where(s.c.org_id == org_id)).first()
        return None if row is None else _SETTING.decode(row)

    def enabled_for(self, org_ids: Sequence[str]) -> dict[str, AutoTopup]:
        """The enabled settings of ``org_ids`` (one indexed query: the charging group's)."""
        s = t.topup_settings
        rows = self._conn.execute(
            select(s).where(s.c.org_id.in_(list(org_ids)), s.c.enabled.is_(True))
        )
        return {row.org_id: _SETTING.decode(row) for row in rows}

    def _put(self, table: Table, codec: Codec[Any], record: Any, now: datetime) -> None:
        """Store an organization's setting or schedule (``record``), changed ``now``."""
        values, org_id = _values(codec, record, now), record.org_id
        changed = self._conn.execute(
            update(table).where(table.c.org_id == org_id).values(**values)
        ).rowcount
        if not changed:
            self._conn.execute(insert(table).values(org_id=org_id, **values))

    def put_setting(self, setting: AutoTopup, now: datetime) -> None:
        self._put(t.topup_settings, _SETTING, setting, now)

    def disarm(self, setting: AutoTopup, now: datetime) -> bool:
        """Store ``setting`` (disarmed, its top-up pending) if the stored one is still
        armed with nothing in flight: the compare-and-set behind the organization's lock."""
        s = t.topup_settings
        changed = self._conn.execute(
            update(s)
            .where(s.c.org_id == setting.org_id, s.c.armed.is_(True), s.c.pending_id.is_(None))
            .values(**_values(_SETTING, setting, now))
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
        return None if row is None else _SCHEDULE.decode(row)

    def put_schedule(self, schedule: RecurringTopup, now: datetime) -> None:
        self._put(t.topup_schedules, _SCHEDULE, schedule, now)

    def active_schedules(self, limit: int, after: str | None) -> list[RecurringTopup]:
        s = t.topup_schedules
        query = select(s).where(s.c.active.is_(True))
        if after is not None:
            query = query.where(s.c.org_id > after)
        rows = self._conn.execute(query.order_by(s.c.org_id).limit(limit))
        return [_SCHEDULE.decode(row) for row in rows]
