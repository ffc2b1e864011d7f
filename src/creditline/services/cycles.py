"""Billing cycles: putting organizations on plans with billing, renewing every cycle
exactly once, and changing plans mid-cycle (requirements B3, B4, B5, F1, F2).

Each use case is one transaction under the organization's lock
(``uow.balances.lock`` first, then read, then write, then commit):

- :func:`assign_plan` puts an organization on a plan (its metering settings) and, when
  asked to, subscribes it: the plan's sign-up grant (or first cycle grant) is granted
  at once. An organization already subscribed follows its plan: a different plan is a
  plan change (B5: the cycle restarts at the change and the old plan's cycle-bound
  included credits are reset, see :mod:`creditline.domain.subscriptions`), no plan ends
  the subscription (its credits stay until their own expiry).
- :func:`renew_subscription` grants every cycle that has started and is not yet
  renewed, oldest first, each dated at its cycle start and expiring by the plan's rule
  as if granted on time (a scheduler down for three months catches up three cycles).
  A grant whose expiry has already passed is still granted, and expired by the expiry
  sweep that follows, so the ledger shows both.

**Exactly once.** A renewal reads the subscription's last renewed cycle under the
organization's lock (PostgreSQL: a row lock; SQLite: the database write lock) and, in
the same transaction as each grant, records the cycle under the unique key
``(org, anchor, cycle)``. A second worker renewing the same organization waits for
the lock, then finds nothing due; were it ever to get past the lock, its insert of the
same key would fail and roll its grant back.

**Fees** (D5). A plan with a ``fee`` bills each cycle: the renewal of a cycle records
the cycle's fee as an :class:`~creditline.domain.invoices.InvoiceItem` (key
``fee:<anchor>:<cycle>``, unique, in the renewal's transaction, so a fee is recorded
exactly once like the grant), due at the cycle's start or end; the monthly invoice bills
it (:mod:`creditline.services.invoices`). A plan change or end mid-cycle applies the
old plan's ``on_change`` to the running cycle's fee
(:func:`~creditline.domain.invoices.change_fee`): a prorated credit line, or none. The
fee is billed in the currency the organization subscribed in (``currency``; the plan's
only one needs no saying).

Grants made by renewals have source ``plan`` with reference ``"<plan>:<cycle start
date>"`` (:func:`~creditline.domain.subscriptions.renewal_ref`), their ledger entry the
cause ``plan_cycle`` with the same reference, and the exact cycle in their metadata.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS
from creditline.domain.cycles import Cycle
from creditline.domain.errors import (
    InvalidAmount,
    InvalidSetting,
    OrganizationNotFound,
    PlanNotFound,
)
from creditline.domain.expiry import expiry_entries
from creditline.domain.grants import GrantSource, NewGrant, SourceType
from creditline.domain.invoices import change_fee, fee_item, fee_ref
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import DepletionPolicy, Plan, PlanGrant, Renewal, due_renewals
from creditline.domain.subscriptions import (
    CycleRenewal,
    Subscription,
    plan_change_ref,
    renewal_ref,
    reset_entries,
)
from creditline.domain.time import Clock
from creditline.domain.usage import Metering
from creditline.services import grace
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.posting import post
from creditline.services.reservations import expire_reservations

__all__ = [
    "AssignPlan",
    "BillingChange",
    "PlanAssigned",
    "Renewed",
    "SubscriptionStatus",
    "assign_plan",
    "due_subscriptions",
    "renew_subscription",
    "subscription_status",
]


class BillingChange(enum.StrEnum):
    """What assigning a plan did to the organization's subscription."""

    NONE = "none"
    """Not subscribed, and not asked to subscribe: metering settings only."""
    STARTED = "started"
    CHANGED = "changed"
    UNCHANGED = "unchanged"
    """Already subscribed to this plan: the cycle runs on."""
    ENDED = "ended"


@dataclass(frozen=True, slots=True)
class AssignPlan:
    """Put an organization on ``plan`` (``None``: the default plan).

    ``depletion`` and ``flex_enabled`` are the organization's own settings (``None``:
    the plan's). ``subscribe`` starts the plan's billing when the organization has no
    subscription; one it has follows the plan whatever ``subscribe`` says.
    """

    org_id: str
    plan: str | None
    depletion: DepletionPolicy | None = None
    flex_enabled: bool | None = None
    subscribe: bool = False
    currency: str | None = None
    """The currency the plan's fee is billed in (``None``: the one it had, or the plan's
    only one)."""


