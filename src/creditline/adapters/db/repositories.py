"""Repositories: every query creditline runs lives here, in SQLAlchemy Core.

Each repository works on the connection of the unit of work that made it, so all
of one money movement's reads and writes share one transaction.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import msgspec
from sqlalchemy import (
    Column,
    Connection,
    Row,
    Table,
    and_,
    bindparam,
    func,
    insert,
    null,
    or_,
    select,
    update,
)

from creditline.domain.amounts import MAX_MICROS, CostBasis
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, LedgerEntry, NewEntry
from creditline.domain.organizations import (
    Member,
    Organization,
    Project,
    parse_consumption_order,
)
from creditline.domain.plans import DepletionPolicy, Plan, parse_plan, suspended_policy
from creditline.domain.pricing import RateCard, RateCardHistory
from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.spending import Allocation
from creditline.domain.usage import Metering, StoredUsage, UsageEvent, UsageStep
from creditline.domain.verification import GrantFacts, ReservationFacts, ScopedUse

from . import tables as t
from .raw import IN_LIST, Raw, Sql

__all__ = [
    "BalanceRepository",
    "GrantRepository",
    "HistoryFilter",
    "IdempotencyRepository",
    "LedgerRepository",
    "OrganizationRepository",
    "RateCardRepository",
    "PlanRepository",
    "ReservationRepository",
    "UsageRepository",
]


# The statements of the hot paths (see raw.py): every debit, reservation and usage batch.
_LOCK_BALANCE = Sql(
    "SELECT balance_micros, entry_count FROM balances WHERE org_id = ?",
    "SELECT balance_micros, entry_count FROM balances WHERE org_id = ? FOR UPDATE",
)
_MOVE_BALANCE = Sql(
    "UPDATE balances SET balance_micros = balance_micros + ?, entry_count = entry_count + ?, "
    "held_micros = held_micros + ?, updated_at = ? WHERE org_id = ?"
)
_ORG = select(t.organizations).where(t.organizations.c.id == bindparam("org_id"))
_GRANT_COLUMNS = (
    "id", "org_id", "kind", "amount_micros", "remaining_micros", "effective_at", "expires_at",
    "source_type", "source_ref", "cost_unit_price_minor", "cost_currency", "metadata",
    "created_at", "seq", "scope",
)  # fmt: skip
_ACTIVE_GRANTS = Sql(
    f"SELECT {', '.join(_GRANT_COLUMNS)} FROM grants "
    f"WHERE org_id {IN_LIST} AND remaining_micros > 0 ORDER BY created_at, seq"
)
_MOVE_GRANT = Sql("UPDATE grants SET remaining_micros = remaining_micros + ? WHERE id = ?")
# PostgreSQL moves many rows in one statement (an executemany is a round trip per row).
_MOVE_GRANTS_PG = Sql(
    "",
    "UPDATE grants g SET remaining_micros = g.remaining_micros + d.delta "
    "FROM unnest(?::text[], ?::bigint[]) AS d(id, delta) WHERE g.id = d.id",
)
_MOVE_BALANCES_PG = Sql(
    "",
    "UPDATE balances b SET balance_micros = b.balance_micros + d.delta, "
    "entry_count = b.entry_count + d.entries, updated_at = ? "
    "FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS d(org_id, delta, entries) "
    "WHERE b.org_id = d.org_id",
)

# The rollups (tables.usage_rollups, tables.balance_days) are kept by one upsert per
# transaction: its rows are summed per key in Python first, so no key comes twice. A cache
# must never fail a money movement, so every sum saturates at the 64-bit range (a bound
# no real day's flows come near) instead of overflowing: PostgreSQL would refuse the
# movement, SQLite would turn the sum into a float.


def _saturating(table: str, columns: Sequence[str]) -> str:
    """``SET column = column + excluded.column`` for each column, kept in the range
    ``[-MAX_MICROS, MAX_MICROS]`` without an intermediate overflow."""
    top = MAX_MICROS
    return ", ".join(
        f"{c} = CASE WHEN excluded.{c} > 0 AND {table}.{c} > {top} - excluded.{c} THEN {top} "
        f"WHEN excluded.{c} < 0 AND {table}.{c} < -{top} - excluded.{c} THEN -{top} "
        f"ELSE {table}.{c} + excluded.{c} END"
        for c in columns
    )


def _clamped(value: int) -> int:
    return MAX_MICROS if value > MAX_MICROS else -MAX_MICROS if value < -MAX_MICROS else value


_ROLL_USAGE_COLUMNS = "org_id, day, project_id, operation, member_id, events, cost_micros"
_ROLL_USAGE_UPDATE = (
    " ON CONFLICT (org_id, day, project_id, operation, member_id) DO UPDATE SET "
    + _saturating("usage_rollups", ("events", "cost_micros"))
)
_ROLL_USAGE = Sql(
    f"INSERT INTO usage_rollups ({_ROLL_USAGE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    + _ROLL_USAGE_UPDATE,
    f"INSERT INTO usage_rollups ({_ROLL_USAGE_COLUMNS}) SELECT * FROM unnest(?::text[], "
    "?::date[], ?::text[], ?::text[], ?::text[], ?::bigint[], ?::bigint[])" + _ROLL_USAGE_UPDATE,
)
_DAY_SUMS = ("credited_micros", "debited_micros", "net_micros", "burnt_micros", "entries")
_ROLL_DAYS_COLUMNS = f"org_id, day, {', '.join(_DAY_SUMS)}"
_ROLL_DAYS_UPDATE = " ON CONFLICT (org_id, day) DO UPDATE SET " + _saturating(
    "balance_days", _DAY_SUMS
)
_ROLL_DAYS = Sql(
    f"INSERT INTO balance_days ({_ROLL_DAYS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    + _ROLL_DAYS_UPDATE,
    f"INSERT INTO balance_days ({_ROLL_DAYS_COLUMNS}) SELECT * FROM unnest(?::text[], "
    "?::date[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])"
    + _ROLL_DAYS_UPDATE,
)
# What usage burns (as the alerts count it): consumption and holds, net of voids and
# releases.
_BURN = frozenset({EntryType.CONSUME, EntryType.RESERVE, EntryType.RELEASE, EntryType.VOID})


def _utc_day(moment: datetime) -> date:
    return (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).date()


def _upsert(raw: Raw, sql: Sql, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run a rollup upsert: one ``unnest`` statement on PostgreSQL (columns as arrays),
    an ``executemany`` with the days as ISO text on SQLite. ``rows[i][1]`` is the day."""
    if not rows:
        return
    if raw.postgres:
        raw.run(sql, [list(column) for column in zip(*rows, strict=True)])
    else:
        raw.many(sql, [(r[0], r[1].isoformat(), *r[2:]) for r in rows])


