"""Inserting a row once: ``INSERT ... ON CONFLICT DO NOTHING`` in each database's dialect.

On PostgreSQL a second transaction inserting the same key waits for the first and then
inserts nothing (or inserts, if the first rolled back), so exactly one of them stores it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.dialects import postgresql, sqlite

__all__ = ["insert_once"]


def insert_once(conn: Connection, table: Table, **values: Any) -> bool:
    """Insert a row into ``table`` unless one with its key is stored; whether it was new."""
    make = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return bool(conn.execute(make(table).values(**values).on_conflict_do_nothing()).rowcount)
