"""Reservations: holds on credits taken before the usage they are for is known, and
settled (consumed, released or expired) later."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select

from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.spending import Allocation
from creditline.domain.verification import ReservationFacts

from .. import tables as t
from ..raw import Raw
from .statements import (
    OPEN_RESERVATIONS,
    RESERVATION,
    RESERVATION_COLUMNS,
    SAVE_RESERVATION,
    Record,
    columns,
)

__all__ = [
    "ReservationRepository",
    "reservation_from_row",
    "reservation_row",
    "reservation_target",
    "settlement_row",
]


class ReservationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def add(self, res: Reservation) -> None:
        raw = self._raw
        raw.insert("reservations", RESERVATION_COLUMNS, [reservation_row(raw, res)])

    def save(self, res: Reservation, outcome: dict[str, Any] | None) -> None:
        """Store a reservation's settlement: its status, amounts, holds and outcome."""
        self._raw.run(SAVE_RESERVATION, settlement_row(self._raw, res, outcome))

    def get(
        self, org_id: str, reservation_id: str
    ) -> tuple[Reservation, dict[str, Any] | None] | None:
        raw = self._raw
        rows = raw.records(RESERVATION, (reservation_id, org_id))
        if not rows:
            return None
        row = rows[0]
        return reservation_from_row(raw, row), raw.read_json(row["outcome"])

    def open_count(self, org_id: str) -> int:
        """How many holds of the organization are open."""
        return int(self._raw.records(OPEN_RESERVATIONS, (org_id,))[0]["open_count"])

    def of_org(self, org_id: str, status: str | None = None, limit: int = 100) -> list[Reservation]:
        r = t.reservations
        query = (
            select(*columns(r, RESERVATION_COLUMNS))
            .where(r.c.org_id == org_id)
            .order_by(r.c.created_at.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(r.c.status == status)
        return [reservation_from_row(self._raw, row._mapping) for row in self._conn.execute(query)]

    def due(self, org_id: str, now: datetime) -> list[Reservation]:
        """Open reservations of an organization whose time-to-live has run out."""
        r = t.reservations
        rows = self._conn.execute(
            select(*columns(r, RESERVATION_COLUMNS))
            .where(r.c.org_id == org_id, r.c.status == "open", r.c.expires_at <= now)
            .order_by(r.c.expires_at)
        )
        return [reservation_from_row(self._raw, row._mapping) for row in rows]

    def orgs_with_due(self, now: datetime, limit: int = 1000) -> list[str]:
        r = t.reservations
        rows = self._conn.execute(
            select(r.c.org_id)
            .where(r.c.status == "open", r.c.expires_at <= now)
            .distinct()
            .order_by(r.c.org_id)
            .limit(limit)
        )
        return [row.org_id for row in rows]

    def facts(self) -> list[ReservationFacts]:
        """Every reservation with what its reserve and release entries add up to."""
        e, r = t.ledger_entries, t.reservations
        sums = (
            select(e.c.cause_ref, func.sum(e.c.amount_micros).label("total"))
            .where(
                e.c.cause_type == CauseType.RESERVATION.value,
                e.c.entry_type.in_([EntryType.RESERVE.value, EntryType.RELEASE.value]),
            )
            .group_by(e.c.cause_ref)
            .subquery()
        )
        rows = self._conn.execute(
            select(
                r.c.id, r.c.org_id, r.c.status, r.c.held_micros, r.c.holds, sums.c.total
            ).select_from(r.outerjoin(sums, sums.c.cause_ref == r.c.id))
        )
        return [
            ReservationFacts(
                row.id,
                row.org_id,
                row.status,
                int(row.held_micros),
                sum(int(a) for _, a in row.holds),
                -int(row.total or 0),
            )
            for row in rows
        ]


def reservation_from_row(raw: Raw, row: Record) -> Reservation:
    """A reservation from a row of ``RESERVATION_COLUMNS`` (SQLAlchemy's or the driver's,
    by name)."""
    settled_at, target = row["settled_at"], row["target"]
    target = raw.read_json(target) if target is not None else None
    return Reservation(
        id=row["id"],
        org_id=row["org_id"],
        status=ReservationStatus(row["status"]),
        amount=int(row["amount_micros"]),
        held=int(row["held_micros"]),
        consumed=int(row["consumed_micros"]),
        shortfall=int(row["shortfall_micros"]),
        holds=tuple(Allocation(g, int(a)) for g, a in raw.read_json(row["holds"])),
        cause=Cause(CauseType(row["cause_type"]), row["cause_ref"]),
        project_id=row["project_id"],
        member_id=row["member_id"],
        expires_at=raw.read_when(row["expires_at"]),
        created_at=raw.read_when(row["created_at"]),
        settled_at=None if settled_at is None else raw.read_when(settled_at),
        metadata=dict(raw.read_json(row["metadata"]) or {}),
        operation=None if not target else target["operation"],
        dimensions=dict(target.get("dimensions") or {}) if target else {},
        key_id=row["key_id"],
    )


def reservation_row(raw: Raw, res: Reservation) -> tuple[Any, ...]:
    """A new reservation in the driver's terms, in the order of ``RESERVATION_COLUMNS``."""
    when, dumps = raw.when, raw.json
    return (
        res.id, res.org_id, res.status.value, res.amount, res.held, res.consumed,
        res.shortfall, dumps([list(a) for a in res.holds]), res.cause.type.value,
        res.cause.ref, res.project_id, res.member_id, when(res.expires_at),
        when(res.created_at), None if res.settled_at is None else when(res.settled_at),
        dumps(res.metadata), None, reservation_target(res, dumps), res.key_id,
    )  # fmt: skip


def settlement_row(raw: Raw, res: Reservation, outcome: dict[str, Any] | None) -> tuple[Any, ...]:
    """A reservation's settlement in the driver's terms: the parameters of
    ``SAVE_RESERVATION``."""
    return (
        res.status.value, res.held, res.consumed, res.shortfall,
        raw.json([list(a) for a in res.holds]),
        None if res.settled_at is None else raw.when(res.settled_at),
        None if outcome is None else raw.json(outcome), res.id,
    )  # fmt: skip


def reservation_target(res: Reservation, dumps: Any) -> str | None:
    """What a hold is for, as stored (``None``: no operation)."""
    if res.operation is None:
        return None
    return str(dumps({"operation": res.operation, "dimensions": res.dimensions}))