def _sums(values: Sequence[int]) -> tuple[int, ...]:
    """One transaction's sums for a rollup row, each within the 64-bit range."""
    return tuple(v if -MAX_MICROS <= v <= MAX_MICROS else _clamped(v) for v in values)


class OrganizationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, org: Organization) -> None:
        self._conn.execute(
            insert(t.organizations).values(
                id=org.id,
                name=org.name,
                external_ref=org.external_ref,
                consumption_order=",".join(k.value for k in org.consumption_order),
                metadata=org.metadata,
                created_at=org.created_at,
                country=org.country,
            )
        )
        self._conn.execute(
            insert(t.balances).values(
                org_id=org.id, balance_micros=0, entry_count=0, updated_at=org.created_at
            )
        )

    def get(self, org_id: str) -> Organization | None:
        row = self._conn.execute(_ORG, {"org_id": org_id}).first()
        return _org(row) if row else None

    def get_by_external_ref(self, ref: str) -> Organization | None:
        row = self._conn.execute(
            select(t.organizations).where(t.organizations.c.external_ref == ref)
        ).first()
        return _org(row) if row else None

    def name_taken(self, name: str) -> bool:
        found = self._conn.execute(
            select(t.organizations.c.id).where(t.organizations.c.name == name)
        ).first()
        return found is not None

    def update(self, org: Organization) -> None:
        """Store an organization's changeable fields: its name and country."""
        o = t.organizations
        self._conn.execute(
            update(o).where(o.c.id == org.id).values(name=org.name, country=org.country)
        )

    def page(self, limit: int = 100, after_id: str | None = None) -> list[Organization]:
        query = select(t.organizations).order_by(t.organizations.c.id).limit(limit)
        if after_id:
            query = query.where(t.organizations.c.id > after_id)
        return [_org(r) for r in self._conn.execute(query)]

    def add_project(self, project: Project) -> None:
        self._conn.execute(insert(t.projects).values(**_fields(project)))

    def add_member(self, member: Member) -> None:
        self._conn.execute(insert(t.members).values(**_fields(member)))

    def project(self, org_id: str, project_id: str) -> Project | None:
        row = self._conn.execute(
            select(t.projects).where(t.projects.c.id == project_id, t.projects.c.org_id == org_id)
        ).first()
        return Project(**row._mapping) if row else None

    def member(self, org_id: str, member_id: str) -> Member | None:
        row = self._conn.execute(
            select(t.members).where(t.members.c.id == member_id, t.members.c.org_id == org_id)
        ).first()
        return Member(**row._mapping) if row else None

    def projects(self, org_id: str) -> list[Project]:
        rows = self._conn.execute(
            select(t.projects).where(t.projects.c.org_id == org_id).order_by(t.projects.c.name)
        )
        return [Project(**r._mapping) for r in rows]

    def members(self, org_id: str) -> list[Member]:
        rows = self._conn.execute(
            select(t.members).where(t.members.c.org_id == org_id).order_by(t.members.c.name)
        )
        return [Member(**r._mapping) for r in rows]


class BalanceRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def lock(self, org_id: str) -> tuple[int, int] | None:
        """Lock the organization's balance row for this transaction.

        Returns (balance, entry count), or None when there is no such organization.

        On PostgreSQL this is a row lock held to commit; on SQLite the transaction
        already holds the database write lock (BEGIN IMMEDIATE).
        """
        rows = self._raw.rows(_LOCK_BALANCE, (org_id,))
        return (int(rows[0][0]), int(rows[0][1])) if rows else None

    def apply_many(self, moves: Sequence[tuple[str, int, int]], now: datetime) -> None:
        """Apply (org, balance delta, entry count) for several organizations in one go."""
        raw = self._raw
        when = raw.when(now)
        if raw.postgres and len(moves) > 1:
            orgs, deltas, counts = (list(column) for column in zip(*moves, strict=True))
            raw.run(_MOVE_BALANCES_PG, (when, orgs, deltas, counts))
        else:
            raw.many(_MOVE_BALANCE, [(d, n, 0, when, o) for o, d, n in moves])

    def get(self, org_id: str) -> tuple[int, int, int] | None:
        """(balance, entry count, held) of an organization, without locking."""
        b = t.balances.c
        row = self._conn.execute(
            select(b.balance_micros, b.entry_count, b.held_micros).where(b.org_id == org_id)
        ).first()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def apply(self, org_id: str, delta: int, entries: int, now: datetime, held: int = 0) -> None:
        """Add ``delta`` to the balance, ``entries`` to its count and ``held`` to its holds."""
        self._raw.run(_MOVE_BALANCE, (delta, entries, held, self._raw.when(now), org_id))

    def all(self) -> dict[str, int]:
        rows = self._conn.execute(select(t.balances.c.org_id, t.balances.c.balance_micros))
        return {r[0]: int(r[1]) for r in rows}

    def all_held(self) -> dict[str, int]:
        rows = self._conn.execute(select(t.balances.c.org_id, t.balances.c.held_micros))
        return {r[0]: int(r[1]) for r in rows}


class GrantRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def add(self, grant_id: str, new: NewGrant, created_at: datetime, seq: int) -> Grant:
        basis = new.cost_basis
        self._conn.execute(
            insert(t.grants).values(
                id=grant_id,
                org_id=new.org_id,
                kind=new.kind.value,
                amount_micros=new.amount,
                remaining_micros=new.amount,
                effective_at=new.effective_at,
                expires_at=new.expires_at,
                source_type=new.source.type.value,
                source_ref=new.source.ref,
                cost_unit_price_minor=basis.unit_price_minor if basis else None,
                cost_currency=basis.currency if basis else None,
                metadata=new.metadata,
                created_at=created_at,
                seq=seq,
                scope=null() if new.scope is None else new.scope.to_document(),
            )
        )
        return Grant(
            id=grant_id,
            org_id=new.org_id,
            kind=new.kind,
            amount=new.amount,
            remaining=new.amount,
            effective_at=new.effective_at,
            expires_at=new.expires_at,
            source=new.source,
            cost_basis=basis,
            created_at=created_at,
            metadata=dict(new.metadata),
            seq=seq,
            scope=new.scope,
        )

    def get(self, org_id: str, grant_id: str) -> Grant | None:
        g = t.grants
        row = self._conn.execute(
            select(*_columns(g, _GRANT_COLUMNS)).where(g.c.id == grant_id, g.c.org_id == org_id)
        ).first()
        return _raw_grant(self._raw, row) if row else None

    def of_org(self, org_id: str, include_spent: bool = True) -> list[Grant]:
        g = t.grants
        query = select(*_columns(g, _GRANT_COLUMNS)).where(g.c.org_id == org_id)
        if not include_spent:
            query = query.where(g.c.remaining_micros > 0)
        query = query.order_by(g.c.created_at, g.c.seq)
        return [_raw_grant(self._raw, row) for row in self._conn.execute(query)]

    def active(self, org_id: str) -> list[Grant]:
        """The organization's grants with credits left (served by a partial index)."""
        return self.active_many([org_id]).get(org_id, [])

    def apply(self, deltas: Mapping[str, int]) -> None:
        """Add each signed delta to its grant's remaining (a check constraint keeps 0..amount)."""
        moves = [(d, g) for g, d in deltas.items() if d]
        raw = self._raw
        if raw.postgres and len(moves) > 1:
            raw.run(_MOVE_GRANTS_PG, ([g for _, g in moves], [d for d, _ in moves]))
        else:
            raw.many(_MOVE_GRANT, moves)

    def active_many(self, org_ids: Sequence[str]) -> dict[str, list[Grant]]:
        """The grants with credits left of several organizations, by organization."""
        raw = self._raw
        found: dict[str, list[Grant]] = {}
        for row in raw.rows(_ACTIVE_GRANTS, (raw.in_list(org_ids),)):
            grant = _raw_grant(raw, row)
            found.setdefault(grant.org_id, []).append(grant)
        return found

    def orgs_with_due(self, now: datetime, limit: int = 1000) -> list[str]:
        """Organizations holding a grant whose expiry has passed and that still has credits."""
        rows = self._conn.execute(
            select(t.grants.c.org_id)
            .where(
                t.grants.c.remaining_micros > 0,
                t.grants.c.expires_at.is_not(None),
                t.grants.c.expires_at <= now,
            )
            .distinct()
            .order_by(t.grants.c.org_id)
            .limit(limit)
        )
        return [r[0] for r in rows]

    def scoped_uses(self) -> tuple[dict[str, GrantScope], list[ScopedUse]]:
        """Every scoped grant's scope, and every use of one (for verification): the
        allocations of accepted usage events on them, and the reserve entries on them
        with what their hold was for. Reads only organizations with scoped grants."""
        g, u, e, r = t.grants, t.usage_events, t.ledger_entries, t.reservations
        rows = self._conn.execute(
            select(g.c.id, g.c.org_id, g.c.scope).where(g.c.scope.is_not(None))
        )
        scopes: dict[str, GrantScope] = {}
        orgs: set[str] = set()
        for grant_id, org_id, stored in rows:
            scope = _scope(stored)
            if scope is not None:
                scopes[grant_id] = scope
                orgs.add(org_id)
        if not scopes:
            return scopes, []
        uses: list[ScopedUse] = []
        events = self._conn.execute(
            select(u.c.event_id, u.c.operation, u.c.body).where(
                u.c.org_id.in_(sorted(orgs)), u.c.status == "accepted"
            )
        )
        for event_id, operation, body in events:
            data = self._raw.read_json(body)
            dims = data.get("dimensions") or {}
            uses.extend(
                ScopedUse(grant_id, f"usage event {event_id}", operation, dims)
                for grant_id, _ in data.get("allocations") or ()
                if grant_id in scopes
            )
        holds = self._conn.execute(
            select(e.c.grant_id, r.c.id, r.c.target)
            .select_from(e.join(r, r.c.id == e.c.cause_ref))
            .where(
                e.c.org_id.in_(sorted(orgs)),
                e.c.entry_type == EntryType.RESERVE.value,
                e.c.cause_type == CauseType.RESERVATION.value,
            )
        )
        for grant_id, res_id, target in holds:
            if grant_id in scopes:
                what = self._raw.read_json(target) if target is not None else None
                uses.append(
                    ScopedUse(grant_id, f"reservation {res_id}",
                              what["operation"] if what else None,
                              (what or {}).get("dimensions") or {})
                )  # fmt: skip
        return scopes, uses

    def facts(self) -> list[GrantFacts]:
        """Every grant with the sums of its entries, for verification."""
        e = t.ledger_entries
        sums = (
            select(
                e.c.grant_id,
                func.sum(e.c.amount_micros).label("total"),
                func.sum(e.c.amount_micros)
                .filter(e.c.entry_type == EntryType.GRANT.value)
                .label("granted"),
            )
            .group_by(e.c.grant_id)
            .subquery()
        )
        rows = self._conn.execute(
            select(
                t.grants.c.id,
                t.grants.c.org_id,
                t.grants.c.amount_micros,
                t.grants.c.remaining_micros,
                sums.c.total,
                sums.c.granted,
            ).select_from(t.grants.outerjoin(sums, sums.c.grant_id == t.grants.c.id))
        )
        return [
            GrantFacts(r[0], r[1], int(r[2]), int(r[3]), int(r[4] or 0), int(r[5] or 0))
            for r in rows
        ]


