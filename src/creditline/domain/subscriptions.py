"""Subscriptions: an organization on a plan with billing, and the cycles already renewed
(requirements B4, B5, D5, F1).

**A subscription** ties one organization to the plan whose credits it is granted, and
holds what the renewals need: the anchor its cycles are counted from, and the last
cycle already renewed. Its cycle geometry (interval, anchor kind, time zone) is copied
from the plan when the anchor is set, so editing a plan later never renumbers the
cycles of the organizations on it; the amounts granted are the plan's as stored at each
renewal.

**Anchors.** ``anchored_at`` is the plan start: the sign-up, or the last plan change,
which restarts the billing cycle (B5: :func:`creditline.domain.plans.anchor_on_plan_change`).
``anchor_no`` counts the anchors of the subscription: 0 at the sign-up, one more at
each change. Cycle ``k`` of anchor ``n`` is renewed at most once: ``(org_id, n, k)`` is
the key of a :class:`CycleRenewal`, stored under a unique constraint in the same
transaction as the cycle's grant. ``signup`` says whether cycle 0 of the current anchor
is the sign-up (granted the plan's sign-up grant) or a plan change (granted its cycle
grant).

**Renewals** come from :func:`creditline.domain.plans.due_renewals`: every cycle after
``last_cycle`` whose grant is due, oldest first, each dated at its cycle start and
expiring as if it had been granted on time. ``next_renewal_at`` is when the next one
falls due, so a scheduler finds the due subscriptions by one indexed comparison.

**Resetting included credits** (B5): a plan change ends what is left of the old plan's
*cycle-bound* included credits (a plan whose ``grant_expiry`` is ``end_of_cycle`` or a
``rollover``, whose credits are worth the cycles the change restarts) with expire
entries caused by the plan cycle (:func:`reset_entries`). Credits the old plan promised
never to expire (OTAI: "credits do not expire, they accumulate") or to keep for a fixed
term stay until then.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import datetime

from creditline.domain.cycles import (
    AnchorKind,
    BillingInterval,
    Cycle,
    CycleAnchor,
    cycle_at,
    cycle_start,
)
from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import Grant, GrantKind, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import Plan, Renewal
from creditline.domain.time import require_aware

__all__ = [
    "CycleRenewal",
    "Subscription",
    "plan_change_ref",
    "renewal_ref",
    "reset_entries",
]

_REF_LENGTH = 200


@dataclass(frozen=True, slots=True)
class Subscription:
    """An organization's plan with billing (see the module docstring).

    Attributes:
        org_id: the organization.
        plan: the plan's name.
        interval: the cycle length, copied from the plan at the anchor.
        anchor_kind: ``signup`` or ``calendar``, copied from the plan at the anchor.
        time_zone: the IANA zone of the cycle boundaries, copied from the plan.
        started_at: when the organization first subscribed (UTC).
        anchored_at: the current anchor instant: the sign-up or the last plan change.
        anchor_no: 0 at the sign-up, one more at each plan change.
        signup: whether cycle 0 of the current anchor is the sign-up.
        last_cycle: the index of the last cycle renewed under the current anchor, or
            ``None`` before cycle 0.
        next_renewal_at: when the next cycle's grant falls due; ``None`` once ended.
        updated_at: when the row last changed.
        ended_at: when the subscription ended (the organization left its plan), or
            ``None`` while it renews.
        currency: the currency the plan's fee is billed in (``None``: a free plan).
    """

    org_id: str
    plan: str
    interval: BillingInterval
    anchor_kind: AnchorKind
    time_zone: str
    started_at: datetime
    anchored_at: datetime
    anchor_no: int
    signup: bool
    last_cycle: int | None
    next_renewal_at: datetime | None
    updated_at: datetime
    ended_at: datetime | None = None
    currency: str | None = None

    @classmethod
    def start(cls, org_id: str, plan: Plan, at: datetime) -> Subscription:
        """A new subscription to ``plan`` from ``at`` (the sign-up), nothing renewed yet."""
        moment = require_aware(at, "subscription start")
        return cls(
            org_id=org_id,
            plan=plan.name,
            interval=plan.interval,
            anchor_kind=plan.anchor,
            time_zone=plan.time_zone,
            started_at=moment,
            anchored_at=moment,
            anchor_no=0,
            signup=True,
            last_cycle=None,
            next_renewal_at=moment,
            updated_at=moment,
        )

    @property
    def active(self) -> bool:
        """Whether it still renews (it has not ended)."""
        return self.ended_at is None

    @property
    def anchor(self) -> CycleAnchor:
        """What the current cycles are counted from."""
        return CycleAnchor(self.anchor_kind, self.anchored_at, self.time_zone)

    def billing_plan(self, plan: Plan) -> Plan:
        """``plan`` (as stored now) with this subscription's cycle geometry.

        Raises:
            InvalidSetting: ``plan`` is not this subscription's plan.
        """
        if plan.name != self.plan:
            raise InvalidSetting("plan", plan.name, f"the subscription is on {self.plan!r}")
        return replace(
            plan, interval=self.interval, anchor=self.anchor_kind, time_zone=self.time_zone
        )

    def cycle_at(self, at: datetime) -> Cycle:
        """The cycle of the current anchor that holds ``at``."""
        return cycle_at(self.anchor, self.interval, at)

    def renewed_through(self, index: int, at: datetime) -> Subscription:
        """This subscription once cycle ``index`` is renewed, at ``at``."""
        following = cycle_start(self.anchor, self.interval, index + 1)
        return replace(self, last_cycle=index, next_renewal_at=following, updated_at=at)

    def changed_to(self, plan: Plan, at: datetime) -> Subscription:
        """This subscription moved to ``plan`` at ``at``: a new anchor, cycle 0 not a
        sign-up, nothing renewed yet (B5). Also restarts an ended subscription."""
        moment = require_aware(at, "plan change")
        return replace(
            self,
            plan=plan.name,
            interval=plan.interval,
            anchor_kind=plan.anchor,
            time_zone=plan.time_zone,
            anchored_at=moment,
            anchor_no=self.anchor_no + 1,
            signup=False,
            last_cycle=None,
            next_renewal_at=moment,
            updated_at=moment,
            ended_at=None,
        )

    def ended(self, at: datetime) -> Subscription:
        """This subscription stopped at ``at``: it renews nothing more."""
        moment = require_aware(at, "subscription end")
        return replace(self, next_renewal_at=None, updated_at=moment, ended_at=moment)


@dataclass(frozen=True, slots=True)
class CycleRenewal:
    """One cycle of a subscription, renewed exactly once, and what it granted.

    Attributes:
        org_id: the organization.
        anchor_no: the anchor the cycle is counted from (see :class:`Subscription`).
        cycle: the cycle (index, ``[start, end)``).
        plan: the plan that granted it.
        grant_id: the grant made, or ``None`` when the plan grants nothing this cycle.
        amount: micro-credits granted (0 for none).
        renewed_at: when the renewal was recorded (late when caught up).
    """

    org_id: str
    anchor_no: int
    cycle: Cycle
    plan: str
    grant_id: str | None
    amount: int
    renewed_at: datetime


def renewal_ref(plan: str, renewal: Renewal) -> str:
    """The source and cause reference of a cycle's grant: the plan and the cycle's
    start date, ``"pro:2026-03-31"`` (the grant's metadata holds the exact cycle)."""
    day = renewal.cycle.start.date().isoformat()
    return f"{plan[: _REF_LENGTH - len(day) - 1]}:{day}"


def plan_change_ref(old: str, new: str | None) -> str:
    """The cause reference of the included credits a plan change resets:
    ``"core->growth"``."""
    half = (_REF_LENGTH - 2) // 2
    return f"{old[:half]}->{(new or 'none')[:half]}"


def reset_entries(
    old_plan: Plan, grants: Iterable[Grant], cause: Cause, now: datetime
) -> list[NewEntry]:
    """The expire entries that reset the old plan's included credits at a plan change.

    Only when ``old_plan``'s credits are cycle-bound (``end_of_cycle`` or ``rollover``:
    see the module docstring). Each included grant made by a plan that is spendable
    at ``now`` loses what is left of it; grants already past their expiry are left to
    the expiry sweep, which writes their own ``expiry`` entry.
    """
    if not old_plan.grant_expiry.needs_cycle:
        return []
    if cause.type is not CauseType.PLAN_CYCLE:
        raise InvalidSetting("cause type", cause.type, "a reset is caused by the plan cycle")
    return [
        NewEntry(g.org_id, g.id, EntryType.EXPIRE, -g.remaining, cause, now)
        for g in grants
        if g.kind is GrantKind.INCLUDED and g.source.type is SourceType.PLAN and g.is_spendable(now)
    ]
