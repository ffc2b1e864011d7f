"""Keeping the rollups (tables.usage_rollups, tables.balance_days): one upsert per
transaction of sums already added up per key (statements.ROLL_USAGE, ROLL_DAYS)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, date, datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS

from ..raw import Raw, Sql

__all__ = ["bounded", "upsert", "utc_day"]


def _clamped(value: int) -> int:
    return MAX_MICROS if value > MAX_MICROS else -MAX_MICROS if value < -MAX_MICROS else value


def utc_day(moment: datetime) -> date:
    return (moment if moment.tzinfo is UTC else moment.astimezone(UTC)).date()


def upsert(raw: Raw, sql: Sql, rows: Sequence[tuple[Any, ...]]) -> None:
    """Run a rollup upsert: one ``unnest`` statement on PostgreSQL (columns as arrays),
    an ``executemany`` with the days as ISO text on SQLite. ``rows[i][1]`` is the day."""
    if not rows:
        return
    if raw.postgres:
        raw.run(sql, [list(column) for column in zip(*rows, strict=True)])
    else:
        raw.many(sql, [(r[0], r[1].isoformat(), *r[2:]) for r in rows])


def bounded(values: Sequence[int]) -> tuple[int, ...]:
    """One transaction's sums for a rollup row, each within the 64-bit range."""
    return tuple(v if -MAX_MICROS <= v <= MAX_MICROS else _clamped(v) for v in values)
