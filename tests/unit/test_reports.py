"""Report periods and checks (domain/reports.py): ISO week names across year ends, and
every problem of a report's request refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from creditline.domain.errors import InvalidSetting, InvalidTime
from creditline.domain.reports import check_report, week_name

T0 = datetime(2026, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("day", "name"),
    [
        (date(2026, 1, 1), "2026-W01"),  # a Thursday: week 1 holds the year's first Thursday
        (date(2025, 12, 29), "2026-W01"),  # its Monday, still in 2025
        (date(2026, 1, 5), "2026-W02"),
        (date(2027, 1, 1), "2026-W53"),  # a Friday: the last week of 2026
        (date(2027, 1, 4), "2027-W01"),
    ],
)
def test_weeks_are_named_by_iso_year_and_number(day: date, name: str) -> None:
    assert week_name(day) == name


def test_week_is_a_period_and_unknown_periods_groups_and_windows_are_refused() -> None:
    groups, since, until = check_report(("member", "project"), "week", T0, T0 + timedelta(days=7))
    assert groups == ("member", "project") and (since, until) == (T0, T0 + timedelta(days=7))
    with pytest.raises(InvalidSetting, match="period"):
        check_report(("project",), "year", T0, T0 + timedelta(days=1))
    with pytest.raises(InvalidSetting, match="at most once"):
        check_report(("project", "project"), None, T0, T0 + timedelta(days=1))
    with pytest.raises(InvalidTime):
        check_report(("project",), "day", T0, T0)
