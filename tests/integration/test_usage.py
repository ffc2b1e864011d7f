"""Recording usage (C1, C4, C5, C7, A1, A3, A4, D6): events priced, gated and charged once.

Every test runs on SQLite and on PostgreSQL, with the small card of
:mod:`tests.metering` (``ping`` 1 credit, ``translate`` 10 credits per 1M characters,
``render`` by mode basic/pro/max = 1/3/12 credits). The clock starts at 2026-01-01
00:00 UTC. Every test ends with a clean ``verify``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from creditline import (
    Cause,
    CauseType,
    Creditline,
    EntryType,
    GrantKind,
    InsufficientCredits,
    ManualClock,
    credits,
)
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InvalidSetting,
    InvalidUsage,
    MemberNotFound,
    NoRateCardInForce,
    OrganizationNotFound,
    PlanGateRefused,
    PlanNotFound,
    ProjectNotFound,
    UnknownOperation,
    UsageEventNotFound,
)
from creditline.domain.plans import DepletionPolicy
from creditline.domain.usage import EventStatus, UsageEvent, UsageStep
from tests.conftest import T0
from tests.metering import V1_FROM, card_doc, entries_of, plan_doc, remaining, snapshot

MILLION = 1_000_000
FEB = datetime(2026, 2, 1, tzinfo=UTC)


@pytest.fixture
def engine(cl: Creditline) -> Iterator[Creditline]:
    """The engine with the small card loaded; every test must leave the ledger sound."""
    cl.load_rate_card(card_doc())
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


def org_with(
    cl: Creditline, *amounts: int, plan: dict[str, Any] | None = None, kind: str = "prepaid"
) -> str:
    """An organization with one grant per amount (in credits), on ``plan`` if given."""
    org = cl.create_org("Metered").id
    for amount in amounts:
        cl.grant(org, credits(amount), kind)
    if plan is not None:
        cl.put_plan(plan)
        cl.assign_plan(org, plan["name"])
    return org


def translate(cl: Creditline, org: str, event_id: str, characters: int = MILLION, **kw: Any):
    return cl.record(org, event_id, "translate", {"characters": characters}, **kw)


# -- accepted, duplicate -------------------------------------------------------------------


def test_an_accepted_event_is_charged_its_price_and_stored_with_its_outcome(
    engine: Creditline,
) -> None:
    org = org_with(engine, 100)
    result = translate(engine, org, "evt-1")
    assert (result.status, result.cost, result.reason) == (EventStatus.ACCEPTED, credits(10), None)
    assert result.accepted and result.rate_card == "default@v1"
    assert engine.balance(org).available == credits(90)
    stored = engine.usage_event(org, "evt-1")
    assert (stored.status, stored.cost, stored.rate_card) == ("accepted", credits(10), "default@v1")
    assert sum(a.amount for a in stored.allocations) == credits(10)
    (consumed,) = entries_of(engine, org, EntryType.CONSUME)
    assert consumed.amount == -credits(10)
    assert consumed.cause == Cause(CauseType.USAGE_EVENT, "evt-1")


def test_a_resent_event_is_a_duplicate_with_the_first_outcome_and_charged_once(
    engine: Creditline,
) -> None:
    org = org_with(engine, 100)
    first = translate(engine, org, "evt-1")
    again = translate(engine, org, "evt-1")
    assert again.status is EventStatus.DUPLICATE and again.accepted
    assert (again.cost, again.reason, again.rate_card) == (first.cost, None, "default@v1")
    assert engine.balance(org).available == credits(90)
    assert len(entries_of(engine, org, EntryType.CONSUME)) == 1
    assert len(engine.usage_events(org)) == 1


def test_the_same_event_id_with_a_different_payload_is_rejected_and_changes_nothing(
    engine: Creditline,
) -> None:
    org = org_with(engine, 100)
    translate(engine, org, "evt-1")
    before = snapshot(engine, org)
    other = translate(engine, org, "evt-1", characters=2 * MILLION)
    assert other.status is EventStatus.REJECTED
    assert isinstance(other.error, IdempotencyKeyReused)
    assert "evt-1" in (other.reason or "")
    assert snapshot(engine, org) == before
    assert engine.usage_event(org, "evt-1").event.quantities == {"characters": MILLION}


def test_event_ids_are_per_organization(engine: Creditline) -> None:
    a, b = org_with(engine, 100), org_with(engine, 100)
    assert translate(engine, a, "evt-1").status is EventStatus.ACCEPTED
    assert translate(engine, b, "evt-1").status is EventStatus.ACCEPTED
    assert engine.balance(a).available == engine.balance(b).available == credits(90)


def test_a_batch_with_one_bad_event_records_the_others(engine: Creditline, clock) -> None:
    org = org_with(engine, 100)
    now = clock.now()

    def event(event_id: str, operation: str, **quantities: int) -> UsageEvent:
        return UsageEvent(event_id, org, operation, now, quantities)

    results = engine.record_usage(
        [
            event("a", "translate", characters=MILLION),
            event("b", "fly"),
            event("c", "ping"),
            event("a", "translate", characters=MILLION),  # resent within the batch
            event("d", "translate", characters=-1),
            event("e", "translate", characters=2 * MILLION),
            UsageEvent("f", "org_missing", "ping", now),
        ]
    )
    assert [(r.event_id, r.status) for r in results] == [
        ("a", EventStatus.ACCEPTED),
        ("b", EventStatus.REJECTED),
        ("c", EventStatus.ACCEPTED),
        ("a", EventStatus.DUPLICATE),
        ("d", EventStatus.REJECTED),
        ("e", EventStatus.ACCEPTED),
        ("f", EventStatus.REJECTED),
    ]
    assert isinstance(results[1].error, UnknownOperation)
    assert isinstance(results[6].error, OrganizationNotFound)
    assert engine.balance(org).available == credits(100 - 10 - 1 - 20)
    assert sorted(e.event_id for e in engine.usage_events(org)) == ["a", "c", "e"]


def test_a_free_event_is_accepted_at_no_cost_even_with_no_credits(
    engine: Creditline, clock: ManualClock
) -> None:
    org = org_with(engine)
    events = [
        UsageEvent("free", org, "translate", clock.now(), {"characters": 0}),
        UsageEvent("paid", org, "ping", clock.now()),
    ]
    results = engine.record_usage(events)
    assert [(r.status, r.cost) for r in results] == [
        (EventStatus.ACCEPTED, 0),
        (EventStatus.REFUSED, 0),
    ]
    assert engine.usage_event(org, "free").allocations == ()
    assert engine.history(org) == []
    engine.grant(org, credits(5))
    amended = engine.amend_event(org, "free", {"characters": 100_000})
    assert amended.cost == credits(1)
    assert engine.balance(org).available == credits(4)
    assert engine.amend_event(org, "free", {"characters": 0}).cost == 0
    assert engine.balance(org).available == credits(5)


def test_an_empty_batch_records_nothing(engine: Creditline) -> None:
    assert engine.record_usage([]) == []


def test_a_pipeline_costs_the_sum_of_its_steps_with_each_step_listed(engine: Creditline) -> None:
    org = org_with(engine, 100)
    steps = (UsageStep("translate", {"characters": 500_000}), UsageStep("ping"))
    result = engine.record(org, "run-1", "pipeline", steps=steps)
    assert result.cost == credits(6)
    assert result.components == (("translate", credits(5)), ("ping", credits(1)))
    assert engine.usage_event(org, "run-1").components == result.components
    assert engine.balance(org).available == credits(94)


# -- refused, and a refusal replayed ---------------------------------------------------------


def test_a_refusal_is_replayed_after_credits_arrive_and_a_new_event_is_charged(
    engine: Creditline,
) -> None:
    org = org_with(engine, 1)
    refused = translate(engine, org, "evt-1")
    assert refused.status is EventStatus.REFUSED and not refused.accepted
    assert isinstance(refused.error, InsufficientCredits)
    assert refused.cost == 0 and "insufficient credits" in (refused.reason or "")
    assert engine.usage_event(org, "evt-1").status == "refused"
    assert engine.balance(org).available == credits(1)  # refused whole: nothing taken

    engine.grant(org, credits(100))
    again = translate(engine, org, "evt-1")
    assert again.status is EventStatus.DUPLICATE and not again.accepted
    assert (again.cost, again.reason) == (0, refused.reason)
    assert engine.balance(org).available == credits(101)
    assert translate(engine, org, "evt-2").status is EventStatus.ACCEPTED
    assert engine.balance(org).available == credits(91)


# -- bad input: rejected, naming the field, nothing stored ----------------------------------


BAD_INPUT: dict[str, tuple[Callable[[Creditline, str, datetime], Any], type, str]] = {
    "unknown operation": (
        lambda cl, org, now: cl.record(org, "bad", "fly"),
        UnknownOperation,
        "no operation 'fly'",
    ),
    "missing quantity": (
        lambda cl, org, now: cl.record(org, "bad", "translate", {}),
        InvalidUsage,
        "quantities.characters: missing",
    ),
    "negative quantity": (
        lambda cl, org, now: cl.record(org, "bad", "translate", {"characters": -5}),
        InvalidUsage,
        "quantities.characters: must be a finite number >= 0",
    ),
    "float quantity": (
        lambda cl, org, now: cl.record(org, "bad", "translate", {"characters": 1.5}),
        InvalidUsage,
        "quantities.characters: must be exact",
    ),
    "quantity not a number": (
        lambda cl, org, now: cl.record(org, "bad", "translate", {"characters": "lots"}),
        InvalidUsage,
        "quantities.characters: 'lots' is not a number",
    ),
    "unknown dimension value": (
        lambda cl, org, now: cl.record(org, "bad", "render", {}, {"mode": "ultra"}),
        InvalidUsage,
        "dimensions.mode: unknown value 'ultra'",
    ),
    "missing dimension": (
        lambda cl, org, now: cl.record(org, "bad", "render"),
        InvalidUsage,
        "dimensions.mode: missing",
    ),
    "timestamp in the future": (
        lambda cl, org, now: cl.record(org, "bad", "ping", occurred_at=now + timedelta(hours=1)),
        InvalidUsage,
        "timestamp: 2026-01-01T01:00:00+00:00 is in the future",
    ),
    "timestamp without a zone": (
        lambda cl, org, now: cl.record(org, "bad", "ping", occurred_at=datetime(2026, 1, 1)),
        InvalidUsage,
        "timestamp:",
    ),
    "timestamp before any rate card": (
        lambda cl, org, now: cl.record(org, "bad", "ping", occurred_at=V1_FROM - timedelta(days=1)),
        NoRateCardInForce,
        "2025-11-30",
    ),
    "empty event id": (
        lambda cl, org, now: cl.record(org, " ", "ping"),
        InvalidUsage,
        "event_id: must be 1 to 200 characters",
    ),
    "unknown project": (
        lambda cl, org, now: cl.record(org, "bad", "ping", project_id="prj_nope"),
        ProjectNotFound,
        "prj_nope",
    ),
    "unknown member": (
        lambda cl, org, now: cl.record(org, "bad", "ping", member_id="mem_nope"),
        MemberNotFound,
        "mem_nope",
    ),
    "bad pipeline step": (
        lambda cl, org, now: cl.record(
            org, "bad", "pipeline", steps=(UsageStep("translate", {"characters": -1}),)
        ),
        InvalidUsage,
        "steps[0].quantities.characters: must be a finite number >= 0",
    ),
}


@pytest.mark.parametrize("case", list(BAD_INPUT))
def test_bad_input_is_rejected_naming_the_field_and_changes_nothing(
    engine: Creditline, clock: ManualClock, case: str
) -> None:
    send, error, reason = BAD_INPUT[case]
    org = org_with(engine, 100)
    translate(engine, org, "earlier")
    before = snapshot(engine, org)

    result = send(engine, org, clock.now())

    assert result.status is EventStatus.REJECTED and not result.accepted
    assert isinstance(result.error, error), result.error
    assert reason in (result.reason or ""), result.reason
    assert result.cost == 0
    assert snapshot(engine, org) == before
    with pytest.raises(UsageEventNotFound):
        engine.usage_event(org, result.event_id)
    # Nothing was stored: the corrected event can be recorded under the same id.
    if result.event_id == "bad":
        assert engine.record(org, "bad", "ping").status is EventStatus.ACCEPTED


def test_an_event_a_few_minutes_ahead_is_accepted_as_clock_skew(
    engine: Creditline, clock: ManualClock
) -> None:
    org = org_with(engine, 100)
    result = engine.record(org, "skew", "ping", occurred_at=clock.now() + timedelta(minutes=4))
    assert result.status is EventStatus.ACCEPTED


def test_an_unknown_dimension_value_is_rejected_even_where_the_plan_gates_that_dimension(
    engine: Creditline,
) -> None:
    """Bad input is rejected (nothing stored, a corrected retry can succeed), not
    refused by the gate as if it were a real mode the plan does not include."""
    gated = plan_doc("starter", gates={"allow": {"mode": ["basic", "pro"]}})
    org = org_with(engine, 100, plan=gated)
    before = snapshot(engine, org)
    result = engine.record(org, "r1", "render", {}, {"mode": "ultra"})
    assert result.status is EventStatus.REJECTED, result
    assert "dimensions.mode: unknown value 'ultra'" in (result.reason or "")
    assert snapshot(engine, org) == before
    assert engine.record(org, "r1", "render", {}, {"mode": "pro"}).cost == credits(3)


# -- attribution (A1) -------------------------------------------------------------------


def test_usage_is_attributed_to_its_project_and_member(engine: Creditline) -> None:
    org = org_with(engine, 100)
    project = engine.create_project(org, "Search")
    member = engine.add_member(org, "Ada")
    result = translate(engine, org, "evt-1", project_id=project.id, member_id=member.id)
    assert result.status is EventStatus.ACCEPTED
    (consumed,) = entries_of(engine, org, EntryType.CONSUME)
    assert (consumed.project_id, consumed.member_id) == (project.id, member.id)
    stored = engine.usage_event(org, "evt-1").event
    assert (stored.project_id, stored.member_id) == (project.id, member.id)


def test_another_organizations_project_or_member_is_rejected(engine: Creditline) -> None:
    org, other = org_with(engine, 100), org_with(engine, 100)
    project = engine.create_project(other, "Theirs")
    member = engine.add_member(other, "Eve")
    before = snapshot(engine, org)
    by_project = translate(engine, org, "evt-1", project_id=project.id)
    by_member = translate(engine, org, "evt-2", member_id=member.id)
    assert (by_project.status, by_member.status) == (EventStatus.REJECTED,) * 2
    assert isinstance(by_project.error, ProjectNotFound)
    assert isinstance(by_member.error, MemberNotFound)
    assert snapshot(engine, org) == before
    assert engine.usage_events(other) == []


# -- plan gates (C4) ------------------------------------------------------------------------

GATED = plan_doc(
    "gated",
    gates={
        "forbid_operations": ["pipeline"],
        "allow": {"mode": ["basic", "pro"]},
        "max": {"characters": "2000000"},
    },
)


@pytest.mark.parametrize(
    ("operation", "quantities", "dimensions", "rule"),
    [
        ("pipeline", {}, {}, "operations.pipeline"),
        ("render", {}, {"mode": "max"}, "dimensions.mode"),
        ("translate", {"characters": 2_000_001}, {}, "quantities.characters"),
    ],
)
def test_a_gated_event_is_refused_naming_the_rule_and_costs_nothing(
    engine: Creditline,
    operation: str,
    quantities: dict[str, int],
    dimensions: dict[str, str],
    rule: str,
) -> None:
    org = org_with(engine, 100, plan=GATED)
    steps = (UsageStep("ping"),) if operation == "pipeline" else ()
    result = engine.record(org, "g1", operation, quantities, dimensions, steps=steps)
    assert result.status is EventStatus.REFUSED
    assert isinstance(result.error, PlanGateRefused) and result.error.rule == rule
    assert f"plan 'gated', rule {rule}" in (result.reason or "")
    assert result.cost == 0
    assert engine.balance(org).available == credits(100)
    assert entries_of(engine, org, EntryType.CONSUME) == []
    assert engine.usage_event(org, "g1").status == "refused"
    # A retry gets the same refusal, even after the organization moves to another plan.
    engine.put_plan(plan_doc("open"))
    engine.assign_plan(org, "open")
    again = engine.record(org, "g1", operation, quantities, dimensions, steps=steps)
    assert (again.status, again.reason) == (EventStatus.DUPLICATE, result.reason)
    assert engine.balance(org).available == credits(100)


def test_the_gates_apply_to_each_step_of_a_pipeline(engine: Creditline) -> None:
    plan = plan_doc("no-translation", gates={"forbid_operations": ["translate"]})
    org = org_with(engine, 100, plan=plan)
    steps = (UsageStep("ping"), UsageStep("translate", {"characters": 10}))
    result = engine.record(org, "p1", "pipeline", steps=steps)
    assert result.status is EventStatus.REFUSED
    assert "rule operations.translate" in (result.reason or "")
    assert engine.balance(org).available == credits(100)
    assert engine.record(org, "p2", "pipeline", steps=steps[:1]).cost == credits(1)


def test_usage_within_the_gates_is_charged(engine: Creditline) -> None:
    org = org_with(engine, 100, plan=GATED)
    assert engine.record(org, "a", "render", {}, {"mode": "pro"}).cost == credits(3)
    assert translate(engine, org, "b", characters=2_000_000).cost == credits(20)
    assert engine.balance(org).available == credits(77)


def test_assigning_an_unknown_plan_is_refused(engine: Creditline) -> None:
    org = org_with(engine, 1)
    with pytest.raises(PlanNotFound):
        engine.assign_plan(org, "nope")
    with pytest.raises(OrganizationNotFound):
        engine.assign_plan("org_missing", None)
    with pytest.raises(ValueError, match="sometimes"):
        engine.assign_plan(org, None, depletion="sometimes")


def test_a_plan_document_lists_every_problem(engine: Creditline) -> None:
    with pytest.raises(InvalidSetting) as bad:
        engine.put_plan(
            {"name": "", "depletion": "never", "flex_limit_micros": -1, "colour": "red",
             "gates": {"allow": ["x"], "max": {"gb": "lots"}}}
        )  # fmt: skip
    for problem in (
        "colour: unknown key",
        "name: must be a non-empty string",
        "depletion: one of pause, read_only, flex, unlimited",
        "flex_limit_micros: must be a whole number >= 0",
        "gates.allow: must be a table",
        "gates.max.gb: 'lots' is not a number",
    ):
        assert problem in str(bad.value)


def test_plans_load_from_toml_all_or_nothing(engine: Creditline) -> None:
    loaded = engine.load_plans(
        '[[plans]]\nname = "a"\ndepletion = "flex"\n[[plans]]\nname = "b"\n'
        "gates = { max = { characters = 10 } }\n"
    )
    assert [engine.plan(p.name) for p in loaded] == loaded
    assert engine.plan("a").depletion is DepletionPolicy.FLEX
    with pytest.raises(InvalidSetting, match=r"plans\[1\] \(c\): depletion"):
        engine.load_plans('[[plans]]\nname = "a"\n[[plans]]\nname = "c"\ndepletion = "x"\n')
    assert engine.plan("a").depletion is DepletionPolicy.FLEX  # nothing was stored
    with pytest.raises(PlanNotFound):
        engine.plan("c")


# -- depletion policies (A3, A4, D6) ---------------------------------------------------------


def test_an_organization_without_a_plan_is_paused_when_depleted(engine: Creditline) -> None:
    org = org_with(engine, 5)
    metering = engine.metering(org)
    assert (metering.plan.name, metering.depletion) == ("default", DepletionPolicy.PAUSE)
    assert translate(engine, org, "a", characters=400_000).status is EventStatus.ACCEPTED
    refused = translate(engine, org, "b", characters=200_000)  # 2 credits, 1 left
    assert refused.status is EventStatus.REFUSED
    assert engine.balance(org).available == credits(1)
    assert not engine.is_read_only(org)
    assert engine.grants(org)[0].kind is GrantKind.PREPAID
    assert not [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]


def test_read_only_refuses_and_reports_read_only_until_credits_are_bought(
    engine: Creditline,
) -> None:
    org = org_with(engine, 10, plan=plan_doc("pack", depletion="read_only"))
    assert not engine.is_read_only(org)
    translate(engine, org, "a")
    assert engine.balance(org).available == 0
    assert engine.is_read_only(org)
    refused = engine.record(org, "b", "ping")
    assert refused.status is EventStatus.REFUSED
    assert "read-only until credits are bought" in (refused.reason or "")
    engine.grant(org, credits(5))
    assert not engine.is_read_only(org)
    assert engine.record(org, "c", "ping").status is EventStatus.ACCEPTED


def test_flex_takes_what_the_grants_cannot_cover_as_flex_credits(engine: Creditline) -> None:
    org = org_with(engine, 4, plan=plan_doc("flexy", depletion="flex"))
    result = translate(engine, org, "a")  # 10 credits: 4 prepaid, 6 flex
    assert result.status is EventStatus.ACCEPTED and result.cost == credits(10)
    flex = [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]
    assert [(g.amount, g.remaining, g.source.ref) for g in flex] == [
        (credits(6), 0, "flex:2026-01")
    ]
    allocations = engine.usage_event(org, "a").allocations
    assert [a.amount for a in allocations] == [credits(4), credits(6)]  # prepaid before flex
    balance = engine.balance(org)
    assert (balance.total, balance.available) == (0, 0)
    assert not engine.is_read_only(org)


def test_flex_is_capped_by_the_monthly_billing_threshold(
    engine: Creditline, clock: ManualClock
) -> None:
    plan = plan_doc("capped", depletion="flex", flex_limit_micros=credits(15))
    org = org_with(engine, plan=plan)
    assert translate(engine, org, "a").status is EventStatus.ACCEPTED  # 10 of 15
    over = translate(engine, org, "b")  # 10 more: 20 > 15
    assert over.status is EventStatus.REFUSED and isinstance(over.error, InsufficientCredits)
    assert translate(engine, org, "c", characters=500_000).status is EventStatus.ACCEPTED  # 15
    assert engine.record(org, "d", "ping").status is EventStatus.REFUSED
    # A grant covers usage again without flex; the threshold is per calendar month.
    engine.grant(org, credits(1))
    assert engine.record(org, "e", "ping").status is EventStatus.ACCEPTED
    clock.set(FEB)
    assert translate(engine, org, "f").status is EventStatus.ACCEPTED
    flex = sorted((g.source.ref, g.amount) for g in engine.grants(org) if g.kind is GrantKind.FLEX)
    assert flex == [
        ("flex:2026-01", credits(5)),
        ("flex:2026-01", credits(10)),
        ("flex:2026-02", credits(10)),
    ]


def test_flex_within_one_batch_respects_the_threshold(engine: Creditline, clock) -> None:
    plan = plan_doc("capped", depletion="flex", flex_limit_micros=credits(15))
    org = org_with(engine, plan=plan)
    events = [UsageEvent(f"e{i}", org, "ping", clock.now()) for i in range(20)]
    results = engine.record_usage(events)
    assert [r.status for r in results] == [EventStatus.ACCEPTED] * 15 + [EventStatus.REFUSED] * 5
    flex = sum(g.amount for g in engine.grants(org) if g.kind is GrantKind.FLEX)
    assert flex == credits(15)


def test_flex_can_be_switched_off_for_one_organization(engine: Creditline) -> None:
    plan = plan_doc("flexy", depletion="flex")
    org = org_with(engine, 1, plan=plan)
    other = org_with(engine, 1, plan=plan)
    metering = engine.assign_plan(org, "flexy", flex_enabled=False)
    assert (metering.depletion, metering.flex_enabled) == (DepletionPolicy.FLEX, False)
    assert engine.metering(other).flex_enabled  # on by default (D6)
    assert engine.record(org, "a", "render", {}, {"mode": "pro"}).status is EventStatus.REFUSED
    assert engine.record(other, "a", "render", {}, {"mode": "pro"}).status is (EventStatus.ACCEPTED)
    assert engine.balance(org).available == credits(1)
    engine.assign_plan(org, "flexy", flex_enabled=True)
    assert engine.record(org, "b", "render", {}, {"mode": "pro"}).status is EventStatus.ACCEPTED


def test_a_plan_can_have_flex_off_by_default(engine: Creditline) -> None:
    org = org_with(engine, plan=plan_doc("strict", depletion="flex", flex_enabled=False))
    assert not engine.metering(org).flex_enabled
    assert engine.record(org, "a", "ping").status is EventStatus.REFUSED
    engine.assign_plan(org, "strict", flex_enabled=True)
    assert engine.record(org, "b", "ping").status is EventStatus.ACCEPTED


def test_an_organization_can_override_its_plans_depletion_policy(engine: Creditline) -> None:
    org = org_with(engine, 1, plan=plan_doc("paused"))
    assert engine.record(org, "a", "render", {}, {"mode": "pro"}).status is EventStatus.REFUSED
    metering = engine.assign_plan(org, "paused", depletion="flex")
    assert (metering.plan.name, metering.depletion) == ("paused", DepletionPolicy.FLEX)
    assert engine.record(org, "b", "render", {}, {"mode": "pro"}).status is EventStatus.ACCEPTED
    engine.assign_plan(org, "paused")  # back to the plan's own policy
    assert engine.metering(org).depletion is DepletionPolicy.PAUSE
    assert engine.record(org, "c", "ping").status is EventStatus.REFUSED


def test_unlimited_usage_is_metered_and_never_refused(engine: Creditline) -> None:
    org = org_with(engine, 2, plan=plan_doc("enterprise", depletion="unlimited"))
    results = [translate(engine, org, f"e{i}", characters=100 * MILLION) for i in range(3)]
    assert [(r.status, r.cost) for r in results] == [(EventStatus.ACCEPTED, credits(1000))] * 3
    metered = [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]
    assert {g.source.ref for g in metered} == {"unlimited:2026-01"}
    assert sum(g.amount for g in metered) == credits(3000 - 2)
    consumed = entries_of(engine, org, EntryType.CONSUME)
    assert -sum(e.amount for e in consumed) == credits(3000)
    assert engine.balance(org).total == 0
    assert not engine.is_read_only(org)


# -- reservations are honoured after depletion (A3) ------------------------------------------


@pytest.mark.parametrize("policy", ["pause", "read_only"])
def test_a_hold_made_before_depletion_is_honoured(engine: Creditline, policy: str) -> None:
    org = org_with(engine, 10, plan=plan_doc("p", depletion=policy))
    held = engine.reserve(org, credits(6))
    assert engine.record(org, "a", "render", {}, {"mode": "pro"}).status is EventStatus.ACCEPTED
    assert engine.record(org, "b", "ping").status is EventStatus.ACCEPTED  # the last credit
    assert engine.record(org, "c", "ping").status is EventStatus.REFUSED
    assert engine.is_read_only(org) is (policy == "read_only")
    done = engine.commit(org, held.id, credits(6))
    assert (done.consumed, done.shortfall) == (credits(6), 0)
    balance = engine.balance(org)
    assert (balance.total, balance.held) == (0, 0)


def test_a_hold_is_honoured_after_depletion_under_flex_too(engine: Creditline) -> None:
    org = org_with(engine, 10, plan=plan_doc("f", depletion="flex", flex_limit_micros=credits(4)))
    held = engine.reserve(org, credits(8))
    # 2 credits left: "a" takes them and 1 flex, "b" 3 flex: the threshold of 4.
    assert engine.record(org, "a", "render", {}, {"mode": "pro"}).status is EventStatus.ACCEPTED
    assert engine.record(org, "b", "render", {}, {"mode": "pro"}).status is EventStatus.ACCEPTED
    assert engine.record(org, "c", "ping").status is EventStatus.REFUSED  # threshold reached
    assert engine.commit(org, held.id, credits(8)).consumed == credits(8)


# -- corrections: void (C7) ------------------------------------------------------------------


def test_voiding_an_event_gives_each_grant_back_exactly_what_it_paid(
    engine: Creditline, clock: ManualClock
) -> None:
    org = engine.create_org("Void").id
    engine.grant(org, credits(5), "included", expires_at=FEB)
    engine.grant(org, credits(10), "prepaid")
    before = remaining(engine, org)
    translate(engine, org, "other", characters=100_000)  # 1 credit, not voided
    after_other = remaining(engine, org)
    translate(engine, org, "big", characters=MILLION)
    assert sorted(remaining(engine, org).values()) == [0, credits(4)]

    voided = engine.void_event(org, "big")

    assert (voided.status, voided.cost, voided.allocations) == ("voided", 0, ())
    assert remaining(engine, org) == after_other
    assert sum(before.values()) - sum(after_other.values()) == credits(1)
    grants = {g.id: g for g in engine.grants(org)}
    assert [g.expires_at for g in grants.values() if g.kind is GrantKind.INCLUDED] == [FEB]
    backs = entries_of(engine, org, EntryType.VOID)
    assert sorted(e.amount for e in backs) == [credits(4), credits(6)]
    assert {e.cause for e in backs} == {Cause(CauseType.USAGE_EVENT, "big")}
    assert engine.usage_event(org, "big").status == "voided"
    # Voiding again, or resending the event, changes nothing.
    engine.void_event(org, "big")
    translate(engine, org, "big", characters=MILLION)
    assert remaining(engine, org) == after_other
    assert len(entries_of(engine, org, EntryType.VOID)) == 2


def test_a_voided_event_gives_back_flex_to_the_flex_grant(engine: Creditline) -> None:
    org = org_with(engine, 4, plan=plan_doc("flexy", depletion="flex"))
    before = remaining(engine, org)
    translate(engine, org, "a")
    engine.void_event(org, "a")
    after = remaining(engine, org)
    flex = [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]
    assert {k: v for k, v in after.items() if k in before} == before
    assert [(g.amount, g.remaining) for g in flex] == [(credits(6), credits(6))]


def test_a_voided_event_keeps_its_grants_expiry(engine: Creditline, clock: ManualClock) -> None:
    org = engine.create_org("Expiring").id
    soon = engine.grant(org, credits(10), "included", expires_at=T0 + timedelta(days=1))
    translate(engine, org, "a")
    clock.advance(timedelta(days=2))
    assert engine.expire_due().amount == 0  # nothing was left to expire

    engine.void_event(org, "a")

    balance = engine.balance(org)
    assert (balance.available, balance.expired_unswept) == (0, credits(10))
    report = engine.expire_due()
    assert report.amount == credits(10)
    (expired,) = entries_of(engine, org, EntryType.EXPIRE)
    assert (expired.grant_id, expired.amount) == (soon.id, -credits(10))
    assert engine.balance(org).total == 0
    assert engine.expire_due().amount == 0


def test_voiding_a_refused_event_changes_nothing(engine: Creditline) -> None:
    org = org_with(engine, 1)
    translate(engine, org, "a")
    before = snapshot(engine, org)
    assert engine.void_event(org, "a").status == "refused"
    assert snapshot(engine, org) == before


def test_voiding_an_unknown_event_or_organization_is_not_found(engine: Creditline) -> None:
    org = org_with(engine, 1)
    with pytest.raises(UsageEventNotFound):
        engine.void_event(org, "nope")
    with pytest.raises(OrganizationNotFound):
        engine.void_event("org_missing", "nope")
    other = org_with(engine, 100)
    translate(engine, other, "theirs")
    with pytest.raises(UsageEventNotFound):
        engine.void_event(org, "theirs")


# -- corrections: amend (C7) ------------------------------------------------------------------


def test_amending_up_charges_the_difference(engine: Creditline) -> None:
    org = org_with(engine, 100)
    translate(engine, org, "a")
    amended = engine.amend_event(org, "a", {"characters": 2_500_000})
    assert (amended.status, amended.cost) == ("accepted", credits(25))
    assert amended.event.quantities == {"characters": 2_500_000}
    assert engine.usage_event(org, "a").event.quantities == {"characters": 2_500_000}
    assert sum(a.amount for a in amended.allocations) == credits(25)
    assert engine.balance(org).available == credits(75)
    consumed = [e.amount for e in entries_of(engine, org, EntryType.CONSUME)]
    assert consumed == [-credits(10), -credits(15)]
    assert engine.usage_event(org, "a").cost == credits(25)


def test_amending_down_gives_the_difference_back_to_the_grants_drawn_last(
    engine: Creditline,
) -> None:
    org = engine.create_org("Down").id
    included = engine.grant(org, credits(6), "included")
    prepaid = engine.grant(org, credits(10), "prepaid")
    translate(engine, org, "a")  # 6 included + 4 prepaid
    amended = engine.amend_event(org, "a", {"characters": 300_000})  # 3 credits
    assert amended.cost == credits(3)
    assert [(a.grant_id, a.amount) for a in amended.allocations] == [(included.id, credits(3))]
    assert remaining(engine, org) == {included.id: credits(3), prepaid.id: credits(10)}
    backs = [(e.grant_id, e.amount) for e in entries_of(engine, org, EntryType.VOID)]
    assert backs == [(prepaid.id, credits(4)), (included.id, credits(3))]
    # Voiding the amended event gives back exactly what it still holds.
    engine.void_event(org, "a")
    assert remaining(engine, org) == {included.id: credits(6), prepaid.id: credits(10)}


def test_amending_dimensions_reprices_the_event(engine: Creditline) -> None:
    org = org_with(engine, 100)
    engine.record(org, "r", "render", {}, {"mode": "basic"})
    assert engine.amend_event(org, "r", {}, {"mode": "max"}).cost == credits(12)
    assert engine.balance(org).available == credits(88)


def test_an_amendment_the_credits_cannot_cover_is_refused_and_changes_nothing(
    engine: Creditline,
) -> None:
    org = org_with(engine, 12)
    translate(engine, org, "a")
    before = snapshot(engine, org)
    with pytest.raises(InsufficientCredits):
        engine.amend_event(org, "a", {"characters": 3 * MILLION})
    with pytest.raises(InvalidUsage, match=r"quantities\.characters: must be a finite number"):
        engine.amend_event(org, "a", {"characters": -3})
    with pytest.raises(InvalidUsage, match=r"quantities\.characters: missing"):
        engine.amend_event(org, "a", {})
    assert snapshot(engine, org) == before


def test_an_amendment_is_gated_like_the_event(engine: Creditline) -> None:
    org = org_with(engine, 100, plan=GATED)
    engine.record(org, "r", "render", {}, {"mode": "basic"})
    before = snapshot(engine, org)
    with pytest.raises(PlanGateRefused, match=r"dimensions\.mode"):
        engine.amend_event(org, "r", {}, {"mode": "max"})
    assert snapshot(engine, org) == before


def test_only_an_accepted_event_can_be_amended(engine: Creditline) -> None:
    org = org_with(engine, 1)
    translate(engine, org, "refused")
    with pytest.raises(InvalidUsage, match="a refused event"):
        engine.amend_event(org, "refused", {"characters": 1})
    engine.record(org, "ok", "ping")
    engine.void_event(org, "ok")
    with pytest.raises(InvalidUsage, match="a voided event"):
        engine.amend_event(org, "ok", {})
    with pytest.raises(UsageEventNotFound):
        engine.amend_event(org, "nope", {})


# -- late events (C3, C7) ---------------------------------------------------------------------


def test_a_late_event_is_priced_by_the_version_in_force_at_its_time(
    engine: Creditline, clock: ManualClock
) -> None:
    org = org_with(engine, 100)
    clock.set(T0 + timedelta(days=10))
    engine.load_rate_card(card_doc("v2", clock.now(), ping="2"))
    late = engine.record(org, "late", "ping", occurred_at=T0 + timedelta(days=5))
    on_time = engine.record(org, "now", "ping")
    assert (late.cost, late.rate_card) == (credits(1), "default@v1")
    assert (on_time.cost, on_time.rate_card) == (credits(2), "default@v2")
    just_before = engine.record(org, "edge", "ping", occurred_at=clock.now() - timedelta(
        microseconds=1))  # fmt: skip
    assert just_before.rate_card == "default@v1"
    # An amendment re-prices the late event at its own time, by the old version.
    amended = engine.amend_event(org, "late", {})
    assert (amended.cost, amended.rate_card) == (credits(1), "default@v1")
    assert engine.balance(org).available == credits(100 - 1 - 2 - 1)


# -- the same story on each backend ends with a clean ledger -------------------------------


def test_a_mixed_day_of_usage_verifies(engine: Creditline, clock: ManualClock) -> None:
    plan = plan_doc("mixed", depletion="flex", flex_limit_micros=credits(50),
                    gates={"allow": {"mode": ["basic", "pro"]}})  # fmt: skip
    org = org_with(engine, 20, plan=plan)
    engine.grant(org, credits(5), "included", expires_at=T0 + timedelta(hours=6))
    hold = engine.reserve(org, credits(4))
    for hour in range(12):
        clock.advance(timedelta(hours=1))
        engine.record(org, f"t{hour}", "translate", {"characters": 350_000 * (hour % 3)})
        engine.record(org, f"r{hour}", "render", {}, {"mode": ["basic", "pro", "max"][hour % 3]})
        if hour == 4:
            engine.void_event(org, "t2")
            engine.amend_event(org, "t1", {"characters": 900_000})
        if hour == 7:
            engine.expire_due()
    engine.release(org, hold.id)
    engine.expire_due()
    statuses = {e.event_id: e.status for e in engine.usage_events(org, limit=100)}
    assert statuses["r2"] == "refused" and statuses["t2"] == "voided"
    charged = sum(e.cost for e in engine.usage_events(org, limit=100))
    consumed = entries_of(engine, org, EntryType.CONSUME, EntryType.VOID)
    assert -sum(e.amount for e in consumed) == charged


def test_metadata_that_is_not_plain_json_is_rejected_and_stores_nothing(cl: Creditline) -> None:
    from decimal import Decimal

    from creditline.domain.usage import EventStatus

    org = cl.create_org("Metadata").id
    cl.grant(org, credits(10), "prepaid")
    result = cl.record(org, "m-1", "anything", {}, metadata={"ratio": Decimal("0.5")})
    assert result.status is EventStatus.REJECTED
    assert "metadata" in (result.reason or "")
    assert cl.usage_events(org) == []


# -- netting per batch ----------------------------------------------------------------------


def test_a_batch_nets_its_consumption_into_one_entry_per_grant_naming_its_cause(
    engine: Creditline,
) -> None:
    org = org_with(engine, 5, 100)
    events = [UsageEvent(f"n-{i}", org, "translate", T0, {"characters": MILLION}) for i in range(7)]
    results = engine.record_usage(events)
    assert [r.cost for r in results] == [credits(10)] * 7
    consumed = [e for e in engine.history(org) if e.type is EntryType.CONSUME]
    assert sorted(-e.amount for e in consumed) == [credits(5), credits(65)]
    causes = {-e.amount: e.cause for e in consumed}
    assert causes[credits(5)] == Cause(CauseType.USAGE_EVENT, "n-0")  # one event drew on it
    cause = causes[credits(65)]
    assert cause.type is CauseType.USAGE_BATCH
    stored = [engine.usage_event(org, f"n-{i}") for i in range(7)]
    assert {s.batch_id for s in stored} == {cause.ref}
    paid: dict[str, int] = {}
    for s in stored:
        for grant_id, amount in s.allocations:
            paid[grant_id] = paid.get(grant_id, 0) + amount
    assert {e.grant_id: -e.amount for e in consumed} == paid


def test_a_resent_voided_event_says_it_was_voided_and_an_amended_one_replays_the_amendment(
    engine: Creditline,
) -> None:
    org = org_with(engine, 100)
    translate(engine, org, "v")
    engine.void_event(org, "v")
    again = translate(engine, org, "v")
    assert again.status is EventStatus.DUPLICATE
    assert (again.cost, again.accepted) == (0, False)
    assert "voided" in (again.reason or "")
    translate(engine, org, "a")
    engine.amend_event(org, "a", {"characters": 2 * MILLION})
    resent = translate(engine, org, "a")  # the original request, retried
    assert resent.status is EventStatus.DUPLICATE
    assert resent.cost == credits(20)
    assert engine.balance(org).available == credits(80)
