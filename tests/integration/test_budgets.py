"""Budgets inside an organization's pool (A1): what a project or member may consume per
period, hard (refused, costing nothing) or soft (alerts only), holds included.

Every test runs on SQLite and on PostgreSQL with the small card of :mod:`tests.metering`
(``ping`` 1 credit). The clock starts at 2026-01-01 00:00 UTC. Every test ends with a
clean ``verify``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import timedelta

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import (
    BudgetExceeded,
    BudgetNotFound,
    InsufficientCredits,
    InvalidBudget,
    ProjectNotFound,
)
from creditline.domain.usage import EventStatus
from tests.metering import card_doc


@pytest.fixture
def engine(cl: Creditline) -> Iterator[Creditline]:
    cl.load_rate_card(card_doc())
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


def team(cl: Creditline, amount: int = 100) -> tuple[str, str, str, str]:
    """An organization with ``amount`` credits, two projects and a member."""
    org = cl.create_org("Team").id
    cl.grant(org, credits(amount), "prepaid")
    alpha = cl.create_project(org, "alpha").id
    beta = cl.create_project(org, "beta").id
    ana = cl.add_member(org, "Ana").id
    return org, alpha, beta, ana


def test_a_hard_project_budget_refuses_what_would_pass_it_and_costs_nothing(
    engine: Creditline,
) -> None:
    org, alpha, beta, _ = team(engine)
    budget = engine.create_budget(org, project_id=alpha, amount=credits(3), period="day").budget
    for i in range(3):
        assert engine.record(org, f"a{i}", "ping", project_id=alpha).status is EventStatus.ACCEPTED
    refused = engine.record(org, "a3", "ping", project_id=alpha)
    assert refused.status is EventStatus.REFUSED and refused.cost == 0
    assert isinstance(refused.error, BudgetExceeded)
    assert refused.error.budget_id == budget.id
    assert (refused.error.used, refused.error.room) == (credits(3), 0)
    assert budget.id in (refused.reason or "")
    # the other project and unattributed usage go on
    assert engine.record(org, "b0", "ping", project_id=beta).status is EventStatus.ACCEPTED
    assert engine.record(org, "n0", "ping").status is EventStatus.ACCEPTED
    assert engine.balance(org).total == credits(95)
    with pytest.raises(BudgetExceeded):
        engine.spend(org, credits(1), project_id=alpha)
    (standing,) = engine.budgets(org)
    assert (standing.consumed, standing.held, standing.room) == (credits(3), 0, 0)


def test_a_soft_budget_never_refuses_and_alerts_once_per_threshold(engine: Creditline) -> None:
    org, alpha, _, _ = team(engine)
    engine.add_webhook("https://hooks.acme.example/budgets", org_id=org)
    engine.create_budget(org, project_id=alpha, amount=credits(4), mode="soft", alerts=[50, 100])
    for i in range(6):
        assert engine.record(org, f"s{i}", "ping", project_id=alpha).status is EventStatus.ACCEPTED
    (standing,) = engine.budgets(org)
    assert standing.consumed == credits(6) and standing.percent == 150
    sent = [json.loads(d.payload) for d in reversed(engine.webhook_deliveries(org))]
    assert [p["type"] for p in sent] == ["budget.threshold_reached"] * 2
    assert sorted(p["data"]["percent"] for p in sent) == [50, 100]


def test_holds_count_while_open_and_a_commit_replaces_them_by_what_it_captured(
    engine: Creditline,
) -> None:
    org, _, _, ana = team(engine)
    engine.create_budget(org, member_id=ana, amount=credits(10))
    res = engine.reserve(org, credits(8), member_id=ana)
    assert engine.budgets(org)[0].held == credits(8)
    with pytest.raises(BudgetExceeded) as refused:
        engine.reserve(org, credits(3), member_id=ana)
    assert refused.value.used == credits(8)
    with pytest.raises(BudgetExceeded):
        engine.increase_reservation(org, res.id, credits(3))
    engine.commit(org, res.id, credits(5))
    (standing,) = engine.budgets(org)
    assert (standing.consumed, standing.held) == (credits(5), 0)
    other = engine.reserve(org, credits(5), member_id=ana)
    engine.release(org, other.id)
    assert engine.budgets(org)[0].used == credits(5)


def test_a_commit_past_a_hard_budget_takes_only_its_room_the_rest_is_shortfall(
    engine: Creditline,
) -> None:
    org, alpha, _, _ = team(engine)
    engine.create_budget(org, project_id=alpha, amount=credits(10))
    res = engine.reserve(org, credits(6), project_id=alpha)
    engine.spend(org, credits(2), project_id=alpha)
    done = engine.commit(org, res.id, credits(9))
    assert (done.consumed, done.shortfall) == (credits(8), credits(1))
    assert engine.budgets(org)[0].consumed == credits(10)


def test_a_budget_counts_what_its_scope_consumed_earlier_in_the_period(
    engine: Creditline, clock: ManualClock
) -> None:
    org, alpha, _, _ = team(engine)
    engine.spend(org, credits(4), project_id=alpha)
    standing = engine.create_budget(org, project_id=alpha, amount=credits(5), period="day")
    assert standing.consumed == credits(4)
    with pytest.raises(BudgetExceeded):
        engine.spend(org, credits(2), project_id=alpha)
    clock.advance(timedelta(days=1))  # a new day: a new period
    assert engine.spend(org, credits(2), project_id=alpha).accepted
    assert engine.budgets(org)[0].consumed == credits(2)


def test_budget_refusals_are_replayed_under_their_idempotency_key(engine: Creditline) -> None:
    org, alpha, _, _ = team(engine)
    engine.create_budget(org, project_id=alpha, amount=credits(1))
    for _ in range(2):
        with pytest.raises(BudgetExceeded) as refused:
            engine.spend(org, credits(2), project_id=alpha, idempotency_key="k1")
        assert refused.value.needed == credits(2)


def test_the_balance_still_refuses_inside_a_budget(engine: Creditline) -> None:
    org, alpha, _, _ = team(engine, 2)
    engine.create_budget(org, project_id=alpha, amount=credits(50))
    with pytest.raises(InsufficientCredits):
        engine.spend(org, credits(3), project_id=alpha)
    assert engine.budgets(org)[0].consumed == 0


def test_a_bad_budget_lists_every_problem_and_a_deleted_one_stops_counting(
    engine: Creditline,
) -> None:
    org, alpha, _, _ = team(engine)
    with pytest.raises(InvalidBudget) as bad:
        engine.create_budget(org, project_id=alpha, amount=0, period="week", alerts=[0, 101])
    assert len(bad.value.problems) == 4
    with pytest.raises(ProjectNotFound):
        engine.create_budget(org, project_id="prj_nope", amount=credits(1))
    budget = engine.create_budget(org, project_id=alpha, amount=credits(1)).budget
    engine.delete_budget(org, budget.id)
    assert engine.budgets(org) == []
    assert engine.spend(org, credits(5), project_id=alpha).accepted
    with pytest.raises(BudgetNotFound):
        engine.delete_budget(org, budget.id)
