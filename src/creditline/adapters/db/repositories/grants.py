"""Grants: credits given to an organization, what is left of each, and the reads that
verification makes of them."""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, insert, null, select

from creditline.domain.amounts import CostBasis
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import CauseType, EntryType
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.domain.verification import GrantFacts, ScopedUse

from .. import tables as t
from ..raw import Raw
from .statements import ACTIVE_GRANTS, GRANT_COLUMNS, MOVE_GRANT, MOVE_GRANTS_PG, Record, columns

__all__ = ["GrantRepository", "grant_from_row"]


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
            select(*columns(g, GRANT_COLUMNS)).where(g.c.id == grant_id, g.c.org_id == org_id)
        ).first()
        return grant_from_row(self._raw, row._mapping) if row else None

    def of_org(self, org_id: str, include_spent: bool = True) -> list[Grant]:
        g = t.grants
        query = select(*columns(g, GRANT_COLUMNS)).where(g.c.org_id == org_id)
        if not include_spent:
            query = query.where(g.c.remaining_micros > 0)
        query = query.order_by(g.c.created_at, g.c.seq)
        return [grant_from_row(self._raw, row._mapping) for row in self._conn.execute(query)]

    def active(self, org_id: str) -> list[Grant]:
        """The organization's grants with credits left (served by a partial index)."""
        return self.active_many([org_id]).get(org_id, [])

    def apply(self, deltas: Mapping[str, int]) -> None:
        """Add each signed delta to its grant's remaining (a check constraint keeps 0..amount)."""
        moves = [(d, g) for g, d in deltas.items() if d]
        raw = self._raw
        if raw.postgres and len(moves) > 1:
            raw.run(MOVE_GRANTS_PG, ([g for _, g in moves], [d for d, _ in moves]))
        else:
            raw.many(MOVE_GRANT, moves)

    def active_many(self, org_ids: Sequence[str]) -> dict[str, list[Grant]]:
        """The grants with credits left of several organizations, by organization."""
        raw = self._raw
        found: dict[str, list[Grant]] = {}
        for row in raw.records(ACTIVE_GRANTS, (raw.in_list(org_ids),)):
            grant = grant_from_row(raw, row)
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
        return [r.org_id for r in rows]

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
        for row in rows:
            scope = _scope(row.scope)
            if scope is not None:
                scopes[row.id] = scope
                orgs.add(row.org_id)
        if not scopes:
            return scopes, []
        uses: list[ScopedUse] = []
        events = self._conn.execute(
            select(u.c.event_id, u.c.operation, u.c.body).where(
                u.c.org_id.in_(sorted(orgs)), u.c.status == "accepted"
            )
        )
        for event in events:
            data = self._raw.read_json(event.body)
            dims = data.get("dimensions") or {}
            uses.extend(
                ScopedUse(grant_id, f"usage event {event.event_id}", event.operation, dims)
                for grant_id, _ in data.get("allocations") or ()
                if grant_id in scopes
            )
        holds = self._conn.execute(
            select(e.c.grant_id, r.c.id.label("reservation_id"), r.c.target)
            .select_from(e.join(r, r.c.id == e.c.cause_ref))
            .where(
                e.c.org_id.in_(sorted(orgs)),
                e.c.entry_type == EntryType.RESERVE.value,
                e.c.cause_type == CauseType.RESERVATION.value,
            )
        )
        for hold in holds:
            if hold.grant_id in scopes:
                target = hold.target
                what = self._raw.read_json(target) if target is not None else None
                uses.append(
                    ScopedUse(hold.grant_id, f"reservation {hold.reservation_id}",
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
            GrantFacts(
                r.id, r.org_id, int(r.amount_micros), int(r.remaining_micros),
                int(r.total or 0), int(r.granted or 0),
            )
            for r in rows
        ]  # fmt: skip


def grant_from_row(raw: Raw, row: Record) -> Grant:
    """A grant from a row of ``GRANT_COLUMNS`` (SQLAlchemy's or the driver's, by name)."""
    expires_at, currency = row["expires_at"], row["cost_currency"]
    metadata, scope = row["metadata"], row["scope"]
    return Grant(
        id=row["id"],
        org_id=row["org_id"],
        kind=_KINDS[row["kind"]],
        amount=int(row["amount_micros"]),
        remaining=int(row["remaining_micros"]),
        effective_at=raw.read_when(row["effective_at"]),
        expires_at=None if expires_at is None else raw.read_when(expires_at),
        source=GrantSource(_SOURCES[row["source_type"]], row["source_ref"]),
        cost_basis=(
            None if currency is None else CostBasis(int(row["cost_unit_price_minor"]), currency)
        ),
        created_at=raw.read_when(row["created_at"]),
        metadata=dict(raw.read_json(metadata)) if metadata not in (None, "{}") else {},
        seq=int(row["seq"]),
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
