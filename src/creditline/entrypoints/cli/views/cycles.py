"""How billing cycles, subscriptions and scheduler ticks look (see
:mod:`creditline.entrypoints.cli.views.base` for the conventions: ``data`` for JSON, ``parts``
for a terminal, every credit amount as decimal credits and as micro-credits, times
ISO 8601 in UTC). These views only present what the engine returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from rich.table import Table
from rich.text import Text

from creditline import format_credits
from creditline.domain.cycles import Cycle
from creditline.domain.money import format_money
from creditline.domain.plans import Plan, PlanGrant
from creditline.domain.subscriptions import CycleRenewal
from creditline.entrypoints.cli.views.base import (
    View,
    credit_fields,
    escaped,
    iso,
    key_values,
    new_table,
    when,
)
from creditline.services.cycles import BillingChange, PlanAssigned, SubscriptionStatus
from creditline.services.scheduler import TickReport

__all__ = [
    "assigned_view",
    "plan_billing_view",
    "subscription_data",
    "tick_line",
    "tick_view",
    "with_subscription",
]


def _cycle_data(cycle: Cycle | None) -> dict[str, Any] | None:
    if cycle is None:
        return None
    return {"index": cycle.index, "start": iso(cycle.start), "end": iso(cycle.end)}


def _renewal_data(renewal: CycleRenewal) -> dict[str, Any]:
    return {
        "plan": renewal.plan,
        "anchor_no": renewal.anchor_no,
        "cycle": _cycle_data(renewal.cycle),
        "grant_id": renewal.grant_id,
        **credit_fields("amount", renewal.amount),
        "renewed_at": iso(renewal.renewed_at),
    }


def _renewals_table(renewals: Iterable[CycleRenewal], title: str) -> Table:
    table = new_table(title, "plan", "cycle", "start (UTC)", "end (UTC)", "credits", "grant")
    for r in renewals:
        table.add_row(
            Text(r.plan),
            str(r.cycle.index),
            when(r.cycle.start),
            when(r.cycle.end),
            format_credits(r.amount),
            r.grant_id or "",
        )
    return table


def subscription_data(status: SubscriptionStatus | None) -> dict[str, Any] | None:
    """A subscription in JSON form, or ``None``."""
    if status is None:
        return None
    sub = status.subscription
    return {
        "plan": sub.plan,
        "interval": sub.interval.value,
        "anchor": sub.anchor_kind.value,
        "time_zone": sub.time_zone,
        "started_at": iso(sub.started_at),
        "anchored_at": iso(sub.anchored_at),
        "anchor_no": sub.anchor_no,
        "last_cycle": sub.last_cycle,
        "cycle": _cycle_data(status.cycle),
        "next_renewal_at": iso(sub.next_renewal_at),
        "ended_at": iso(sub.ended_at),
        "renewals": [_renewal_data(r) for r in status.renewals],
    }


def _subscription_table(status: SubscriptionStatus | None) -> Table:
    """The subscription's plan, cycle and next renewal (or that there is none)."""
    return key_values("Subscription", escaped(_subscription_rows(status)))


def _subscription_rows(status: SubscriptionStatus | None) -> list[tuple[str, str]]:
    if status is None:
        return [("subscription", "none (no plan with billing)")]
    sub, cycle = status.subscription, status.cycle
    rows = [
        ("plan", sub.plan),
        ("billing", f"{sub.interval.value}, {sub.anchor_kind.value} anchor, {sub.time_zone}"),
        ("subscribed (UTC)", when(sub.started_at)),
        ("anchored (UTC)", when(sub.anchored_at)),
    ]
    if cycle is not None:
        rows.append(("cycle", f"{cycle.index}: {when(cycle.start)} to {when(cycle.end)} UTC"))
    rows.append(("next renewal (UTC)", when(sub.next_renewal_at, "none")))
    if sub.ended_at is not None:
        rows.append(("ended (UTC)", when(sub.ended_at)))
    return rows


def with_subscription(view: View, status: SubscriptionStatus | None) -> View:
    """An organization's status with its subscription: plan, cycle, next renewal."""
    data = {**view.data, "subscription": subscription_data(status)}
    return View(data, (*view.parts, _subscription_table(status)))


def assigned_view(view: View, assigned: PlanAssigned, status: SubscriptionStatus | None) -> View:
    """The metering view of a plan assignment, with what it did to the billing."""
    billing = {
        "change": assigned.change.value,
        **credit_fields("granted", assigned.granted),
        **credit_fields("reset", assigned.reset),
        **credit_fields("expired", assigned.expired),
        "renewals": [_renewal_data(r) for r in assigned.renewals],
        "subscription": subscription_data(status),
    }
    parts = [*view.parts, Text(billing_sentence(assigned))]
    if assigned.renewals:
        parts.append(_renewals_table(assigned.renewals, "Cycles renewed"))
    if status is not None:
        parts.append(_subscription_table(status))
    return View({**view.data, "billing": billing}, tuple(parts))


