"""The grace state machine and a plan's grace terms, pure (domain/grace.py)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from creditline import credits
from creditline.domain.errors import InvalidSetting
from creditline.domain.grace import (
    GraceBilling,
    GraceState,
    GraceTerms,
    Standing,
    deadline,
    elapse,
    enter,
    exhaust,
    restore,
    room,
)
from creditline.domain.plans import parse_plan

T = datetime(2026, 3, 1, tzinfo=UTC)
TERMS = GraceTerms(hours=24, credits=credits(5), read_only_hours=48)
CHARGE = ("usage_event", "evt-1")


def test_a_plan_without_grace_fields_has_no_grace_and_its_document_is_unchanged() -> None:
    plan = parse_plan({"name": "plain"})
    assert plan.grace is None
    assert not any(k.startswith("grace") or k == "read_only_hours" for k in plan.to_dict())


def test_grace_terms_round_trip_through_the_document() -> None:
    raw = {"name": "g", "grace_hours": 24, "grace_credits": "2.5", "grace_billing": "write_off",
           "read_only_hours": 0}  # fmt: skip
    plan = parse_plan(raw)
    assert plan.grace == GraceTerms(24, credits("2.5"), GraceBilling.WRITE_OFF, 0)
    assert parse_plan(plan.to_dict()) == plan


@pytest.mark.parametrize(
    ("raw", "problem"),
    [
        ({"grace_billing": "flex"}, "grace_hours or grace_credits: one is required"),
        ({"grace_hours": -1}, "grace_hours: must be a whole number of hours"),
        ({"grace_hours": True}, "grace_hours: must be a whole number of hours"),
        ({"grace_credits": "0"}, "grace_credits: must be greater than zero"),
        ({"grace_credits": 1.5}, "grace_credits:"),
        ({"grace_hours": 1, "grace_billing": "later"}, "grace_billing: one of flex, write_off"),
        ({"grace_hours": 1, "depletion": "flex"}, "grace needs depletion pause or read_only"),
    ],
)
def test_bad_grace_terms_are_listed(raw: dict[str, object], problem: str) -> None:
    with pytest.raises(InvalidSetting) as raised:
        parse_plan({"name": "g", **raw})
    assert problem in raised.value.reason


def test_grace_goes_read_only_then_paused_each_dated_at_its_deadline() -> None:
    standing, moved = enter("org_1", Standing(), CHARGE, T)
    assert (standing.state, standing.since, moved.cause_ref) == (GraceState.GRACE, T, "evt-1")
    assert deadline(TERMS, standing) == T + timedelta(hours=24)
    assert elapse(TERMS, "org_1", standing, T + timedelta(hours=23)) == (standing, [])
    later, found = elapse(TERMS, "org_1", standing, T + timedelta(days=30))
    assert later.state is GraceState.PAUSED
    assert [(t.to_state, t.cause_ref, t.at) for t in found] == [
        (GraceState.READ_ONLY, "grace_hours", T + timedelta(hours=24)),
        (GraceState.PAUSED, "read_only_hours", T + timedelta(hours=72)),
    ]


def test_used_up_grace_with_no_read_only_time_pauses_at_once() -> None:
    terms = GraceTerms(credits=credits(1), read_only_hours=0)
    standing, _ = enter("org_1", Standing(), CHARGE, T)
    assert room(terms, standing) == credits(1)
    done, found = exhaust(terms, "org_1", standing, CHARGE, T)
    assert done.state is GraceState.PAUSED
    assert [t.to_state for t in found] == [GraceState.READ_ONLY, GraceState.PAUSED]


def test_credits_end_any_state_but_active() -> None:
    assert restore("org_1", Standing(), ("grant", "grt_1"), T) is None
    standing = Standing(GraceState.READ_ONLY, T, 0)
    active, moved = restore("org_1", standing, ("purchase", "pur_1"), T) or (None, None)
    assert active == Standing() and moved is not None
    assert (moved.from_state, moved.to_state, moved.cause_type) == (
        GraceState.READ_ONLY, GraceState.ACTIVE, "purchase",
    )  # fmt: skip
    assert TERMS.describe() == "24 hours or 5 credits, flex; then read-only 48 hours, then paused"
