"""Reports: usage grouped over a window, an organization's dashboard overview, and the
operator's monthly revenue report."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from creditline.domain.overview import Overview
from creditline.domain.reports import UsageReport
from creditline.domain.revenue import RevenueReport
from creditline.facade.core import Core
from creditline.services import overview, reports, revenue

__all__ = ["Reports"]


class Reports(Core):
    """Usage reports and overviews, read from the rollups."""

    def usage_report(
        self,
        org_id: str,
        group_by: Sequence[str] = ("project",),
        since: datetime | None = None,
        until: datetime | None = None,
        *,
        period: str | None = None,
    ) -> UsageReport:
        """The organization's accepted usage (events and micro-credits) grouped by any of
        ``project``, ``operation``, ``member``, and by ``period`` (``day``, ``week`` (ISO,
        named ``2026-W02``) or ``month``, UTC) when given, over ``[since, until)``
        (default: the 30 days up to now, now included). Read from the usage rollups: one
        organization's month costs the same however many events it holds.

        Raises:
            OrganizationNotFound; InvalidSetting, InvalidTime: a bad group, period or window.
        """
        end = until or self.clock.now() + timedelta(microseconds=1)
        start = since or end - timedelta(days=30)
        cmd = reports.ReportUsage(org_id, tuple(group_by), start, end, period)
        return self._run(lambda: reports.usage_report(cmd, self._uow(read_only=True)))

    def overview(self, org_id: str, *, history_days: int = 0) -> Overview:
        """The organization's dashboard data now: available credits per kind and what
        will expire, the read-only, paused and flex flags, the running cycle, a daily
        burn-down of the cycle (or of the last 30 days; at least ``history_days``), the
        burn rate and the forecast depletion date (see :mod:`creditline.domain.overview`).
        Read from the balance and the daily rollups: it costs the same however long the
        history.

        Raises:
            OrganizationNotFound: no such organization.
        """
        return self._run(
            lambda: overview.overview(org_id, self._uow(read_only=True), self.clock, history_days)
        )

    def revenue_report(self, month: str | datetime) -> RevenueReport:
        """The operator's month (``"2026-11"``, UTC), per currency: credits sold and their
        cash, consumed (recognised revenue), expired unused (breakage), refunded and
        adjusted, each valued at the cost basis of the grants that paid, and the liability
        at the month's start and end; credits with no cash per kind and flex apart
        (:mod:`creditline.domain.revenue`). Each line reconciles to the minor unit::

            report = cl.revenue_report("2026-11")
            line = report.lines[0]           # EUR, USD, ... in order
            line.recognised_minor, line.breakage_minor, line.closing.minor

        Raises:
            InvalidSetting: not a month.
        """
        return self._run(lambda: revenue.report_revenue(month, self._uow(read_only=True)))
