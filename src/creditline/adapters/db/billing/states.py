"""The compare-and-set of a purchase's or an invoice's state: a change is stored only if
the stored status is one the change may start from, so that it happens once."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from enum import Enum
from typing import Any

from sqlalchemy import Connection, Table, update

__all__ = ["change_state"]


def change_state(
    conn: Connection, table: Table, record_id: str, when: Sequence[Enum], values: Mapping[str, Any]
) -> bool:
    """Store ``values`` in the row ``record_id`` of ``table`` if its status is in ``when``;
    whether it was."""
    changed = conn.execute(
        update(table)
        .where(table.c.id == record_id, table.c.status.in_([s.value for s in when]))
        .values(**values)
    ).rowcount
    return bool(changed)
