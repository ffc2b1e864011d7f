"""Plans read from TOML (``[[plans]]`` tables), the seed platforms' example plans, and
the renewals their billing cycles owe."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.amounts import credits
from creditline.domain.cycles import AnchorKind, BillingInterval, ExpiryRule
from creditline.domain.errors import InvalidSetting, InvalidTime, PlanGateRefused
from creditline.domain.grants import GrantKind
from creditline.domain.plans import (
    DepletionPolicy,
    Plan,
    PlanGrant,
    Renewal,
    anchor_on_plan_change,
    check_gates,
    due_renewals,
    load_plans,
    parse_plan,
)
from tests.metering import EXAMPLES, PLATFORMS


def example(platform: str) -> dict[str, Plan]:
    text = (EXAMPLES / platform / "plans.toml").read_text(encoding="utf-8")
    return {plan.name: plan for plan in load_plans(text)}


@pytest.mark.parametrize("platform", PLATFORMS)
def test_every_example_plan_reads_and_writes_back_unchanged(platform: str) -> None:
    plans = example(platform)
    assert plans
    for plan in plans.values():
        assert parse_plan(plan.to_dict()) == plan


def test_load_plans_reads_every_field_of_the_document_form() -> None:
    (plan,) = load_plans(
        b"""
        [[plans]]
        name = "pack"
        depletion = "flex"
        flex_enabled = false
        flex_limit_micros = 5_000_000
        max_open_reservations = 2
        [plans.gates]
        forbid_operations = ["ts"]
        allow = { mode = ["Basic"] }
        max = { training_data_mb = 100, ratio = 0.25 }
        """
    )
    assert plan.depletion is DepletionPolicy.FLEX
    assert (plan.flex_enabled, plan.flex_limit, plan.max_open_reservations) == (False, 5_000_000, 2)
    assert plan.gates.forbid_operations == frozenset({"ts"})
    assert plan.gates.allow == {"mode": frozenset({"Basic"})}
    assert plan.gates.max == {"training_data_mb": Decimal(100), "ratio": Decimal("0.25")}


def test_load_plans_lists_every_problem_with_its_place() -> None:
    text = """
    version = 2
    [[plans]]
    name = "a"
    depletion = "sometimes"
    [[plans]]
    name = "b"
    flex_limit_micros = -1
    gates = { allow = ["Basic"], max = { gb = "lots", mb = -1 }, deny = [] }
    [[plans]]
    name = "c"
    [[plans]]
    name = "c"
    """
    with pytest.raises(InvalidSetting) as bad:
        load_plans(text)
    assert bad.value.reason.split("; ") == [
        "version: unknown key",
        "plans[0] (a): depletion: one of pause, read_only, flex, unlimited",
        "plans[1] (b): flex_limit_micros: must be a whole number >= 0",
        "plans[1] (b): gates.allow: must be a table",
        "plans[1] (b): gates.max.gb: 'lots' is not a number",
        "plans[1] (b): gates.max.mb: must be a finite number >= 0, got -1",
        "plans[1] (b): gates.deny: unknown key",
        "plans: 'c' is defined more than once",
    ]


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "plans: must be one or more [[plans]] tables"),
        ("plans = 3", "plans: must be one or more [[plans]] tables"),
        ("plans = [1]", "plans[0]: must be a table"),
        ("[[plans]", "not a TOML document"),
        (b"\xff", "not a TOML document"),
    ],
)
def test_load_plans_refuses_what_is_not_a_list_of_plans(text: str | bytes, reason: str) -> None:
    with pytest.raises(InvalidSetting, match=reason.replace("[", r"\[")):
        load_plans(text)


def test_otai_modes_by_tier_follow_the_seed() -> None:
    plans = example("otai")
    allowed = {
        name: {m for m in ("Basic", "Business", "Maximum") if _allows(plan, "mode", m)}
        for name, plan in plans.items()
    }
    assert allowed == {
        "community": {"Basic"},
        "pro": {"Basic", "Business"},
        "enterprise": {"Basic", "Business", "Maximum"},
    }


def test_datarobot_plans_follow_the_seed() -> None:
    plans = example("datarobot")
    pack, enterprise = plans["credit-pack"], plans["enterprise"]
    assert (pack.depletion, enterprise.depletion) == (
        DepletionPolicy.READ_ONLY,
        DepletionPolicy.UNLIMITED,
    )
    with pytest.raises(PlanGateRefused, match="over this plan's limit of 100"):
        check_gates(pack, "create_project", {"training_data_mb": 101}, {})
    with pytest.raises(PlanGateRefused, match="not available on this plan"):
        check_gates(pack, "create_time_series_project", {}, {})
    check_gates(enterprise, "create_time_series_project", {"training_data_mb": 10240}, {})


def test_the_other_platforms_depletion_policies_follow_their_seeds() -> None:
    assert {p.depletion for p in example("aixplain").values()} == {DepletionPolicy.PAUSE}
    assert {p.depletion for p in example("ai-engine").values()} == {DepletionPolicy.PAUSE}
    roboflow = example("roboflow")
    assert {p.depletion for p in roboflow.values()} == {DepletionPolicy.FLEX}
    assert all(p.flex_enabled for p in roboflow.values())
    assert roboflow["core"].flex_limit == 100_000_000


def _allows(plan: Plan, dimension: str, value: str) -> bool:
    try:
        check_gates(plan, "train", {}, {dimension: value})
    except PlanGateRefused:
        return False
    return True


# -- billing: cycles, plan grants and their expiry (B3, B4, B5) ----------------------------


def test_a_plan_without_billing_fields_keeps_the_defaults() -> None:
    (plan,) = load_plans('[[plans]]\nname = "old"\ndepletion = "pause"\n')
    assert plan == Plan("old")
    assert (plan.interval, plan.anchor, plan.time_zone) == (
        BillingInterval.MONTHLY,
        AnchorKind.SIGNUP,
        "UTC",
    )
    assert (plan.signup_grant, plan.cycle_grant, plan.grant_expiry) == (
        None,
        None,
        ExpiryRule.never(),
    )


def test_a_stored_document_from_before_billing_still_reads() -> None:
    stored = {
        "name": "pro",
        "depletion": "pause",
        "flex_enabled": True,
        "flex_limit_micros": None,
        "max_open_reservations": None,
        "gates": {"forbid_operations": [], "allow": {"mode": ["Basic"]}, "max": {}},
    }
    assert parse_plan(stored).grant_expiry == ExpiryRule.never()


def test_load_plans_reads_every_billing_field() -> None:
    (plan,) = load_plans(
        """
        [[plans]]
        name = "yearly"
        interval = "annual"
        anchor = "calendar"
        time_zone = "Europe/Berlin"
        signup_grant = { credits = "12.5", kind = "promotional" }
        cycle_grant = { credits = 1200 }
        grant_expiry = { after = "18 months" }
        """
    )
    assert (plan.interval, plan.anchor, plan.time_zone) == (
        BillingInterval.ANNUAL,
        AnchorKind.CALENDAR,
        "Europe/Berlin",
    )
    assert plan.signup_grant == PlanGrant(12_500_000, GrantKind.PROMOTIONAL)
    assert plan.cycle_grant == PlanGrant(credits(1200), GrantKind.INCLUDED)
    assert plan.grant_expiry == ExpiryRule.after(months=18)


def test_the_billing_fields_are_written_in_the_document_form_and_survive_json() -> None:
    plan = Plan(
        "pro",
        interval=BillingInterval.MONTHLY,
        anchor=AnchorKind.SIGNUP,
        signup_grant=PlanGrant(credits(100)),
        cycle_grant=PlanGrant(credits("0.5")),
        grant_expiry=ExpiryRule.rollover(3),
    )
    document = plan.to_dict()
    assert {k: document[k] for k in list(document)[6:]} == {
        "interval": "monthly",
        "anchor": "signup",
        "time_zone": "UTC",
        "signup_grant": {"credits": "100", "kind": "included"},
        "cycle_grant": {"credits": "0.5", "kind": "included"},
        "grant_expiry": {"rollover_cycles": 3},
    }
    assert parse_plan(json.loads(json.dumps(document))) == plan
    assert Plan("none").to_dict()["signup_grant"] is None
    assert parse_plan(Plan("none").to_dict()) == Plan("none")


def test_bad_billing_fields_are_all_listed_with_their_place() -> None:
    text = """
    [[plans]]
    name = "a"
    interval = "weekly"
    anchor = "birthday"
    time_zone = "Mars/Olympus"
    signup_grant = 6
    cycle_grant = { amount = 2, kind = "flex" }
    grant_expiry = { after = "6 fortnights", rollover_cycles = 0 }
    [[plans]]
    name = "b"
    signup_grant = { credits = -1 }
    cycle_grant = { credits = "0.0000001" }
    grant_expiry = "sometimes"
    [[plans]]
    name = "c"
    signup_grant = { credits = 0 }
    cycle_grant = { credits = true }
    time_zone = 3
    """
    with pytest.raises(InvalidSetting) as bad:
        load_plans(text)
    assert bad.value.reason.split("; ") == [
        "plans[0] (a): interval: one of monthly, annual",
        "plans[0] (a): anchor: one of calendar, signup",
        "plans[0] (a): time_zone: must be an IANA time zone name such as 'UTC' or "
        "'Europe/Berlin', got 'Mars/Olympus'",
        'plans[0] (a): signup_grant: must be a table such as { credits = 6, kind = "included" }',
        "plans[0] (a): cycle_grant.amount: unknown key",
        "plans[0] (a): cycle_grant.credits: required",
        "plans[0] (a): cycle_grant.kind: one of included, promotional",
        "plans[0] (a): grant_expiry: give exactly one of after, rollover_cycles",
        "plans[1] (b): signup_grant.credits: must be greater than zero (leave the grant out "
        "for none)",
        "plans[1] (b): cycle_grant.credits: more precise than one micro-credit (0.000001), "
        "got '0.0000001'",
        'plans[1] (b): grant_expiry: \'sometimes\' is not one of "never", "end_of_cycle", '
        '{ after = "6 months" } or { rollover_cycles = 3 }',
        "plans[2] (c): time_zone: must be an IANA time zone name such as 'UTC' or "
        "'Europe/Berlin', got 3",
        "plans[2] (c): signup_grant.credits: must be greater than zero (leave the grant out "
        "for none)",
        'plans[2] (c): cycle_grant.credits: must be a number of credits (6 or "2.5"), got True',
    ]


def test_a_grant_amount_must_be_exact() -> None:
    with pytest.raises(
        InvalidSetting, match=r"must be a number of credits \(6 or \"2.5\"\), got 2.5"
    ):
        parse_plan({"name": "x", "cycle_grant": {"credits": 2.5}})
    with pytest.raises(InvalidSetting, match=r"grant_expiry\.after: term"):
        parse_plan({"name": "x", "grant_expiry": {"after": "0 months"}})


# -- the seed platforms' billing ----------------------------------------------------------


def test_otai_grants_on_sign_up_then_monthly_and_never_expires() -> None:
    plans = example("otai")
    grants = {
        name: (p.signup_grant.amount if p.signup_grant else None, p.cycle_grant.amount)
        for name, p in plans.items()
        if p.cycle_grant
    }
    assert grants == {  # seed: Initial Credits / Monthly Credits
        "community": (credits(6), credits(2)),
        "pro": (credits(100), credits(50)),
        "enterprise": (credits(500), credits(250)),
    }
    for plan in plans.values():
        assert (plan.interval, plan.anchor) == (BillingInterval.MONTHLY, AnchorKind.SIGNUP)
        assert plan.grant_expiry == ExpiryRule.never()  # "Credits do not expire"
        assert {g.kind for g in (plan.signup_grant, plan.cycle_grant) if g} == {GrantKind.INCLUDED}


def test_ai_engine_cycles_are_calendar_months_with_its_expiry_rules() -> None:
    plans = example("ai-engine")
    assert {p.anchor for p in plans.values()} == {AnchorKind.CALENDAR}
    assert {p.interval for p in plans.values()} == {BillingInterval.MONTHLY}
    standard, professional = plans["standard"], plans["professional"]
    assert standard.cycle_grant == PlanGrant(credits(1000))
    assert standard.grant_expiry == ExpiryRule.end_of_cycle()
    assert professional.cycle_grant == PlanGrant(credits(5000))
    assert professional.grant_expiry == ExpiryRule.rollover(3)
    assert plans["enterprise"].cycle_grant is None  # custom allocation


def test_roboflow_included_credits_reset_each_cycle_and_datarobot_plans_grant_nothing() -> None:
    roboflow = example("roboflow")
    assert {p.grant_expiry for p in roboflow.values()} == {ExpiryRule.end_of_cycle()}
    assert {p.anchor for p in roboflow.values()} == {AnchorKind.SIGNUP}
    for platform in ("datarobot", "aixplain"):
        for plan in example(platform).values():
            assert (plan.signup_grant, plan.cycle_grant) == (None, None)


# -- renewals -------------------------------------------------------------------------------

JAN_31 = datetime(2026, 1, 31, 9, tzinfo=UTC)


def summary(renewals: list[Renewal]) -> list[tuple[int, datetime, int, datetime | None]]:
    return [(r.cycle.index, r.effective_at, r.amount, r.expires_at) for r in renewals]


def utc(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0, us: int = 0) -> datetime:  # noqa: PLR0917
    return datetime(y, mo, d, h, mi, s, us, tzinfo=UTC)


def test_an_otai_sign_up_gets_its_initial_credits_then_the_monthly_ones() -> None:
    pro = example("otai")["pro"]
    assert summary(due_renewals(pro, JAN_31, None, JAN_31)) == [(0, JAN_31, credits(100), None)]
    assert summary(due_renewals(pro, JAN_31, 0, utc(2026, 4, 1))) == [
        (1, utc(2026, 2, 28, 9), credits(50), None),
        (2, utc(2026, 3, 31, 9), credits(50), None),
    ]


def test_nothing_is_due_before_the_plan_starts_or_once_every_cycle_is_processed() -> None:
    pro = example("otai")["pro"]
    assert due_renewals(pro, JAN_31, None, JAN_31 - timedelta(microseconds=1)) == []
    assert due_renewals(pro, JAN_31, 0, utc(2026, 2, 28, 9) - timedelta(microseconds=1)) == []
    assert [r.cycle.index for r in due_renewals(pro, JAN_31, 0, utc(2026, 2, 28, 9))] == [1]
    assert due_renewals(pro, JAN_31, 5, utc(2026, 3, 1)) == []


def test_renewals_catch_up_three_missed_months_in_order_dated_when_they_were_due() -> None:
    standard = example("ai-engine")["standard"]
    started = utc(2026, 1, 15, 12)
    renewals = due_renewals(standard, started, 0, utc(2026, 4, 20))
    assert summary(renewals) == [
        (1, utc(2026, 2, 1), credits(1000), utc(2026, 3, 1)),
        (2, utc(2026, 3, 1), credits(1000), utc(2026, 4, 1)),
        (3, utc(2026, 4, 1), credits(1000), utc(2026, 5, 1)),
    ]
    assert [r.grant for r in renewals] == [PlanGrant(credits(1000))] * 3


def test_a_calendar_plan_started_mid_month_gets_its_first_grant_at_the_start() -> None:
    standard = example("ai-engine")["standard"]
    started = utc(2026, 1, 15, 12)
    (first,) = due_renewals(standard, started, None, started)
    assert first.cycle.start == utc(2026, 1, 1)
    assert (first.effective_at, first.amount, first.expires_at) == (
        started,
        credits(1000),
        utc(2026, 2, 1),
    )


def test_professional_credits_roll_over_for_three_months() -> None:
    professional = example("ai-engine")["professional"]
    renewals = due_renewals(professional, utc(2026, 1, 1), None, utc(2026, 3, 1))
    assert [r.expires_at for r in renewals] == [utc(2026, 5, 1), utc(2026, 6, 1), utc(2026, 7, 1)]


def test_an_annual_plan_grants_the_years_credits_up_front_each_year() -> None:
    (yearly,) = load_plans(
        """
        [[plans]]
        name = "yearly"
        interval = "annual"
        cycle_grant = { credits = 1200 }
        grant_expiry = "end_of_cycle"
        """
    )
    leap_day = utc(2024, 2, 29, 10)
    assert summary(due_renewals(yearly, leap_day, None, utc(2028, 3, 1))) == [
        (0, leap_day, credits(1200), utc(2025, 2, 28, 10)),
        (1, utc(2025, 2, 28, 10), credits(1200), utc(2026, 2, 28, 10)),
        (2, utc(2026, 2, 28, 10), credits(1200), utc(2027, 2, 28, 10)),
        (3, utc(2027, 2, 28, 10), credits(1200), utc(2028, 2, 29, 10)),
        (4, utc(2028, 2, 29, 10), credits(1200), utc(2029, 2, 28, 10)),
    ]


def test_a_plan_change_restarts_the_cycle_and_grants_the_new_plans_cycle_credits() -> None:
    growth = example("roboflow")["growth"]
    changed = utc(2026, 3, 17, 15, 45)
    anchor = anchor_on_plan_change(growth, changed)
    assert (anchor.kind, anchor.at, anchor.time_zone) == (AnchorKind.SIGNUP, changed, "UTC")
    (first,) = due_renewals(growth, changed, None, changed, signup=False)
    assert (first.cycle.start, first.amount, first.expires_at) == (
        changed,
        credits(300),
        utc(2026, 4, 17, 15, 45),
    )
    pro = example("otai")["pro"]
    (upgrade,) = due_renewals(pro, changed, None, changed, signup=False)
    assert upgrade.amount == credits(50)  # the cycle grant, not the sign-up grant again


def test_a_cycle_of_a_plan_that_grants_nothing_is_still_due() -> None:
    (renewal,) = due_renewals(Plan("free"), JAN_31, None, JAN_31 + timedelta(days=1))
    assert (renewal.grant, renewal.amount, renewal.expires_at) == (None, 0, None)


def test_renewals_need_a_cycle_index_and_aware_times() -> None:
    pro = example("otai")["pro"]
    for bad in (-1, True, "3"):
        with pytest.raises(InvalidSetting, match="cycle index"):
            due_renewals(pro, JAN_31, bad, utc(2026, 3, 1))  # type: ignore[arg-type]
    with pytest.raises(InvalidTime):
        due_renewals(pro, JAN_31, None, datetime(2026, 3, 1))
    with pytest.raises(InvalidTime):
        due_renewals(pro, datetime(2026, 1, 31), None, utc(2026, 3, 1))


@given(
    plan=st.sampled_from([p for platform in PLATFORMS for p in example(platform).values()]),
    start=st.integers(min_value=0, max_value=5 * 365 * 86_400),
    steps=st.lists(st.integers(min_value=0, max_value=80 * 86_400), min_size=1, max_size=30),
)
def test_a_scheduler_running_at_any_times_renews_each_cycle_exactly_once_in_order(
    plan: Plan, start: int, steps: list[int]
) -> None:
    started = utc(2024, 1, 1) + timedelta(seconds=start)
    now, last, seen = started, None, []
    for step in steps:
        now += timedelta(seconds=step)
        renewals = due_renewals(plan, started, last, now)
        seen.extend(renewals)
        if renewals:
            last = renewals[-1].cycle.index
    assert seen == due_renewals(plan, started, None, now)
    assert [r.cycle.index for r in seen] == list(range(len(seen)))
    assert all(r.effective_at <= now and r.effective_at in r.cycle for r in seen)
    assert all(r.expires_at is None or r.expires_at > r.effective_at for r in seen)


def test_a_fee_reads_its_prices_timing_change_and_default_currency() -> None:
    (plan,) = load_plans(
        b"""
        [[plans]]
        name = "pro"
        dunning = { retry_after_days = [2, 5], suspend = "read_only" }
        [plans.fee]
        prices_minor = { USD = 4900, EUR = 4500 }
        currency = "EUR"
        billed = "in_arrears"
        on_change = "prorate"
        """
    )
    assert plan.fee is not None and plan.dunning is not None
    assert (plan.fee.prices, plan.fee.default_currency) == ({"USD": 4900, "EUR": 4500}, "EUR")
    assert (plan.fee.billed.value, plan.fee.on_change.value) == ("in_arrears", "prorate")
    assert (plan.dunning.retry_after_days, plan.dunning.suspend) == (
        (2, 5), DepletionPolicy.READ_ONLY,
    )  # fmt: skip
    assert parse_plan(plan.to_dict()) == plan


def test_a_fee_and_dunning_list_every_problem() -> None:
    with pytest.raises(InvalidSetting) as caught:
        parse_plan({
            "name": "bad", "depletion": "flex",
            "fee": {"prices_minor": {"usd": -1, "EUR": 1, "USD": 2}, "billed": "later", "x": 1},
            "dunning": {"retry_after_days": [0], "suspend": "stop"},
        })  # fmt: skip
    reason = caught.value.reason
    for expected in (
        "fee.x: unknown key", "'usd' is not a three-letter ISO 4217 code",
        "fee.prices_minor.usd: a whole number", "fee.billed: one of in_advance, in_arrears",
        "fee.currency: name the currency billed by default",
        "dunning.retry_after_days: a list of whole numbers", "dunning.suspend: one of",
    ):  # fmt: skip
        assert expected in reason, expected


def test_dunning_suspends_under_the_plans_own_blocking_policy_or_pause() -> None:
    read_only = parse_plan({"name": "r", "depletion": "read_only", "dunning": {}})
    flex = parse_plan({"name": "f", "depletion": "flex", "dunning": {"retry_after_days": []}})
    assert read_only.dunning is not None and flex.dunning is not None
    assert read_only.dunning.suspend is DepletionPolicy.READ_ONLY
    assert (flex.dunning.suspend, flex.dunning.retry_after_days) == (DepletionPolicy.PAUSE, ())


def test_a_plan_may_bound_how_long_a_hold_lives_in_hours() -> None:
    plan = parse_plan({"name": "runs", "max_hold_hours": 96})
    assert plan.max_hold_hours == 96
    assert parse_plan(plan.to_dict()) == plan
    assert "max_hold_hours" not in parse_plan({"name": "plain"}).to_dict()
    for bad in (0, -1, 1.5, "72", True, 366 * 24 + 1):
        with pytest.raises(InvalidSetting, match="max_hold_hours: must be a whole number"):
            parse_plan({"name": "runs", "max_hold_hours": bad})