@dataclass(frozen=True, slots=True)
class HistoryFilter:
    """Which entries of an organization to list."""

    types: Sequence[EntryType] = ()
    grant_id: str | None = None
    cause: Cause | None = None
    since: datetime | None = None
    until: datetime | None = None


_ENTRY_COLUMNS = (
    "org_id", "grant_id", "entry_type", "amount_micros", "cause_type", "cause_ref",
    "project_id", "member_id", "occurred_at", "recorded_at", "metadata",
)  # fmt: skip


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
            self._raw.insert("ledger_entries", _ENTRY_COLUMNS, rows)
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
        day = _utc_day(recorded_at)
        _upsert(self._raw, _ROLL_DAYS, [(o, day, *_sums(moved[o])) for o in sorted(moved)])

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
            select(e.c.org_id, func.sum(e.c.amount_micros)).group_by(e.c.org_id)
        )
        return {r[0]: int(r[1]) for r in rows}

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


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, org_id: str, key: str) -> tuple[str, dict[str, Any]] | None:
        k = t.idempotency_keys
        row = self._conn.execute(
            select(k.c.request_hash, k.c.outcome).where(k.c.org_id == org_id, k.c.key == key)
        ).first()
        return None if row is None else (row[0], dict(row[1]))

    def put_many(
        self, org_id: str, items: Sequence[tuple[str, str, dict[str, Any]]], now: datetime
    ) -> None:
        """Store (key, request hash, outcome) triples; the primary key refuses a second copy."""
        if items:
            self._conn.execute(
                insert(t.idempotency_keys),
                [
                    {"org_id": org_id, "key": k, "request_hash": h, "outcome": o, "created_at": now}
                    for k, h, o in items
                ],
            )


def _fields(obj: Any) -> dict[str, Any]:
    return {name: getattr(obj, name) for name in obj.__slots__}


def _org(row: Row[Any]) -> Organization:
    m = row._mapping
    return Organization(
        id=m["id"],
        name=m["name"],
        external_ref=m["external_ref"],
        consumption_order=parse_consumption_order(m["consumption_order"]),
        created_at=m["created_at"],
        metadata=dict(m["metadata"] or {}),
        country=m["country"],
    )


