"""The five seed platforms, each run from its example set (examples/<platform>/ratecard.toml
and plans.toml), replaying a story from its seed page with exact credit figures.

Figures quoted from a seed page are marked "seed"; the others follow from the example
rate cards' ILLUSTRATIVE prices (see the comments in each ratecard.toml). Every story
runs on SQLite and on PostgreSQL, from 2026-01-01 UTC, and ends with a clean verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from creditline import (
    Cause,
    CauseType,
    CostBasis,
    Creditline,
    EntryType,
    GrantKind,
    GrantSource,
    ManualClock,
    SourceType,
    credits,
)
from creditline.domain.errors import PlanGateRefused
from creditline.domain.plans import DepletionPolicy
from creditline.domain.usage import EventResult, EventStatus, UsageStep
from tests.metering import PLATFORMS, entries_of, load_example


@pytest.fixture
def engine(cl: Creditline) -> Iterator[Creditline]:
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


def customer(cl: Creditline, platform: str, plan: str, name: str = "Customer") -> str:
    """An organization of ``platform``, priced by its card, on one of its plans."""
    org = cl.create_org(name).id
    cl.set_rate_card(org, platform)
    cl.assign_plan(org, plan)
    return org


def available(cl: Creditline, org: str) -> int:
    return cl.balance(org).available


@pytest.mark.parametrize("platform", PLATFORMS)
def test_each_example_set_loads_and_loading_it_again_changes_nothing(
    engine: Creditline, platform: str
) -> None:
    card, plans = load_example(engine, platform)
    assert card.name == platform and plans
    assert [engine.plan(p.name) for p in plans] == plans
    assert load_example(engine, platform) == (card, plans)
    assert len(engine.rate_card_history(platform).versions) == 1


# -- OTAI (seed 003) ----------------------------------------------------------------------


def otai_train(cl: Creditline, org: str, run: str, option: str, attributes: int) -> EventResult:
    """A training run; ``option`` is "mode/delivery" ("Business/Standard")."""
    mode, delivery = option.split("/")
    return cl.record(
        org, run, "train", {"attributes": attributes}, {"mode": mode, "delivery": delivery}
    )


def test_otai_a_pro_organization_trains_is_gated_buys_a_pack_and_upgrades(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "otai")
    org = customer(engine, "otai", "pro", "Acme Support")
    # Seed: Pro gets 100 credits on sign-up and 50 monthly; credits do not expire.
    engine.grant(org, credits(100), "included", source=GrantSource(SourceType.PLAN, "pro:signup"))

    # Seed: "Example: Business Standard", 1-5 attributes: 2 credits (3 x 0.5, rounded up).
    assert otai_train(engine, org, "run-1", "Business/Standard", 3).cost == credits(2)
    # Business/Fast with 30 attributes: 5 credits x 2.
    assert otai_train(engine, org, "run-2", "Business/Fast", 30).cost == credits(10)
    assert available(engine, org) == credits(88)

    # Seed: Maximum is Enterprise only. Refused, naming the rule, at no cost; it would
    # have cost 18 x 4 = 72 credits.
    quote = engine.quote(org, "train", {"attributes": 60}, {"mode": "Maximum", "delivery": "Fast"})
    assert quote.total == credits(72)
    refused = otai_train(engine, org, "run-3", "Maximum/Fast", 60)
    assert refused.status is EventStatus.REFUSED and refused.cost == 0
    assert isinstance(refused.error, PlanGateRefused)
    assert refused.error.rule == "dimensions.mode"
    assert "plan 'pro'" in (refused.reason or "")
    assert available(engine, org) == credits(88)

    # A month on: the monthly 50; and a 10-credit pack, seed: EUR 100, EUR 10 a credit.
    clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    engine.grant(org, credits(50), "included", source=GrantSource(SourceType.PLAN, "pro:2026-02"))
    pack = engine.grant(
        org, credits(10), "prepaid",
        source=GrantSource(SourceType.PURCHASE, "pack-10"),
        cost_basis=CostBasis(1000, "EUR"),
    )  # fmt: skip
    assert pack.cost_basis == CostBasis(1000, "EUR")
    assert available(engine, org) == credits(148)
    # Basic/Standard with 1 attribute: 1 x 0.5 = 0.5, rounded up to 1 credit.
    assert otai_train(engine, org, "run-4", "Basic/Standard", 1).cost == credits(1)

    # Upgraded to Enterprise, Maximum/Fast with 60 attributes costs the 72 credits.
    engine.assign_plan(org, "enterprise")
    assert otai_train(engine, org, "run-5", "Maximum/Fast", 60).cost == credits(72)
    balance = engine.balance(org)
    # Included credits are used before the pack; none expire.
    assert balance.by_kind == {GrantKind.INCLUDED: credits(65), GrantKind.PREPAID: credits(10)}
    assert all(g.expires_at is None for g in engine.grants(org))

    # Seed: "If a training run fails due to a system error on OTAI's side, credits are
    # refunded in full. Credits are only consumed for completed training runs."
    estimate = engine.quote(org, "train", {"attributes": 10}, {"mode": "Maximum",
                            "delivery": "Standard"}).total  # fmt: skip
    assert estimate == credits(12)
    failed = engine.reserve(org, estimate, cause=Cause(CauseType.USAGE_EVENT, "run-6"))
    assert available(engine, org) == credits(63)
    engine.release(org, failed.id)
    assert available(engine, org) == credits(75)
    completed = engine.reserve(org, estimate, cause=Cause(CauseType.USAGE_EVENT, "run-7"))
    assert engine.commit(org, completed.id, estimate).consumed == credits(12)
    assert available(engine, org) == credits(63)

    statuses = [(e.event_id, e.status, e.cost) for e in reversed(engine.usage_events(org))]
    assert statuses == [
        ("run-1", "accepted", credits(2)),
        ("run-2", "accepted", credits(10)),
        ("run-3", "refused", 0),
        ("run-4", "accepted", credits(1)),
        ("run-5", "accepted", credits(72)),
    ]


def test_otai_community_trains_basic_only_and_pauses_when_out_of_credits(
    engine: Creditline,
) -> None:
    load_example(engine, "otai")
    org = customer(engine, "otai", "community")
    engine.grant(org, credits(6), "included")  # seed: Community gets 6 on sign-up
    assert otai_train(engine, org, "a", "Business/Standard", 10).status is EventStatus.REFUSED
    assert otai_train(engine, org, "b", "Basic/Fast", 10).cost == credits(2)
    assert otai_train(engine, org, "c", "Basic/Fast", 40).cost == credits(4)
    assert available(engine, org) == 0
    out = otai_train(engine, org, "d", "Basic/Standard", 3)
    assert out.status is EventStatus.REFUSED and "insufficient credits" in (out.reason or "")
    assert engine.metering(org).depletion is DepletionPolicy.PAUSE
    assert not engine.is_read_only(org)


# -- aiXplain (seed 004) --------------------------------------------------------------------


def aix(cl: Creditline, org: str, event: str, operation: str, model: str, **q: Any):
    return cl.record(org, event, operation, q, {"model": model})


def test_aixplain_credits_at_one_dollar_pay_each_supplier_price_and_pipelines_sum(
    engine: Creditline,
) -> None:
    load_example(engine, "aixplain")
    org = customer(engine, "aixplain", "pay-as-you-go", "Team")
    # Seed: "Each credit is equivalent to $1": 20 credits bought for USD 20.00.
    engine.grant(
        org, credits(20), "prepaid",
        source=GrantSource(SourceType.PURCHASE, "checkout-1"), cost_basis=CostBasis(100, "USD"),
    )  # fmt: skip

    # Seed: Azure 10 C/1M chars, AWS 0.024 C/min ("up to 40 mins" per credit: 0.96),
    # OpenAI GPT-4 60 C/1M tokens ("+16K tokens": 0.96), Google 16 C/1M chars.
    translated = aix(engine, org, "t1", "translate", "azure-translator", characters=1_000_000)
    assert translated.cost == credits(10)
    assert aix(engine, org, "s1", "transcribe", "aws-transcribe", minutes=40).cost == credits(
        "0.96"
    )
    assert aix(engine, org, "g1", "generate_text", "gpt-4", tokens=16_000).cost == credits("0.96")
    # "Translate up to 50 pages" and "30 pages of text into audio" per credit.
    assert aix(engine, org, "t2", "translate", "azure-translator", characters=100_000).cost == (
        credits(1)
    )
    assert aix(engine, org, "a1", "text_to_speech", "google-tts", characters=62_500).cost == (
        credits(1)
    )
    assert available(engine, org) == credits("6.08")

    # Seed: a pipeline of several models costs "the sum of the individual costs".
    pipeline = engine.record(
        org, "p1", "pipeline",
        steps=(
            UsageStep("translate", {"characters": 100_000}, {"model": "azure-translator"}),
            UsageStep("transcribe", {"minutes": 40}, {"model": "aws-transcribe"}),
        ),
    )  # fmt: skip
    assert pipeline.cost == credits("1.96")
    assert pipeline.components == (("translate", credits(1)), ("transcribe", credits("0.96")))

    # A benchmark job: one priced run per model (ILLUSTRATIVE rates: 7B on 5,000 samples
    # 0.17, 13B on 5,000 samples 0.23), each shown in the transaction's row.
    benchmark = engine.record(
        org, "b1", "benchmark",
        steps=(
            UsageStep("benchmark_model", {"model_params_b": 7, "dataset_samples": 5000}),
            UsageStep("benchmark_model", {"model_params_b": 13, "dataset_samples": 5000}),
        ),
    )  # fmt: skip
    assert benchmark.components == (
        ("benchmark_model", credits("0.17")),
        ("benchmark_model", credits("0.23")),
    )
    assert available(engine, org) == credits("3.72")

    # Not enough left for another 1M characters: refused whole, nothing taken.
    refused = aix(engine, org, "t3", "translate", "azure-translator", characters=1_000_000)
    assert refused.status is EventStatus.REFUSED
    assert available(engine, org) == credits("3.72")
    # Every credit spent is explained by its event (the transaction history).
    spent = {e.cause.ref: -e.amount for e in entries_of(engine, org, EntryType.CONSUME)}
    assert sum(spent.values()) == credits("16.28")
    assert spent["p1"] == credits("1.96") and spent["b1"] == credits("0.40")
    assert engine.usage_event(org, "b1").components == benchmark.components


# -- DataRobot (seed 000) -------------------------------------------------------------------


def test_datarobot_a_credit_pack_account_is_gated_and_goes_read_only_when_depleted(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "datarobot")
    org = customer(engine, "datarobot", "credit-pack", "Explorer")
    # Seed: "Credits expire 6 months from the purchase date." Pack size and price:
    # ILLUSTRATIVE.
    expiry = datetime(2026, 7, 1, tzinfo=UTC)
    engine.grant(
        org, credits(50), "prepaid", expires_at=expiry,
        source=GrantSource(SourceType.PURCHASE, "explorer-pack"), cost_basis=CostBasis(100, "USD"),
    )  # fmt: skip

    # A project on 80 MB of training data: 5 + 80 / 10 = 13 credits.
    assert engine.record(org, "p1", "create_project", {"training_data_mb": 80}).cost == credits(13)
    # Seed: credit packs train on up to 100 MB, and have no AutoTS.
    too_big = engine.record(org, "p2", "create_project", {"training_data_mb": 150})
    assert too_big.status is EventStatus.REFUSED
    assert "rule quantities.training_data_mb: 150 is over this plan's limit of 100" in (
        too_big.reason or ""
    )
    no_ts = engine.record(org, "ts1", "create_time_series_project", {"training_data_mb": 10})
    assert no_ts.status is EventStatus.REFUSED
    assert "rule operations.create_time_series_project" in (no_ts.reason or "")
    # Seed: prediction datasets up to 100 MB on credit packs.
    scoring = engine.record(
        org, "s1", "batch_scoring", {"rows": 100_000, "prediction_data_mb": 100}
    )
    assert scoring.cost == credits(20)
    big_scoring = engine.record(org, "s2", "batch_scoring", {"rows": 10, "prediction_data_mb": 101})
    assert big_scoring.status is EventStatus.REFUSED
    assert available(engine, org) == credits(17)
    assert not engine.is_read_only(org)

    # Seed: "Upon credit depletion, your account will be turned into a read-only state."
    assert engine.record(org, "d1", "deploy_model", {"hours": 340}).cost == credits(17)
    assert engine.is_read_only(org)
    blocked = engine.record(org, "d2", "deploy_model", {"hours": 1})
    assert blocked.status is EventStatus.REFUSED
    assert "read-only until credits are bought" in (blocked.reason or "")

    # Buying credits lifts it; the pack expires 6 months after purchase, read-only again.
    engine.grant(org, credits(10), "prepaid", expires_at=expiry, source=GrantSource(
        SourceType.PURCHASE, "explorer-pack-2"))  # fmt: skip
    assert not engine.is_read_only(org)
    assert engine.record(org, "d3", "deploy_model", {"hours": 20}).cost == credits(1)
    clock.set(expiry)
    assert engine.is_read_only(org)
    assert engine.expire_due().amount == credits(9)

    # Seed: "I'm out of credits, but I didn't do anything": every entry names its cause.
    causes = [(e.type, e.cause.ref, e.amount) for e in entries_of(engine, org)]
    assert causes == [
        (EntryType.GRANT, "explorer-pack", credits(50)),
        (EntryType.CONSUME, "p1", -credits(13)),
        (EntryType.CONSUME, "s1", -credits(20)),
        (EntryType.CONSUME, "d1", -credits(17)),
        (EntryType.GRANT, "explorer-pack-2", credits(10)),
        (EntryType.CONSUME, "d3", -credits(1)),
        (EntryType.EXPIRE, causes[-1][1], -credits(9)),
    ]


def test_datarobot_enterprise_has_unlimited_usage_time_series_and_10_gb(
    engine: Creditline,
) -> None:
    load_example(engine, "datarobot")
    org = customer(engine, "datarobot", "enterprise", "BigCo")
    # Seed: "enterprise accounts have unlimited usage": metered, never refused, no credits.
    ts = engine.record(org, "ts1", "create_time_series_project", {"training_data_mb": 5000})
    assert (ts.status, ts.cost) == (EventStatus.ACCEPTED, credits(520))
    assert engine.record(org, "p1", "create_project", {"training_data_mb": 10240}).cost == (
        credits(1029)
    )
    too_big = engine.record(org, "p2", "create_project", {"training_data_mb": 10241})
    assert too_big.status is EventStatus.REFUSED
    assert "limit of 10240" in (too_big.reason or "")
    assert engine.record(
        org, "s1", "batch_scoring", {"rows": 10**9, "prediction_data_mb": 10**6}
    ).cost == (credits(200_000))
    metered = sum(-e.amount for e in entries_of(engine, org, EntryType.CONSUME))
    assert metered == credits(520 + 1029 + 200_000)
    assert engine.balance(org).total == 0
    assert not engine.is_read_only(org)


# -- AI Engine (seed 001) -------------------------------------------------------------------


def test_ai_engine_usage_across_projects_and_members_draws_one_balance_and_pauses(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "ai-engine")
    clock.set(datetime(2026, 1, 5, 10, 0, tzinfo=UTC))  # peak hours
    org = customer(engine, "ai-engine", "standard", "Lab")
    # Seed: Standard package, 1,000 credits, expiring at the end of the billing cycle.
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    engine.grant(org, credits(1000), "included", expires_at=feb,
                 source=GrantSource(SourceType.PLAN, "standard:2026-01"))  # fmt: skip
    churn, vision = engine.create_project(org, "churn"), engine.create_project(org, "vision")
    ada, lin = engine.add_member(org, "Ada"), engine.add_member(org, "Lin")

    def run(event: str, operation: str, q: dict, d: dict | None = None, *, project=churn, who=ada):
        return engine.record(org, event, operation, q, d, project_id=project.id,
                             member_id=who.id)  # fmt: skip

    # ILLUSTRATIVE prices: GPU training 1 credit a minute, 2 credits per 1,000 inference
    # requests, data processing = 0.05/min + 0.5/GB + 0.25 per 10 vCPU-minutes.
    assert run("tr1", "train_model", {"minutes": 120}, {"compute": "gpu"}).cost == credits(120)
    assert run("in1", "inference", {"requests": 50_000}, project=vision, who=lin).cost == (
        credits(100)
    )
    data = {"minutes": 30, "gigabytes": 2, "vcpus": 4}
    assert run("dp1", "data_processing", data, project=vision).cost == credits("5.5")
    # Seed: "Schedule batch processing during off-peak hours": half price at 23:00.
    clock.set(datetime(2026, 1, 5, 23, 0, tzinfo=UTC))
    assert run("tr2", "train_model", {"minutes": 120}, {"compute": "gpu"}, who=lin).cost == (
        credits(60)
    )
    # Seed: one balance "reflects their usage across all projects and team members".
    assert available(engine, org) == credits("714.5")
    consumed = entries_of(engine, org, EntryType.CONSUME)
    by_project: dict[str | None, int] = {}
    by_member: dict[str | None, int] = {}
    for e in consumed:
        by_project[e.project_id] = by_project.get(e.project_id, 0) - e.amount
        by_member[e.member_id] = by_member.get(e.member_id, 0) - e.amount
    assert by_project == {churn.id: credits(180), vision.id: credits("105.5")}
    assert by_member == {ada.id: credits("125.5"), lin.id: credits(160)}

    # Seed: "new AI Engine operations will be paused until you purchase additional
    # credits or your next billing cycle begins".
    big = run("tr3", "train_model", {"minutes": 1600}, {"compute": "gpu"})  # 800 off-peak
    assert big.status is EventStatus.REFUSED
    assert engine.metering(org).depletion is DepletionPolicy.PAUSE
    assert available(engine, org) == credits("714.5")
    clock.set(feb)
    assert engine.expire_due().amount == credits("714.5")  # Standard: no rollover
    engine.grant(org, credits(1000), "included", expires_at=datetime(2026, 3, 1, tzinfo=UTC),
                 source=GrantSource(SourceType.PLAN, "standard:2026-02"))  # fmt: skip
    clock.set(datetime(2026, 2, 2, 12, 0, tzinfo=UTC))
    assert run("tr4", "train_model", {"minutes": 800}, {"compute": "gpu"}).cost == credits(800)
    assert available(engine, org) == credits(200)


# -- Roboflow (seed 002) --------------------------------------------------------------------


def test_roboflow_included_then_prepaid_then_flex_up_to_the_billing_threshold(
    engine: Creditline, clock: ManualClock
) -> None:
    load_example(engine, "roboflow")
    org = customer(engine, "roboflow", "core", "Workspace")  # ILLUSTRATIVE: 100 flex a month
    feb = datetime(2026, 2, 1, tzinfo=UTC)
    included = engine.grant(org, credits(30), "included", expires_at=feb)
    prepaid = engine.grant(org, credits(50), "prepaid")

    def use(event: str, operation: str, q: dict, d: dict | None = None) -> EventResult:
        return engine.record(org, event, operation, q, d)

    # ILLUSTRATIVE prices: medium training 4 credits per GPU hour, 1.5 per 1,000 calls
    # (hosted or self-hosted alike), labeling 0.01 per image, storage 0.5 per 1,000
    # image-months, augmentation 1 per 1,000 images.
    assert use("train", "training", {"gpu_hours": 5}, {"model_size": "medium"}).cost == (
        credits(20)
    )
    hosted = use("calls", "inference", {"calls": 20_000}, {"infrastructure": "hosted"})
    assert hosted.cost == credits(30)
    local = engine.quote(org, "inference", {"calls": 20_000}, {"infrastructure": "self_hosted"})
    assert local.total == hosted.cost  # seed: used locally or hosted, the same credits
    # Seed: "consumed/used in order of: Included, Prepaid, Flex".
    assert [(a.grant_id, a.amount) for a in engine.usage_event(org, "calls").allocations] == [
        (included.id, credits(10)),
        (prepaid.id, credits(20)),
    ]
    label = use("label", "labeling", {"images": 4000})  # 30 prepaid + 10 flex
    assert label.cost == credits(40)
    assert use("store", "storage", {"image_months": 100_000}).cost == credits(50)  # all flex
    assert available(engine, org) == 0
    # Seed: "billing thresholds ... dictate the amount of flex usage a workspace can use".
    over = use("aug1", "augmentation", {"images": 50_000})  # 60 + 50 > 100
    assert over.status is EventStatus.REFUSED
    assert use("aug2", "augmentation", {"images": 40_000}).cost == credits(40)  # 100 exactly
    assert use("aug3", "augmentation", {"images": 1}).status is EventStatus.REFUSED

    # Seed: flex "billed monthly for the credits used in the previous month".
    flex = [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]
    assert {g.source.ref for g in flex} == {"flex:2026-01"}
    assert sum(g.amount for g in flex) == credits(100)
    assert all(g.remaining == 0 for g in flex)

    # Next month the threshold starts again (included credits renewed by the cycle).
    clock.set(feb)
    engine.expire_due()
    assert use("aug4", "augmentation", {"images": 30_000}).cost == credits(30)
    flex_feb = [g for g in engine.grants(org) if g.source.ref == "flex:2026-02"]
    assert sum(g.amount for g in flex_feb) == credits(30)


def test_roboflow_a_workspace_with_flex_switched_off_stops_when_prepaid_runs_out(
    engine: Creditline,
) -> None:
    load_example(engine, "roboflow")
    org = customer(engine, "roboflow", "growth")
    # Seed: "By default, flex billing is enabled for all workspaces", and can be disabled.
    assert engine.metering(org).flex_enabled
    engine.assign_plan(org, "growth", flex_enabled=False)
    engine.grant(org, credits(5), "prepaid")
    assert engine.record(org, "l1", "labeling", {"images": 500}).cost == credits(5)
    refused = engine.record(org, "l2", "labeling", {"images": 1})
    assert refused.status is EventStatus.REFUSED
    assert not [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]
    # Enterprise: no threshold ("custom billing arrangements").
    big = customer(engine, "roboflow", "enterprise", "Enterprise")
    assert engine.record(
        big, "t", "training", {"gpu_hours": 1000}, {"model_size": "large"}
    ).cost == (credits(8000))
