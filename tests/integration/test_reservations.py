"""Reservations (C6): holds count as spent, settle exactly once, expire by their TTL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditline import Creditline, EntryType, InsufficientCredits, ManualClock, credits
from creditline.domain.errors import (
    InvalidAmount,
    InvalidSetting,
    OrganizationNotFound,
    PlanGateRefused,
    ProjectNotFound,
    ReservationNotFound,
)
from creditline.domain.reservations import ReservationStatus


def funded(cl: Creditline, amount: int = 100) -> str:
    org = cl.create_org("Holds").id
    cl.grant(org, credits(amount), "prepaid")
    return org


def test_a_hold_counts_as_spent_for_every_other_debit(cl: Creditline) -> None:
    org = funded(cl, 10)
    cl.reserve(org, credits(8))
    balance = cl.balance(org)
    assert (balance.available, balance.held) == (credits(2), credits(8))
    with pytest.raises(InsufficientCredits) as refused:
        cl.spend(org, credits(3))
    assert refused.value.available == credits(2)
    assert cl.verify().ok


def test_a_hold_the_grants_cannot_cover_is_refused_whole(cl: Creditline) -> None:
    org = funded(cl, 5)
    with pytest.raises(InsufficientCredits):
        cl.reserve(org, credits(6))
    assert cl.balance(org).held == 0
    assert cl.reservations(org) == []
    assert len(cl.history(org)) == 1


def test_committing_less_than_the_hold_releases_the_rest(cl: Creditline) -> None:
    org = funded(cl)
    res = cl.reserve(org, credits(12))
    done = cl.commit(org, res.id, credits(9))
    assert (done.consumed, done.released, done.shortfall) == (credits(9), credits(3), 0)
    assert done.reservation.status is ReservationStatus.COMMITTED
    balance = cl.balance(org)
    assert (balance.available, balance.held) == (credits(91), 0)
    consumed = cl.history(org, types=[EntryType.CONSUME])
    assert sum(e.amount for e in consumed) == -credits(9)
    assert cl.verify().ok


def test_committing_more_than_the_hold_draws_the_excess_and_records_any_shortfall(
    cl: Creditline,
) -> None:
    org = funded(cl, 10)
    res = cl.reserve(org, credits(6))
    cl.spend(org, credits(2))
    done = cl.commit(org, res.id, credits(15))
    assert (done.consumed, done.shortfall) == (credits(8), credits(7))
    assert cl.balance(org).total == 0
    assert cl.verify().ok


def test_a_released_hold_goes_back_to_the_grants_it_came_from(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Back").id
    soon = cl.grant(org, credits(5), "included", expires_at=clock.now() + timedelta(days=3))
    later = cl.grant(org, credits(5), "prepaid")
    res = cl.reserve(org, credits(7))
    assert [(a.grant_id, a.amount) for a in res.holds] == [
        (soon.id, credits(5)),
        (later.id, credits(2)),
    ]
    cl.release(org, res.id)
    remaining = {g.id: g.remaining for g in cl.grants(org)}
    assert remaining == {soon.id: credits(5), later.id: credits(5)}
    assert cl.verify().ok


def test_a_hold_is_honoured_after_its_grant_expired(cl: Creditline, clock: ManualClock) -> None:
    org = cl.create_org("Honoured").id
    cl.grant(org, credits(5), "included", expires_at=clock.now() + timedelta(hours=2))
    res = cl.reserve(org, credits(5), ttl=timedelta(hours=6))
    clock.advance(timedelta(hours=3))
    cl.expire_due()
    done = cl.commit(org, res.id, credits(4))
    assert (done.consumed, done.shortfall) == (credits(4), 0)
    cl.expire_due()  # the released credit went back to an expired grant: it expires now
    assert cl.balance(org).total == 0
    assert cl.verify().ok


def test_settling_twice_changes_nothing_and_returns_the_first_outcome(cl: Creditline) -> None:
    org = funded(cl)
    res = cl.reserve(org, credits(10))
    first = cl.commit(org, res.id, credits(4))
    again = cl.commit(org, res.id, credits(9))
    released = cl.release(org, res.id)
    assert again.replayed and released.replayed
    assert (again.consumed, again.released) == (first.consumed, first.released)
    assert cl.balance(org).available == credits(96)
    assert cl.verify().ok


def test_a_multi_step_job_commits_per_step_and_releases_the_rest(cl: Creditline) -> None:
    org = funded(cl)
    res = cl.reserve(org, credits(10))
    step = cl.commit(org, res.id, credits(3), final=False)
    assert (step.reservation.status, step.reservation.held) == (ReservationStatus.OPEN, credits(7))
    step = cl.commit(org, res.id, credits(2), final=False)
    assert step.reservation.held == credits(5)
    cl.release(org, res.id)
    final = cl.reservation(org, res.id)
    assert (final.status, final.consumed, final.held) == (ReservationStatus.RELEASED, credits(5), 0)
    assert cl.balance(org).available == credits(95)
    assert cl.verify().ok


def test_a_hold_past_its_ttl_is_released_by_expire_due_once(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl, 10)
    res = cl.reserve(org, credits(10), ttl=timedelta(minutes=30))
    clock.advance(timedelta(minutes=29))
    assert cl.expire_due().reservations == 0
    clock.advance(timedelta(minutes=1))
    assert cl.expire_due().reservations == 1
    assert cl.expire_due().reservations == 0
    assert cl.reservation(org, res.id).status is ReservationStatus.EXPIRED
    assert cl.balance(org).available == credits(10)
    assert cl.commit(org, res.id, credits(1)).replayed
    assert cl.verify().ok


def test_a_reserve_retried_with_its_key_holds_once(cl: Creditline) -> None:
    org = funded(cl)
    first = cl.reserve(org, credits(10), idempotency_key="job-1")
    again = cl.reserve(org, credits(10), idempotency_key="job-1")
    assert again.id == first.id
    assert cl.balance(org).held == credits(10)


@pytest.mark.parametrize(
    ("amount", "ttl", "error"),
    [
        (0, timedelta(hours=1), InvalidAmount),
        (-5, timedelta(hours=1), InvalidAmount),
        (credits(1), timedelta(0), InvalidSetting),
        (credits(1), timedelta(days=31), InvalidSetting),
    ],
)
def test_a_bad_reserve_is_refused_and_changes_nothing(
    cl: Creditline, amount: int, ttl: timedelta, error: type[Exception]
) -> None:
    org = funded(cl)
    with pytest.raises(error):
        cl.reserve(org, amount, ttl=ttl)
    assert cl.balance(org).held == 0
    assert len(cl.history(org)) == 1


def test_reservations_stay_inside_their_organization(cl: Creditline) -> None:
    a, b = funded(cl), funded(cl)
    res = cl.reserve(a, credits(1))
    other = cl.create_project(b, "theirs")
    with pytest.raises(ReservationNotFound):
        cl.commit(b, res.id, credits(1))
    with pytest.raises(ReservationNotFound):
        cl.reservation(b, res.id)
    with pytest.raises(ProjectNotFound):
        cl.reserve(a, credits(1), project_id=other.id)
    with pytest.raises(OrganizationNotFound):
        cl.reserve("org_missing", credits(1))


operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.integers(1, 40)),
        st.tuples(st.just("spend"), st.integers(1, 40)),
        st.tuples(st.just("commit"), st.integers(0, 60)),
        st.tuples(st.just("step"), st.integers(0, 20)),
        st.tuples(st.just("release"), st.just(0)),
        st.tuples(st.just("wait"), st.integers(1, 120)),
    ),
    max_size=30,
)


@settings(max_examples=40)
@given(plan=operations)
def test_holds_and_spends_never_exceed_what_was_spendable(
    tmp_path_factory: pytest.TempPathFactory, plan: list[tuple[str, int]]
) -> None:
    clock = ManualClock(datetime(2026, 1, 1, tzinfo=UTC))
    path = tmp_path_factory.mktemp("holds") / "holds.db"
    with Creditline.open(f"sqlite:///{path}", clock=clock) as cl:
        org = cl.create_org("Property").id
        granted = credits(100)
        cl.grant(org, granted, "prepaid")
        open_ids: list[str] = []
        for op, n in plan:
            _apply(cl, clock, org, open_ids, op=op, n=n)
            balance = cl.balance(org)
            spent = -sum(e.amount for e in cl.history(org, limit=10_000, types=["consume"]))
            assert balance.total >= 0 and balance.held >= 0
            assert spent + balance.held + balance.total == granted
            assert cl.verify().ok


def _apply(
    cl: Creditline, clock: ManualClock, org: str, open_ids: list[str], *, op: str, n: int
) -> None:
    try:
        if op == "reserve":
            open_ids.append(cl.reserve(org, credits(n), ttl=timedelta(minutes=60)).id)
        elif op == "spend":
            cl.spend(org, credits(n))
        elif op in ("commit", "step", "release") and open_ids:
            target = open_ids[-1]
            if op == "release":
                cl.release(org, target)
            else:
                cl.commit(org, target, credits(n), final=op == "commit")
            if op != "step":
                open_ids.pop()
        elif op == "wait":
            clock.advance(timedelta(minutes=n))
            cl.expire_due()
    except InsufficientCredits:
        pass


def test_a_plan_caps_the_holds_open_at_once_and_a_settled_one_frees_a_place(
    cl: Creditline,
) -> None:
    org = funded(cl)
    cl.put_plan({"name": "two-holds", "max_open_reservations": 2})
    cl.assign_plan(org, "two-holds")
    first = cl.reserve(org, credits(1))
    cl.reserve(org, credits(1))
    with pytest.raises(PlanGateRefused) as refused:
        cl.reserve(org, credits(1))
    assert refused.value.rule == "max_open_reservations"
    assert "2 holds are open" in str(refused.value)
    assert cl.balance(org).held == credits(2)
    cl.release(org, first.id)
    cl.reserve(org, credits(1))
    assert cl.balance(org).held == credits(2)
    assert cl.verify().ok


def test_a_commit_beyond_the_grants_is_covered_by_flex_when_the_policy_allows_it(
    cl: Creditline,
) -> None:
    org = funded(cl, 10)
    cl.put_plan({"name": "flexible", "depletion": "flex", "flex_limit_micros": credits(5)})
    cl.assign_plan(org, "flexible")
    res = cl.reserve(org, credits(8))
    done = cl.commit(org, res.id, credits(13))  # 8 held, 2 left, 3 from flex
    assert (done.consumed, done.shortfall) == (credits(13), 0)
    flex = [g for g in cl.grants(org) if g.kind.value == "flex"]
    assert [(g.amount, g.remaining) for g in flex] == [(credits(3), 0)]
    assert cl.balance(org).available == 0
    assert cl.verify().ok


def test_a_commit_beyond_the_flex_threshold_records_the_rest_as_a_shortfall(
    cl: Creditline,
) -> None:
    org = funded(cl, 10)
    cl.put_plan({"name": "capped", "depletion": "flex", "flex_limit_micros": credits(1)})
    cl.assign_plan(org, "capped")
    res = cl.reserve(org, credits(10))
    done = cl.commit(org, res.id, credits(13))
    assert (done.consumed, done.shortfall) == (credits(10), credits(3))
    assert [g for g in cl.grants(org) if g.kind.value == "flex"] == []
    assert cl.verify().ok
