"""Usage events: each metered event with its outcome (accepted, refused, voided), what
pricing an organization's usage needs, and the usage rollup kept with every write."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any

import msgspec
from sqlalchemy import Connection, select, update

from creditline.domain.plans import DepletionPolicy, suspended_policy
from creditline.domain.spending import Allocation
from creditline.domain.usage import Metering, StoredUsage, UsageEvent, UsageStep

from .. import tables as t
from ..grace import standing
from ..raw import Raw
from .organizations import stored_order
from .plans import stored_plan, unstored_plan
from .rollups import bounded, upsert, utc_day
from .statements import (
    FLEX_USED,
    LOCK_METERING,
    METERING,
    ROLL_USAGE,
    STORED_EVENTS,
    UNNAMED_CARD,
    USAGE_COLUMNS,
    Record,
    columns,
)

__all__ = ["UsageRepository", "metering_from_row", "stored_usage_from_row"]


_ENCODE = msgspec.json.Encoder().encode
"""Stored event bodies as compact JSON (a compiled encoder: the ingest hot path)."""


def _usage_body(row: StoredUsage) -> dict[str, Any]:
    body = row.event.body()
    body["components"] = row.components
    body["allocations"] = row.allocations
    return body


def stored_usage_from_row(raw: Raw, row: Record) -> StoredUsage:
    """A stored event from a row of ``USAGE_COLUMNS`` (SQLAlchemy's or the driver's, by
    name)."""
    body = raw.read_json(row["body"])
    event = UsageEvent(
        event_id=row["event_id"],
        org_id=row["org_id"],
        operation=row["operation"],
        occurred_at=raw.read_when(row["occurred_at"]),
        quantities=dict(body["quantities"]),
        dimensions=dict(body["dimensions"]),
        project_id=row["project_id"],
        member_id=row["member_id"],
        parent_id=row["parent_id"],
        steps=tuple(UsageStep(op, dict(q), dict(d)) for op, q, d in body["steps"]),
        metadata=dict(body["metadata"]),
    )
    return StoredUsage(
        event=event,
        request_hash=row["request_hash"],
        status=row["status"],
        cost=int(row["cost_micros"]),
        reason=row["reason"],
        rate_card=row["rate_card"],
        components=tuple((op, int(c)) for op, c in body["components"]),
        allocations=tuple(Allocation(g, int(a)) for g, a in body["allocations"]),
        batch_id=row["batch_id"],
    )


def metering_from_row(raw: Raw, row: Mapping[str, Any]) -> Metering:
    """An organization's :class:`Metering` from a row of ``METERING``."""
    document, hold = row["plan_document"], row["billing_hold"]
    depletion, flex = row["depletion"], row["flex_enabled"]
    plan = stored_plan(raw.read_json(document)) if document is not None else None
    plan = plan or unstored_plan(row["plan"] or "default")
    policy = DepletionPolicy(depletion) if depletion else plan.depletion
    if hold is not None:  # suspended for an overdue invoice: the dunning policy
        policy = suspended_policy(plan)
    return Metering(
        org_id=row["org_id"],
        order=stored_order(row["consumption_order"]),
        rate_card=row["rate_card"] or UNNAMED_CARD,
        plan=plan,
        depletion=policy,
        flex_enabled=plan.flex_enabled if flex is None else bool(flex),
        entry_count=int(row["entry_count"]),
        hold=hold,
        budgeted=bool(row["budgeted"]),
        grace=None if row["grace_state"] is None else standing(raw, row),
        topping_up=bool(row["topping_up"]),
    )


class UsageRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def metering(self, org_ids: Sequence[str], lock: bool = False) -> dict[str, Metering]:
        """What pricing each organization's usage needs: order, card, plan and overrides.

        With ``lock``, the organizations are locked for this transaction too, in the
        order of their ids, so two batches never deadlock.
        """
        raw = self._raw
        rows = raw.records(LOCK_METERING if lock else METERING, (raw.in_list(sorted(org_ids)),))
        return {row["org_id"]: metering_from_row(raw, row) for row in rows}

    def existing_many(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], StoredUsage]:
        """Stored events among (organization, event id) pairs, in one query."""
        raw = self._raw
        if not keys:
            return {}
        if raw.postgres:
            params: tuple[Any, ...] = ([o for o, _ in keys], [e for _, e in keys])
        else:
            params = (json.dumps(keys),)
        found: dict[tuple[str, str], StoredUsage] = {}
        for row in raw.records(STORED_EVENTS, params):
            found[(row["org_id"], row["event_id"])] = stored_usage_from_row(raw, row)
        return found

    def get(self, org_id: str, event_id: str) -> StoredUsage | None:
        return self.existing_many([(org_id, event_id)]).get((org_id, event_id))

    def add_many(self, rows: Sequence[StoredUsage], now: datetime) -> None:
        """Store events with their outcomes in one round trip (the hot path of ingest)."""
        raw = self._raw
        when = raw.when
        recorded = when(now)
        encode = _ENCODE
        values = []
        rolled: dict[tuple[str, date, str, str, str], list[int]] = {}
        for r in rows:
            event = r.event
            if r.status == "accepted":
                key = (event.org_id, utc_day(event.at), event.project_id or "",
                       event.operation, event.member_id or "")  # fmt: skip
                sums = rolled.get(key)
                if sums is None:
                    rolled[key] = [1, r.cost]
                else:
                    sums[0] += 1
                    sums[1] += r.cost
            values.append(
                (event.org_id, event.event_id, event.operation, event.project_id,
                 event.member_id, event.parent_id, when(event.at), recorded,
                 r.status, r.cost, r.reason, r.rate_card, r.request_hash,
                 encode(_usage_body(r)).decode(), r.batch_id)
            )  # fmt: skip
        raw.insert("usage_events", USAGE_COLUMNS, values)
        upsert(raw, ROLL_USAGE, [(*k, *bounded(rolled[k])) for k in sorted(rolled)])

    def update(self, org_id: str, row: StoredUsage, now: datetime) -> None:
        """Store an event's new outcome (voided, amended), moving its usage rollup by the
        difference."""
        u = t.usage_events
        before = self._conn.execute(
            select(u.c.status, u.c.cost_micros, u.c.occurred_at, u.c.project_id,
                   u.c.operation, u.c.member_id)
            .where(u.c.org_id == org_id, u.c.event_id == row.event_id)
        ).first()  # fmt: skip
        rolled: dict[tuple[str, date, str, str, str], list[int]] = {}
        if before is not None and before.status == "accepted":
            key = (org_id, utc_day(before.occurred_at), before.project_id or "",
                   before.operation, before.member_id or "")  # fmt: skip
            rolled[key] = [-1, -int(before.cost_micros)]
        if row.status == "accepted":
            event = row.event
            key = (org_id, utc_day(event.at), event.project_id or "",
                   event.operation, event.member_id or "")  # fmt: skip
            sums = rolled.setdefault(key, [0, 0])
            sums[0] += 1
            sums[1] += row.cost
        changes = [(*k, *bounded(v)) for k, v in sorted(rolled.items()) if any(v)]
        upsert(self._raw, ROLL_USAGE, changes)
        self._conn.execute(
            update(u)
            .where(u.c.org_id == org_id, u.c.event_id == row.event_id)
            .values(status=row.status, cost_micros=row.cost, request_hash=row.request_hash,
                    body=_usage_body(row), updated_at=now)
        )  # fmt: skip

    def flex_used(self, org_id: str, ref: str) -> int:
        """Micro-credits of flex granted to an organization under ``ref`` (one month)."""
        return int(self._raw.records(FLEX_USED, (org_id, ref))[0]["used"])

    def of_org(self, org_id: str, limit: int = 100) -> list[StoredUsage]:
        u = t.usage_events
        rows = self._conn.execute(
            select(*columns(u, USAGE_COLUMNS))
            .where(u.c.org_id == org_id)
            .order_by(u.c.id.desc())
            .limit(limit)
        )
        return [stored_usage_from_row(self._raw, row._mapping) for row in rows]