def _columns(table: Table, names: Sequence[str]) -> list[Column[Any]]:
    """``table``'s columns by name, in the order of ``names`` (a row reader's layout)."""
    return [table.c[name] for name in names]


def _raw_grant(raw: Raw, row: Sequence[Any]) -> Grant:
    """A grant from a row of ``_GRANT_COLUMNS``."""
    (grant_id, org_id, kind, amount, remaining, effective_at, expires_at, source_type,
     source_ref, unit_price, currency, metadata, created_at, seq, scope) = row  # fmt: skip
    return Grant(
        id=grant_id,
        org_id=org_id,
        kind=_KINDS[kind],
        amount=int(amount),
        remaining=int(remaining),
        effective_at=raw.read_when(effective_at),
        expires_at=None if expires_at is None else raw.read_when(expires_at),
        source=GrantSource(_SOURCES[source_type], source_ref),
        cost_basis=None if currency is None else CostBasis(int(unit_price), currency),
        created_at=raw.read_when(created_at),
        metadata=dict(raw.read_json(metadata)) if metadata not in (None, "{}") else {},
        seq=int(seq),
        scope=None if scope is None else _scope(scope),
    )


def _scope(stored: Any) -> GrantScope | None:
    """A stored scope (a JSON 'null' is none; a stored scope was valid when written)."""
    text = stored if isinstance(stored, str) else json.dumps(stored, sort_keys=True)
    return _parsed_scope(text)


@functools.lru_cache(maxsize=1024)
def _parsed_scope(text: str) -> GrantScope | None:
    value = json.loads(text)
    return None if value is None else parse_scope(value)


_KINDS = {kind.value: kind for kind in GrantKind}
_SOURCES = {source.value: source for source in SourceType}


def _entry(row: Row[Any]) -> LedgerEntry:
    m = row._mapping
    return LedgerEntry(
        id=int(m["id"]),
        org_id=m["org_id"],
        grant_id=m["grant_id"],
        type=EntryType(m["entry_type"]),
        amount=int(m["amount_micros"]),
        cause=Cause(CauseType(m["cause_type"]), m["cause_ref"]),
        occurred_at=m["occurred_at"],
        recorded_at=m["recorded_at"],
        project_id=m["project_id"],
        member_id=m["member_id"],
        metadata=dict(m["metadata"] or {}),
    )


_RESERVATION_COLUMNS = (
    "id", "org_id", "status", "amount_micros", "held_micros", "consumed_micros",
    "shortfall_micros", "holds", "cause_type", "cause_ref", "project_id", "member_id",
    "expires_at", "created_at", "settled_at", "metadata", "outcome", "target",
)  # fmt: skip
_RESERVATION = Sql(
    f"SELECT {', '.join(_RESERVATION_COLUMNS)} FROM reservations WHERE id = ? AND org_id = ?"
)
_SAVE_RESERVATION = Sql(
    "UPDATE reservations SET status = ?, held_micros = ?, consumed_micros = ?, "
    "shortfall_micros = ?, holds = ?, settled_at = ?, outcome = ? WHERE id = ?"
)
_OPEN_RESERVATIONS = Sql("SELECT COUNT(*) FROM reservations WHERE org_id = ? AND status = 'open'")


class ReservationRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def add(self, res: Reservation) -> None:
        raw = self._raw
        when, dumps = raw.when, raw.json
        row = (
            res.id, res.org_id, res.status.value, res.amount, res.held, res.consumed,
            res.shortfall, dumps([list(a) for a in res.holds]), res.cause.type.value,
            res.cause.ref, res.project_id, res.member_id, when(res.expires_at),
            when(res.created_at), None if res.settled_at is None else when(res.settled_at),
            dumps(res.metadata), None, reservation_target(res, dumps),
        )  # fmt: skip
        raw.insert("reservations", _RESERVATION_COLUMNS, [row])

    def save(self, res: Reservation, outcome: dict[str, Any] | None) -> None:
        """Store a reservation's settlement: its status, amounts, holds and outcome."""
        raw = self._raw
        settled = None if res.settled_at is None else raw.when(res.settled_at)
        raw.run(
            _SAVE_RESERVATION,
            (res.status.value, res.held, res.consumed, res.shortfall,
             raw.json([list(a) for a in res.holds]), settled,
             None if outcome is None else raw.json(outcome), res.id),
        )  # fmt: skip

    def get(
        self, org_id: str, reservation_id: str
    ) -> tuple[Reservation, dict[str, Any] | None] | None:
        raw = self._raw
        rows = raw.rows(_RESERVATION, (reservation_id, org_id))
        if not rows:
            return None
        row = rows[0]
        return _raw_reservation(raw, row), raw.read_json(row[16])

    def open_count(self, org_id: str) -> int:
        """How many holds of the organization are open."""
        return int(self._raw.rows(_OPEN_RESERVATIONS, (org_id,))[0][0])

    def of_org(self, org_id: str, status: str | None = None, limit: int = 100) -> list[Reservation]:
        r = t.reservations
        query = (
            select(*_columns(r, _RESERVATION_COLUMNS))
            .where(r.c.org_id == org_id)
            .order_by(r.c.created_at.desc())
            .limit(limit)
        )
        if status is not None:
            query = query.where(r.c.status == status)
        return [_raw_reservation(self._raw, row) for row in self._conn.execute(query)]

    def due(self, org_id: str, now: datetime) -> list[Reservation]:
        """Open reservations of an organization whose time-to-live has run out."""
        r = t.reservations
        rows = self._conn.execute(
            select(*_columns(r, _RESERVATION_COLUMNS))
            .where(r.c.org_id == org_id, r.c.status == "open", r.c.expires_at <= now)
            .order_by(r.c.expires_at)
        )
        return [_raw_reservation(self._raw, row) for row in rows]

    def orgs_with_due(self, now: datetime, limit: int = 1000) -> list[str]:
        r = t.reservations
        rows = self._conn.execute(
            select(r.c.org_id)
            .where(r.c.status == "open", r.c.expires_at <= now)
            .distinct()
            .order_by(r.c.org_id)
            .limit(limit)
        )
        return [row[0] for row in rows]

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
                row[0],
                row[1],
                row[2],
                int(row[3]),
                sum(int(a) for _, a in row[4]),
                -int(row[5] or 0),
            )
            for row in rows
        ]


