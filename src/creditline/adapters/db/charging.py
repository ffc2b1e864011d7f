"""The set-based reads and writes of a charging group (see services/charging.py).

A group of commands is loaded with one statement per kind of row, whatever the number
of commands and organizations, and written the same way: one statement per table, each
grant and balance row moved once. The statements are raw SQL on the driver's
connection (raw.py), in the unit of work's transaction.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from contextlib import AbstractContextManager, nullcontext
from datetime import datetime
from typing import Any

from sqlalchemy import Connection

from creditline.domain.grants import Grant
from creditline.domain.reservations import Reservation

from .raw import IN_LIST, Raw, Sql
from .repositories import (
    _GRANT_COLUMNS,
    _RESERVATION_COLUMNS,
    _raw_grant,
    _raw_reservation,
    reservation_target,
)

__all__ = ["ChargingRepository"]

_KEYS = Sql(
    "SELECT k.org_id, k.key, k.request_hash, k.outcome FROM json_each(?) p "
    "JOIN idempotency_keys k ON k.org_id = json_extract(p.value, '$[0]') "
    "AND k.key = json_extract(p.value, '$[1]')",
    "SELECT k.org_id, k.key, k.request_hash, k.outcome FROM unnest(?::text[], ?::text[]) "
    "AS p(org_id, key) JOIN idempotency_keys k ON k.org_id = p.org_id AND k.key = p.key",
)
_RESERVATIONS = Sql(
    f"SELECT {', '.join('r.' + c for c in _RESERVATION_COLUMNS)} FROM json_each(?) p "
    "JOIN reservations r ON r.org_id = json_extract(p.value, '$[0]') "
    "AND r.id = json_extract(p.value, '$[1]')",
    f"SELECT {', '.join('r.' + c for c in _RESERVATION_COLUMNS)} FROM "
    "unnest(?::text[], ?::text[]) AS p(org_id, id) JOIN reservations r "
    "ON r.org_id = p.org_id AND r.id = p.id",
)
_FLEX_USED = Sql(
    "SELECT g.org_id, COALESCE(SUM(g.amount_micros), 0) FROM json_each(?) p "
    "JOIN grants g ON g.org_id = json_extract(p.value, '$[0]') AND g.kind = 'flex' "
    "AND g.source_ref = json_extract(p.value, '$[1]') GROUP BY g.org_id",
    "SELECT g.org_id, COALESCE(SUM(g.amount_micros), 0) FROM unnest(?::text[], ?::text[]) "
    "AS p(org_id, ref) JOIN grants g ON g.org_id = p.org_id AND g.kind = 'flex' "
    "AND g.source_ref = p.ref GROUP BY g.org_id",
)
_GRANTS = Sql(f"SELECT {', '.join(_GRANT_COLUMNS)} FROM grants WHERE id {IN_LIST}")
_OPEN_COUNTS = Sql(
    f"SELECT org_id, COUNT(*) FROM reservations WHERE org_id {IN_LIST} AND status = 'open' "
    "GROUP BY org_id"
)
_PROJECTS = Sql(f"SELECT org_id, id FROM projects WHERE id {IN_LIST}")
_MEMBERS = Sql(f"SELECT org_id, id FROM members WHERE id {IN_LIST}")
_SAVE_RESERVATION = Sql(
    "UPDATE reservations SET status = ?, held_micros = ?, consumed_micros = ?, "
    "shortfall_micros = ?, holds = ?, settled_at = ?, outcome = ? WHERE id = ?"
)
_MOVE_BALANCE = Sql(
    "UPDATE balances SET balance_micros = balance_micros + ?, entry_count = entry_count + ?, "
    "held_micros = held_micros + ?, updated_at = ? WHERE org_id = ?"
)
_MOVE_BALANCES_PG = Sql(
    "",
    "UPDATE balances b SET balance_micros = b.balance_micros + d.delta, "
    "entry_count = b.entry_count + d.entries, held_micros = b.held_micros + d.held, "
    "updated_at = ? FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[]) "
    "AS d(org_id, delta, entries, held) WHERE b.org_id = d.org_id",
)
_KEY_COLUMNS = ("org_id", "key", "request_hash", "outcome", "created_at")

Pairs = Sequence[tuple[str, str]]

_PIPELINE_ROWS = 256
"""Up to this many rows, a group's writes are pipelined on PostgreSQL."""


