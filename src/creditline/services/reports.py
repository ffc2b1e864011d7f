"""Usage reports (E1): an organization's accepted usage by project, operation, member
and period (see :mod:`creditline.domain.reports`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from creditline.domain.errors import OrganizationNotFound
from creditline.domain.reports import UsageReport, check_report
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["ReportUsage", "usage_report"]


@dataclass(frozen=True, slots=True)
class ReportUsage:
    org_id: str
    group_by: Sequence[str]
    since: datetime
    until: datetime
    period: str | None = None


def usage_report(cmd: ReportUsage, uow: UnitOfWork) -> UsageReport:
    """The report, in one read-only transaction.

    Raises:
        OrganizationNotFound: no such organization.
        InvalidSetting, InvalidTime: a bad group, period or window.
    """
    groups, since, until = check_report(tuple(cmd.group_by), cmd.period, cmd.since, cmd.until)
    with uow:
        if uow.orgs.get(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        rows = uow.reports.usage(cmd.org_id, groups, since, until, cmd.period)
        named: dict[str, str] = {}
        if "project" in groups:
            named.update((p.id, p.name) for p in uow.orgs.projects(cmd.org_id))
        if "member" in groups:
            named.update((m.id, m.name) for m in uow.orgs.members(cmd.org_id))
    keys = {key for row in rows for key in row.keys}
    names = {key: name for key, name in named.items() if key in keys}
    columns = (*groups, *(("period",) if cmd.period else ()))
    return UsageReport(cmd.org_id, columns, since, until, tuple(rows), names)
