"""The overview's rules (domain/overview.py), without a database: the burn-down walked
back from today's balance, the burn rate and the forecast in integers, the state flags
of each depletion policy, the expiring grants and the cycle's progress."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import date, timedelta
from typing import Any

import pytest

from creditline.domain.balances import summarize
from creditline.domain.cycles import AnchorKind, BillingInterval
from creditline.domain.grants import Grant, GrantKind
from creditline.domain.overview import (
    FORECAST_DAYS,
    WINDOW_DAYS,
    CycleProgress,
    Overview,
    build_overview,
    chart_days,
    cycle_progress,
)
from creditline.domain.plans import DepletionPolicy, Plan
from creditline.domain.reports import BalanceDay
from creditline.domain.subscriptions import Subscription
from creditline.domain.usage import Metering
from tests.unit.builders import DAY, T0, grant

NOW = T0 + timedelta(days=40, hours=6)  # 2026-02-10 06:00 UTC
TODAY = date(2026, 2, 10)
C = 1_000_000


def metering(policy: DepletionPolicy = DepletionPolicy.PAUSE, **plan: Any) -> Metering:
    return Metering("org_a", (GrantKind.PREPAID,), "default", Plan("p", **plan), policy, True, 0)


def build(
    grants: list[Grant],
    days: Sequence[BalanceDay] = (),
    *,
    m: Metering | None = None,
    flex_used: int = 0,
    cycle: CycleProgress | None = None,
    total: int | None = None,
) -> Overview:
    balance = summarize("org_a", 0, grants, NOW)
    balance = replace(balance, total=balance.available if total is None else total)
    return build_overview(
        balance, grants=grants, metering=m or metering(), flex_used=flex_used, cycle=cycle,
        days=days,
    )  # fmt: skip


def test_burn_down_walks_back_from_todays_balance_by_each_days_net_movement() -> None:
    days = [
        BalanceDay(TODAY - 2 * DAY, credited=100 * C, debited=10 * C, net=90 * C, burnt=10 * C),
        BalanceDay(TODAY, credited=0, debited=30 * C, net=-30 * C, burnt=30 * C),
    ]
    o = build([grant(60 * C)], days)
    assert len(o.burn_down) == WINDOW_DAYS and o.burn_down[-1].day == TODAY
    assert [(p.day, p.closing, p.burnt) for p in o.burn_down[-4:]] == [
        (TODAY - 3 * DAY, 0, 0),  # before the grant
        (TODAY - 2 * DAY, 90 * C, 10 * C),
        (TODAY - DAY, 90 * C, 0),
        (TODAY, 60 * C, 30 * C),
    ]
    assert o.burn_down[0].closing == 0


def test_burn_rate_is_the_last_seven_days_burn_over_seven_and_forecasts_the_depletion() -> None:
    days = [
        BalanceDay(TODAY - 7 * DAY, 0, 500 * C, -500 * C, 500 * C),  # eight days ago: not counted
        BalanceDay(TODAY - 6 * DAY, 0, 4 * C, -4 * C, 4 * C),
        BalanceDay(TODAY, 0, 3 * C, -3 * C, 3 * C),
    ]
    o = build([grant(14 * C)], days)
    assert o.burn_rate == C  # 7 credits in 7 days
    # 14 credits at 1 a day: 14 days from now (06:00), the same time of day.
    assert o.depletes_on == TODAY + 14 * DAY


def test_rates_and_forecasts_are_exact_integers() -> None:
    o = build([grant(10)], [BalanceDay(TODAY, 0, 3, -3, 3)])
    assert o.burn_rate == 0  # 3 micro-credits over 7 days, rounded down
    # 10 micro-credits at 3 a week last 23.33 days: 10 * 7 * 86,400 // 3 seconds.
    assert o.depletes_on == (NOW + timedelta(seconds=10 * 7 * 86_400 // 3)).date()


def test_no_burn_or_a_give_back_forecasts_nothing_and_an_empty_balance_depletes_today() -> None:
    assert build([grant(C)]).depletes_on is None
    gave_back = build([grant(C)], [BalanceDay(TODAY, 5, 0, 5, -5)])
    assert gave_back.burn_rate == 0 and gave_back.depletes_on is None
    assert build([], [BalanceDay(TODAY, 0, 1, -1, 1)]).depletes_on == TODAY
    lasts_decades = build([grant(10**15)], [BalanceDay(TODAY, 0, 1, -1, 1)])
    assert lasts_decades.depletes_on is None and FORECAST_DAYS < 10**15 * 7 // 86_400


@pytest.mark.parametrize(
    ("policy", "plan", "flex_used", "flags"),
    [
        (DepletionPolicy.READ_ONLY, {}, 0, (True, False, False)),
        (DepletionPolicy.PAUSE, {}, 0, (False, True, False)),
        (DepletionPolicy.FLEX, {}, 0, (False, False, True)),
        (DepletionPolicy.FLEX, {"flex_limit": 5 * C}, 4 * C, (False, False, True)),
        (DepletionPolicy.FLEX, {"flex_limit": 5 * C}, 5 * C, (False, True, False)),
        (DepletionPolicy.FLEX, {"flex_enabled": False}, 0, (False, True, False)),
        (DepletionPolicy.UNLIMITED, {}, 0, (False, False, False)),
    ],
)
def test_state_flags_follow_the_policy_once_nothing_is_available(
    policy: DepletionPolicy, plan: dict, flex_used: int, flags: tuple[bool, bool, bool]
) -> None:
    m = metering(policy, **plan)
    if "flex_enabled" in plan:
        m = m._replace(flex_enabled=False)
    empty = build([], m=m, flex_used=flex_used)
    assert (empty.read_only, empty.paused, empty.on_flex) == flags
    funded = build([grant(C)], m=m, flex_used=flex_used)
    assert (funded.read_only, funded.paused, funded.on_flex) == (False, False, False)


def test_counter_splits_available_by_kind_and_lists_expiring_grants_soonest_first() -> None:
    later = grant(5 * C, GrantKind.INCLUDED, expires_at=NOW + 20 * DAY)
    sooner = grant(7 * C, GrantKind.PROMOTIONAL, remaining=2 * C, expires_at=NOW + DAY)
    gone = grant(C, GrantKind.PROMOTIONAL, expires_at=NOW)  # past its expiry: not listed
    o = build([grant(3 * C), later, sooner, gone, grant(C, GrantKind.PREPAID, remaining=0)])
    kinds = dict(o.by_kind)
    assert list(kinds) == list(GrantKind)
    assert kinds[GrantKind.INCLUDED] == 5 * C and kinds[GrantKind.PREPAID] == 3 * C
    assert kinds[GrantKind.PROMOTIONAL] == 2 * C and kinds[GrantKind.FLEX] == 0
    assert [(e.grant_id, e.remaining) for e in o.expiring] == [
        (sooner.id, 2 * C),
        (later.id, 5 * C),
    ]


def test_cycle_progress_counts_whole_seconds_and_the_chart_spans_the_cycle() -> None:
    plan = Plan("pro", interval=BillingInterval.MONTHLY, anchor=AnchorKind.CALENDAR)
    sub = Subscription.start("org_a", plan, T0 + 5 * DAY)
    sub = sub.renewed_through(1, T0 + 31 * DAY)
    cycle = cycle_progress(sub, NOW)
    assert cycle is not None
    assert (cycle.start, cycle.end) == (T0 + 31 * DAY, T0 + 59 * DAY)  # February
    assert cycle.total_seconds == 28 * 86_400
    assert cycle.elapsed_seconds == 9 * 86_400 + 6 * 3_600
    assert cycle.next_renewal_at == T0 + 59 * DAY
    assert chart_days(NOW, cycle) == (date(2026, 2, 1), TODAY)
    assert len(build([grant(C)], cycle=cycle).burn_down) == 10
    assert cycle_progress(None, NOW) is None
    assert cycle_progress(sub.ended(NOW), NOW) is None
