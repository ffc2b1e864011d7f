"""The raw statements of the hot paths (see raw.py): every debit, reservation and usage
batch, and the rollup upserts that ride along with them.

A statement that returns records names its columns: a ``*_COLUMNS`` tuple is the layout
both the statement and its SQLAlchemy twin select, and every column taken through a join
or computed is named with ``AS``, so rows are read by name (:meth:`Raw.records`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Column, RowMapping, Table

from creditline.domain.amounts import MAX_MICROS

from ..raw import IN_LIST, Sql

__all__ = [
    "ACTIVE_GRANTS",
    "ENTRY_COLUMNS",
    "FLEX_USED",
    "GRANT_COLUMNS",
    "LOCK_BALANCE",
    "LOCK_METERING",
    "METERING",
    "MOVE_BALANCE",
    "MOVE_BALANCES_PG",
    "MOVE_GRANT",
    "MOVE_GRANTS_PG",
    "OPEN_RESERVATIONS",
    "ORG_RATE_CARD_STAMPS",
    "RATE_CARD_STAMPS",
    "Record",
    "RESERVATION",
    "RESERVATION_COLUMNS",
    "ROLL_DAYS",
    "ROLL_USAGE",
    "SAVE_RESERVATION",
    "STORED_EVENTS",
    "UNNAMED_CARD",
    "USAGE_COLUMNS",
    "columns",
    "qualified",
]


Record = Mapping[str, Any] | RowMapping
"""A row read by column name: a SQLAlchemy row's ``_mapping``, or a driver row as
:meth:`Raw.records` gives it."""


def columns(table: Table, names: Sequence[str]) -> list[Column[Any]]:
    """``table``'s columns by name, in the order of ``names`` (a row reader's layout)."""
    return [table.c[name] for name in names]


def qualified(alias: str, names: Sequence[str]) -> str:
    """A select list of ``names`` taken from the table ``alias``, each under its own name."""
    return ", ".join(f"{alias}.{name} AS {name}" for name in names)


# -- balances -------------------------------------------------------------------------------

LOCK_BALANCE = Sql(
    "SELECT balance_micros, entry_count FROM balances WHERE org_id = ?",
    "SELECT balance_micros, entry_count FROM balances WHERE org_id = ? FOR UPDATE",
)
MOVE_BALANCE = Sql(
    "UPDATE balances SET balance_micros = balance_micros + ?, entry_count = entry_count + ?, "
    "held_micros = held_micros + ?, updated_at = ? WHERE org_id = ?"
)
MOVE_BALANCES_PG = Sql(
    "",
    "UPDATE balances b SET balance_micros = b.balance_micros + d.delta, "
    "entry_count = b.entry_count + d.entries, updated_at = ? "
    "FROM unnest(?::text[], ?::bigint[], ?::bigint[]) AS d(org_id, delta, entries) "
    "WHERE b.org_id = d.org_id",
)

# -- grants ---------------------------------------------------------------------------------

GRANT_COLUMNS = (
    "id", "org_id", "kind", "amount_micros", "remaining_micros", "effective_at", "expires_at",
    "source_type", "source_ref", "cost_unit_price_minor", "cost_currency", "metadata",
    "created_at", "seq", "scope",
)  # fmt: skip
ACTIVE_GRANTS = Sql(
    f"SELECT {', '.join(GRANT_COLUMNS)} FROM grants "
    f"WHERE org_id {IN_LIST} AND remaining_micros > 0 ORDER BY created_at, seq",
    f"SELECT {qualified('g', GRANT_COLUMNS)} FROM unnest(?::text[]) AS k(id) "
    "JOIN grants g ON g.org_id = k.id WHERE g.remaining_micros > 0 "
    "ORDER BY g.created_at, g.seq",
)
"""The organizations' grants with credits left, oldest first. On PostgreSQL the ids are
joined (as ``ORG_RATE_CARD_STAMPS``): with ``= ANY``, the prepared statement's plan on a
new database scanned every grant against every id, 0.2 s for 1,000 organizations."""
MOVE_GRANT = Sql("UPDATE grants SET remaining_micros = remaining_micros + ? WHERE id = ?")
# PostgreSQL moves many rows in one statement (an executemany is a round trip per row).
MOVE_GRANTS_PG = Sql(
    "",
    "UPDATE grants g SET remaining_micros = g.remaining_micros + d.delta "
    "FROM unnest(?::text[], ?::bigint[]) AS d(id, delta) WHERE g.id = d.id",
)

# -- ledger entries -------------------------------------------------------------------------

ENTRY_COLUMNS = (
    "org_id", "grant_id", "entry_type", "amount_micros", "cause_type", "cause_ref",
    "project_id", "member_id", "occurred_at", "recorded_at", "metadata",
)  # fmt: skip

# -- reservations ---------------------------------------------------------------------------

RESERVATION_COLUMNS = (
    "id", "org_id", "status", "amount_micros", "held_micros", "consumed_micros",
    "shortfall_micros", "holds", "cause_type", "cause_ref", "project_id", "member_id",
    "expires_at", "created_at", "settled_at", "metadata", "outcome", "target", "key_id",
)  # fmt: skip
RESERVATION = Sql(
    f"SELECT {', '.join(RESERVATION_COLUMNS)} FROM reservations WHERE id = ? AND org_id = ?"
)
SAVE_RESERVATION = Sql(
    "UPDATE reservations SET status = ?, held_micros = ?, consumed_micros = ?, "
    "shortfall_micros = ?, holds = ?, settled_at = ?, outcome = ? WHERE id = ?"
)
OPEN_RESERVATIONS = Sql(
    "SELECT COUNT(*) AS open_count FROM reservations WHERE org_id = ? AND status = 'open'"
)

# -- rate cards -----------------------------------------------------------------------------

RATE_CARD_STAMPS = Sql(
    "SELECT version, loaded_at FROM rate_cards WHERE name = ? ORDER BY effective_from"
)
UNNAMED_CARD = "default"
"""The card an organization with none of its own prices by."""
_CARDS_OF = (
    "SELECT name, version, loaded_at FROM rate_cards WHERE name IN (SELECT "
    f"COALESCE(o.rate_card, '{UNNAMED_CARD}') FROM {{ids}} JOIN organizations o ON o.id = "
    "{id}) ORDER BY name, effective_from"
)
ORG_RATE_CARD_STAMPS = Sql(
    _CARDS_OF.format(ids="json_each(?) k", id="k.value"),
    _CARDS_OF.format(ids="unnest(?::text[]) AS k(id)", id="k.id"),
)
"""The versions of the cards the organizations price by, as ``RATE_CARD_STAMPS``. The
ids are joined, not matched with ``= ANY``: a prepared statement's plan on a table
without statistics yet would compare each organization with every id given."""

# -- usage ----------------------------------------------------------------------------------

USAGE_COLUMNS = (
    "org_id", "event_id", "operation", "project_id", "member_id", "parent_id", "occurred_at",
    "recorded_at", "status", "cost_micros", "reason", "rate_card", "request_hash", "body",
    "batch_id",
)  # fmt: skip
_METERING_TEXT = (
    "SELECT o.id AS org_id, o.consumption_order AS consumption_order, "
    "o.rate_card AS rate_card, o.plan AS plan, o.depletion AS depletion, "
    "o.flex_enabled AS flex_enabled, p.document AS plan_document, "
    "b.entry_count AS entry_count, o.billing_hold AS billing_hold, "
    "EXISTS (SELECT 1 FROM budgets g WHERE g.org_id = o.id) AS budgeted, "
    "EXISTS (SELECT 1 FROM topup_settings s WHERE s.org_id = o.id AND s.enabled) "
    "AS topping_up, "
    "o.grace_state AS grace_state, o.grace_since AS grace_since, "
    "o.grace_used_micros AS grace_used "
    "FROM balances b JOIN organizations o ON o.id = b.org_id "
    f"LEFT JOIN plans p ON p.name = o.plan WHERE b.org_id {IN_LIST} ORDER BY b.org_id"
)
METERING = Sql(_METERING_TEXT)
# SQLite's write transaction holds the lock already; PostgreSQL locks the balance rows.
LOCK_METERING = Sql(_METERING_TEXT, _METERING_TEXT + " FOR UPDATE OF b")
STORED_EVENTS = Sql(
    f"SELECT {qualified('u', USAGE_COLUMNS)} FROM json_each(?) k JOIN usage_events u "
    "ON u.org_id = json_extract(k.value, '$[0]') AND u.event_id = json_extract(k.value, '$[1]')",
    f"SELECT {qualified('u', USAGE_COLUMNS)} FROM unnest(?::text[], ?::text[]) "
    "AS k(org_id, event_id) JOIN usage_events u "
    "ON u.org_id = k.org_id AND u.event_id = k.event_id",
)
FLEX_USED = Sql(
    "SELECT COALESCE(SUM(amount_micros), 0) AS used FROM grants "
    "WHERE org_id = ? AND kind = 'flex' AND source_ref = ?"
)

# -- rollups --------------------------------------------------------------------------------
# The rollups (tables.usage_rollups, tables.balance_days) are kept by one upsert per
# transaction: its rows are summed per key in Python first, so no key comes twice. A cache
# must never fail a money movement, so every sum saturates at the 64-bit range (a bound
# no real day's flows come near) instead of overflowing: PostgreSQL would refuse the
# movement, SQLite would turn the sum into a float.


def _saturating(table: str, names: Sequence[str]) -> str:
    """``SET column = column + excluded.column`` for each column, kept in the range
    ``[-MAX_MICROS, MAX_MICROS]`` without an intermediate overflow."""
    top = MAX_MICROS
    return ", ".join(
        f"{c} = CASE WHEN excluded.{c} > 0 AND {table}.{c} > {top} - excluded.{c} THEN {top} "
        f"WHEN excluded.{c} < 0 AND {table}.{c} < -{top} - excluded.{c} THEN -{top} "
        f"ELSE {table}.{c} + excluded.{c} END"
        for c in names
    )


_ROLL_USAGE_COLUMNS = "org_id, day, project_id, operation, member_id, events, cost_micros"
_ROLL_USAGE_UPDATE = (
    " ON CONFLICT (org_id, day, project_id, operation, member_id) DO UPDATE SET "
    + _saturating("usage_rollups", ("events", "cost_micros"))
)
ROLL_USAGE = Sql(
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
ROLL_DAYS = Sql(
    f"INSERT INTO balance_days ({_ROLL_DAYS_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"
    + _ROLL_DAYS_UPDATE,
    f"INSERT INTO balance_days ({_ROLL_DAYS_COLUMNS}) SELECT * FROM unnest(?::text[], "
    "?::date[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[], ?::bigint[])"
    + _ROLL_DAYS_UPDATE,
)
