"""One policy for every way credits are taken, events without a time, and a group's
commands failing alone (on SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from creditline import Creditline, DebitStatus, GrantKind, InsufficientCredits, ManualClock, credits
from creditline.domain.charging import Debit, Reserve, Settle
from creditline.domain.errors import InvalidAmount, OrganizationNotFound, PlanGateRefused
from creditline.domain.reservations import Reservation
from creditline.domain.usage import EventStatus, UsageEvent
from creditline.services.charging import RecordUsage, SpendCredits, apply_group
from tests.conftest import T0
from tests.metering import card_doc, plan_doc


@pytest.fixture
def engine(cl: Creditline) -> Iterator[Creditline]:
    cl.load_rate_card(card_doc())
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


def funded(cl: Creditline, amount: int, plan: dict[str, object] | None = None) -> str:
    org = cl.create_org("Acme").id
    cl.grant(org, credits(amount), "prepaid")
    if plan is not None:
        cl.put_plan(plan)
        cl.assign_plan(org, str(plan["name"]))
    return org


# -- a usage event's time is optional ------------------------------------------------------


def test_a_retry_without_a_time_is_a_duplicate_stamped_with_the_first_reception(
    engine: Creditline, clock: ManualClock
) -> None:
    org = funded(engine, 100)
    first = engine.record(org, "run-1", "translate", {"characters": 1_000_000})
    received = clock.now()
    clock.advance(timedelta(minutes=3))
    again = engine.record(org, "run-1", "translate", {"characters": 1_000_000})
    assert first.status is EventStatus.ACCEPTED
    assert (again.status, again.cost, again.reason) == (EventStatus.DUPLICATE, credits(10), None)
    assert engine.usage_event(org, "run-1").event.occurred_at == received
    assert engine.balance(org).available == credits(90)
    # record_usage without a time too, and an explicit time equal to the stored one
    (batch,) = engine.record_usage([UsageEvent("run-1", org, "translate", None,
                                               {"characters": 1_000_000})])  # fmt: skip
    assert batch.status is EventStatus.DUPLICATE
    same = engine.record(org, "run-1", "translate", {"characters": 1_000_000}, occurred_at=received)
    assert same.status is EventStatus.DUPLICATE


def test_a_retry_without_a_time_but_other_usage_is_a_reused_id(engine: Creditline) -> None:
    org = funded(engine, 100)
    engine.record(org, "run-1", "translate", {"characters": 1_000_000})
    other = engine.record(org, "run-1", "translate", {"characters": 2_000_000})
    assert other.status is EventStatus.REJECTED
    assert "already used" in (other.reason or "")


# -- spend follows the depletion policy ----------------------------------------------------


def test_spend_on_a_flex_plan_takes_flex_past_the_grants(engine: Creditline) -> None:
    org = funded(engine, 4, plan_doc("flexy", depletion="flex"))
    result = engine.spend(org, credits(10))
    assert result.status is DebitStatus.ACCEPTED
    assert [a.amount for a in result.allocations] == [credits(4), credits(6)]
    flex = [g for g in engine.grants(org) if g.kind is GrantKind.FLEX]
    assert [(g.amount, g.remaining, g.source.ref) for g in flex] == [
        (credits(6), 0, "flex:2026-01")
    ]
    # an operator's correction never takes flex
    with pytest.raises(InsufficientCredits):
        engine.adjust(org, -credits(1), "correction")


def test_spend_on_an_unlimited_plan_is_never_refused(engine: Creditline) -> None:
    org = funded(engine, 1, plan_doc("open", depletion="unlimited"))
    assert engine.spend(org, credits(1_000)).accepted


def test_at_the_flex_limit_a_spend_and_an_event_are_refused_naming_the_limit(
    engine: Creditline,
) -> None:
    plan = plan_doc("capped", depletion="flex", flex_limit_micros=credits(20))
    org = engine.create_org("Capped").id
    engine.put_plan(plan)
    engine.assign_plan(org, "capped")
    assert engine.spend(org, credits(12)).accepted  # all flex: 12 of 20 used
    with pytest.raises(InsufficientCredits) as caught:
        engine.spend(org, credits(15))
    error = caught.value
    assert (error.needed, error.available) == (credits(15), credits(8))
    assert (error.flex_limit, error.flex_used, error.flex_room) == (
        credits(20),
        credits(12),
        credits(8),
    )
    assert "flex limit 20000000 micro-credits a month: 12000000 used this month" in str(error)
    assert "8000000 left" in str(error)
    refused = engine.record(org, "big", "translate", {"characters": 1_500_000})
    assert refused.status is EventStatus.REFUSED
    assert isinstance(refused.error, InsufficientCredits) and refused.error.flex_room == credits(8)
    # a keyed refusal replays with the same fields
    key = engine.spend_many(org, [Debit(credits(15), idempotency_key="k")])[0]
    again = engine.spend_many(org, [Debit(credits(15), idempotency_key="k")])[0]
    assert again.replayed and isinstance(again.error, InsufficientCredits)
    assert isinstance(key.error, InsufficientCredits)
    assert again.error.flex_used == key.error.flex_used == credits(12)


# -- one command's failure stays with it ---------------------------------------------------


def test_commands_refused_inside_a_group_leave_the_others_committed(
    engine: Creditline,
) -> None:
    org = funded(engine, 10, plan_doc("two-holds", max_open_reservations=2))
    held = engine.reserve(org, credits(1))
    group = [
        Reserve(org, credits(2)),  # accepted: 2 holds open now
        Reserve(org, 0),  # bad input
        Reserve(org, credits(1)),  # the plan's gate: a third open hold
        SpendCredits(org, [Debit(credits(100))]),  # insufficient credits
        Reserve("org_missing", credits(1)),  # no such organization
        Settle(org, held.id, credits(1)),  # accepted: 1 hold open again
        RecordUsage([UsageEvent("e1", org, "translate", T0, {"characters": 100_000})]),
        SpendCredits(org, [Debit(credits(1), idempotency_key="once")]),
    ]
    answers = apply_group(group, engine._uow(), engine.clock)
    reserved, bad, gated, short, missing, settled, usage, spent = answers
    assert isinstance(reserved.value, Reservation)
    assert isinstance(bad.error, InvalidAmount)
    assert isinstance(gated.error, PlanGateRefused)
    assert short.value[0].status is DebitStatus.REFUSED
    assert isinstance(missing.error, OrganizationNotFound)
    assert settled.value.consumed == credits(1)
    assert usage.value[0].status is EventStatus.ACCEPTED
    assert spent.value[0].status is DebitStatus.ACCEPTED
    balance = engine.balance(org)  # 10 - 2 held - 1 committed - 1 event - 1 spent
    assert (balance.available, balance.held) == (credits(5), credits(2))
    assert engine.reservation(org, reserved.value.id).is_open
    assert engine.spend_many(org, [Debit(credits(1), idempotency_key="once")])[0].replayed


def test_a_submitted_group_answers_each_caller_with_its_own_outcome(engine: Creditline) -> None:
    org = funded(engine, 3)
    futures = [engine.submit(Reserve(org, credits(1))) for _ in range(5)]
    outcomes = []
    for future in futures:
        try:
            outcomes.append(future.result(timeout=60))
        except InsufficientCredits as exc:
            outcomes.append(exc)
    assert sum(isinstance(o, Reservation) for o in outcomes) == 3
    assert sum(isinstance(o, InsufficientCredits) for o in outcomes) == 2
    assert engine.balance(org).held == credits(3)
