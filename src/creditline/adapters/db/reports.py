"""Read-only reports over the stored usage events (E1): what an organization's accepted
usage cost, grouped by project, operation, member and period, over ``[since, until)``.

Only ``accepted`` events count (refused ones cost nothing; voided ones gave their credits
back); an amended event counts at its amended cost. Periods are UTC days or months,
named ``2026-01-05`` and ``2026-01``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, func, select
from sqlalchemy.sql import ColumnElement

from creditline.domain.reports import UsageGroup, UsageRow

from . import tables as t

__all__ = ["ReportRepository"]

_U = t.usage_events.c
_PERIOD_WIDTH = {"day": 10, "month": 7}
_PG_FORMAT = {"day": "YYYY-MM-DD", "month": "YYYY-MM"}


class ReportRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def _period(self, period: str) -> ColumnElement[Any]:
        if self._conn.dialect.name == "postgresql":
            utc = func.timezone("UTC", _U.occurred_at)
            return func.to_char(utc, _PG_FORMAT[period])
        # SQLite keeps UTC timestamps as ISO text: the period is its first characters.
        return func.substr(_U.occurred_at, 1, _PERIOD_WIDTH[period])

    def usage(
        self,
        org_id: str,
        group_by: Sequence[UsageGroup],
        since: datetime,
        until: datetime,
        period: str | None = None,
    ) -> list[UsageRow]:
        """One row per group: its keys (in ``group_by`` order, then the period), the number
        of events and their cost in micro-credits, sorted by the keys."""
        columns: list[ColumnElement[Any]] = [
            {"project": _U.project_id, "operation": _U.operation, "member": _U.member_id}[g]
            for g in group_by
        ]
        if period is not None:
            columns.append(self._period(period).label("period"))
        query = (
            select(*columns, func.count().label("events"), func.sum(_U.cost_micros).label("cost"))
            .where(
                _U.org_id == org_id,
                _U.status == "accepted",
                _U.occurred_at >= since,
                _U.occurred_at < until,
            )
            .group_by(*columns)
            .order_by(*columns)
        )
        rows = []
        for row in self._conn.execute(query):
            keys = tuple(row[: len(columns)])
            rows.append(
                UsageRow(
                    keys=tuple(None if k is None else str(k) for k in keys),
                    events=int(row.events),
                    cost=int(row.cost or 0),
                )
            )
        return rows
