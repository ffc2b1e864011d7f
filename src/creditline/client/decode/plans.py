"""An organization's plan and subscription, as the service answers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.client.decode._common import Doc, maybe_when, when
from creditline.domain.cycles import AnchorKind, BillingInterval, Cycle
from creditline.domain.organizations import Organization
from creditline.domain.plans import DepletionPolicy, Plan
from creditline.domain.usage import Metering
from creditline.services.cycles import BillingChange


@dataclass(frozen=True, slots=True)
class SubscriptionInfo:
    """An organization's subscription as the service shows it: the stored
    :class:`~creditline.domain.subscriptions.Subscription`'s fields but ``signup`` and
    ``updated_at``, with the cycle running now."""

    plan: str
    interval: BillingInterval
    anchor_kind: AnchorKind
    time_zone: str
    started_at: datetime
    anchored_at: datetime
    anchor_no: int
    last_cycle: int | None
    cycle: Cycle | None
    next_renewal_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class OrgPlan:
    """An organization's plan as the service answers it (``GET``/``PUT
    /v1/orgs/{org}/plan``): what :meth:`Client.subscribe` and :meth:`Client.change_plan`
    return in place of the library's ``PlanAssigned``, whose renewals, reset and
    expired amounts the answer does not carry (read them in the ledger).

    Attributes:
        metering: the rate card, plan, depletion policy and flex switch in force.
        read_only: whether the organization's writes should be locked now (A3).
        subscription: its subscription, or ``None``.
        change: what the assignment did to the billing (``None`` for a read).
    """

    metering: Metering
    read_only: bool
    subscription: SubscriptionInfo | None
    change: BillingChange | None = None


def cycle(d: Doc | None) -> Cycle | None:
    return None if d is None else Cycle(d["index"], when(d["start"]), when(d["end"]))


def subscription(d: Doc | None) -> SubscriptionInfo | None:
    if d is None:
        return None
    return SubscriptionInfo(
        plan=d["plan"],
        interval=BillingInterval(d["interval"]),
        anchor_kind=AnchorKind(d["anchor"]),
        time_zone=d["time_zone"],
        started_at=when(d["started_at"]),
        anchored_at=when(d["anchored_at"]),
        anchor_no=d["anchor_no"],
        last_cycle=d["last_cycle"],
        cycle=cycle(d["cycle"]),
        next_renewal_at=maybe_when(d["next_renewal_at"]),
        ended_at=maybe_when(d["ended_at"]),
    )


def metering(d: Doc, org: Organization, stored: Plan) -> Metering:
    return Metering(
        org_id=d["org_id"],
        order=org.consumption_order,
        rate_card=d["rate_card"],
        plan=stored,
        depletion=DepletionPolicy(d["depletion"]),
        flex_enabled=d["flex_enabled"],
        entry_count=0,
        hold=d.get("billing_hold"),
    )


def org_plan(d: Doc, org: Organization, stored: Plan) -> OrgPlan:
    change = d.get("change")
    return OrgPlan(
        metering=metering(d, org, stored),
        read_only=d["read_only"],
        subscription=subscription(d["subscription"]),
        change=None if change is None else BillingChange(change),
    )