def _raw_reservation(raw: Raw, row: Sequence[Any]) -> Reservation:
    """A reservation from a row of ``_RESERVATION_COLUMNS``."""
    settled_at = row[14]
    target = raw.read_json(row[17]) if row[17] is not None else None
    return Reservation(
        id=row[0],
        org_id=row[1],
        status=ReservationStatus(row[2]),
        amount=int(row[3]),
        held=int(row[4]),
        consumed=int(row[5]),
        shortfall=int(row[6]),
        holds=tuple(Allocation(g, int(a)) for g, a in raw.read_json(row[7])),
        cause=Cause(CauseType(row[8]), row[9]),
        project_id=row[10],
        member_id=row[11],
        expires_at=raw.read_when(row[12]),
        created_at=raw.read_when(row[13]),
        settled_at=None if settled_at is None else raw.read_when(settled_at),
        metadata=dict(raw.read_json(row[15]) or {}),
        operation=None if not target else target["operation"],
        dimensions=dict(target.get("dimensions") or {}) if target else {},
    )


def reservation_target(res: Reservation, dumps: Any) -> str | None:
    """What a hold is for, as stored (``None``: no operation)."""
    if res.operation is None:
        return None
    return str(dumps({"operation": res.operation, "dimensions": res.dimensions}))


# -- rate cards ---------------------------------------------------------------------------


_HISTORIES: dict[tuple[str, str, tuple[tuple[str, str], ...]], RateCardHistory] = {}


_STAMPS = Sql("SELECT version, loaded_at FROM rate_cards WHERE name = ? ORDER BY effective_from")


def _database(conn: Connection) -> str:
    """Which database a connection is to, as text (cached per engine)."""
    engine = conn.engine
    label: str | None = engine.__dict__.get("_creditline_label")
    if label is None:
        label = engine.url.render_as_string(hide_password=True)
        engine.__dict__["_creditline_label"] = label
    return label


class RateCardRepository:
    """Stored rate card versions, and the card each organization's usage is priced by.

    A version is stored in document form (:meth:`RateCard.to_dict`) and read back with
    :func:`parse_ratecard`; a parsed document is cached by its text, so pricing many
    events by one version parses it once.
    """

    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._raw = Raw(conn)

    def lock(self, name: str) -> None:
        """Serialize loading versions of card ``name`` until this transaction ends.

        On PostgreSQL a transaction-level advisory lock on the name (there may be no row
        to lock yet); on SQLite the transaction already holds the write lock.
        """
        if self._conn.dialect.name == "postgresql":
            key = func.hashtextextended(f"creditline.rate_card:{name}", 0)
            self._conn.execute(select(func.pg_advisory_xact_lock(key)))

    def add(self, card: RateCard, loaded_at: datetime) -> None:
        """Store a new version; the primary key refuses a second (name, version)."""
        self._conn.execute(
            insert(t.rate_cards).values(
                name=card.name,
                version=card.version,
                effective_from=card.effective_from,
                document=card.to_dict(),
                loaded_at=loaded_at,
            )
        )

    def get(self, name: str, version: str) -> RateCard | None:
        r = t.rate_cards
        row = self._conn.execute(
            select(r.c.document).where(r.c.name == name, r.c.version == version)
        ).first()
        return None if row is None else _rate_card(row[0])

    def versions(self, name: str) -> list[RateCard]:
        """Every version of card ``name``, in order of effective time (none: empty)."""
        r = t.rate_cards
        rows = self._conn.execute(
            select(r.c.document).where(r.c.name == name).order_by(r.c.effective_from)
        )
        return [_rate_card(row[0]) for row in rows]

    def history(self, name: str) -> RateCardHistory | None:
        """The versions of card ``name`` as a history, or None when there are none.

        A stored version never changes, so the parsed history is kept per process and
        only the list of versions (one small query) is read on each call.
        """
        stamp = tuple(
            (version, str(loaded)) for version, loaded in self._raw.rows(_STAMPS, (name,))
        )
        if not stamp:
            return None
        key = (_database(self._conn), name, stamp)
        cached = _HISTORIES.get(key)
        if cached is None:
            versions = self.versions(name)
            cached = RateCardHistory(tuple(versions))
            if len(_HISTORIES) > 256:
                _HISTORIES.clear()
            _HISTORIES[key] = cached
        return cached

    def in_force(self, name: str, at: datetime) -> RateCard | None:
        """The version of ``name`` in force at ``at``: the latest starting at or before it."""
        r = t.rate_cards
        row = self._conn.execute(
            select(r.c.document)
            .where(r.c.name == name, r.c.effective_from <= at)
            .order_by(r.c.effective_from.desc())
            .limit(1)
        ).first()
        return None if row is None else _rate_card(row[0])

    def exists(self, name: str) -> bool:
        r = t.rate_cards
        return (
            self._conn.execute(select(r.c.name).where(r.c.name == name).limit(1)).first()
            is not None
        )

    def names(self) -> list[str]:
        r = t.rate_cards
        return [
            row[0] for row in self._conn.execute(select(r.c.name).distinct().order_by(r.c.name))
        ]

    def histories(self) -> list[RateCardHistory]:
        """Every card's history, by name."""
        r = t.rate_cards
        rows = self._conn.execute(
            select(r.c.name, r.c.document).order_by(r.c.name, r.c.effective_from)
        )
        by_name: dict[str, list[RateCard]] = {}
        for name, document in rows:
            by_name.setdefault(name, []).append(_rate_card(document))
        return [RateCardHistory(tuple(versions)) for versions in by_name.values()]

    def org_card(self, org_id: str) -> str | None:
        """The card name set on the organization; None when unset (or no such organization)."""
        o = t.organizations
        row = self._conn.execute(select(o.c.rate_card).where(o.c.id == org_id)).first()
        return None if row is None else row[0]

    def assign(self, org_id: str, name: str | None) -> bool:
        """Set the organization's card name (None: the default); whether it exists."""
        o = t.organizations
        done = self._conn.execute(update(o).where(o.c.id == org_id).values(rate_card=name))
        return bool(done.rowcount)


