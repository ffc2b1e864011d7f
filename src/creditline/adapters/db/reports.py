"""Read-only reports (E1): usage by project, operation, member and period, and the
balance's daily movements for the overview, read from the rollups.

Only ``accepted`` events count (refused ones cost nothing; voided ones gave their credits
back); an amended event counts at its amended cost. ``usage_rollups`` holds exactly that
per organization, UTC day, project, operation and member (kept by the repositories in the
transactions that store and correct events), so a report reads at most one row per key
and day, however many events the days hold. A window that starts or ends inside a day
reads the whole days in between from the rollups and scans only the events of its first
and last part-days. :meth:`ReportRepository.usage_scan` answers the same report from the
events alone (the reference the rollups are tested and benchmarked against).

Periods are UTC days (``2026-01-05``), ISO weeks (Monday to Sunday, named by their ISO
year and number: ``2026-W02``) and months (``2026-01``).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from sqlalchemy import Connection, Date, DateTime, cast, func, literal_column, select, text
from sqlalchemy.sql import ColumnElement

from creditline.domain.amounts import MAX_MICROS
from creditline.domain.reports import PERIODS, BalanceDay, UsageGroup, UsageRow, week_name

from . import tables as t

__all__ = ["ReportRepository", "rebuild_rollups"]

_U = t.usage_events.c
_R = t.usage_rollups.c
_D = t.balance_days.c

_Key = tuple[str | None, ...]


# A period is grouped by its first day (a week's Monday, a month's 1st) and named in
# Python (:func:`_rows`), once per row of the answer.


_TRUNC: dict[str, ColumnElement[Any]] = {p: literal_column(f"'{p}'") for p in PERIODS}


def _pg_period(utc: ColumnElement[Any], period: str) -> ColumnElement[Any]:
    """On PostgreSQL, from a UTC timestamp (without zone): its period's first day."""
    return cast(func.date_trunc(_TRUNC[period], utc), Date())


def _lite_period(day: ColumnElement[Any], period: str) -> ColumnElement[Any]:
    """On SQLite, from a day as ISO text: itself, its week's Monday or its month's 1st."""
    if period == "month":
        return func.date(day, "start of month")
    if period == "week":  # the next Sunday (or the day itself), then back to the Monday
        return func.date(day, "weekday 0", "-6 days")
    return day


class ReportRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn
        self._postgres = conn.dialect.name == "postgresql"

    # -- usage ---------------------------------------------------------------------------

    def usage(
        self,
        org_id: str,
        group_by: Sequence[UsageGroup],
        since: datetime,
        until: datetime,
        period: str | None = None,
    ) -> list[UsageRow]:
        """One row per group: its keys (in ``group_by`` order, then the period), the number
        of events and their cost in micro-credits; sorted by the keys, no key (``None``)
        last. Whole UTC days come from the rollups, part-days from the events."""
        first, last = _ceil_day(since), _floor_day(until)
        if first >= last:  # no whole day inside the window
            return self.usage_scan(org_id, group_by, since, until, period)
        totals: dict[_Key, list[int]] = {}
        _add(totals, self._rolled(org_id, group_by, first, last, period))
        start, end = _midnight(first), _midnight(last)
        if since < start:
            _add(totals, self._scanned(org_id, group_by, since, start, period))
        if end < until:
            _add(totals, self._scanned(org_id, group_by, end, until, period))
        return _rows(totals, period)

    def usage_scan(
        self,
        org_id: str,
        group_by: Sequence[UsageGroup],
        since: datetime,
        until: datetime,
        period: str | None = None,
    ) -> list[UsageRow]:
        """:meth:`usage` by a scan of the events themselves (no rollup read)."""
        totals: dict[_Key, list[int]] = {}
        _add(totals, self._scanned(org_id, group_by, since, until, period))
        return _rows(totals, period)

    def _scanned(
        self,
        org_id: str,
        group_by: Sequence[UsageGroup],
        since: datetime,
        until: datetime,
        period: str | None,
    ) -> Iterable[tuple[_Key, int, int]]:
        keys = _grouped(_U, group_by)
        if period is not None:
            if self._postgres:
                keys.append(_pg_period(func.timezone("UTC", _U.occurred_at), period))
            else:  # UTC timestamps as ISO text: the day is their first ten characters
                keys.append(_lite_period(func.substr(_U.occurred_at, 1, 10), period))
        query = (
            select(
                *keys, func.count().label("event_count"), func.sum(_U.cost_micros).label("cost_sum")
            )
            .where(
                _U.org_id == org_id,
                _U.status == "accepted",
                _U.occurred_at >= since,
                _U.occurred_at < until,
            )
            .group_by(*keys)
        )
        return self._totals(query, len(keys))

    def _rolled(
        self,
        org_id: str,
        group_by: Sequence[UsageGroup],
        first: date,
        last: date,
        period: str | None,
    ) -> Iterable[tuple[_Key, int, int]]:
        """The rollups of the days ``[first, last)``; '' keys read back as ``None``."""
        keys = _grouped(_R, group_by)
        if period is not None:
            if period == "day":
                keys.append(_R.day)
            elif self._postgres:
                keys.append(_pg_period(cast(_R.day, DateTime()), period))
            else:
                keys.append(_lite_period(_R.day, period))
        events = func.sum(_R.events)
        query = (
            select(*keys, events.label("event_count"), func.sum(_R.cost_micros).label("cost_sum"))
            .where(_R.org_id == org_id, _R.day >= first, _R.day < last)
            .group_by(*keys)
            .having(events != 0)  # every event of the group was voided
        )
        return self._totals(query, len(keys))

    def _totals(self, query: Any, keys: int) -> Iterable[tuple[_Key, int, int]]:
        """A grouped query's rows: the group's ``keys`` first keys, its events and cost."""
        for row in self._conn.execute(query):
            yield _keys(row[:keys]), int(row.event_count), int(row.cost_sum or 0)

    # -- the balance, day by day -----------------------------------------------------------

    def balance_days(self, org_id: str, first: date, last: date) -> list[BalanceDay]:
        """The balance's movements on the UTC days ``[first, last]`` that have any, in
        order of day."""
        sums = (_D.credited_micros, _D.debited_micros, _D.net_micros, _D.burnt_micros)
        rows = self._conn.execute(
            select(_D.day, *sums)
            .where(_D.org_id == org_id, _D.day >= first, _D.day <= last)
            .order_by(_D.day)
        )
        return [
            BalanceDay(
                _as_date(r.day), int(r.credited_micros), int(r.debited_micros),
                int(r.net_micros), int(r.burnt_micros),
            )
            for r in rows
        ]  # fmt: skip


