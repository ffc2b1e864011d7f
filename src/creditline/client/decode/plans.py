"""An organization's plan and subscription, as the service answers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.client.decode._common import Doc, decodes, record
from creditline.domain.cycles import AnchorKind, BillingInterval, Cycle
from creditline.domain.organizations import Organization
from creditline.domain.plans import Plan
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
    return None if d is None else record(Cycle, d)


@decodes(SubscriptionInfo)
def _subscription(d: Doc) -> SubscriptionInfo:
    return record(SubscriptionInfo, d, anchor_kind=AnchorKind(d["anchor"]))


def subscription(d: Doc | None) -> SubscriptionInfo | None:
    return None if d is None else _subscription(d)


def metering(d: Doc, org: Organization, stored: Plan) -> Metering:
    """What the organization is metered by (the plan and the consumption order are the
    library's; an internal counter is not in the answer: 0)."""
    return record(
        Metering, d, order=org.consumption_order, plan=stored, entry_count=0,
        hold=d.get("billing_hold"),
    )  # fmt: skip


def org_plan(d: Doc, org: Organization, stored: Plan) -> OrgPlan:
    return record(OrgPlan, d, metering=metering(d, org, stored))