@dataclass(frozen=True, slots=True)
class PlanAssigned:
    """The outcome of :func:`assign_plan`.

    Attributes:
        metering: the organization's metering settings now.
        change: what happened to its subscription.
        subscription: the subscription now, or ``None``.
        renewals: the cycles renewed by this call, in order: the old plan's cycles that
            were due and not yet renewed, then the new plan's cycle 0.
        reset: micro-credits of the old plan's included credits reset by a plan change.
        expired: micro-credits expired at the change because their expiry had passed.
    """

    metering: Metering
    change: BillingChange
    subscription: Subscription | None
    renewals: tuple[CycleRenewal, ...] = ()
    reset: int = 0
    expired: int = 0

    @property
    def granted(self) -> int:
        """Micro-credits granted by this call's cycle grants (the plan's extra sign-up
        grants, an onboarding guarantee, are their own grants besides)."""
        return sum(r.amount for r in self.renewals)


@dataclass(frozen=True, slots=True)
class Renewed:
    """What one organization's renewal run granted: its cycles, in order."""

    org_id: str
    renewals: tuple[CycleRenewal, ...] = ()

    @property
    def cycles(self) -> int:
        return len(self.renewals)

    @property
    def grants(self) -> int:
        return sum(1 for r in self.renewals if r.grant_id is not None)

    @property
    def amount(self) -> int:
        return sum(r.amount for r in self.renewals)


@dataclass(frozen=True, slots=True)
class SubscriptionStatus:
    """An organization's subscription as of ``as_of``.

    Attributes:
        subscription: the stored subscription.
        cycle: the cycle running at ``as_of``, or ``None`` once the subscription ended.
        renewals: the latest renewed cycles of the current anchor, newest first.
        as_of: the instant the cycle was read at.
    """

    subscription: Subscription
    cycle: Cycle | None
    renewals: tuple[CycleRenewal, ...]
    as_of: datetime


# -- use cases ----------------------------------------------------------------------------


