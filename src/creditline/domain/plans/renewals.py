"""Billing cycles of a plan: the renewals (and grants) a scheduler owes, and a change of
plan mid-cycle.

**Billing** (B4): a plan's cycles last a month or a year (``interval``) and are
counted from the organization's plan start (``anchor = "signup"``) or run on calendar
months (``anchor = "calendar"``), read in ``time_zone``. The plan grants:

- at the plan start, cycle 0: ``signup_grant`` when the plan has one, otherwise
  ``cycle_grant``. The sign-up grant *replaces* the first cycle's grant: OTAI's
  "6 initial, then 2 monthly" is 6 in the first month and 2 in each one after.
- at the start of every later cycle: ``cycle_grant``. An annual plan's cycle is a
  year, so its ``cycle_grant`` is the year's credits, all granted at the start of
  the year ("annual plans get a year's worth of credits upfront" [002]).

Every plan grant expires by ``grant_expiry`` (an
:class:`~creditline.domain.cycles.ExpiryRule`); "included credits reset" [002] is
``end_of_cycle``. A calendar plan started mid-month gets its cycle 0 grant in full at
the plan start (no proration); under ``end_of_cycle`` it expires with that calendar
month. :func:`due_renewals` lists the grants a scheduler owes.

**Changing plan mid-cycle** (B5) restarts the billing cycle: the new plan is anchored
at the instant of the change (:func:`anchor_on_plan_change`) and its cycle 0 grants
the new plan's ``cycle_grant`` (not its sign-up grant: the organization signed up
already); the included credits of the old plan end at that instant. Calendar plans
keep their boundaries on the 1st, so only the included credits are reset.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from creditline.domain.cycles import Cycle, CycleAnchor, cycle_at, expires_at, nth_cycle
from creditline.domain.errors import InvalidSetting
from creditline.domain.plans.plan import Plan, PlanGrant
from creditline.domain.time import require_aware

__all__ = ["Renewal", "anchor_on_plan_change", "due_renewals"]


@dataclass(frozen=True, slots=True)
class Renewal:
    """One cycle a plan's organization has entered, and what the plan grants for it.

    Attributes:
        cycle: the cycle (index, ``[start, end)``).
        effective_at: when its grant takes effect: the cycle's start, or the plan start
            for cycle 0 (a calendar cycle 0 starts before the plan did). A cycle caught
            up late keeps this date: it is when the credits were due.
        grant: what to grant, or ``None`` when the plan grants nothing this cycle (the
            cycle still counts as processed).
        expires_at: the grant's expiry (exclusive), or ``None``.
        extras: the extra sign-up grants (cycle 0 of a sign-up), expiring alike.
    """

    cycle: Cycle
    effective_at: datetime
    grant: PlanGrant | None
    expires_at: datetime | None
    extras: tuple[PlanGrant, ...] = ()

    @property
    def amount(self) -> int:
        """Micro-credits of the cycle's grant (0 for none): the cycle's allowance, what
        a renewal records and a percent alert compares with. The extra sign-up grants
        are granted besides (:attr:`extra_amount`)."""
        return 0 if self.grant is None else self.grant.amount

    @property
    def extra_amount(self) -> int:
        """Micro-credits of the extra sign-up grants."""
        return sum(g.amount for g in self.extras)


def due_renewals(
    plan: Plan,
    started_at: datetime,
    last_processed: int | None,
    now: datetime,
    *,
    signup: bool = True,
) -> list[Renewal]:
    """Every cycle of ``plan`` due at ``now`` and not yet processed, oldest first.

    A cycle is due once its grant's effective time has come (``effective_at <= now``):
    cycle 0 at the plan start, every later cycle at its start. Each cycle after
    ``last_processed`` appears exactly once, in order, so a scheduler that was down
    for three months gets three renewals, each dated and expiring as if it had run
    on time; one whose expiry has passed should still be granted and expired, so
    that the ledger shows it (B3: expiry is an entry, never a silent change).

    Args:
        plan: the organization's plan.
        started_at: when the organization started the plan (sign-up, or the last
            plan change: :func:`anchor_on_plan_change`).
        last_processed: the index of the last cycle already renewed, or ``None`` when
            none has been (not even cycle 0).
        now: the current instant.
        signup: whether cycle 0 is the organization's sign-up (it gets the sign-up
            grant) or a plan change (it gets the cycle grant).

    Raises:
        InvalidTime: naive times.
        InvalidSetting: ``last_processed`` not a cycle index (a whole number >= 0).
    """
    moment = require_aware(now, "now")
    if last_processed is not None and (
        isinstance(last_processed, bool)
        or not isinstance(last_processed, int)
        or last_processed < 0
    ):
        raise InvalidSetting("last processed cycle", last_processed, "a cycle index >= 0 or None")
    anchor = plan.cycle_anchor(started_at)
    if moment < anchor.at:
        return []
    current = cycle_at(anchor, plan.interval, moment).index
    first = 0 if last_processed is None else last_processed + 1
    renewals = []
    for index in range(first, current + 1):
        cycle = nth_cycle(anchor, plan.interval, index)
        effective = max(cycle.start, anchor.at)
        renewals.append(
            Renewal(
                cycle=cycle,
                effective_at=effective,
                grant=plan.grant_for(index, signup=signup),
                extras=plan.extras_for(index, signup=signup),
                expires_at=expires_at(
                    plan.grant_expiry, effective, anchor=anchor, interval=plan.interval, cycle=cycle
                ),
            )
        )
    return renewals


def anchor_on_plan_change(new_plan: Plan, changed_at: datetime) -> CycleAnchor:
    """The new plan's anchor after a change of plan at ``changed_at`` (B5).

    The change restarts the billing cycle: the change instant is the new anchor, its
    cycle 0 begins then (for a calendar plan, the calendar month holding it), and
    :func:`due_renewals` with ``started_at=changed_at, last_processed=None,
    signup=False`` gives its first grant (the new plan's cycle grant). Resetting the
    included credits means the old plan's unexpired included grants end at
    ``changed_at``; doing so (with expire entries) is the caller's part.
    """
    return new_plan.cycle_anchor(changed_at)
