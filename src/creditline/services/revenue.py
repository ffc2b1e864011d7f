"""The operator's revenue report: a month's deferred revenue and breakage at cost basis,
per currency (see :mod:`creditline.domain.revenue`). Nothing is written."""

from __future__ import annotations

from datetime import datetime

from creditline.domain.revenue import RevenueReport, month_window, revenue_report
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["report_revenue"]


def report_revenue(month: str | datetime, uow: UnitOfWork) -> RevenueReport:
    """The report of ``month`` (``"2026-11"``, or a time in it), in one read-only
    transaction. A month not over yet is reported as far as the ledger goes.

    Raises:
        InvalidSetting: not a month from 1970 to 9998.
    """
    name, since, until = month_window(month)
    with uow:
        opening = uow.revenue.opening(since)
        movements = uow.revenue.movements(since, until)
        named = set(opening) | {m.grant_id for m in movements}
        grants = uow.revenue.grants(named)
    return revenue_report(name, since, until, grants=grants, opening=opening, movements=movements)
