"""Binding quotes (:mod:`creditline.domain.quotes`) in SQL: issued, read, listed, and
used by a charging group (in its transaction, under its organizations' locks)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select, update

from creditline.domain.quotes import BindingQuote
from creditline.domain.usage import UsageStep

from . import tables as t
from .records import aware, stored_json

__all__ = ["QuoteRepository"]


def _row(quote: BindingQuote) -> dict[str, Any]:
    return {
        "id": quote.id,
        "org_id": quote.org_id,
        "operation": quote.operation,
        "request": {
            "quantities": {k: v if type(v) is int else str(v) for k, v in quote.quantities.items()},
            "dimensions": dict(quote.dimensions),
            "steps": [
                {"operation": s.operation,
                 "quantities": {k: v if type(v) is int else str(v)
                                for k, v in s.quantities.items()},
                 "dimensions": dict(s.dimensions)}
                for s in quote.steps
            ],
        },
        "total_micros": quote.total,
        "card": quote.card,
        "version": quote.version,
        "breakdown": dict(quote.breakdown),
        "created_at": quote.created_at,
        "expires_at": quote.expires_at,
        "used_at": quote.used_at,
        "used_by": quote.used_by,
    }  # fmt: skip


def _quote(row: Mapping[Any, Any]) -> BindingQuote:
    request = stored_json(row["request"])
    used_at = row["used_at"]
    return BindingQuote(
        id=row["id"], org_id=row["org_id"], operation=row["operation"],
        total=int(row["total_micros"]), card=row["card"], version=row["version"],
        created_at=aware(row["created_at"]), expires_at=aware(row["expires_at"]),
        quantities=dict(request.get("quantities") or {}),
        dimensions=dict(request.get("dimensions") or {}),
        steps=tuple(
            UsageStep(s["operation"], dict(s.get("quantities") or {}),
                      dict(s.get("dimensions") or {}))
            for s in request.get("steps") or ()
        ),
        breakdown=dict(stored_json(row["breakdown"])),
        used_at=None if used_at is None else aware(used_at), used_by=row["used_by"],
    )  # fmt: skip


class QuoteRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, quote: BindingQuote) -> None:
        self._conn.execute(insert(t.quotes).values(**_row(quote)))

    def get(self, org_id: str, quote_id: str) -> BindingQuote | None:
        q = t.quotes
        query = select(q).where(q.c.id == quote_id, q.c.org_id == org_id)
        row = self._conn.execute(query).mappings().first()
        return None if row is None else _quote(row)

    def recent(self, org_id: str, limit: int = 100) -> list[BindingQuote]:
        """An organization's quotes, newest first."""
        q = t.quotes
        query = (
            select(q)
            .where(q.c.org_id == org_id)
            .order_by(q.c.created_at.desc(), q.c.id.desc())
            .limit(limit)
        )
        return [_quote(row) for row in self._conn.execute(query).mappings()]

    def many(self, ids: Sequence[str]) -> dict[str, BindingQuote]:
        """Quotes by id, whatever their organization (a charging group's)."""
        if not ids:
            return {}
        q = t.quotes
        rows = self._conn.execute(select(q).where(q.c.id.in_(list(ids)))).mappings()
        return {row["id"]: _quote(row) for row in rows}

    def use(self, used: Mapping[str, tuple[str, str]], now: datetime) -> None:
        """Mark quotes used: quote id to (organization, what used it). Only an unused
        quote of that organization is marked (the group decided under its lock)."""
        q = t.quotes
        for quote_id, (org_id, used_by) in used.items():
            self._conn.execute(
                update(q)
                .where(q.c.id == quote_id, q.c.org_id == org_id, q.c.used_by.is_(None))
                .values(used_at=now, used_by=used_by)
            )
