"""Usage reports (E1): an organization's accepted usage, grouped, over a period.

A report is asked for with ``group_by`` (any of ``project``, ``operation``, ``member``,
in the order wanted), an optional ``period`` (``day``, ``week`` or ``month``, in UTC)
and a half-open window ``[since, until)`` of the events' own times. Each row has the
group's keys, how many events and what they cost (micro-credits). Events without a
project or a member are grouped under ``None``. A report names the projects and members
its rows group by (``names``: id to name), so that every rendering shows a name beside
its id.

Periods are named ``2026-01-05`` (a UTC day), ``2026-W02`` (an ISO week: Monday to
Sunday, numbered in its ISO year, so 2027-01-01 falls in ``2026-W53``) and ``2026-01``
(a month). Names of one kind sort in time order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Literal, cast

from creditline.domain.errors import InvalidSetting, InvalidTime
from creditline.domain.time import require_aware

__all__ = [
    "GROUPS",
    "BalanceDay",
    "MAX_REPORT_DAYS",
    "PERIODS",
    "UsageGroup",
    "UsageReport",
    "UsageRow",
    "check_report",
    "week_name",
]

UsageGroup = Literal["project", "operation", "member"]
GROUPS: tuple[UsageGroup, ...] = ("project", "operation", "member")
PERIODS = ("day", "week", "month")
MAX_REPORT_DAYS = 3700
"""The longest window a report covers (about ten years)."""


def week_name(day: date) -> str:
    """The ISO week ``day`` falls in: ``2026-W02``."""
    year, week, _ = day.isocalendar()
    return f"{year}-W{week:02d}"


@dataclass(frozen=True, slots=True)
class BalanceDay:
    """How an organization's balance moved on one UTC day (micro-credits).

    ``credited`` is what its entries added, ``debited`` what they took (a positive
    number), ``net`` the day's change of balance, ``burnt`` what usage took: consumption
    and holds net of voids and releases (below zero on a day that gave back more than it
    took). Sums beyond the 64-bit range saturate (``net`` never gets there: the balance
    stays within it).
    """

    day: date
    credited: int
    debited: int
    net: int
    burnt: int


@dataclass(frozen=True, slots=True)
class UsageRow:
    """One group: ``keys`` in the report's column order, ``events`` and ``cost``
    (micro-credits)."""

    keys: tuple[str | None, ...]
    events: int
    cost: int


@dataclass(frozen=True, slots=True)
class UsageReport:
    """The rows of a report, their columns and their totals; ``names`` gives the name of
    each project and member id in the rows."""

    org_id: str
    columns: tuple[str, ...]
    since: datetime
    until: datetime
    rows: tuple[UsageRow, ...]
    names: Mapping[str, str] = field(default_factory=dict)

    @property
    def events(self) -> int:
        return sum(r.events for r in self.rows)

    @property
    def cost(self) -> int:
        return sum(r.cost for r in self.rows)

    def name(self, key: str | None) -> str | None:
        """The name of a project or member id of the rows (``None`` for ``None``)."""
        return None if key is None else self.names.get(key, key)


def check_report(
    group_by: tuple[str, ...], period: str | None, since: datetime, until: datetime
) -> tuple[tuple[UsageGroup, ...], datetime, datetime]:
    """The report's groups and window, checked: every problem at once.

    Raises:
        InvalidSetting: an unknown or repeated group, an unknown period.
        InvalidTime: a naive time, an empty or overlong window.
    """
    unknown = [g for g in group_by if g not in GROUPS]
    if unknown:
        raise InvalidSetting("group_by", unknown, f"each one of {', '.join(GROUPS)}")
    if len(set(group_by)) != len(group_by):
        raise InvalidSetting("group_by", list(group_by), "each group at most once")
    if period is not None and period not in PERIODS:
        raise InvalidSetting("period", period, f"one of {', '.join(PERIODS)}")
    start, end = require_aware(since, "since"), require_aware(until, "until")
    if end <= start:
        raise InvalidTime("until must be after since: the window is [since, until)")
    if end - start > timedelta(days=MAX_REPORT_DAYS):
        raise InvalidTime(f"a report covers at most {MAX_REPORT_DAYS} days")
    groups: tuple[UsageGroup, ...] = tuple(cast(UsageGroup, g) for g in group_by)
    return groups, start, end
