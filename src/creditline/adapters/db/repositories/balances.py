"""Balances: each organization's running balance, entry count and held amount, the row
every money movement locks."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, select

from .. import tables as t
from ..raw import Raw
from .statements import LOCK_BALANCE, MOVE_BALANCE, MOVE_BALANCES_PG

__all__ = ["BalanceRepository"]


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
        rows = self._raw.records(LOCK_BALANCE, (org_id,))
        if not rows:
            return None
        return int(rows[0]["balance_micros"]), int(rows[0]["entry_count"])

    def apply_many(self, moves: Sequence[tuple[str, int, int]], now: datetime) -> None:
        """Apply (org, balance delta, entry count) for several organizations in one go."""
        raw = self._raw
        when = raw.when(now)
        if raw.postgres and len(moves) > 1:
            orgs, deltas, counts = (list(column) for column in zip(*moves, strict=True))
            raw.run(MOVE_BALANCES_PG, (when, orgs, deltas, counts))
        else:
            raw.many(MOVE_BALANCE, [(d, n, 0, when, o) for o, d, n in moves])

    def get(self, org_id: str) -> tuple[int, int, int] | None:
        """(balance, entry count, held) of an organization, without locking."""
        b = t.balances.c
        row = self._conn.execute(
            select(b.balance_micros, b.entry_count, b.held_micros).where(b.org_id == org_id)
        ).first()
        if row is None:
            return None
        return int(row.balance_micros), int(row.entry_count), int(row.held_micros)

    def apply(self, org_id: str, delta: int, entries: int, now: datetime, held: int = 0) -> None:
        """Add ``delta`` to the balance, ``entries`` to its count and ``held`` to its holds."""
        self._raw.run(MOVE_BALANCE, (delta, entries, held, self._raw.when(now), org_id))

    def all(self) -> dict[str, int]:
        rows = self._conn.execute(select(t.balances.c.org_id, t.balances.c.balance_micros))
        return {r.org_id: int(r.balance_micros) for r in rows}

    def all_held(self) -> dict[str, int]:
        rows = self._conn.execute(select(t.balances.c.org_id, t.balances.c.held_micros))
        return {r.org_id: int(r.held_micros) for r in rows}
