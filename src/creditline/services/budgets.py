"""Budgets inside an organization's pool (see :mod:`creditline.domain.budgets`).

Making, listing and deleting budgets, and their standings (each with its consumption
in its running period); and, for the charging group (:mod:`creditline.services.
charging`), :func:`load_counts` (under the organizations' locks: what each budget
counted) and :func:`write_counts` (in the group's transaction: the counts moved and
the alerts fired, as webhook deliveries of ``budget.threshold_reached``).

A budget is made under its organization's lock, starting from what its scope consumed
in the running period so far (the ledger's consume entries), so that no charge of the
same period slips between that reading and the budget's first count.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from creditline.domain.alerts import Channel
from creditline.domain.budgets import (
    BUDGET_THRESHOLD,
    Budget,
    BudgetPeriod,
    BudgetScope,
    BudgetStanding,
    make_budget,
    period_window,
)
from creditline.domain.charging import Account, Decision
from creditline.domain.charging.budgets import BudgetCount
from creditline.domain.charging.outcome import BudgetAlert
from creditline.domain.cycles import Cycle
from creditline.domain.deliveries import Delivery, DeliveryStatus
from creditline.domain.errors import (
    BudgetNotFound,
    MemberNotFound,
    OrganizationNotFound,
    ProjectNotFound,
)
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "CreateBudget",
    "create_budget",
    "delete_budget",
    "load_counts",
    "standings",
    "write_counts",
]


@dataclass(frozen=True, slots=True)
class CreateBudget:
    """Cap what ``scope_id`` (a project or member of ``org_id``) consumes per ``period``.

    ``amount`` in micro-credits; ``alerts``: percents of it that fire an alert."""

    org_id: str
    scope: str
    scope_id: str
    amount: int
    period: str = "month"
    mode: str = "hard"
    alerts: Sequence[int] = ()


def _cycle(uow: UnitOfWork, org_id: str, now: datetime) -> Cycle | None:
    """The organization's billing cycle at ``now`` (``None``: no running subscription)."""
    sub = uow.subscriptions.get(org_id)
    if sub is None or not sub.active or now < sub.anchored_at:
        return None
    return sub.cycle_at(now)


def _windows(
    uow: UnitOfWork, org_id: str, budgets: Sequence[Budget], now: datetime
) -> list[tuple[Budget, datetime, datetime]]:
    cycle = None
    if any(b.period is BudgetPeriod.CYCLE for b in budgets):
        cycle = _cycle(uow, org_id, now)
    return [(b, *period_window(b.period, now, cycle)) for b in budgets]


