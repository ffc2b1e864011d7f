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
from creditline.services.ports.unit_of_work import Locked

from .raw import IN_LIST, Raw, Sql
from .repositories.grants import grant_from_row
from .repositories.reservations import reservation_from_row, reservation_row, settlement_row
from .repositories.statements import (
    ACTIVE_GRANTS,
    GRANT_COLUMNS,
    LOCK_METERING,
    MOVE_BALANCE,
    ORG_RATE_CARD_STAMPS,
    RESERVATION_COLUMNS,
    SAVE_RESERVATION,
    STORED_EVENTS,
    qualified,
)
from .repositories.usage import metering_from_row, stored_usage_from_row

__all__ = ["ChargingRepository"]

_KEY_COLUMNS = ("org_id", "key", "request_hash", "outcome", "created_at")
_KEY_RECORD = ("org_id", "key", "request_hash", "outcome")
_KEYS = Sql(
    f"SELECT {qualified('k', _KEY_RECORD)} FROM json_each(?) p "
    "JOIN idempotency_keys k ON k.org_id = json_extract(p.value, '$[0]') "
    "AND k.key = json_extract(p.value, '$[1]')",
    f"SELECT {qualified('k', _KEY_RECORD)} FROM unnest(?::text[], ?::text[]) "
    "AS p(org_id, key) JOIN idempotency_keys k ON k.org_id = p.org_id AND k.key = p.key",
)
_RESERVATIONS = Sql(
    f"SELECT {qualified('r', RESERVATION_COLUMNS)} FROM json_each(?) p "
    "JOIN reservations r ON r.org_id = json_extract(p.value, '$[0]') "
    "AND r.id = json_extract(p.value, '$[1]')",
    f"SELECT {qualified('r', RESERVATION_COLUMNS)} FROM "
    "unnest(?::text[], ?::text[]) AS p(org_id, id) JOIN reservations r "
    "ON r.org_id = p.org_id AND r.id = p.id",
)
_FLEX_USED = Sql(
    "SELECT g.org_id AS org_id, COALESCE(SUM(g.amount_micros), 0) AS used FROM json_each(?) p "
    "JOIN grants g ON g.org_id = json_extract(p.value, '$[0]') AND g.kind = 'flex' "
    "AND g.source_ref = json_extract(p.value, '$[1]') GROUP BY g.org_id",
    "SELECT g.org_id AS org_id, COALESCE(SUM(g.amount_micros), 0) AS used "
    "FROM unnest(?::text[], ?::text[]) "
    "AS p(org_id, ref) JOIN grants g ON g.org_id = p.org_id AND g.kind = 'flex' "
    "AND g.source_ref = p.ref GROUP BY g.org_id",
)
_GRANTS = Sql(f"SELECT {', '.join(GRANT_COLUMNS)} FROM grants WHERE id {IN_LIST}")
_OPEN_COUNTS = Sql(
    f"SELECT org_id, COUNT(*) AS open_count FROM reservations WHERE org_id {IN_LIST} "
    "AND status = 'open' GROUP BY org_id"
)
_RESHAPE_RESERVATION = Sql("UPDATE reservations SET amount_micros = ?, expires_at = ? WHERE id = ?")
_KEY_USED = Sql(
    f"SELECT key_id, window_start, used_micros FROM key_usage WHERE key_id {IN_LIST} "
    "AND window_start >= ?"
)
_COUNT_KEY_USAGE = Sql(
    "INSERT INTO key_usage (key_id, window_start, used_micros) VALUES (?, ?, ?) "
    "ON CONFLICT (key_id, window_start) DO UPDATE "
    "SET used_micros = key_usage.used_micros + excluded.used_micros"
)
_FREE_KEY_USAGE = Sql(
    "UPDATE key_usage SET used_micros = used_micros + ? WHERE key_id = ? AND window_start = ?"
)
_PROJECTS = Sql(f"SELECT org_id, id FROM projects WHERE id {IN_LIST}")
_MEMBERS = Sql(f"SELECT org_id, id FROM members WHERE id {IN_LIST}")
_MOVE_BALANCES_PG = Sql(
    "",
    "UPDATE balances b SET balance_micros = b.balance_micros + d.delta, "
    "entry_count = b.entry_count + d.entries, held_micros = b.held_micros + d.held, "
    "updated_at = ? FROM unnest(?::text[], ?::bigint[], ?::bigint[], ?::bigint[]) "
    "AS d(org_id, delta, entries, held) WHERE b.org_id = d.org_id",
)

