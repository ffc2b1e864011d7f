"""The ledger: append-only entries, each moving one grant of one organization, and the
day rollup (``balance_days``) kept with every append."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Row, and_, func, or_, select

from creditline.domain.ledger import Cause, CauseType, EntryType, LedgerEntry, NewEntry
from creditline.services.ports.unit_of_work import HistoryFilter

from .. import tables as t
from ..raw import Raw
from ..records import Codec
from .rollups import bounded, upsert, utc_day
from .statements import ENTRY_COLUMNS, ROLL_DAYS

__all__ = ["LedgerRepository"]

# What usage burns (as the alerts count it): consumption and holds, net of voids and
# releases.
_BURN = frozenset({EntryType.CONSUME, EntryType.RESERVE, EntryType.RELEASE, EntryType.VOID})


def _entry_rows(
    raw: Raw, entries: Sequence[NewEntry], recorded_at: datetime
) -> list[tuple[Any, ...]]:
    """Entry tuples in the driver's terms (a batch shares few causes and instants: each
    is converted once)."""
    when = raw.when
    recorded = when(recorded_at)
    causes: dict[int, tuple[str, str]] = {}  # by identity
    rows = []
    for org_id, grant_id, kind, amount, cause, occurred, project, member, data in entries:
        pair = causes.get(id(cause))
        if pair is None:
            pair = causes[id(cause)] = (str(cause.type), cause.ref)
        rows.append(
            (org_id, grant_id, _TYPES[kind], amount, pair[0], pair[1], project, member,
             when(occurred), recorded, None if data is None else raw.json(data))
        )  # fmt: skip
    return rows


_TYPES = {kind: str(kind) for kind in EntryType}


class LedgerRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def append(self, entries: Sequence[NewEntry], recorded_at: datetime) -> None:
        """Append entries in one round trip; they get increasing ids.

        This is the hot path of every debit: the rows go to the driver in one
        ``executemany`` (SQLite) or one ``COPY`` (PostgreSQL), see raw.py.
        """
        if entries:
            rows = _entry_rows(self._raw, entries, recorded_at)
            self._raw.insert("ledger_entries", ENTRY_COLUMNS, rows)
            self._roll_days(entries, recorded_at)

    def _roll_days(self, entries: Sequence[NewEntry], recorded_at: datetime) -> None:
        """Add the entries to their organizations' ``balance_days`` row of the day."""
        moved: dict[str, list[int]] = {}
        for entry in entries:
            sums = moved.get(entry.org_id)
            if sums is None:
                sums = moved[entry.org_id] = [0, 0, 0, 0, 0]
            amount = entry.amount
            if amount > 0:
                sums[0] += amount
            else:
                sums[1] -= amount
            sums[2] += amount
            if entry.type in _BURN:
                sums[3] -= amount
            sums[4] += 1
        day = utc_day(recorded_at)
        upsert(self._raw, ROLL_DAYS, [(o, day, *bounded(moved[o])) for o in sorted(moved)])

    def history(
        self,
        org_id: str,
        limit: int = 50,
        before_id: int | None = None,
        where: HistoryFilter | None = None,
    ) -> list[LedgerEntry]:
        """Entries newest first; page on with ``before_id`` = the last id seen."""
        e = t.ledger_entries
        conditions: list[Any] = [e.c.org_id == org_id]
        if before_id is not None:
            conditions.append(e.c.id < before_id)
        if where is not None:
            conditions.extend(_history_conditions(where))
        rows = self._conn.execute(
            select(e).where(and_(*conditions)).order_by(e.c.id.desc()).limit(limit)
        )
        return [_entry(r) for r in rows]

    def sums_by_org(self) -> dict[str, int]:
        e = t.ledger_entries
        rows = self._conn.execute(
            select(e.c.org_id, func.sum(e.c.amount_micros).label("total")).group_by(e.c.org_id)
        )
        return {r.org_id: int(r.total) for r in rows}

    def misattributed(self) -> int:
        """Entries whose grant, project or member is missing or of another organization.

        Must be zero: an entry only ever touches its own organization's things (A2).
        """
        e, g, p, m = t.ledger_entries, t.grants, t.projects, t.members
        count = self._conn.execute(
            select(func.count())
            .select_from(
                e.outerjoin(g, g.c.id == e.c.grant_id)
                .outerjoin(p, p.c.id == e.c.project_id)
                .outerjoin(m, m.c.id == e.c.member_id)
            )
            .where(
                or_(
                    g.c.id.is_(None),
                    g.c.org_id != e.c.org_id,
                    and_(
                        e.c.project_id.is_not(None), or_(p.c.id.is_(None), p.c.org_id != e.c.org_id)
                    ),
                    and_(
                        e.c.member_id.is_not(None), or_(m.c.id.is_(None), m.c.org_id != e.c.org_id)
                    ),
                )
            )
        ).scalar_one()
        return int(count)


def _history_conditions(where: HistoryFilter) -> Iterable[Any]:
    e = t.ledger_entries
    if where.types:
        yield e.c.entry_type.in_([x.value for x in where.types])
    if where.grant_id:
        yield e.c.grant_id == where.grant_id
    if where.cause:
        yield e.c.cause_type == where.cause.type.value
        yield e.c.cause_ref == where.cause.ref
    if where.since:
        yield e.c.occurred_at >= where.since
    if where.until:
        yield e.c.occurred_at < where.until


_ENTRY = Codec(
    LedgerEntry, columns={"type": "entry_type", "amount": "amount_micros"}, skip={"cause"}
)


def _entry(row: Row[Any]) -> LedgerEntry:
    cause = Cause(CauseType(row.cause_type), row.cause_ref)
    return _ENTRY.decode(row, cause=cause)
