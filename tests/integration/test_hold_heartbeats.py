"""Holds for multi-day runs: heartbeats (extend) and growing estimates (increase).

Each test runs on SQLite and PostgreSQL. The two stories at the end tell it whole: a
three-day training run that reserves, heartbeats every few hours, captures two steps,
increases its hold once and commits its last step; and one that stops sending
heartbeats and whose hold the expiry job releases at its (extended) expiry.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline import Creditline, EntryType, InsufficientCredits, ManualClock, credits
from creditline.domain.errors import (
    Conflict,
    InvalidAmount,
    InvalidSetting,
    ReservationNotFound,
)
from creditline.domain.reservations import ReservationStatus

HOUR = timedelta(hours=1)
CARD = {
    "name": "default",
    "version": "v1",
    "effective_from": "2025-12-01T00:00:00+00:00",
    "operations": {"train": {"flat": "1"}},
}


def funded(cl: Creditline, amount: int = 100, plan: dict[str, object] | None = None) -> str:
    org = cl.create_org("Runs").id
    cl.grant(org, credits(amount), "prepaid")
    if plan is not None:
        cl.put_plan(plan)
        cl.assign_plan(org, str(plan["name"]))
    return org


def test_a_heartbeat_pushes_the_stored_expiry_and_never_shortens_it(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl)
    res = cl.reserve(org, credits(10), ttl=2 * HOUR)
    clock.advance(HOUR)
    extended = cl.extend_reservation(org, res.id, 6 * HOUR)
    assert extended.expires_at == clock.now() + 6 * HOUR
    assert cl.reservation(org, res.id).expires_at == extended.expires_at
    again = cl.extend_reservation(org, res.id, HOUR)  # earlier than its own: unchanged
    assert again.expires_at == extended.expires_at
    assert cl.reservation(org, res.id).expires_at == extended.expires_at
    assert len(cl.history(org)) == 2  # the grant and the hold: a heartbeat writes no entry
    assert cl.verify().ok


def test_a_heartbeat_past_the_plans_longest_hold_is_refused_naming_the_limit(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl, plan={"name": "day-runs", "max_hold_hours": 24})
    with pytest.raises(InvalidSetting, match="max_hold_hours 24"):
        cl.reserve(org, credits(1), ttl=25 * HOUR)
    res = cl.reserve(org, credits(10), ttl=21 * HOUR)
    clock.advance(20 * HOUR)
    assert cl.extend_reservation(org, res.id, 4 * HOUR).expires_at == res.created_at + 24 * HOUR
    with pytest.raises(InvalidSetting, match="day-runs") as refused:
        cl.extend_reservation(org, res.id, 5 * HOUR)
    assert (res.created_at + 24 * HOUR).isoformat() in str(refused.value)
    assert cl.reservation(org, res.id).expires_at == res.created_at + 24 * HOUR


def test_a_plan_may_allow_holds_longer_than_the_longest_ttl_by_heartbeats(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl, plan={"name": "long-runs", "max_hold_hours": 60 * 24})
    res = cl.reserve(org, credits(10), ttl=timedelta(days=30))
    clock.advance(timedelta(days=29))
    assert cl.extend_reservation(org, res.id, timedelta(days=30)).expires_at == (
        res.created_at + timedelta(days=59)
    )
    with pytest.raises(InvalidSetting):
        cl.extend_reservation(org, res.id, timedelta(days=31))  # beyond one call's ttl


def test_settled_released_and_expired_holds_cannot_be_extended_or_increased(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl)
    committed = cl.reserve(org, credits(5))
    cl.commit(org, committed.id, credits(1))
    released = cl.reserve(org, credits(5))
    cl.release(org, released.id)
    expired = cl.reserve(org, credits(5), ttl=HOUR)
    clock.advance(HOUR)
    for res_id, status in ((committed.id, "committed"), (released.id, "released")):
        with pytest.raises(Conflict, match=status):
            cl.extend_reservation(org, res_id, HOUR)
        with pytest.raises(Conflict, match=status):
            cl.increase_reservation(org, res_id, credits(1))
    with pytest.raises(Conflict, match="expired"):  # due, before the expiry job ran
        cl.extend_reservation(org, expired.id, HOUR)
    cl.expire_due()
    with pytest.raises(Conflict, match="expired"):
        cl.increase_reservation(org, expired.id, credits(1))
    assert cl.balance(org).held == 0
    assert cl.verify().ok


def test_another_organizations_hold_is_not_found(cl: Creditline) -> None:
    a, b = funded(cl), funded(cl)
    res = cl.reserve(a, credits(1))
    with pytest.raises(ReservationNotFound):
        cl.extend_reservation(b, res.id, HOUR)
    with pytest.raises(ReservationNotFound):
        cl.increase_reservation(b, res.id, credits(1))
    assert cl.reservation(a, res.id).amount == credits(1)


def test_an_increase_holds_more_as_a_reserve_does_with_entries_naming_the_hold(
    cl: Creditline, clock: ManualClock
) -> None:
    org = cl.create_org("Grow").id
    soon = cl.grant(org, credits(5), "included", expires_at=clock.now() + timedelta(days=3))
    later = cl.grant(org, credits(20), "prepaid")
    res = cl.reserve(org, credits(3))
    grown = cl.increase_reservation(org, res.id, credits(4))
    assert (grown.amount, grown.held) == (credits(7), credits(7))
    assert [(a.grant_id, a.amount) for a in grown.holds] == [
        (soon.id, credits(5)),
        (later.id, credits(2)),
    ]
    holds = cl.history(org, types=[EntryType.RESERVE])
    assert sorted(e.amount for e in holds) == [-credits(3), -credits(2), -credits(2)]
    assert {e.cause.ref for e in holds} == {res.id}
    balance = cl.balance(org)
    assert (balance.available, balance.held) == (credits(18), credits(7))
    assert cl.reservation(org, res.id).amount == credits(7)
    assert cl.verify().ok


def test_an_increase_the_grants_cannot_cover_is_refused_whole(cl: Creditline) -> None:
    org = funded(cl, 10)
    res = cl.reserve(org, credits(6))
    with pytest.raises(InsufficientCredits) as refused:
        cl.increase_reservation(org, res.id, credits(5))
    assert refused.value.available == credits(4)
    with pytest.raises(InvalidAmount):
        cl.increase_reservation(org, res.id, 0)
    assert cl.reservation(org, res.id).held == credits(6)
    assert len(cl.history(org)) == 2
    assert cl.verify().ok


def test_an_increase_of_a_scoped_hold_draws_its_scoped_grants_first(cl: Creditline) -> None:
    cl.load_rate_card(CARD)
    org = cl.create_org("Scoped").id
    scoped = cl.grant(org, credits(5), "promotional", scope=[{"operation": "train"}])
    general = cl.grant(org, credits(5), "prepaid")
    res = cl.reserve(org, credits(2), operation="train")
    grown = cl.increase_reservation(org, res.id, credits(4))
    assert [(a.grant_id, a.amount) for a in grown.holds] == [
        (scoped.id, credits(5)),
        (general.id, credits(1)),
    ]
    plain = cl.reserve(org, credits(1))
    with pytest.raises(InsufficientCredits):  # a hold for nothing: general grants only
        cl.increase_reservation(org, plain.id, credits(4))
    assert cl.verify().ok


# -- the stories ------------------------------------------------------------------------


def test_a_three_day_training_run_heartbeats_captures_steps_grows_and_commits(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl, 1000, plan={"name": "training", "max_hold_hours": 96})
    run = cl.reserve(org, credits(300), ttl=6 * HOUR, operation=None)
    start = run.created_at

    def heartbeats(hours: int) -> None:
        for _ in range(hours // 4):
            clock.advance(4 * HOUR)
            cl.expire_due()  # the scheduler runs between heartbeats: nothing is due
            beat = cl.extend_reservation(org, run.id, 6 * HOUR)
            assert beat.status is ReservationStatus.OPEN
            assert beat.expires_at == clock.now() + 6 * HOUR

    heartbeats(24)
    first = cl.commit(org, run.id, credits(90), final=False)  # day one's step
    assert (first.reservation.held, first.reservation.status) == (
        credits(210),
        ReservationStatus.OPEN,
    )
    heartbeats(20)
    grown = cl.increase_reservation(org, run.id, credits(150))  # the estimate grew
    assert (grown.amount, grown.held) == (credits(450), credits(360))
    heartbeats(4)
    second = cl.commit(org, run.id, credits(140), final=False)  # day two's step
    assert second.reservation.held == credits(220)
    heartbeats(24)
    assert clock.now() - start == 72 * HOUR
    last = cl.commit(org, run.id, credits(200))  # the final step
    assert (last.consumed, last.released, last.shortfall) == (credits(200), credits(20), 0)
    done = cl.reservation(org, run.id)
    assert (done.status, done.consumed, done.held) == (
        ReservationStatus.COMMITTED,
        credits(430),
        0,
    )
    balance = cl.balance(org)
    assert (balance.total, balance.held) == (credits(570), 0)
    consumed = cl.history(org, limit=1000, types=[EntryType.CONSUME])
    assert -sum(e.amount for e in consumed) == credits(430)
    assert cl.verify().ok


def test_a_run_that_misses_its_heartbeats_is_released_at_its_extended_expiry(
    cl: Creditline, clock: ManualClock
) -> None:
    org = funded(cl, 100)
    run = cl.reserve(org, credits(60), ttl=6 * HOUR)
    clock.advance(4 * HOUR)
    extended = cl.extend_reservation(org, run.id, 6 * HOUR)  # the last heartbeat
    assert extended.expires_at == run.created_at + 10 * HOUR
    cl.commit(org, run.id, credits(10), final=False)
    clock.advance(6 * HOUR - timedelta(seconds=1))  # past the first expiry, before the new
    assert cl.expire_due().reservations == 0
    assert cl.reservation(org, run.id).status is ReservationStatus.OPEN
    clock.advance(timedelta(seconds=1))
    tick = cl.tick()  # the scheduler's expiry job
    assert tick.ok, tick
    assert tick.job("expiry").summary["reservations"] == 1
    gone = cl.reservation(org, run.id)
    assert (gone.status, gone.held, gone.consumed) == (ReservationStatus.EXPIRED, 0, credits(10))
    assert cl.balance(org).available == credits(90)
    with pytest.raises(Conflict):
        cl.extend_reservation(org, run.id, HOUR)  # a heartbeat arriving too late
    assert cl.verify().ok


def test_a_keyed_increase_retried_draws_once(cl: Creditline) -> None:
    org = funded(cl, 10)
    res = cl.reserve(org, credits(2))
    first = cl.increase_reservation(org, res.id, credits(3), idempotency_key="grow-1")
    again = cl.increase_reservation(org, res.id, credits(3), idempotency_key="grow-1")
    assert first.held == again.held == credits(5)
    cl.commit(org, res.id, credits(5))
    after = cl.increase_reservation(org, res.id, credits(3), idempotency_key="grow-1")
    assert after.status is ReservationStatus.COMMITTED  # the retry answers, draws nothing
    assert cl.balance(org).total == credits(5)
    assert cl.verify().ok
