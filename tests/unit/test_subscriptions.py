"""Subscriptions in the domain: anchors, renewals bookkeeping, plan changes and the reset
of included credits (no database)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from creditline import credits
from creditline.domain.cycles import AnchorKind, BillingInterval, Cycle, ExpiryRule
from creditline.domain.errors import InvalidSetting, InvalidTime
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.plans import Plan, PlanGrant, Renewal
from creditline.domain.subscriptions import (
    Subscription,
    plan_change_ref,
    renewal_ref,
    reset_entries,
)
from tests.unit.builders import grant

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)
PRO = Plan("pro", signup_grant=PlanGrant(credits(100)), cycle_grant=PlanGrant(credits(50)))
CORE = Plan("core", cycle_grant=PlanGrant(credits(30)), grant_expiry=ExpiryRule.end_of_cycle())


def utc(y: int, mo: int, d: int, h: int = 0) -> datetime:
    return datetime(y, mo, d, h, tzinfo=UTC)


def test_a_new_subscription_is_a_sign_up_due_at_once() -> None:
    sub = Subscription.start("org_a", PRO, JAN_31)
    assert (sub.anchored_at, sub.started_at, sub.anchor_no, sub.signup) == (JAN_31, JAN_31, 0, True)
    assert (sub.last_cycle, sub.next_renewal_at, sub.active) == (None, JAN_31, True)
    assert (sub.interval, sub.anchor_kind, sub.time_zone) == (
        BillingInterval.MONTHLY, AnchorKind.SIGNUP, "UTC",
    )  # fmt: skip
    with pytest.raises(InvalidTime):
        Subscription.start("org_a", PRO, datetime(2026, 1, 31))


def test_the_next_renewal_is_counted_from_the_anchor_without_drift() -> None:
    sub = Subscription.start("org_a", PRO, JAN_31)
    after = [sub.renewed_through(i, JAN_31).next_renewal_at for i in range(4)]
    assert after == [utc(2026, 2, 28, 9), utc(2026, 3, 31, 9), utc(2026, 4, 30, 9),
                     utc(2026, 5, 31, 9)]  # fmt: skip
    assert sub.cycle_at(utc(2026, 3, 31, 9)) == Cycle(2, utc(2026, 3, 31, 9), utc(2026, 4, 30, 9))


def test_the_cycle_geometry_is_the_subscriptions_not_the_edited_plans() -> None:
    sub = Subscription.start("org_a", PRO, JAN_31)
    edited = replace(PRO, interval=BillingInterval.ANNUAL, cycle_grant=PlanGrant(credits(7)))
    billing = sub.billing_plan(edited)
    assert (billing.interval, billing.cycle_grant) == (BillingInterval.MONTHLY, edited.cycle_grant)
    with pytest.raises(InvalidSetting, match="the subscription is on 'pro'"):
        sub.billing_plan(CORE)


def test_a_plan_change_is_a_new_anchor_whose_cycle_zero_is_not_a_sign_up() -> None:
    sub = Subscription.start("org_a", PRO, JAN_31).renewed_through(2, JAN_31)
    changed_at = utc(2026, 4, 15, 15)
    calendar = Plan("cal", anchor=AnchorKind.CALENDAR, time_zone="Europe/Berlin")
    changed = sub.changed_to(calendar, changed_at)
    assert (changed.plan, changed.anchored_at, changed.anchor_no, changed.signup) == (
        "cal", changed_at, 1, False,
    )  # fmt: skip
    assert (changed.last_cycle, changed.next_renewal_at, changed.started_at) == (
        None, changed_at, JAN_31,
    )  # fmt: skip
    assert (changed.anchor_kind, changed.time_zone) == (AnchorKind.CALENDAR, "Europe/Berlin")


def test_an_ended_subscription_renews_nothing_and_restarts_as_a_change() -> None:
    ended = Subscription.start("org_a", PRO, JAN_31).ended(utc(2026, 2, 10))
    assert (ended.active, ended.next_renewal_at, ended.ended_at) == (False, None, utc(2026, 2, 10))
    again = ended.changed_to(CORE, utc(2026, 3, 1))
    assert (again.active, again.anchor_no, again.signup) == (True, 1, False)


def test_references_name_the_plan_and_the_cycle_and_fit_200_characters() -> None:
    cycle = Cycle(3, utc(2026, 4, 30, 9), utc(2026, 5, 31, 9))
    renewal = Renewal(cycle, cycle.start, PlanGrant(credits(50)), None)
    assert renewal_ref("pro", renewal) == "pro:2026-04-30"
    assert len(renewal_ref("p" * 200, renewal)) == 200
    assert plan_change_ref("core", "growth") == "core->growth"
    assert plan_change_ref("core", None) == "core->none"
    assert len(plan_change_ref("a" * 200, "b" * 200)) <= 200


def _plan_grant(
    kind: GrantKind = GrantKind.INCLUDED,
    *,
    remaining: int | None = None,
    expires_at: datetime | None = None,
) -> Grant:
    made = grant(credits(30), kind, remaining=remaining, expires_at=expires_at)
    return replace(made, source=GrantSource(SourceType.PLAN, "core:2026-03-10"))


def test_a_plan_change_resets_only_the_spendable_included_plan_credits() -> None:
    now = utc(2026, 3, 25)
    included = _plan_grant(remaining=credits(12), expires_at=utc(2026, 4, 10))
    promotional = _plan_grant(GrantKind.PROMOTIONAL, expires_at=utc(2026, 4, 10))
    lapsed = _plan_grant(expires_at=utc(2026, 3, 10))
    spent = _plan_grant(remaining=0, expires_at=utc(2026, 4, 10))
    prepaid = grant(credits(50), GrantKind.PREPAID)  # an operator's, not the plan's
    cause = Cause(CauseType.PLAN_CYCLE, "core->growth")
    entries = reset_entries(CORE, [included, promotional, lapsed, spent, prepaid], cause, now)
    assert [(e.grant_id, e.type, e.amount, e.cause, e.occurred_at) for e in entries] == [
        (included.id, EntryType.EXPIRE, -credits(12), cause, now)
    ]


def test_credits_of_a_plan_that_never_expires_or_lasts_a_fixed_term_are_kept() -> None:
    cause = Cause(CauseType.PLAN_CYCLE, "pro->enterprise")
    kept = [_plan_grant(), _plan_grant(expires_at=utc(2026, 9, 1))]
    assert reset_entries(PRO, kept, cause, utc(2026, 3, 1)) == []
    six_months = replace(CORE, grant_expiry=ExpiryRule.after(months=6))
    assert reset_entries(six_months, kept, cause, utc(2026, 3, 1)) == []
    rollover = replace(CORE, grant_expiry=ExpiryRule.rollover(3))
    assert len(reset_entries(rollover, kept, cause, utc(2026, 3, 1))) == 2
    with pytest.raises(InvalidSetting):
        reset_entries(CORE, kept, Cause(CauseType.EXPIRY, "x"), utc(2026, 3, 1))
