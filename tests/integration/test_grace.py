"""Grace between depletion and lock, on SQLite and PostgreSQL (domain/grace.py): an
organization on a plan with grace runs out, uses its grace, goes read-only, then
paused; credits end it at once; each transition recorded with its cause and time."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.charging import DebitStatus
from creditline.domain.errors import InsufficientCredits
from creditline.domain.grace import GraceState
from creditline.domain.grants import GrantKind
from creditline.domain.usage import EventStatus
from tests.metering import card_doc

PLAN = {
    "name": "graceful",
    "depletion": "pause",
    "grace_hours": 48,
    "grace_credits": "10",
    "grace_billing": "write_off",
    "read_only_hours": 24,
}


@pytest.fixture
def org(cl: Creditline) -> str:
    cl.put_plan(PLAN)
    org = cl.create_org("Grace Ltd").id
    cl.assign_plan(org, "graceful")
    cl.grant(org, credits(5))
    return org


def refusal(cl: Creditline, org: str, amount: int) -> InsufficientCredits:
    with pytest.raises(InsufficientCredits) as raised:
        cl.spend(org, amount)
    return raised.value


def states(cl: Creditline, org: str) -> list[tuple[str, str, str]]:
    return [(t.from_state.value, t.to_state.value, t.cause_type) for t in cl.grace(org).transitions]


def test_plan_without_grace_refuses_at_zero_as_before(cl: Creditline) -> None:
    org = cl.create_org("Plain").id
    cl.grant(org, credits(1))
    assert refusal(cl, org, credits(2)).grace_state is None
    assert cl.grace(org).standing.state is GraceState.ACTIVE
    assert cl.grace(org).transitions == ()


def test_depletion_enters_grace_and_write_off_pays_the_shortfall(cl: Creditline, org: str) -> None:
    result = cl.spend(org, credits(7), idempotency_key="k1")
    assert result.status is DebitStatus.ACCEPTED
    status = cl.grace(org)
    assert status.standing.state is GraceState.GRACE
    assert status.standing.used == credits(2) and status.left == credits(8)
    (moved,) = status.transitions
    assert (moved.from_state, moved.to_state, moved.cause_type) == (
        GraceState.ACTIVE, GraceState.GRACE, "debit",
    )  # fmt: skip
    flex = [g for g in cl.grants(org) if g.kind is GrantKind.FLEX]
    assert [(g.amount, g.source.ref) for g in flex] == [(credits(2), "write_off:2026-01")]
    assert cl.balance(org).available == 0


def test_grace_used_up_goes_read_only_and_refuses(cl: Creditline, org: str) -> None:
    cl.spend(org, credits(5))
    assert cl.spend(org, credits(10)).status is DebitStatus.ACCEPTED  # the last of grace
    assert cl.grace(org).standing.state is GraceState.READ_ONLY
    refused = refusal(cl, org, credits(1))
    assert refused.grace_state == "read_only"
    assert "read-only since" in str(refused)
    assert states(cl, org) == [("active", "grace", "debit"), ("grace", "read_only", "debit")]


def test_a_charge_larger_than_the_grace_left_is_refused_and_uses_it_up(
    cl: Creditline, org: str
) -> None:
    cl.spend(org, credits(8))  # 3 of grace
    assert refusal(cl, org, credits(8)).grace_state == "read_only"
    assert cl.grace(org).standing.state is GraceState.READ_ONLY


def test_hours_pass_read_only_then_paused_dated_at_deadlines(
    cl: Creditline, org: str, clock: ManualClock
) -> None:
    cl.spend(org, credits(6))
    start = clock.now()
    clock.advance(timedelta(hours=80))
    report = cl.tick()
    assert report.ok, report.errors
    status = cl.grace(org)
    assert status.standing.state is GraceState.PAUSED
    assert [(t.to_state.value, t.cause_type, t.cause_ref, t.at) for t in status.transitions] == [
        ("grace", "debit", status.transitions[0].cause_ref, start),
        ("read_only", "time", "grace_hours", start + timedelta(hours=48)),
        ("paused", "time", "read_only_hours", start + timedelta(hours=72)),
    ]
    assert refusal(cl, org, credits(1)).grace_state == "paused"


def test_a_charge_after_the_deadline_sees_read_only_before_the_scheduler(
    cl: Creditline, org: str, clock: ManualClock
) -> None:
    cl.spend(org, credits(6))
    clock.advance(timedelta(hours=49))
    assert refusal(cl, org, credits(1)).grace_state == "read_only"
    assert cl.grace(org).standing.state is GraceState.READ_ONLY
    assert states(cl, org)[-1] == ("grace", "read_only", "time")


def test_a_grant_ends_grace_at_once(cl: Creditline, org: str) -> None:
    cl.spend(org, credits(5))
    cl.spend(org, credits(10))
    grant = cl.grant(org, credits(20))
    status = cl.grace(org)
    assert status.standing.state is GraceState.ACTIVE
    last = status.transitions[-1]
    assert (last.from_state.value, last.to_state.value) == ("read_only", "active")
    assert (last.cause_type, last.cause_ref) == ("grant", grant.id)
    assert cl.spend(org, credits(1)).status is DebitStatus.ACCEPTED


def test_a_credit_back_ends_grace_at_once(cl: Creditline, org: str) -> None:
    cl.load_rate_card(card_doc(), syntax="json")
    assert cl.record(org, "evt-run", "ping").status is EventStatus.ACCEPTED
    cl.spend(org, credits(4))
    cl.spend(org, credits(10))  # grace used up: read-only
    refund = cl.credit_back(org, "evt-run", "the run failed")
    status = cl.grace(org)
    assert status.standing.state is GraceState.ACTIVE
    last = status.transitions[-1]
    assert (last.from_state.value, last.to_state.value) == ("read_only", "active")
    assert (last.cause_type, last.cause_ref) == ("grant", refund.id)


def test_an_adjustment_is_not_refused_while_read_only(cl: Creditline, org: str) -> None:
    cl.spend(org, credits(5))
    cl.spend(org, credits(10))
    cl.adjust(org, credits(2), "goodwill")
    assert cl.grace(org).standing.state is GraceState.ACTIVE


def test_the_overview_reports_the_grace_state_not_a_pause(cl: Creditline, org: str) -> None:
    cl.spend(org, credits(5))  # all its credits: grace is ahead, not a pause
    assert (cl.overview(org).read_only, cl.overview(org).paused) == (False, False)
    cl.spend(org, credits(10))  # grace used up
    assert (cl.overview(org).read_only, cl.overview(org).paused) == (True, False)


def test_holds_never_take_grace_and_are_refused_while_read_only(cl: Creditline, org: str) -> None:
    cl.spend(org, credits(5))
    with pytest.raises(InsufficientCredits) as in_grace:
        cl.reserve(org, credits(1))
    assert in_grace.value.grace_state is None  # refused as before: holds take no grace
    cl.spend(org, credits(10))
    with pytest.raises(InsufficientCredits) as locked:
        cl.reserve(org, credits(1))
    assert locked.value.grace_state == "read_only"


def test_a_usage_refused_while_read_only_is_stored_with_the_state(cl: Creditline, org: str) -> None:
    cl.load_rate_card(card_doc(), syntax="json")
    cl.spend(org, credits(15))
    refused = cl.record(org, "evt-late", "ping")
    assert refused.status is EventStatus.REFUSED
    assert refused.reason is not None and "read-only since" in refused.reason
    again = cl.record(org, "evt-late", "ping")  # a retry: the same answer
    assert (again.status, again.reason) == (EventStatus.DUPLICATE, refused.reason)
