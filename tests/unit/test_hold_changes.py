"""Extending and increasing an open hold, decided with no database.

A heartbeat (:class:`Extend`) pushes a hold's expiry, never shortening it and never
past its creation + the plan's longest hold; an increase (:class:`Increase`) draws more
from the grants into the same hold exactly as a reserve draws, or is refused whole.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline.domain.charging import (
    MAX_TTL,
    Account,
    Extend,
    Increase,
    Reserve,
    Settle,
    Settlement,
    check_extend,
    check_increase,
)
from creditline.domain.errors import (
    Conflict,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidAmount,
    InvalidSetting,
    ReservationNotFound,
)
from creditline.domain.grants import DEFAULT_CONSUMPTION_ORDER, GrantKind
from creditline.domain.ledger import Cause, CauseType, EntryType
from creditline.domain.plans import Plan
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.usage import Metering
from tests.unit.builders import grant
from tests.unit.test_charging import NOW, ONE, books, run

HOUR = timedelta(hours=1)


def account(*grants: object, max_hold_hours: int | None = None) -> Account:
    plan = Plan("runs", max_hold_hours=max_hold_hours)
    metering = Metering("org_a", DEFAULT_CONSUMPTION_ORDER, "aixplain", plan, plan.depletion,
                        True, 0)  # fmt: skip
    return Account(metering, list(grants))  # type: ignore[arg-type]


def hold(
    *allocations: tuple[str, int],
    created: timedelta = timedelta(0),
    expires: timedelta = HOUR,
    status: ReservationStatus = ReservationStatus.OPEN,
) -> Reservation:
    held = sum(a for _, a in allocations)
    return Reservation(
        "res_1", "org_a", status, held, held, 0, 0, allocations,
        Cause(CauseType.RESERVATION, "res_1"), None, None, NOW + expires, NOW - created,
    )  # fmt: skip


def stored(res: Reservation) -> dict[tuple[str, str], tuple[Reservation, None]]:
    return {("org_a", res.id): (res, None)}


# -- extend ------------------------------------------------------------------------------


def test_a_heartbeat_pushes_the_expiry_and_writes_no_entry() -> None:
    g = grant(5 * ONE, remaining=3 * ONE)
    res = hold((g.id, 2 * ONE))
    out = run(books(account(g), reservations=stored(res)), Extend("org_a", "res_1", 6 * HOUR))
    (extended,) = out.results
    assert isinstance(extended, Reservation)
    assert extended.expires_at == NOW + 6 * HOUR and extended.held == 2 * ONE
    assert out.reshaped == [extended] and out.entries == [] and out.settled == []


def test_a_heartbeat_never_shortens_the_expiry() -> None:
    g = grant(5 * ONE)
    res = hold((g.id, ONE), expires=10 * HOUR)
    out = run(books(account(g), reservations=stored(res)), Extend("org_a", "res_1", HOUR))
    assert out.results == [res] and not out.writes


def test_a_heartbeat_may_not_pass_the_plans_longest_hold_from_creation() -> None:
    g = grant(5 * ONE)
    res = hold((g.id, ONE), created=70 * HOUR)  # 70h old on a 72h plan
    b = books(account(g, max_hold_hours=72), reservations=stored(res))
    ok, refused = run(
        b, Extend("org_a", "res_1", 2 * HOUR), Extend("org_a", "res_1", 3 * HOUR)
    ).results
    assert isinstance(ok, Reservation) and ok.expires_at == NOW + 2 * HOUR
    assert isinstance(refused, InvalidSetting) and "max_hold_hours 72" in str(refused)
    assert "plan 'runs'" in str(refused)


def test_without_a_plan_limit_a_hold_lives_at_most_the_longest_ttl_from_creation() -> None:
    g = grant(5 * ONE)
    res = hold((g.id, ONE), created=MAX_TTL - HOUR)
    b = books(account(g), reservations=stored(res))
    (refused,) = run(b, Extend("org_a", "res_1", 2 * HOUR)).results
    assert isinstance(refused, InvalidSetting) and "720" in str(refused)


def test_a_new_hold_may_not_outlive_its_plans_longest_hold() -> None:
    b = books(account(grant(5 * ONE), max_hold_hours=24))
    refused, ok = run(
        b, Reserve("org_a", ONE, ttl=25 * HOUR), Reserve("org_a", ONE, ttl=24 * HOUR)
    ).results
    assert isinstance(refused, InvalidSetting) and isinstance(ok, Reservation)


@pytest.mark.parametrize(
    "status", [ReservationStatus.COMMITTED, ReservationStatus.RELEASED, ReservationStatus.EXPIRED]
)
def test_a_settled_hold_cannot_be_extended_or_increased(status: ReservationStatus) -> None:
    g = grant(5 * ONE)
    res = hold(status=status)
    b = books(account(g), reservations=stored(res))
    out = run(b, Extend("org_a", "res_1", HOUR), Increase("org_a", "res_1", ONE))
    assert all(isinstance(r, Conflict) for r in out.results)
    assert status.value in str(out.results[0]) and not out.writes


def test_an_open_hold_past_its_expiry_cannot_be_extended_or_increased() -> None:
    g = grant(5 * ONE)
    res = hold((g.id, ONE), expires=timedelta(0))
    b = books(account(g), reservations=stored(res))
    out = run(b, Extend("org_a", "res_1", HOUR), Increase("org_a", "res_1", ONE))
    assert all(isinstance(r, Conflict) and "expired" in str(r) for r in out.results)
    assert not out.writes


def test_another_organizations_hold_is_not_found() -> None:
    b = books(account(grant(5 * ONE)))
    out = run(b, Extend("org_a", "res_9", HOUR), Increase("org_a", "res_9", ONE))
    assert all(isinstance(r, ReservationNotFound) for r in out.results)


def test_bad_heartbeats_and_increases_are_refused_before_any_lock() -> None:
    for ttl in (timedelta(0), -HOUR, MAX_TTL + HOUR):
        with pytest.raises(InvalidSetting):
            check_extend(Extend("org_a", "res_1", ttl))
    for amount in (0, -1, True, 1.5):
        with pytest.raises(InvalidAmount):
            check_increase(Increase("org_a", "res_1", amount))  # type: ignore[arg-type]


# -- increase ----------------------------------------------------------------------------


def test_an_increase_draws_in_the_consumption_order_into_the_same_hold() -> None:
    included = grant(2 * ONE, GrantKind.INCLUDED, remaining=ONE)
    prepaid = grant(10 * ONE)
    res = hold((included.id, ONE))
    b = books(account(included, prepaid), reservations=stored(res))
    out = run(b, Increase("org_a", "res_1", 3 * ONE))
    (grown,) = out.results
    assert isinstance(grown, Reservation)
    assert (grown.amount, grown.held) == (4 * ONE, 4 * ONE)
    assert [tuple(a) for a in grown.holds] == [(included.id, 2 * ONE), (prepaid.id, 2 * ONE)]
    assert [(e.type, e.grant_id, e.amount, e.cause) for e in out.entries] == [
        (EntryType.RESERVE, included.id, -ONE, Cause(CauseType.RESERVATION, "res_1")),
        (EntryType.RESERVE, prepaid.id, -2 * ONE, Cause(CauseType.RESERVATION, "res_1")),
    ]
    assert out.balances == {"org_a": (-3 * ONE, 2, 3 * ONE)}
    assert out.settled == [(grown, None)] and out.reshaped == [grown]


def test_an_increase_the_grants_cannot_cover_is_refused_and_changes_nothing() -> None:
    g = grant(5 * ONE, remaining=2 * ONE)
    res = hold((g.id, 3 * ONE))
    b = books(account(g), reservations=stored(res))
    refused, ok = run(
        b, Increase("org_a", "res_1", 3 * ONE), Increase("org_a", "res_1", ONE)
    ).results
    assert isinstance(refused, InsufficientCredits) and refused.available == 2 * ONE
    assert isinstance(ok, Reservation) and ok.held == 4 * ONE
    assert [e.amount for e in run(b, Increase("org_a", "res_1", 3 * ONE)).entries] == []


def test_a_step_commit_after_an_increase_takes_from_the_grown_hold_in_its_order() -> None:
    first, second = grant(ONE, GrantKind.INCLUDED, remaining=0), grant(10 * ONE)
    res = hold((first.id, ONE))
    b = books(account(first, second), reservations=stored(res))
    _grown, step = run(
        b, Increase("org_a", "res_1", 2 * ONE), Settle("org_a", "res_1", 2 * ONE, final=False)
    ).results
    assert isinstance(step, Settlement) and step.consumed == 2 * ONE
    assert step.reservation.held == ONE and step.reservation.amount == 3 * ONE
    assert [tuple(a) for a in step.reservation.holds] == [(second.id, ONE)]


def test_a_keyed_increase_draws_once_and_a_reused_key_is_refused() -> None:
    g = grant(10 * ONE)
    res = hold((g.id, ONE))
    b = books(account(g), reservations=stored(res))
    out = run(
        b,
        Increase("org_a", "res_1", 2 * ONE, idempotency_key="grow-1"),
        Increase("org_a", "res_1", 2 * ONE, idempotency_key="grow-1"),
        Increase("org_a", "res_1", 3 * ONE, idempotency_key="grow-1"),
    )
    first, again, reused = out.results
    assert isinstance(first, Reservation) and again == first and first.held == 3 * ONE
    assert isinstance(reused, IdempotencyKeyReused)
    assert [e.amount for e in out.entries] == [-2 * ONE]
    assert out.keys == [("org_a", "grow-1", out.keys[0][2], {"reservation_id": "res_1"})]


def test_a_keyed_increase_retried_after_the_hold_was_settled_replays_it() -> None:
    g = grant(10 * ONE)
    done = hold(status=ReservationStatus.COMMITTED)
    key = Increase("org_a", "res_1", ONE, idempotency_key="grow-1")
    stored_key = run(books(account(g), reservations=stored(hold((g.id, ONE)))), key).keys[0]
    b = books(account(g), reservations=stored(done), keys={("org_a", "grow-1"): stored_key[2:]})
    (replayed,) = run(b, key).results
    assert replayed == done
    assert not run(b, key).writes
    with pytest.raises(InvalidSetting):
        check_increase(Increase("org_a", "res_1", ONE, idempotency_key=""))
