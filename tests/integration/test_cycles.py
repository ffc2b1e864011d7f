"""Subscriptions and billing cycles, replayed through a year on SQLite and PostgreSQL.

Each story subscribes organizations to the example plans of a seed platform
(examples/<platform>/plans.toml), moves the clock month by month (never sleeping) and
runs the scheduler's tick, checking the exact balance and ledger at every step. Figures
quoted from a seed page are marked "seed"; the others follow from the example plans'
ILLUSTRATIVE amounts. Every story ends with a clean verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy.exc import IntegrityError

from creditline import (
    CauseType,
    Creditline,
    EntryType,
    GrantKind,
    LedgerEntry,
    ManualClock,
    SourceType,
    credits,
)
from creditline.adapters.db import tables as t
from creditline.adapters.db.uow import SqlUnitOfWork
from creditline.domain.errors import (
    AlreadyExists,
    InvalidSetting,
    OrganizationNotFound,
    PlanNotFound,
)
from creditline.domain.subscriptions import CycleRenewal, Subscription
from creditline.services import cycles
from creditline.services.cycles import BillingChange
from tests.metering import load_example


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0) -> datetime:
    return datetime(y, mo, d, h, mi, tzinfo=UTC)


def month(start: datetime, months: int) -> datetime:
    """``start`` moved by whole calendar months (start on a day every month has)."""
    year, index = divmod(start.month - 1 + months, 12)
    return start.replace(year=start.year + year, month=index + 1)


@pytest.fixture
def engine(cl: Creditline) -> Iterator[Creditline]:
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


def available(cl: Creditline, org: str) -> int:
    """The general credits: OTAI's onboarding guarantee, a scoped grant made at sign-up
    besides the initial credits (training only), is shown apart."""
    return cl.balance(org).general


def onboarding(cl: Creditline, org: str) -> int:
    """What is left of the scoped onboarding grant."""
    return cl.balance(org).scoped


def ledger(cl: Creditline, org: str) -> list[LedgerEntry]:
    """Every entry of the organization, oldest first."""
    return list(reversed(cl.history(org, limit=10_000)))


def subscribed(cl: Creditline, plan: str, name: str = "Customer") -> str:
    org = cl.create_org(name).id
    assigned = cl.subscribe(org, plan)
    assert assigned.change is BillingChange.STARTED
    return org


def tick(cl: Creditline, clock: ManualClock, at: datetime) -> None:
    clock.set(at)
    report = cl.tick()
    assert report.ok, report.errors


# -- OTAI (seed 003): credits on sign-up, then monthly, never expiring ---------------------


def test_otai_a_year_of_sign_up_and_monthly_credits_that_never_expire(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    pro = subscribed(engine, "pro", "Pro")
    community = subscribed(engine, "community", "Community")
    engine.set_rate_card(community, "otai")
    # Seed: "Every subscription tier receives credits on sign-up": Pro 100, Community 6;
    # and the onboarding guarantee (ILLUSTRATIVE amounts): training only, spent first.
    assert (available(engine, pro), available(engine, community)) == (credits(100), credits(6))
    assert (onboarding(engine, pro), onboarding(engine, community)) == (credits(10), credits(4))

    def train(run: str) -> None:  # Basic/Standard, 10 attributes: 1 credit
        result = engine.record(community, run, "train", {"attributes": 10},
                               {"mode": "Basic", "delivery": "Standard"})  # fmt: skip
        assert result.cost == credits(1), result

    train("jan")
    for m in range(1, 12):  # Feb 1 to Dec 1: "and monthly thereafter": Pro 50, Community 2
        tick(engine, clock, month(utc(2026, 1, 1), m))
        assert available(engine, pro) == credits(100 + 50 * m)
        train(f"month-{m}")
        # the first four runs are paid by the onboarding grant, the rest by the credits
        assert onboarding(engine, community) == credits(max(0, 4 - (m + 1)))
        assert available(engine, community) == credits(6 + 2 * m - max(0, m + 1 - 4))

    # The last day of the year: twelve grants, nothing expired ("Credits do not expire").
    tick(engine, clock, utc(2026, 12, 31, 23, 59))
    assert available(engine, pro) == credits(100 + 11 * 50) and onboarding(engine, pro) == (
        credits(10)
    )
    assert available(engine, community) == credits(20)
    entries = ledger(engine, pro)
    assert [(e.type, e.amount) for e in entries] == [
        (EntryType.GRANT, credits(100)), (EntryType.GRANT, credits(10)),
    ] + [(EntryType.GRANT, credits(50))] * 11  # fmt: skip
    assert [e.cause.ref for e in entries] == ["pro:2026-01-01"] + [
        f"pro:2026-{m:02d}-01" for m in range(1, 13)
    ]
    assert {e.cause.type for e in entries} == {CauseType.PLAN_CYCLE}
    assert [e.occurred_at for e in entries] == [utc(2026, 1, 1)] + [
        utc(2026, m, 1) for m in range(1, 13)
    ]
    grants = engine.grants(pro)
    assert {(g.kind, g.source.type, g.expires_at) for g in grants} == {
        (GrantKind.INCLUDED, SourceType.PLAN, None)
    }
    assert [g.metadata["cycle"] for g in grants] == [0, *range(12)]
    assert [g.metadata.get("extra") for g in grants] == [None, 0] + [None] * 11
    assert [g.scope is not None for g in grants] == [False, True] + [False] * 11
    # The thirteenth month begins: the year's first renewal of 2027.
    tick(engine, clock, utc(2027, 1, 1))
    assert available(engine, pro) == credits(100 + 12 * 50)


# -- AI Engine (seed 001): calendar months, end-of-cycle and 3-month rollover ---------------


def test_ai_engine_standard_credits_expire_at_the_end_of_each_calendar_month(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "ai-engine")
    clock.set(utc(2026, 1, 15, 12))  # subscribed mid-month: cycle 0 is January, in full
    org = subscribed(engine, "standard")
    # Seed: "Standard package: 1,000 credits", "Credits expire at the end of the billing
    # cycle", "from the 1st to the last day of each month".
    (first,) = engine.grants(org)
    assert (first.amount, first.effective_at, first.expires_at) == (
        credits(1000), utc(2026, 1, 15, 12), utc(2026, 2, 1),
    )  # fmt: skip
    spent = [400, 0, 1000, 250, 999, 1, 0, 500, 700, 10, 1000, 333]
    engine.spend(org, credits(spent[0]))
    for m in range(1, 12):
        tick(engine, clock, month(utc(2026, 1, 1), m))
        assert available(engine, org) == credits(1000)  # last month's leftover is gone
        expired = ledger(engine, org)[-1]
        if spent[m - 1] < 1000:
            assert (expired.type, expired.amount, expired.occurred_at) == (
                EntryType.EXPIRE, -credits(1000 - spent[m - 1]), month(utc(2026, 1, 1), m),
            )  # fmt: skip
        if spent[m]:
            engine.spend(org, credits(spent[m]))
        assert available(engine, org) == credits(1000 - spent[m])
    entries = ledger(engine, org)
    assert sum(e.amount for e in entries if e.type is EntryType.GRANT) == credits(12_000)
    assert sum(e.amount for e in entries if e.type is EntryType.EXPIRE) == -credits(
        sum(1000 - s for s in spent[:11] if s < 1000)
    )
    assert len([e for e in entries if e.type is EntryType.EXPIRE]) == 9  # two months spent all


def test_ai_engine_professional_credits_roll_over_three_months_then_expire(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "ai-engine")
    org = subscribed(engine, "professional")  # 2026-01-01, 5,000 credits a month
    # Seed: "Professional plans: Credits roll over for up to 3 months". January's credits
    # are spendable through April and expire on May 1.
    assert [g.expires_at for g in engine.grants(org)] == [utc(2026, 5, 1)]
    engine.spend(org, credits(3000))  # January
    # The soonest-expiring credits are spent first: February's 4,000 take January's
    # last 2,000, then 2,000 of February's own.
    balances = {1: 7000, 2: 8000, 3: 13_000, 4: 18_000, 5: 20_000}
    for m in range(1, 12):
        tick(engine, clock, month(utc(2026, 1, 1), m))
        if m == 1:
            assert available(engine, org) == credits(7000)
            engine.spend(org, credits(4000))
            assert available(engine, org) == credits(3000)
            continue
        assert available(engine, org) == credits(balances.get(m, 20_000)), m
    expired = [e for e in ledger(engine, org) if e.type is EntryType.EXPIRE]
    # January's grant was spent to nothing: no entry; February's 3,000 on June 1; then
    # each month's 5,000 four months later.
    assert [(e.occurred_at, e.amount) for e in expired] == [
        (utc(2026, 6, 1), -credits(3000)),
        *((utc(2026, m, 1), -credits(5000)) for m in range(7, 13)),
    ]
    assert engine.balance(org).by_kind == {GrantKind.INCLUDED: credits(20_000)}


# -- Roboflow (seed 002): included credits reset monthly, prepaid untouched, plan change -----


def test_roboflow_included_credits_reset_each_cycle_and_on_a_plan_change(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "roboflow")
    start = utc(2026, 1, 10, 12)
    clock.set(start)
    org = subscribed(engine, "core", "Workspace")  # 30 included a cycle (ILLUSTRATIVE)
    # Prepaid credits, bought by hand: never touched by cycles or plan changes.
    engine.grant(org, credits(50), "prepaid")
    engine.spend(org, credits(20))  # seed: included first
    assert engine.balance(org).by_kind == {
        GrantKind.INCLUDED: credits(10), GrantKind.PREPAID: credits(50),
    }  # fmt: skip

    # Seed: "Included credits reset either monthly or annually": the cycle from Jan 10.
    tick(engine, clock, utc(2026, 2, 10, 12))
    assert ledger(engine, org)[-1].amount == -credits(10)  # January's 10 left, expired
    assert available(engine, org) == credits(80)
    engine.spend(org, credits(40))  # 30 included, then 10 prepaid
    tick(engine, clock, utc(2026, 3, 10, 12))
    assert engine.balance(org).by_kind == {
        GrantKind.INCLUDED: credits(30), GrantKind.PREPAID: credits(40),
    }  # fmt: skip

    # Seed: "If you change plans mid-cycle, your billing cycle will reset, and so will
    # your included credits."
    change = utc(2026, 3, 25, 15)
    clock.set(change)
    assigned = engine.subscribe(org, "growth")
    assert (assigned.change, assigned.reset, assigned.granted) == (
        BillingChange.CHANGED, credits(30), credits(300),
    )  # fmt: skip
    reset, granted = ledger(engine, org)[-2:]
    assert (reset.type, reset.amount, reset.cause.type, reset.cause.ref) == (
        EntryType.EXPIRE, -credits(30), CauseType.PLAN_CYCLE, "core->growth",
    )  # fmt: skip
    assert (granted.amount, granted.cause.ref, granted.occurred_at) == (
        credits(300), "growth:2026-03-25", change,
    )  # fmt: skip
    assert engine.balance(org).by_kind == {
        GrantKind.INCLUDED: credits(300), GrantKind.PREPAID: credits(40),
    }  # fmt: skip
    status = engine.subscription(org)
    assert status is not None and status.cycle is not None
    assert (status.cycle.index, status.cycle.start, status.cycle.end) == (
        0, change, utc(2026, 4, 25, 15),
    )  # fmt: skip
    assert status.subscription.next_renewal_at == utc(2026, 4, 25, 15)

    # The old cycle's boundary is not one any more; the new one is.
    tick(engine, clock, utc(2026, 4, 10, 12))
    assert available(engine, org) == credits(340)
    engine.spend(org, credits(100))
    tick(engine, clock, utc(2026, 4, 25, 15))
    assert engine.balance(org).by_kind == {
        GrantKind.INCLUDED: credits(300), GrantKind.PREPAID: credits(40),
    }  # fmt: skip
    assert ledger(engine, org)[-1].amount == -credits(200)  # the first growth cycle's rest
    refs = [e.cause.ref for e in ledger(engine, org) if e.type is EntryType.GRANT]
    assert refs[0] == "core:2026-01-10" and refs[-2:] == ["growth:2026-03-25", "growth:2026-04-25"]


def test_a_plan_change_keeps_credits_the_old_plan_promised_never_to_expire(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    org = subscribed(engine, "pro")
    tick(engine, clock, utc(2026, 2, 1))
    clock.set(utc(2026, 2, 14))
    upgraded = engine.subscribe(org, "enterprise")
    # Seed: OTAI credits "do not expire. They accumulate": an upgrade keeps them, and the
    # new plan's monthly credits (not its sign-up credits) start a new cycle today.
    assert (upgraded.reset, upgraded.granted) == (0, credits(250))
    assert available(engine, org) == credits(150 + 250)
    tick(engine, clock, utc(2026, 3, 14))
    assert available(engine, org) == credits(150 + 500)


# -- the scheduler after downtime -----------------------------------------------------------


def test_a_worker_down_for_three_months_catches_up_every_renewal_and_expiry_once_in_order(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "ai-engine")
    org = subscribed(engine, "standard")  # 2026-01-01
    clock.set(utc(2026, 1, 20))
    held = engine.reserve(org, credits(100), ttl=timedelta(hours=1))  # never settled

    tick(engine, clock, utc(2026, 4, 15))  # nothing ran since January
    entries = ledger(engine, org)
    assert [(e.type, e.amount, e.cause.ref, e.occurred_at) for e in entries] == [
        (EntryType.GRANT, credits(1000), "standard:2026-01-01", utc(2026, 1, 1)),
        (EntryType.RESERVE, -credits(100), held.id, utc(2026, 1, 20)),
        # the renewals, in cycle order, each dated when it was due
        (EntryType.GRANT, credits(1000), "standard:2026-02-01", utc(2026, 2, 1)),
        (EntryType.GRANT, credits(1000), "standard:2026-03-01", utc(2026, 3, 1)),
        (EntryType.GRANT, credits(1000), "standard:2026-04-01", utc(2026, 4, 1)),
        # then the expiry: the overdue hold released, every lapsed grant expired once
        (EntryType.RELEASE, credits(100), held.id, utc(2026, 4, 15)),
        (EntryType.EXPIRE, -credits(1000), entries[0].grant_id, utc(2026, 2, 1)),
        (EntryType.EXPIRE, -credits(1000), entries[2].grant_id, utc(2026, 3, 1)),
        (EntryType.EXPIRE, -credits(1000), entries[3].grant_id, utc(2026, 4, 1)),
    ]
    assert available(engine, org) == credits(1000)
    status = engine.subscription(org)
    assert status is not None and status.subscription.last_cycle == 3
    assert [r.cycle.index for r in status.renewals] == [3, 2, 1, 0]

    # Ticking again, or a second worker, changes nothing.
    for _ in range(2):
        report = engine.tick()
        assert report.job("renewals").summary["cycles"] == 0
        assert report.job("expiry").summary["grants"] == 0
    assert len(ledger(engine, org)) == len(entries)


def test_renewal_grants_whose_expiry_has_passed_are_granted_then_expired(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "ai-engine")
    org = subscribed(engine, "standard")
    clock.set(utc(2026, 3, 5))
    renewed = engine.renew_due()
    assert (renewed.cycles, renewed.amount) == (2, credits(2000))
    # February's grant lapsed on March 1: granted, never spendable, swept next.
    assert available(engine, org) == credits(1000)
    assert engine.balance(org).expired_unswept == credits(2000)
    assert engine.expire_due().amount == credits(2000)


# -- anchors, annual plans ------------------------------------------------------------------


def test_monthly_anchors_on_the_31st_never_drift_over_a_year_of_daily_ticks(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    clock.set(utc(2026, 1, 31, 9))
    org = subscribed(engine, "pro")
    day = utc(2026, 2, 1, 12)
    while day < utc(2027, 3, 1):
        clock.set(day)
        assert engine.renew_due().failed == ()
        day += timedelta(days=1)
    grants = [g for g in engine.grants(org) if g.scope is None]  # not the onboarding grant
    starts = [utc(2026, 1, 31, 9)] + [
        utc(y, m, d, 9)
        for y, m, d in [
            (2026, 2, 28), (2026, 3, 31), (2026, 4, 30), (2026, 5, 31), (2026, 6, 30),
            (2026, 7, 31), (2026, 8, 31), (2026, 9, 30), (2026, 10, 31), (2026, 11, 30),
            (2026, 12, 31), (2027, 1, 31), (2027, 2, 28),
        ]
    ]  # fmt: skip
    assert [g.effective_at for g in grants] == starts
    # Each was renewed by the first tick after its start: the same day, at noon.
    assert [g.created_at for g in grants[1:]] == [s.replace(hour=12) for s in starts[1:]]
    assert available(engine, org) == credits(100 + 13 * 50)


def test_an_annual_plan_grants_the_years_credits_once_a_year(
    engine: Creditline, clock: ManualClock
) -> None:
    # Seed 002: "Annual plans get a year's worth of credits upfront"; included credits
    # reset annually. Anchored on a leap day: Feb 28 in other years, Feb 29 in 2028.
    engine.create_plan({
        "name": "annual", "interval": "annual", "cycle_grant": {"credits": 3600},
        "grant_expiry": "end_of_cycle",
    })  # fmt: skip
    leap_day = utc(2024, 2, 29, 10)
    clock.set(leap_day)
    org = subscribed(engine, "annual")
    granted_on = [leap_day]
    at = leap_day
    for _ in range(50):  # a tick every month for over four years
        at = month(at.replace(day=28), 1)
        clock.set(at)
        report = engine.tick()
        if report.job("renewals").summary["cycles"]:
            granted_on.append(at)
        assert available(engine, org) == credits(3600)
    assert [g.effective_at for g in engine.grants(org)] == [
        leap_day, utc(2025, 2, 28, 10), utc(2026, 2, 28, 10), utc(2027, 2, 28, 10),
        utc(2028, 2, 29, 10),
    ]  # fmt: skip
    # Renewed by the first monthly tick at or after each anniversary.
    assert granted_on[1:] == [
        utc(2025, 2, 28, 10), utc(2026, 2, 28, 10), utc(2027, 2, 28, 10), utc(2028, 3, 28, 10),
    ]  # fmt: skip
    expired = [e for e in ledger(engine, org) if e.type is EntryType.EXPIRE]
    assert [e.amount for e in expired] == [-credits(3600)] * 4


def test_a_calendar_plan_renews_on_the_first_of_the_month_in_its_time_zone(
    engine: Creditline, clock: ManualClock
) -> None:
    engine.create_plan({
        "name": "berlin", "anchor": "calendar", "time_zone": "Europe/Berlin",
        "cycle_grant": {"credits": 10}, "grant_expiry": "end_of_cycle",
    })  # fmt: skip
    clock.set(utc(2026, 1, 15))
    org = subscribed(engine, "berlin")
    tick(engine, clock, utc(2026, 3, 31, 23))  # 01:00 on April 1 in Berlin (summer time)
    assert [g.effective_at for g in engine.grants(org)] == [
        utc(2026, 1, 15), utc(2026, 1, 31, 23), utc(2026, 2, 28, 23), utc(2026, 3, 31, 22),
    ]  # fmt: skip
    assert available(engine, org) == credits(10)


# -- assigning plans: metering only, subscribing, ending ------------------------------------


def test_assigning_a_plan_without_subscribing_grants_nothing(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    org = engine.create_org("Metered").id
    metering = engine.assign_plan(org, "pro")
    assert metering.plan.name == "pro"
    assert engine.subscription(org) is None
    assert available(engine, org) == 0
    tick(engine, clock, utc(2026, 3, 1))
    assert available(engine, org) == 0
    # assign_plan(subscribe=True) is subscribe.
    engine.assign_plan(org, "pro", subscribe=True)
    assert available(engine, org) == credits(100)


def test_subscribing_again_to_the_same_plan_changes_nothing_but_the_settings(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "roboflow")
    org = subscribed(engine, "core")
    clock.set(utc(2026, 1, 20))
    again = engine.subscribe(org, "core", flex_enabled=False)
    assert (again.change, again.granted, again.metering.flex_enabled) == (
        BillingChange.UNCHANGED, 0, False,
    )  # fmt: skip
    assert engine.assign_plan(org, "core", flex_enabled=True).flex_enabled
    assert available(engine, org) == credits(30)
    status = engine.subscription(org)
    assert status is not None and status.subscription.anchored_at == utc(2026, 1, 1)


def test_leaving_the_plan_ends_the_subscription_and_keeps_its_credits(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "roboflow")
    org = subscribed(engine, "core")
    clock.set(utc(2026, 2, 15))  # February's renewal not run yet: it is owed
    ended = engine.assign_plan(org, None)
    assert ended.plan.name == "default"
    status = engine.subscription(org)
    assert status is not None
    sub = status.subscription
    assert (sub.ended_at, sub.next_renewal_at, sub.last_cycle, status.cycle) == (
        utc(2026, 2, 15), None, 1, None,
    )  # fmt: skip
    assert available(engine, org) == credits(30)  # February's, until March 1
    tick(engine, clock, utc(2026, 6, 1))
    assert available(engine, org) == 0
    assert len([g for g in engine.grants(org)]) == 2

    # Subscribing again: a new anchor, the cycle grant (no second sign-up).
    clock.set(utc(2026, 6, 3))
    back = engine.subscribe(org, "growth")
    assert (back.change, back.granted) == (BillingChange.STARTED, credits(300))
    assert back.subscription is not None and back.subscription.anchor_no == 1


def test_subscribing_needs_an_organization_and_a_stored_plan(engine: Creditline) -> None:
    load_example(engine, "otai")
    org = engine.create_org("A").id
    with pytest.raises(PlanNotFound):
        engine.subscribe(org, "platinum")
    with pytest.raises(OrganizationNotFound):
        engine.subscribe("org_missing", "pro")
    with pytest.raises(OrganizationNotFound):
        engine.subscription("org_missing")
    assert engine.subscription(org) is None
    assert engine.metering(org).plan.name == "default"  # the refusal changed nothing


def test_a_plan_of_an_existing_name_is_created_only_when_replacing(engine: Creditline) -> None:
    engine.create_plan({"name": "p", "cycle_grant": {"credits": 1}})
    with pytest.raises(AlreadyExists):
        engine.create_plan({"name": "p"})
    assert engine.create_plan({"name": "p"}, replace=True).cycle_grant is None
    with pytest.raises(InvalidSetting, match="grant_expiry"):
        engine.create_plan({"name": "q", "grant_expiry": "sometimes"})


def test_editing_a_plan_changes_later_grants_but_never_the_cycles(
    engine: Creditline, clock: ManualClock
) -> None:
    engine.create_plan({"name": "p", "cycle_grant": {"credits": 5}})
    org = subscribed(engine, "p")
    engine.create_plan(
        {"name": "p", "interval": "annual", "cycle_grant": {"credits": 7}}, replace=True
    )
    tick(engine, clock, utc(2026, 2, 1))
    assert [g.amount for g in engine.grants(org)] == [credits(5), credits(7)]
    status = engine.subscription(org)
    assert status is not None and status.subscription.next_renewal_at == utc(2026, 3, 1)


# -- exactly once -------------------------------------------------------------------------


def test_the_unique_key_refuses_a_second_record_of_a_renewed_cycle(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    org = subscribed(engine, "pro")
    status = engine.subscription(org)
    assert status is not None
    (stored,) = status.renewals
    again = CycleRenewal(org, 0, stored.cycle, "pro", None, 0, clock.now())
    with pytest.raises(IntegrityError), engine._uow() as uow:
        uow.subscriptions.add_renewal(again)


class _StaleUnitOfWork(SqlUnitOfWork):
    """A unit of work whose subscriptions read an old state: a worker that got past the
    organization's lock with a stale view (which the lock prevents; the unique key of
    the renewals is the backstop)."""

    def __init__(self, cl: Creditline, stale: Subscription | None) -> None:
        super().__init__(cl._engine)
        self._stale = stale

    def __enter__(self) -> _StaleUnitOfWork:
        super().__enter__()
        real, stale = self.subscriptions, self._stale

        class Subscriptions:
            def __getattr__(self, name: str) -> object:
                return getattr(real, name)

            def get(self, org_id: str) -> Subscription | None:
                return stale

        self.subscriptions = Subscriptions()  # type: ignore[assignment]
        return self


def test_a_renewal_from_a_stale_view_is_rolled_back_by_the_unique_key(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    org = subscribed(engine, "pro")
    with engine._uow(read_only=True) as uow:
        stale = uow.subscriptions.get(org)
    clock.set(utc(2026, 2, 1))
    assert engine.renew_due().cycles == 1
    before = ledger(engine, org)
    with pytest.raises(IntegrityError):
        cycles.renew_subscription(org, _StaleUnitOfWork(engine, stale), clock)
    assert ledger(engine, org) == before
    assert available(engine, org) == credits(150)


def test_renewals_continue_past_an_organization_that_fails(
    engine: Creditline, clock: ManualClock
) -> None:
    engine.create_plan({"name": "p", "cycle_grant": {"credits": 5}})
    good = subscribed(engine, "p", "Good")
    bad = subscribed(engine, "p", "Bad")
    # Someone edits the bad one's subscription by hand, to a plan that does not exist.
    with engine._engine.begin() as conn:
        conn.execute(
            t.subscriptions.update().where(t.subscriptions.c.org_id == bad).values(plan="gone")
        )
    clock.set(utc(2026, 2, 1))
    report = engine.tick()
    assert not report.ok
    renewals = report.job("renewals")
    assert renewals.summary["cycles"] == 1
    assert renewals.summary["failed"] == [{"org_id": bad, "error": "plan 'gone' not found"}]
    assert [type(e) for e in report.errors] == [PlanNotFound]
    assert report.job("expiry").ok  # the next job still ran
    assert available(engine, good) == credits(10)


def test_tick_runs_added_jobs_after_renewals_and_expiry(
    engine: Creditline, clock: ManualClock
) -> None:
    seen: list[tuple[str, datetime]] = []

    def invoices(now: datetime) -> dict[str, int]:
        seen.append(("invoices", now))
        return {"invoices": 0}

    engine.add_tick_job("invoices", invoices)
    with pytest.raises(InvalidSetting):
        engine.add_tick_job("invoices", invoices)
    with pytest.raises(InvalidSetting):
        engine.add_tick_job("expiry", invoices)
    clock.set(utc(2026, 5, 1))
    report = engine.tick()
    names = [j.name for j in report.jobs]
    assert names[:2] == ["renewals", "expiry"] and names[-1] == "invoices"
    assert report.job("invoices").summary == {"invoices": 0}
    assert seen == [("invoices", utc(2026, 5, 1))]
    assert report.at == utc(2026, 5, 1) and report.ok