Pairs = Sequence[tuple[str, str]]
Rows = Sequence[dict[str, Any]]

_PIPELINE_ROWS = 256
"""Up to this many rows, a group's writes are pipelined on PostgreSQL."""


class ChargingRepository:
    def __init__(self, conn: Connection) -> None:
        self._raw = Raw(conn)

    def _pair_params(self, pairs: Pairs) -> tuple[Any, ...]:
        """The parameters of a query on (a, b) pairs: two arrays, or one JSON list."""
        if self._raw.postgres:
            return ([a for a, _ in pairs], [b for _, b in pairs])
        return (json.dumps(list(pairs)),)

    def _pairs(self, sql: Sql, pairs: Pairs) -> list[dict[str, Any]]:
        return self._raw.records(sql, self._pair_params(pairs))

    def accounts(
        self,
        org_ids: Sequence[str],
        *,
        events: Pairs = (),
        keys: Pairs = (),
        reservations: Pairs = (),
        priced: Sequence[str] = (),
    ) -> Locked:
        """Lock the organizations (in the order of their ids) and read what charging
        them needs: their metering and their grants with credits left; and the rows the
        group's commands name: stored ``events``, idempotency ``keys``, ``reservations``,
        and the versions of the rate cards of the ``priced`` organizations.

        The group's first statements: on PostgreSQL one round trip, with the
        transaction's ``BEGIN``. Each query, sent behind the lock's, runs once it is held
        and sees what the lock's previous holder committed."""
        raw = self._raw
        ids = raw.in_list(sorted(org_ids))
        queries: list[tuple[Sql, Sequence[Any]]] = [
            (LOCK_METERING, (ids,)),
            (ACTIVE_GRANTS, (ids,)),
        ]
        named = [(STORED_EVENTS, events), (_KEYS, keys), (_RESERVATIONS, reservations)]
        queries += [(sql, self._pair_params(pairs)) for sql, pairs in named if pairs]
        if priced:
            queries.append((ORG_RATE_CARD_STAMPS, (raw.in_list(sorted(priced)),)))
        found = iter(raw.records_together(queries, begin=True))
        metering, grants = next(found), next(found)
        stored, keyed, held, cards = (next(found) if wanted else [] for wanted in
                                      (events, keys, reservations, priced))  # fmt: skip
        active: dict[str, list[Grant]] = {}
        for row in grants:
            grant = grant_from_row(raw, row)
            active.setdefault(grant.org_id, []).append(grant)
        versions: dict[str, list[tuple[str, str]]] = {}
        for row in cards:
            versions.setdefault(row["name"], []).append((row["version"], str(row["loaded_at"])))
        return Locked(
            {row["org_id"]: metering_from_row(raw, row) for row in metering},
            active,
            {(row["org_id"], row["event_id"]): stored_usage_from_row(raw, row) for row in stored},
            _keyed(raw, keyed),
            _held(raw, held),
            {name: tuple(stamp) for name, stamp in versions.items()},
        )

    def keys(self, pairs: Pairs) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
        """Stored idempotency records under (organization, key) pairs."""
        return _keyed(self._raw, self._pairs(_KEYS, pairs)) if pairs else {}

    def reservations(
        self, pairs: Pairs
    ) -> dict[tuple[str, str], tuple[Reservation, dict[str, Any] | None]]:
        """Reservations under (organization, reservation id) pairs, with their outcomes."""
        return _held(self._raw, self._pairs(_RESERVATIONS, pairs)) if pairs else {}

    def flex_used(self, pairs: Pairs) -> dict[str, int]:
        """Micro-credits of flex granted to each organization under its (month's) ref."""
        if not pairs:
            return {}
        return {row["org_id"]: int(row["used"]) for row in self._pairs(_FLEX_USED, pairs)}

    def grants(self, ids: Sequence[str]) -> list[Grant]:
        """Grants by id (those a settled hold gives back to, spent or not)."""
        if not ids:
            return []
        raw = self._raw
        return [grant_from_row(raw, row) for row in raw.records(_GRANTS, (raw.in_list(ids),))]

    def open_holds(self, org_ids: Sequence[str]) -> dict[str, int]:
        if not org_ids:
            return {}
        raw = self._raw
        rows = raw.records(_OPEN_COUNTS, (raw.in_list(org_ids),))
        return {row["org_id"]: int(row["open_count"]) for row in rows}

    def owners(self, projects: Sequence[str], members: Sequence[str]) -> set[tuple[str, str, str]]:
        """(``project`` or ``member``, organization, id) of those ids that exist."""
        raw = self._raw
        found: set[tuple[str, str, str]] = set()
        if projects:
            rows = raw.records(_PROJECTS, (raw.in_list(projects),))
            found.update(("project", row["org_id"], row["id"]) for row in rows)
        if members:
            rows = raw.records(_MEMBERS, (raw.in_list(members),))
            found.update(("member", row["org_id"], row["id"]) for row in rows)
        return found

    def key_used(self, slots: Sequence[tuple[str, datetime]]) -> dict[tuple[str, datetime], int]:
        """Micro-credits counted under (key id, window start) pairs (missing: none)."""
        if not slots:
            return {}
        raw = self._raw
        wanted = set(slots)
        since = raw.when(min(start for _, start in slots))
        rows = raw.records(_KEY_USED, (raw.in_list(sorted({k for k, _ in slots})), since))
        found = {(r["key_id"], raw.read_when(r["window_start"])): int(r["used_micros"])
                 for r in rows}  # fmt: skip
        return {slot: used for slot, used in found.items() if slot in wanted}

    def count_key_usage(self, moves: dict[tuple[str, datetime], int]) -> None:
        """Move each key's window counter: up (created at its first move), or down (a
        hold freed: its counter exists; the CHECK would refuse a negative insert)."""
        raw = self._raw
        moved = sorted(moves.items())
        raw.many(_COUNT_KEY_USAGE, [(k, raw.when(at), d) for (k, at), d in moved if d > 0])
        raw.many(_FREE_KEY_USAGE, [(d, k, raw.when(at)) for (k, at), d in moved if d < 0])

    def add_reservations(self, rows: Sequence[Reservation]) -> None:
        raw = self._raw
        raw.insert("reservations", RESERVATION_COLUMNS, [reservation_row(raw, r) for r in rows])

    def save_reservations(self, rows: Sequence[tuple[Reservation, dict[str, Any] | None]]) -> None:
        """Store each reservation's last state in the group (one update each)."""
        raw = self._raw
        last: dict[str, tuple[Reservation, dict[str, Any] | None]] = {}
        for res, outcome in rows:
            last[res.id] = (res, outcome)
        raw.many(SAVE_RESERVATION, [settlement_row(raw, r, o) for r, o in last.values()])

    def reshape_reservations(self, rows: Sequence[Reservation]) -> None:
        """Store each open hold's last amount and expiry in the group (extended or
        increased; its held credits are stored by :meth:`save_reservations`)."""
        raw = self._raw
        last = {res.id: res for res in rows}
        raw.many(
            _RESHAPE_RESERVATION,
            [(r.amount, raw.when(r.expires_at), r.id) for r in last.values()],
        )

    def add_keys(self, rows: Sequence[tuple[str, str, str, dict[str, Any]]], now: datetime) -> None:
        """Store (organization, key, request hash, outcome) records; the primary key
        refuses a second copy."""
        raw = self._raw
        when = raw.when(now)
        raw.insert("idempotency_keys", _KEY_COLUMNS, [(o, k, h, raw.json(out), when)
                                                      for o, k, h, out in rows])  # fmt: skip

    def pipeline(self, rows: int, *, last: bool = False) -> AbstractContextManager[Any]:
        """Send the writes of a group of ``rows`` rows in one round trip where that pays
        (PostgreSQL, few rows: a big group goes faster by COPY, which a pipeline cannot
        run); the block's errors are raised at its end.

        ``last``: nothing is written after the block, so the transaction's ``COMMIT``
        may go in the same round trip (see :meth:`Raw.pipeline`)."""
        if self._raw.postgres and rows <= _PIPELINE_ROWS:
            return self._raw.pipeline(commit=last)
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
            raw.many(MOVE_BALANCE, [(*moves[o], when, o) for o in orgs])


def _keyed(raw: Raw, rows: Rows) -> dict[tuple[str, str], tuple[str, dict[str, Any]]]:
    """Idempotency records by (organization, key): the request's hash and the outcome."""
    return {
        (row["org_id"], row["key"]): (row["request_hash"], dict(raw.read_json(row["outcome"])))
        for row in rows
    }


def _held(raw: Raw, rows: Rows) -> dict[tuple[str, str], tuple[Reservation, Any]]:
    """Reservations by (organization, id), each with its stored outcome."""
    return {
        (row["org_id"], row["id"]): (reservation_from_row(raw, row), raw.read_json(row["outcome"]))
        for row in rows
    }
