"""Plans read from TOML (``[[plans]]`` tables), and the seed platforms' example plans."""

from __future__ import annotations

from decimal import Decimal

import pytest

from creditline.domain.errors import InvalidSetting, PlanGateRefused
from creditline.domain.plans import DepletionPolicy, Plan, check_gates, load_plans, parse_plan
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