class ChargingRepository:
    def __init__(self, conn: Connection) -> None:
        self._raw = Raw(conn)

    def _pairs(self, sql: Sql, pairs: Pairs) -> list[tuple[Any, ...]]:
        raw = self._raw
        if raw.postgres:
            return raw.rows(sql, ([a for a, _ in pairs], [b for _, b in pairs]))
        return raw.rows(sql, (json.dumps(list(pairs)),))

    def keys(self, pairs: Pairs) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        """Stored idempotency records under (organization, key) pairs."""
        if not pairs:
            return {}
        read = self._raw.read_json
        return {(o, k): (h, dict(read(out))) for o, k, h, out in self._pairs(_KEYS, pairs)}

    def reservations(
        self, pairs: Pairs
    ) -> dict[tuple[str, str], tuple[Reservation, dict[str, Any] | None]]:
        """Reservations under (organization, reservation id) pairs, with their outcomes."""
        if not pairs:
            return {}
        raw = self._raw
        found = {}
        for row in self._pairs(_RESERVATIONS, pairs):
            found[(row[1], row[0])] = (_raw_reservation(raw, row), raw.read_json(row[16]))
        return found

    def flex_used(self, pairs: Pairs) -> dict[str, int]:
        """Micro-credits of flex granted to each organization under its (month's) ref."""
        if not pairs:
            return {}
        return {org: int(total) for org, total in self._pairs(_FLEX_USED, pairs)}

    def grants(self, ids: Sequence[str]) -> list[Grant]:
        """Grants by id (those a settled hold gives back to, spent or not)."""
        if not ids:
            return []
        raw = self._raw
        return [_raw_grant(raw, row) for row in raw.rows(_GRANTS, (raw.in_list(ids),))]

    def open_holds(self, org_ids: Sequence[str]) -> dict[str, int]:
        if not org_ids:
            return {}
        raw = self._raw
        return {o: int(n) for o, n in raw.rows(_OPEN_COUNTS, (raw.in_list(org_ids),))}

    def owners(self, projects: Sequence[str], members: Sequence[str]) -> set[tuple[str, str, str]]:
        """(``project`` or ``member``, organization, id) of those ids that exist."""
        raw = self._raw
        found: set[tuple[str, str, str]] = set()
        if projects:
            found.update(
                ("project", o, i) for o, i in raw.rows(_PROJECTS, (raw.in_list(projects),))
            )
        if members:
            found.update(("member", o, i) for o, i in raw.rows(_MEMBERS, (raw.in_list(members),)))
        return found

    def add_reservations(self, rows: Sequence[Reservation]) -> None:
        raw = self._raw
        when, dumps = raw.when, raw.json
        raw.insert(
            "reservations",
            _RESERVATION_COLUMNS,
            [
                (r.id, r.org_id, r.status.value, r.amount, r.held, r.consumed, r.shortfall,
                 dumps([list(a) for a in r.holds]), r.cause.type.value, r.cause.ref,
                 r.project_id, r.member_id, when(r.expires_at), when(r.created_at),
                 None if r.settled_at is None else when(r.settled_at), dumps(r.metadata), None,
                 reservation_target(r, dumps))
                for r in rows
            ],
        )  # fmt: skip

    def save_reservations(self, rows: Sequence[tuple[Reservation, dict[str, Any] | None]]) -> None:
        """Store each reservation's last state in the group (one update each)."""
        raw = self._raw
        last: dict[str, tuple[Reservation, dict[str, Any] | None]] = {}
        for res, outcome in rows:
            last[res.id] = (res, outcome)
        raw.many(
            _SAVE_RESERVATION,
            [
                (r.status.value, r.held, r.consumed, r.shortfall,
                 raw.json([list(a) for a in r.holds]),
                 None if r.settled_at is None else raw.when(r.settled_at),
                 None if o is None else raw.json(o), r.id)
                for r, o in last.values()
            ],
        )  # fmt: skip

    def add_keys(self, rows: Sequence[tuple[str, str, str, dict[str, Any]]], now: datetime) -> None:
        """Store (organization, key, request hash, outcome) records; the primary key
        refuses a second copy."""
        raw = self._raw
        when = raw.when(now)
        raw.insert("idempotency_keys", _KEY_COLUMNS, [(o, k, h, raw.json(out), when)
                                                      for o, k, h, out in rows])  # fmt: skip

    def pipeline(self, rows: int) -> AbstractContextManager[Any]:
        """Send the writes of a group of ``rows`` rows in one round trip where that pays
        (PostgreSQL, few rows: a big group goes faster by COPY, which a pipeline cannot
        run); the block's errors are raised at its end."""
        if self._raw.postgres and rows <= _PIPELINE_ROWS:
            return self._raw.pipeline()
        return nullcontext()

    def move_balances(self, moves: dict[str, tuple[int, int, int]], now: datetime) -> None:
        """Move each organization's balance, entry count and held amount, once each."""
        if not moves:
            return
        raw = self._raw
        when = raw.when(now)
        orgs = sorted(moves)
        if raw.postgres and len(orgs) > 1:
            raw.run(
                _MOVE_BALANCES_PG,
                (when, orgs, [moves[o][0] for o in orgs], [moves[o][1] for o in orgs],
                 [moves[o][2] for o in orgs]),
            )  # fmt: skip
        else:
            raw.many(_MOVE_BALANCE, [(*moves[o], when, o) for o in orgs])
