"""The overview (E1): an organization's counter, state, cycle and burn-down (see
:mod:`creditline.domain.overview`), read in one read-only transaction.

What it reads does not grow with the organization's history: the cached balance, the
grants with credits left, its metering settings, its subscription, the month's flex and
at most a few hundred rows of ``balance_days``.
"""

from __future__ import annotations

from datetime import timedelta

from creditline.domain.balances import summarize
from creditline.domain.errors import OrganizationNotFound
from creditline.domain.overview import (
    BURN_DAYS,
    Overview,
    build_overview,
    chart_days,
    cycle_progress,
    flex_ref,
)
from creditline.domain.time import Clock
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["overview"]


def overview(org_id: str, uow: UnitOfWork, clock: Clock, history_days: int = 0) -> Overview:
    """The organization's overview now.

    Raises:
        OrganizationNotFound: no such organization.
    """
    now = clock.now()
    with uow:
        cached = uow.balances.get(org_id)
        if cached is None:
            raise OrganizationNotFound(org_id)
        total, _, held = cached
        active = uow.grants.active(org_id)
        metering = uow.usage.metering([org_id])[org_id]
        cycle = cycle_progress(uow.subscriptions.get(org_id), now)
        first, today = chart_days(now, cycle, history_days)
        first = min(first, today - timedelta(days=BURN_DAYS - 1))
        days = uow.reports.balance_days(org_id, first, today)
        flex_used = uow.usage.flex_used(org_id, flex_ref(now))
    balance = summarize(org_id, total, active, now, held)
    return build_overview(
        balance,
        grants=active,
        metering=metering,
        flex_used=flex_used,
        cycle=cycle,
        days=days,
        history_days=history_days,
    )