_BILLING_LEADS = {
    BillingChange.NONE: "No billing: the plan sets the gates and the depletion policy "
    "(--subscribe starts its billing cycles)",
    BillingChange.STARTED: "Billing started: its first cycle begins now",
    BillingChange.CHANGED: "Plan changed: a new billing cycle begins now",
    BillingChange.UNCHANGED: "Already subscribed to this plan: its billing cycle runs on",
    BillingChange.ENDED: "Billing ended: no plan with billing",
}


def billing_sentence(assigned: PlanAssigned) -> str:
    """What a plan assignment did to the billing, in a sentence: its credits named only
    when there are some (``Billing started: cycle 0 begins now; granted 100 credits.``)."""
    moved = [
        f"{what} {format_credits(amount)} credits"
        for what, amount in (
            ("granted", assigned.granted),
            ("reset the old plan's included", assigned.reset),
            ("expired", assigned.expired),
        )
        if amount
    ]
    return _BILLING_LEADS[assigned.change] + (f"; {', '.join(moved)}." if moved else ".")


def _grant_text(grant: PlanGrant | None) -> str:
    if grant is None:
        return "none"
    text = f"{format_credits(grant.amount)} {grant.kind.value}"
    return text if grant.scope is None else f"{text}, for {grant.scope.describe()} only"


def _expiry_text(document: str | Mapping[str, Any]) -> str:
    if isinstance(document, str):
        return document
    return ", ".join(f"{k} {v}" for k, v in document.items())


def plan_billing_view(view: View, plan: Plan) -> View:
    """A plan's view with its billing: cycles, grants and their expiry."""
    rows = [
        ("interval", plan.interval.value),
        ("anchor", plan.anchor.value),
        ("time zone", plan.time_zone),
        ("sign-up grant", _grant_text(plan.signup_grant)),
        ("cycle grant", _grant_text(plan.cycle_grant)),
        *(("also on sign-up", _grant_text(g)) for g in plan.extra_signup_grants),
        ("grant expiry", _expiry_text(plan.grant_expiry.to_document())),
        ("fee", _fee_text(plan)),
        ("failed payments", _dunning_text(plan)),
    ]
    return View(view.data, (*view.parts, key_values("Billing", escaped(rows))))


def _fee_text(plan: Plan) -> str:
    """``EUR 499.00, USD 549.00 a cycle, in advance; a change mid-cycle: prorate``."""
    fee = plan.fee
    if fee is None:
        return "none"
    prices = ", ".join(format_money(fee.prices[c], c) for c in fee.currencies)
    timing = fee.billed.value.replace("_", " ")
    return f"{prices} a cycle, {timing}; a change mid-cycle: {fee.on_change.value}"


def _dunning_text(plan: Plan) -> str:
    """``retried after 1, 3, 7 days, then pause``."""
    dunning = plan.dunning
    if dunning is None:
        return "left open (no retries)"
    days = ", ".join(str(d) for d in dunning.retry_after_days) or "no"
    then = "nothing" if dunning.suspend is None else dunning.suspend.value
    return f"retried after {days} days, then {then}"


def _summary_text(summary: Mapping[str, Any]) -> str:
    parts = []
    for key, value in summary.items():
        if key.endswith("_micros") and isinstance(value, int):
            parts.append(f"{key.removesuffix('_micros')}={format_credits(value)}")
        elif isinstance(value, list | tuple):
            parts.append(f"{key}={len(value)}")
        else:
            parts.append(f"{key}={value}")
    return ", ".join(parts)


def tick_line(report: TickReport) -> str:
    """One line for a log: each job's summary, and any errors."""
    jobs = "; ".join(
        f"{job.name}: {_summary_text(job.summary) or 'failed'}"
        + "".join(f" [error: {e}]" for e in job.errors)
        for job in report.jobs
    )
    return f"tick at {iso(report.at)}: {jobs}"


def tick_view(report: TickReport) -> View:
    """What a tick did, job by job, in the order they ran."""
    data = {
        "at": iso(report.at),
        "ok": report.ok,
        "jobs": [
            {
                "name": job.name,
                "seconds": round(job.seconds, 6),
                "summary": dict(job.summary),
                "errors": [str(e) for e in job.errors],
            }
            for job in report.jobs
        ],
    }
    table = Table(title=f"Tick at {when(report.at)} UTC", title_justify="left", show_edge=False)
    for name in ("job", "result", "errors"):
        table.add_column(name, overflow="fold")
    for job in report.jobs:
        table.add_row(
            Text(job.name),
            Text(_summary_text(job.summary)),
            Text("; ".join(str(e) for e in job.errors)),
        )
    return View(data, (table,))