_GROUP_COLUMNS = {"project": "project_id", "operation": "operation", "member": "member_id"}


def _grouped(columns: Any, group_by: Sequence[UsageGroup]) -> list[ColumnElement[Any]]:
    """The columns of ``group_by`` in a table of usage (the events or their rollups)."""
    return [columns[_GROUP_COLUMNS[g]] for g in group_by]


def _keys(values: Sequence[Any]) -> _Key:
    """A group's keys as text; no project or member ('' in the rollups) as ``None``."""
    return tuple(str(v) if v else None for v in values)


def _as_date(value: Any) -> date:
    return value if isinstance(value, date) else date.fromisoformat(value)


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), UTC)


def _floor_day(moment: datetime) -> date:
    return moment.astimezone(UTC).date()


def _ceil_day(moment: datetime) -> date:
    day = _floor_day(moment)
    return day if _midnight(day) == moment else day + timedelta(days=1)


def _add(totals: dict[_Key, list[int]], rows: Iterable[tuple[_Key, int, int]]) -> None:
    for keys, events, cost in rows:
        found = totals.get(keys)
        if found is None:
            totals[keys] = [events, cost]
        else:
            found[0] += events
            found[1] += cost


def _rows(totals: dict[_Key, list[int]], period: str | None) -> list[UsageRow]:
    """Rows sorted by their keys, ``None`` last, periods named (a period's first day
    sorts like its name)."""

    def order(item: tuple[_Key, list[int]]) -> tuple[tuple[bool, str], ...]:
        return tuple((k is None, k or "") for k in item[0])

    rows = []
    for keys, (events, cost) in sorted(totals.items(), key=order):
        named = keys
        if period == "week":  # the Monday, named as its week
            named = (*keys[:-1], week_name(date.fromisoformat(str(keys[-1]))))
        elif period == "month":
            named = (*keys[:-1], str(keys[-1])[:7])
        rows.append(UsageRow(named, events, cost))
    return rows


# -- rebuilding ---------------------------------------------------------------------------

_DAY = {
    "sqlite": "substr({column}, 1, 10)",
    "postgresql": "CAST(timezone('UTC', {column}) AS date)",
}


def _sum(dialect: str, expression: str) -> str:
    """SUM kept in the 64-bit range, as the services keep the rollups (PostgreSQL sums
    bigints as numeric; SQLite's integer sum refuses an overflow)."""
    if dialect == "postgresql":
        return f"LEAST(GREATEST(SUM({expression}), -{MAX_MICROS}), {MAX_MICROS})"
    return f"SUM({expression})"


def rebuild_rollups(conn: Connection) -> None:
    """Recompute both rollups from the events and the ledger, in one ``INSERT ... SELECT
    ... GROUP BY`` each (what migration 0010 does; bulk loads that bypass the services
    call it once at the end)."""
    dialect = conn.dialect.name
    credited = _sum(dialect, "CASE WHEN amount_micros > 0 THEN amount_micros ELSE 0 END")
    debited = _sum(dialect, "CASE WHEN amount_micros < 0 THEN -amount_micros ELSE 0 END")
    burnt = _sum(
        dialect,
        "CASE WHEN entry_type IN ('consume', 'reserve', 'release', 'void') "
        "THEN -amount_micros ELSE 0 END",
    )
    usage_day = _DAY[dialect].format(column="occurred_at")
    entry_day = _DAY[dialect].format(column="recorded_at")
    conn.execute(t.usage_rollups.delete())
    conn.execute(t.balance_days.delete())
    conn.execute(
        text(
            "INSERT INTO usage_rollups "
            "(org_id, day, project_id, operation, member_id, events, cost_micros) "
            f"SELECT org_id, {usage_day}, COALESCE(project_id, ''), operation, "
            f"COALESCE(member_id, ''), COUNT(*), {_sum(dialect, 'cost_micros')} "
            "FROM usage_events "
            f"WHERE status = 'accepted' GROUP BY org_id, {usage_day}, "
            "COALESCE(project_id, ''), operation, COALESCE(member_id, '')"
        )
    )
    conn.execute(
        text(
            "INSERT INTO balance_days "
            "(org_id, day, credited_micros, debited_micros, net_micros, burnt_micros, entries) "
            f"SELECT org_id, {entry_day}, {credited}, {debited}, SUM(amount_micros), {burnt}, "
            f"COUNT(*) FROM ledger_entries GROUP BY org_id, {entry_day}"
        )
    )