def assign_plan(cmd: AssignPlan, uow: UnitOfWork, clock: Clock) -> PlanAssigned:
    """Put an organization on a plan and start, change or end its billing (see above).

    Raises:
        OrganizationNotFound, PlanNotFound: nothing was changed.
    """
    with uow:
        if uow.balances.lock(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()  # under the lock, so entry times follow entry ids
        plan = None if cmd.plan is None else _plan(uow, cmd.plan)
        policy = None if cmd.depletion is None else cmd.depletion.value
        uow.plans.assign(cmd.org_id, cmd.plan, policy, cmd.flex_enabled)
        current = uow.subscriptions.get(cmd.org_id)
        outcome = _bill(uow, current, plan, cmd, now)
        metering = uow.usage.metering([cmd.org_id])[cmd.org_id]
        uow.commit()
    return PlanAssigned(metering, *outcome)


def renew_subscription(org_id: str, uow: UnitOfWork, clock: Clock) -> Renewed:
    """Grant every cycle of the organization's subscription that is due and not yet
    renewed, in order; a no-op when nothing is due (a second worker, a second run)."""
    with uow:
        if uow.balances.lock(org_id) is None:
            return Renewed(org_id)
        now = clock.now()  # under the lock, so entry times follow entry ids
        sub = uow.subscriptions.get(org_id)
        if sub is None or sub.next_renewal_at is None or sub.next_renewal_at > now:
            return Renewed(org_id)
        _, renewals = _renew(uow, sub, _plan(uow, sub.plan), now)
        uow.commit()
    return Renewed(org_id, tuple(renewals))


def due_subscriptions(
    uow: UnitOfWork, now: datetime, limit: int = 1000, after: str | None = None
) -> list[str]:
    """Organizations with a renewal due at ``now``, by id, after the id ``after``."""
    with uow:
        return uow.subscriptions.due(now, limit, after)


def subscription_status(
    org_id: str, uow: UnitOfWork, clock: Clock, renewals: int = 12
) -> SubscriptionStatus | None:
    """The organization's subscription and its running cycle, or ``None``.

    Raises:
        OrganizationNotFound: no such organization.
    """
    now = clock.now()
    with uow:
        if uow.balances.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        sub = uow.subscriptions.get(org_id)
        if sub is None:
            return None
        recent = uow.subscriptions.renewals(org_id, renewals, sub.anchor_no)
    cycle = sub.cycle_at(now) if sub.active and now >= sub.anchored_at else None
    return SubscriptionStatus(sub, cycle, tuple(recent), now)


# -- the parts ----------------------------------------------------------------------------

_Outcome = tuple[BillingChange, Subscription | None, tuple[CycleRenewal, ...], int, int]


def _plan(uow: UnitOfWork, name: str) -> Plan:
    found = uow.plans.get(name)
    if found is None:
        raise PlanNotFound(name)
    return found


def _bill(
    uow: UnitOfWork, current: Subscription | None, plan: Plan | None, cmd: AssignPlan, now: datetime
) -> _Outcome:
    """Start, change, end or keep the subscription for the plan just assigned."""
    if current is None or not current.active:
        if plan is None or not cmd.subscribe:
            return BillingChange.NONE, current, (), 0, 0
        currency = _currency(plan, cmd.currency, None if current is None else current.currency)
        if current is None:
            started = replace(Subscription.start(cmd.org_id, plan, now), currency=currency)
            uow.subscriptions.add(started)
        else:  # subscribing again after it ended: a new anchor, no second sign-up grant
            started = replace(current.changed_to(plan, now), currency=currency)
            uow.subscriptions.save(started)
        sub, renewals = _renew(uow, started, plan, now)
        return BillingChange.STARTED, sub, tuple(renewals), 0, 0
    if plan is not None and plan.name == current.plan:
        return BillingChange.UNCHANGED, current, (), 0, 0
    # The cycles of the old plan that started before the change are owed: renew them.
    old_plan = _plan(uow, current.plan)
    current, owed = _renew(uow, current, old_plan, now)
    _change_fee(uow, current, old_plan, now)
    if plan is None:
        ended = current.ended(now)
        uow.subscriptions.save(ended)
        return BillingChange.ENDED, ended, tuple(owed), 0, 0
    currency = _currency(plan, cmd.currency, current.currency)
    expired, reset = _reset(uow, cmd.org_id, old_plan, plan, now)
    changed = replace(current.changed_to(plan, now), currency=currency)
    uow.subscriptions.save(changed)
    changed, first = _renew(uow, changed, plan, now)
    return BillingChange.CHANGED, changed, (*owed, *first), reset, expired


def _currency(plan: Plan, wanted: str | None, had: str | None) -> str | None:
    """The currency ``plan``'s fee is billed in: the one asked for, else the one the
    subscription had when the plan is priced in it, else the fee's default currency.

    Raises:
        InvalidSetting: the plan has no price in the currency asked for.
    """
    fee = plan.fee
    if fee is None:
        return None
    priced = ", ".join(fee.currencies)
    if wanted is not None:
        if wanted not in fee.prices:
            raise InvalidSetting("currency", wanted, f"plan {plan.name!r} is priced in {priced}")
        return wanted
    if had is not None and had in fee.prices:
        return had
    return fee.default_currency


def _change_fee(uow: UnitOfWork, sub: Subscription, plan: Plan, now: datetime) -> None:
    """Apply the old plan's ``on_change`` to the fee of the cycle running at ``now``."""
    if sub.last_cycle is None or plan.fee is None:
        return
    fee = uow.invoices.item(sub.org_id, fee_ref(sub.anchor_no, sub.last_cycle))
    if fee is None:
        return
    cycle = sub.cycle_at(now)
    if cycle.index != sub.last_cycle:
        return
    effective = max(cycle.start, sub.anchored_at)
    changed, credit = change_fee(
        sub.billing_plan(plan), fee, cycle, effective_at=effective, at=now, credit_id=new_id("itm")
    )
    if changed is not None:
        uow.invoices.save_item(changed, now)
    if credit is not None:
        uow.invoices.add_item(credit, now)


def _reset(
    uow: UnitOfWork, org_id: str, old_plan: Plan, new_plan: Plan, now: datetime
) -> tuple[int, int]:
    """At a plan change: first what is due anyway (overdue holds released, grants past
    their expiry expired, as the expiry sweep would), then the old plan's cycle-bound
    included credits reset (B5). Returns (expired, reset) in micro-credits."""
    expire_reservations(org_id, uow, now)
    due = expiry_entries(uow.grants.active(org_id), now)
    post(uow, org_id, due, now)
    cause = Cause(CauseType.PLAN_CYCLE, plan_change_ref(old_plan.name, new_plan.name))
    resets = reset_entries(old_plan, uow.grants.active(org_id), cause, now)
    post(uow, org_id, resets, now)
    return -sum(e.amount for e in due), -sum(e.amount for e in resets)


def _renew(
    uow: UnitOfWork, sub: Subscription, plan: Plan, now: datetime
) -> tuple[Subscription, list[CycleRenewal]]:
    """Renew every due cycle of ``sub`` and save it; the caller holds the lock."""
    due = due_renewals(
        sub.billing_plan(plan), sub.anchored_at, sub.last_cycle, now, signup=sub.signup
    )
    if not due:
        return sub, []
    done = []
    billing = sub.billing_plan(plan)
    for renewal in due:
        grant_id = _grant(uow, sub, plan.name, renewal, now)
        record = CycleRenewal(
            sub.org_id, sub.anchor_no, renewal.cycle, plan.name, grant_id, renewal.amount, now
        )
        uow.subscriptions.add_renewal(record)
        if sub.currency is not None:
            fee = fee_item(
                new_id("itm"), sub.org_id, anchor_no=sub.anchor_no, plan=billing,
                cycle=renewal.cycle, effective_at=renewal.effective_at, currency=sub.currency,
                granted=renewal.amount,
            )  # fmt: skip
            if fee is not None:
                uow.invoices.add_item(fee, now)
        done.append(record)
    renewed = sub.renewed_through(due[-1].cycle.index, now)
    uow.subscriptions.save(renewed)
    return renewed, done


def _grant(
    uow: UnitOfWork, sub: Subscription, plan: str, renewal: Renewal, now: datetime
) -> str | None:
    """Grant one cycle's credits, dated at the cycle, then its extra sign-up grants
    (same cause, ``extra`` in their metadata); the cycle grant's id (or the first extra
    one's), or ``None``. The renewal records the cycle grant's amount only: the extra
    grants are their own grants and entries."""
    first = None
    if renewal.grant is not None:
        first = _grant_one(uow, sub, plan, renewal, renewal.grant, extra=None, now=now)
    for i, grant in enumerate(renewal.extras):
        made = _grant_one(uow, sub, plan, renewal, grant, extra=i, now=now)
        first = first or made
    return first


def _grant_one(
    uow: UnitOfWork,
    sub: Subscription,
    plan: str,
    renewal: Renewal,
    grant: PlanGrant,
    *,
    extra: int | None,
    now: datetime,
) -> str:
    ref = renewal_ref(plan, renewal)
    cycle = renewal.cycle
    metadata: dict[str, Any] = {
        "plan": plan,
        "anchor_no": sub.anchor_no,
        "cycle": cycle.index,
        "cycle_start": cycle.start.isoformat(),
        "cycle_end": cycle.end.isoformat(),
    }
    if extra is not None:
        metadata["extra"] = extra  # its place in the plan's extra_signup_grants
    new = NewGrant(
        org_id=sub.org_id,
        kind=grant.kind,
        amount=grant.amount,
        effective_at=renewal.effective_at,
        expires_at=renewal.expires_at,
        source=GrantSource(SourceType.PLAN, ref),
        metadata=metadata,
        scope=grant.scope,
    ).validate()
    stored = uow.balances.get(sub.org_id)
    assert stored is not None, "the organization is locked, so it exists"
    balance, entry_count, _ = stored
    if balance + new.amount > MAX_MICROS:
        raise InvalidAmount(
            new.amount, f"the organization's balance would exceed {MAX_MICROS} micro-credits"
        )
    made = uow.grants.add(new_id("grt"), new, now, seq=entry_count)
    entry = NewEntry(
        sub.org_id,
        made.id,
        EntryType.GRANT,
        new.amount,
        Cause(CauseType.PLAN_CYCLE, ref),
        renewal.effective_at,
    )
    uow.ledger.append([entry], now)
    uow.balances.apply(sub.org_id, new.amount, 1, now)
    if new.scope is None:  # general credits end grace (domain/grace.py)
        grace.restore(uow, sub.org_id, ("plan_cycle", ref), now)
    return made.id
