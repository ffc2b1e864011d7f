"""Budgets told from the platform's side (seed 001, "AI Engine": usage tracked across all
projects and team members), with the example card's ILLUSTRATIVE prices: inference 2
credits per 1,000 requests, GPU training 1 credit a minute, at peak hours.

A team on the standard plan (1,000 credits a month) caps its ``vision`` project at 100
credits a day, hard, and gives Ana a soft budget of 150 credits a billing cycle. Mid-run,
``vision`` hits its budget: its next training runs are refused naming the budget,
costing nothing, while the ``chat`` project in the same batches keeps working; Ana's
soft budget alerts at 50 % and 100 % and never refuses. The next day ``vision`` trains
again. Runs on SQLite and on PostgreSQL and ends with a clean verify.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.budgets import BudgetStanding
from creditline.domain.errors import BudgetExceeded
from creditline.domain.usage import EventStatus, UsageEvent
from tests.metering import load_example

PEAK = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC: full price
TRAINING = {"minutes": 30}  # 30 credits on a GPU
INFERENCE = {"requests": 10_000}  # 20 credits


@pytest.fixture
def engine(cl: Creditline, clock: ManualClock) -> Iterator[Creditline]:
    load_example(cl, "ai-engine")
    clock.set(PEAK)
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


def run(cl: Creditline, org: str, n: int, ids: dict[str, str]) -> list[EventStatus]:
    """One batch of the platform's run: a GPU training of ``vision`` by Ana and an
    inference batch of ``chat`` by Bob; the two events' statuses."""
    results = cl.record_usage([
        UsageEvent(f"train-{n}", org, "train_model", None, TRAINING, {"compute": "gpu"},
                   ids["vision"], ids["ana"]),
        UsageEvent(f"infer-{n}", org, "inference", None, INFERENCE, {}, ids["chat"], ids["bob"]),
    ])  # fmt: skip
    return [r.status for r in results]


def standings(cl: Creditline, org: str) -> tuple[BudgetStanding, BudgetStanding]:
    """The project's budget and the member's."""
    found = {s.budget.scope.value: s for s in cl.budgets(org)}
    return found["project"], found["member"]


def test_a_project_hits_its_hard_budget_mid_run_while_another_keeps_working(
    engine: Creditline, clock: ManualClock
) -> None:
    cl = engine
    org = cl.create_org("Team").id
    cl.set_rate_card(org, "ai-engine")
    cl.subscribe(org, "standard")
    assert cl.balance(org).available == credits(1000)
    ids = {
        "vision": cl.create_project(org, "vision").id,
        "chat": cl.create_project(org, "chat").id,
        "ana": cl.add_member(org, "Ana").id,
        "bob": cl.add_member(org, "Bob").id,
    }
    cl.add_webhook("https://hooks.team.example/budgets", org_id=org)
    daily = cl.create_budget(org, project_id=ids["vision"], amount=credits(100), period="day",
                             alerts=[80, 100]).budget  # fmt: skip
    soft = cl.create_budget(org, member_id=ids["ana"], amount=credits(150), period="cycle",
                            mode="soft", alerts=[50, 100])  # fmt: skip
    assert (soft.start, soft.end) == (datetime(2026, 1, 1, tzinfo=UTC),
                                      datetime(2026, 2, 1, tzinfo=UTC))  # fmt: skip

    # The run: three trainings fit in the day's 100 credits, the fourth does not.
    statuses = [run(cl, org, n, ids) for n in range(5)]
    accepted, refused = EventStatus.ACCEPTED, EventStatus.REFUSED
    assert statuses == [[accepted, accepted]] * 3 + [[refused, accepted]] * 2
    stopped = cl.usage_event(org, "train-3")
    assert stopped.cost == 0 and daily.id in (stopped.reason or "")
    assert "90000000 of 100000000 used this period, 10000000 left" in (stopped.reason or "")

    # A 10-credit hold fits in what is left; one more credit does not.
    hold = cl.reserve(org, credits(10), project_id=ids["vision"], member_id=ids["ana"])
    with pytest.raises(BudgetExceeded) as refused_hold:
        cl.reserve(org, credits(1), project_id=ids["vision"])
    assert (refused_hold.value.budget_id, refused_hold.value.room) == (daily.id, 0)
    cl.commit(org, hold.id, credits(10))

    # The pool paid 3 trainings, 5 inference batches and the hold: 90 + 100 + 10.
    assert cl.balance(org).available == credits(1000 - 200)
    vision, ana = standings(cl, org)
    assert (vision.consumed, vision.room, vision.percent) == (credits(100), 0, 100)
    assert (ana.consumed, ana.percent) == (credits(100), 66)

    # The next day vision trains again; Ana's soft budget passes 100 % and never refuses.
    clock.set(PEAK + timedelta(days=1))
    assert [run(cl, org, n, ids) for n in range(5, 7)] == [[accepted, accepted]] * 2
    vision, ana = standings(cl, org)
    assert (vision.consumed, vision.start) == (credits(60), PEAK.replace(hour=0) + timedelta(1))
    assert (ana.consumed, ana.percent) == (credits(160), 106)

    fired = sorted(
        (p["data"]["scope"], p["data"]["percent"], p["data"]["period_start"][:10])
        for p in (json.loads(d.payload) for d in cl.webhook_deliveries(org))
    )
    assert fired == [
        ("member", 50, "2026-01-01"), ("member", 100, "2026-01-01"),
        ("project", 80, "2026-01-05"), ("project", 100, "2026-01-05"),
    ]  # fmt: skip