@functools.lru_cache(maxsize=256)
def _order(text: str) -> tuple[GrantKind, ...]:
    return parse_consumption_order(text)


@functools.lru_cache(maxsize=256)
def _unstored_plan(name: str) -> Plan:
    """The plan of an organization whose plan is not stored: every default."""
    return Plan(name)


@functools.lru_cache(maxsize=256)
def _parse_plan_text(text: str) -> Plan:
    return parse_plan(json.loads(text))


def _plan(document: Any) -> Plan:
    """A stored plan; a parsed plan is kept per document (plans are immutable)."""
    return _parse_plan_text(json.dumps(document, sort_keys=True, separators=(",", ":")))


def _rate_card(document: Any) -> RateCard:
    return _parse_stored_card(json.dumps(document, separators=(",", ":")))


@functools.lru_cache(maxsize=256)
def _parse_stored_card(text: str) -> RateCard:
    # Keyed by the whole document, not (name, version): two databases may hold different
    # documents under one label. A RateCard is immutable, so sharing one is safe.
    return parse_ratecard(text, syntax="json")


class PlanRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def put(self, plan: Plan, now: datetime) -> None:
        """Store a plan, replacing the one of the same name."""
        document = plan.to_dict()
        p = t.plans
        updated = self._conn.execute(
            update(p).where(p.c.name == plan.name).values(document=document, updated_at=now)
        )
        if updated.rowcount == 0:
            self._conn.execute(insert(p).values(name=plan.name, document=document, updated_at=now))

    def get(self, name: str) -> Plan | None:
        row = self._conn.execute(select(t.plans.c.document).where(t.plans.c.name == name)).first()
        return None if row is None else parse_plan(row[0])

    def names(self) -> list[str]:
        return [r[0] for r in self._conn.execute(select(t.plans.c.name).order_by(t.plans.c.name))]

    def assign(
        self, org_id: str, plan: str | None, depletion: str | None, flex: bool | None
    ) -> None:
        self._conn.execute(
            update(t.organizations)
            .where(t.organizations.c.id == org_id)
            .values(plan=plan, depletion=depletion, flex_enabled=flex)
        )


_USAGE_COLUMNS = (
    "org_id", "event_id", "operation", "project_id", "member_id", "parent_id", "occurred_at",
    "recorded_at", "status", "cost_micros", "reason", "rate_card", "request_hash", "body",
    "batch_id",
)  # fmt: skip
_USAGE_SELECT = ", ".join(_USAGE_COLUMNS)
_METERING_TEXT = (
    "SELECT o.id, o.consumption_order, o.rate_card, o.plan, o.depletion, o.flex_enabled, "
    "p.document, b.entry_count, o.billing_hold "
    "FROM balances b JOIN organizations o ON o.id = b.org_id "
    f"LEFT JOIN plans p ON p.name = o.plan WHERE b.org_id {IN_LIST} ORDER BY b.org_id"
)
_METERING = Sql(_METERING_TEXT)
# SQLite's write transaction holds the lock already; PostgreSQL locks the balance rows.
_LOCK_METERING = Sql(_METERING_TEXT, _METERING_TEXT + " FOR UPDATE OF b")
_STORED_EVENTS = Sql(
    f"SELECT {', '.join('u.' + c for c in _USAGE_COLUMNS)} FROM json_each(?) k JOIN usage_events u "
    "ON u.org_id = json_extract(k.value, '$[0]') AND u.event_id = json_extract(k.value, '$[1]')",
    f"SELECT {', '.join('u.' + c for c in _USAGE_COLUMNS)} FROM unnest(?::text[], ?::text[]) "
    "AS k(org_id, event_id) JOIN usage_events u "
    "ON u.org_id = k.org_id AND u.event_id = k.event_id",
)
_FLEX_USED = Sql(
    "SELECT COALESCE(SUM(amount_micros), 0) FROM grants "
    "WHERE org_id = ? AND kind = 'flex' AND source_ref = ?"
)