def create_budget(cmd: CreateBudget, uow: UnitOfWork, clock: Clock) -> BudgetStanding:
    """Make a budget (see the module docstring); its standing now.

    Raises:
        InvalidBudget: listing every problem; OrganizationNotFound; ProjectNotFound or
            MemberNotFound: the scope is not the organization's.
    """
    with uow:
        if uow.balances.lock(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        budget = make_budget(
            new_id("bgt"), cmd.org_id, scope=cmd.scope, scope_id=cmd.scope_id,
            amount=cmd.amount, period=cmd.period, mode=cmd.mode, alerts=cmd.alerts,
            created_at=now,
        )  # fmt: skip
        if budget.scope is BudgetScope.PROJECT:
            if uow.orgs.project(cmd.org_id, cmd.scope_id) is None:
                raise ProjectNotFound(cmd.scope_id)
        elif uow.orgs.member(cmd.org_id, cmd.scope_id) is None:
            raise MemberNotFound(cmd.scope_id)
        ((_, start, _end),) = _windows(uow, cmd.org_id, [budget], now)
        consumed = uow.budgets.scope_consumed(cmd.org_id, budget.scope, budget.scope_id, start)
        uow.budgets.add(budget, consumed, start)
        (standing,) = _standings(uow, cmd.org_id, [budget], now)
        uow.commit()
    return standing


def _standings(
    uow: UnitOfWork, org_id: str, budgets: Sequence[Budget], now: datetime
) -> list[BudgetStanding]:
    counts = _counts(uow, org_id, budgets, now)
    return [BudgetStanding(c.budget, c.start, c.end, c.consumed, c.held) for c in counts]


def standings(org_id: str, uow: UnitOfWork, clock: Clock) -> list[BudgetStanding]:
    """The organization's budgets, each with its consumption in its running period."""
    with uow:
        if uow.balances.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return _standings(uow, org_id, uow.budgets.of_orgs([org_id]), clock.now())


def delete_budget(org_id: str, budget_id: str, uow: UnitOfWork, clock: Clock) -> BudgetStanding:
    """Delete a budget of the organization (and what it counted); it as it stood.

    Raises:
        BudgetNotFound: no such budget in this organization.
    """
    with uow:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        found = [b for b in uow.budgets.of_orgs([org_id]) if b.id == budget_id]
        if not found:
            raise BudgetNotFound(budget_id)
        (standing,) = _standings(uow, org_id, found, clock.now())
        uow.budgets.remove(budget_id)
        uow.commit()
    return standing


# -- the charging group ----------------------------------------------------------------------


def _counts_of(
    uow: UnitOfWork, budgets: Sequence[Budget], now: datetime
) -> dict[str, list[BudgetCount]]:
    """Each budget with what it counted in its running period (holds included), by
    organization: one statement for the counts and one for the holds, whatever the
    number of budgets and organizations (and a subscription read per organization with
    a budget per billing cycle)."""
    by_org: dict[str, list[Budget]] = {}
    for budget in budgets:
        by_org.setdefault(budget.org_id, []).append(budget)
    windows = [w for org_id, mine in by_org.items() for w in _windows(uow, org_id, mine, now)]
    if not windows:
        return {}
    since = min(start for _, start, _ in windows)
    consumed = uow.budgets.consumed([b.id for b, _, _ in windows], since)
    held = uow.budgets.held(sorted(by_org))
    counts: dict[str, list[BudgetCount]] = {}
    for budget, start, end in windows:
        used, alerted = consumed.get((budget.id, start), (0, 0))
        holding = sum(
            amount
            for (org_id, project, member), amount in held.items()
            if org_id == budget.org_id and budget.covers(project, member)
        )
        counts.setdefault(budget.org_id, []).append(
            BudgetCount(budget, start, end, used, holding, alerted)
        )
    return counts


def _counts(
    uow: UnitOfWork, org_id: str, budgets: Sequence[Budget], now: datetime
) -> list[BudgetCount]:
    return _counts_of(uow, budgets, now).get(org_id, [])


def load_counts(uow: UnitOfWork, accounts: Mapping[str, Account], now: datetime) -> None:
    """Load the budgets of the organizations that have some (under their locks)."""
    budgeted = sorted(o for o, a in accounts.items() if a.metering.budgeted)
    if not budgeted:
        return
    for org_id, counts in _counts_of(uow, uow.budgets.of_orgs(budgeted), now).items():
        accounts[org_id].budgets = counts


def _alert_body(alert: BudgetAlert, now: datetime) -> str:
    b = alert.budget
    payload = {
        "type": BUDGET_THRESHOLD,
        "timestamp": now.isoformat(),
        "data": {
            "org_id": b.org_id, "budget_id": b.id, "scope": b.scope.value,
            "scope_id": b.scope_id, "mode": b.mode.value, "period": b.period.value,
            "period_start": alert.start.isoformat(), "period_end": alert.end.isoformat(),
            "percent": alert.percent, "amount_micros": b.amount, "used_micros": alert.used,
        },
    }  # fmt: skip
    return json.dumps(payload, separators=(",", ":"))


def write_counts(uow: UnitOfWork, decision: Decision, now: datetime) -> None:
    """Write the budgets' counts and enqueue their alerts (in the group's transaction)."""
    if decision.budget_usage:
        uow.budgets.count([(b, s, c[0], c[1]) for (b, s), c in decision.budget_usage.items()])
    deliveries = []
    for alert in decision.budget_alerts:
        org_id = alert.budget.org_id
        body = _alert_body(alert, now)
        deliveries += [
            Delivery(new_id("msg"), Channel.WEBHOOK, e.id, None, org_id, alert.budget.id,
                     BUDGET_THRESHOLD, body, DeliveryStatus.PENDING, 0, now, now)
            for e in uow.webhooks.subscribers(org_id) if e.wants(org_id, BUDGET_THRESHOLD)
        ]  # fmt: skip
    if deliveries:
        uow.webhooks.add_deliveries(deliveries, now)
