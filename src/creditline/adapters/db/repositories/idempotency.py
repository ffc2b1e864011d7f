"""Idempotency keys: the stored outcome of each keyed money movement, so a retried
request gets the first answer."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, insert, select

from .. import tables as t

__all__ = ["IdempotencyRepository"]


class IdempotencyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def get(self, org_id: str, key: str) -> tuple[str, dict[str, Any]] | None:
        k = t.idempotency_keys
        row = self._conn.execute(
            select(k.c.request_hash, k.c.outcome).where(k.c.org_id == org_id, k.c.key == key)
        ).first()
        return None if row is None else (row.request_hash, dict(row.outcome))

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