_ENCODE = msgspec.json.Encoder().encode
"""Stored event bodies as compact JSON (a compiled encoder: the ingest hot path)."""


def _usage_body(row: StoredUsage) -> dict[str, Any]:
    body = row.event.body()
    body["components"] = row.components
    body["allocations"] = row.allocations
    return body


def _stored_usage(raw: Raw, row: Sequence[Any]) -> StoredUsage:
    """A stored event from a row of ``_USAGE_COLUMNS``."""
    (org_id, event_id, operation, project_id, member_id, parent_id, occurred_at, _recorded,
     status, cost, reason, rate_card, request_hash, body, batch_id) = row  # fmt: skip
    body = raw.read_json(body)
    event = UsageEvent(
        event_id=event_id,
        org_id=org_id,
        operation=operation,
        occurred_at=raw.read_when(occurred_at),
        quantities=dict(body["quantities"]),
        dimensions=dict(body["dimensions"]),
        project_id=project_id,
        member_id=member_id,
        parent_id=parent_id,
        steps=tuple(UsageStep(op, dict(q), dict(d)) for op, q, d in body["steps"]),
        metadata=dict(body["metadata"]),
    )
    return StoredUsage(
        event=event,
        request_hash=request_hash,
        status=status,
        cost=int(cost),
        reason=reason,
        rate_card=rate_card,
        components=tuple((op, int(c)) for op, c in body["components"]),
        allocations=tuple(Allocation(g, int(a)) for g, a in body["allocations"]),
        batch_id=batch_id,
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
        rows = raw.rows(_LOCK_METERING if lock else _METERING, (raw.in_list(sorted(org_ids)),))
        found = {}
        for org_id, order, card, plan_name, depletion, flex, document, count, hold in rows:
            plan = _plan(raw.read_json(document)) if document is not None else None
            plan = plan or _unstored_plan(plan_name or "default")
            policy = DepletionPolicy(depletion) if depletion else plan.depletion
            if hold is not None:  # suspended for an overdue invoice: the dunning policy
                policy = suspended_policy(plan)
            found[org_id] = Metering(
                org_id=org_id,
                order=_order(order),
                rate_card=card or "default",
                plan=plan,
                depletion=policy,
                flex_enabled=plan.flex_enabled if flex is None else bool(flex),
                entry_count=int(count),
                hold=hold,
            )
        return found

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
        for row in raw.rows(_STORED_EVENTS, params):
            found[(row[0], row[1])] = _stored_usage(raw, row)
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
                key = (event.org_id, _utc_day(event.at), event.project_id or "",
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
        raw.insert("usage_events", _USAGE_COLUMNS, values)
        _upsert(raw, _ROLL_USAGE, [(*k, *_sums(rolled[k])) for k in sorted(rolled)])

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
            key = (org_id, _utc_day(before.occurred_at), before.project_id or "",
                   before.operation, before.member_id or "")  # fmt: skip
            rolled[key] = [-1, -int(before.cost_micros)]
        if row.status == "accepted":
            event = row.event
            key = (org_id, _utc_day(event.at), event.project_id or "",
                   event.operation, event.member_id or "")  # fmt: skip
            sums = rolled.setdefault(key, [0, 0])
            sums[0] += 1
            sums[1] += row.cost
        changes = [(*k, *_sums(v)) for k, v in sorted(rolled.items()) if any(v)]
        _upsert(self._raw, _ROLL_USAGE, changes)
        self._conn.execute(
            update(u)
            .where(u.c.org_id == org_id, u.c.event_id == row.event_id)
            .values(status=row.status, cost_micros=row.cost, request_hash=row.request_hash,
                    body=_usage_body(row), updated_at=now)
        )  # fmt: skip

    def flex_used(self, org_id: str, ref: str) -> int:
        """Micro-credits of flex granted to an organization under ``ref`` (one month)."""
        return int(self._raw.rows(_FLEX_USED, (org_id, ref))[0][0])

    def of_org(self, org_id: str, limit: int = 100) -> list[StoredUsage]:
        u = t.usage_events
        rows = self._conn.execute(
            select(*_columns(u, _USAGE_COLUMNS))
            .where(u.c.org_id == org_id)
            .order_by(u.c.id.desc())
            .limit(limit)
        )
        return [_stored_usage(self._raw, row) for row in rows]
