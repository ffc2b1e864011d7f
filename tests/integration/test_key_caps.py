"""Keys with a cap, through the engine, on SQLite and PostgreSQL.

An organization's key may spend at most its cap in a UTC day or month, and charge only
the operations it lists: usage, holds (counted while open) and debits made with it are
refused past the cap (``KeyCapExceeded``, nothing charged) or outside its operations
(``OperationNotAllowed``). Keys without limits behave as always.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from creditline import Creditline, DebitStatus, ManualClock, credits
from creditline.domain.api_keys import ApiKey
from creditline.domain.charging import Debit
from creditline.domain.errors import (
    ApiKeyNotFound,
    InvalidAmount,
    InvalidSetting,
    KeyCapExceeded,
    OperationNotAllowed,
)
from creditline.domain.usage import EventStatus

ONE = credits(1)
CARD = {
    "name": "default",
    "version": "v1",
    "effective_from": "2025-12-01T00:00:00+00:00",
    "operations": {"predict": {"flat": "1"}, "train": {"flat": "3"}},
}


@pytest.fixture
def engine(cl: Creditline) -> Creditline:
    cl.load_rate_card(CARD)
    return cl


def _org(cl: Creditline, amount: int = 100) -> str:
    org = cl.create_org("Acme").id
    cl.grant(org, amount * ONE)
    return org


def _used(cl: Creditline, key: ApiKey) -> int | None:
    return cl.api_key(key.id).used_micros


def test_usage_past_the_cap_is_refused_and_charges_nothing(engine: Creditline) -> None:
    org = _org(engine)
    agent = engine.create_api_key("org", org, name="agent", cap=3 * ONE).key
    assert (agent.cap_micros, agent.cap_window, agent.operations) == (3 * ONE, "day", None)
    for i in range(3):
        assert engine.record(org, f"e{i}", "predict", key_id=agent.id).status == "accepted"
    refused = engine.record(org, "e3", "predict", key_id=agent.id)
    assert refused.status is EventStatus.REFUSED
    assert isinstance(refused.error, KeyCapExceeded)
    assert (refused.error.cap, refused.error.used, refused.error.room) == (3 * ONE, 3 * ONE, 0)
    assert refused.error.window == "day" and refused.error.key_id == agent.id
    assert engine.balance(org).available == 97 * ONE
    # the retry gets the same refusal; an unlimited key (or none) is not held back
    assert engine.record(org, "e3", "predict", key_id=agent.id).status is EventStatus.DUPLICATE
    assert engine.record(org, "e4", "predict").status == "accepted"
    assert _used(engine, agent) == 3 * ONE


def test_the_cap_counts_in_its_utc_window_and_opens_again_in_the_next(
    engine: Creditline, clock: ManualClock
) -> None:
    org = _org(engine)
    daily = engine.create_api_key("org", org, name="ci", cap=2 * ONE).key
    monthly = engine.create_api_key("org", org, name="app", cap=2 * ONE, cap_window="month").key
    for key in (daily, monthly):
        engine.record(org, f"{key.id}-1", "predict", key_id=key.id)
        engine.record(org, f"{key.id}-2", "predict", key_id=key.id)
        assert engine.record(org, f"{key.id}-3", "predict", key_id=key.id).status == "refused"
    clock.advance(timedelta(days=1))
    assert engine.record(org, "d-4", "predict", key_id=daily.id).status == "accepted"
    assert engine.record(org, "m-4", "predict", key_id=monthly.id).status == "refused"
    assert (_used(engine, daily), _used(engine, monthly)) == (ONE, 2 * ONE)
    listed = {k.id: k for k in engine.api_keys(org)}
    assert listed[monthly.id].used_micros == 2 * ONE and listed[monthly.id].room_micros == 0


def test_a_key_charges_only_its_operations(engine: Creditline) -> None:
    org = _org(engine)
    key = engine.create_api_key("org", org, name="predictor", operations=["predict"]).key
    assert engine.record(org, "ok", "predict", key_id=key.id).status == "accepted"
    other = engine.record(org, "no", "train", key_id=key.id)
    assert other.status is EventStatus.REJECTED
    assert isinstance(other.error, OperationNotAllowed) and other.error.allowed == ("predict",)
    with pytest.raises(OperationNotAllowed):
        engine.reserve(org, ONE, key_id=key.id)  # a hold for no operation
    with pytest.raises(OperationNotAllowed):
        engine.spend(org, ONE, operation="train", key_id=key.id)
    engine.spend(org, ONE, operation="predict", key_id=key.id)
    assert engine.balance(org).available == 98 * ONE


def test_a_hold_counts_while_open_a_commit_keeps_what_it_captured_and_a_release_frees_it(
    engine: Creditline,
) -> None:
    org = _org(engine)
    key = engine.create_api_key("org", org, name="agent", cap=10 * ONE).key
    first = engine.reserve(org, 6 * ONE, key_id=key.id)
    assert first.key_id == key.id
    with pytest.raises(KeyCapExceeded) as caught:
        engine.reserve(org, 5 * ONE, key_id=key.id)
    assert caught.value.used == 6 * ONE and caught.value.room == 4 * ONE
    engine.commit(org, first.id, 2 * ONE)
    assert _used(engine, key) == 2 * ONE
    second = engine.reserve(org, 8 * ONE, key_id=key.id)
    engine.release(org, second.id)
    assert _used(engine, key) == 2 * ONE
    third = engine.reserve(org, 4 * ONE, key_id=key.id)
    # a commit past its hold is covered only up to the room; the rest is its shortfall
    settled = engine.commit(org, third.id, 12 * ONE)
    assert (settled.consumed, settled.shortfall) == (8 * ONE, 4 * ONE)
    assert _used(engine, key) == 10 * ONE
    assert engine.verify().ok


def test_an_increase_counts_and_an_expired_hold_frees_the_cap(
    engine: Creditline, clock: ManualClock
) -> None:
    org = _org(engine)
    key = engine.create_api_key("org", org, name="agent", cap=5 * ONE).key
    hold = engine.reserve(org, 2 * ONE, ttl=timedelta(minutes=5), key_id=key.id)
    engine.increase_reservation(org, hold.id, 2 * ONE)
    with pytest.raises(KeyCapExceeded):
        engine.increase_reservation(org, hold.id, 2 * ONE)
    assert _used(engine, key) == 4 * ONE
    clock.advance(timedelta(minutes=10))
    engine.expire_due()
    assert _used(engine, key) == 0
    assert engine.balance(org).available == 100 * ONE


def test_a_debit_past_the_cap_is_refused_and_its_key_replays_the_refusal(
    engine: Creditline,
) -> None:
    org = _org(engine)
    key = engine.create_api_key("org", org, name="agent", cap=3 * ONE, cap_window="month").key
    assert engine.spend(org, 2 * ONE, idempotency_key="a", key_id=key.id).accepted
    (refused,) = engine.spend_many(org, [Debit(2 * ONE, idempotency_key="b")], key_id=key.id)
    assert refused.status is DebitStatus.REFUSED and isinstance(refused.error, KeyCapExceeded)
    (again,) = engine.spend_many(org, [Debit(2 * ONE, idempotency_key="b")], key_id=key.id)
    assert again.replayed and isinstance(again.error, KeyCapExceeded)
    assert again.error.room == ONE
    assert engine.balance(org).available == 98 * ONE


def test_limits_are_checked_when_a_key_is_made(engine: Creditline) -> None:
    org = _org(engine)
    with pytest.raises(InvalidSetting):
        engine.create_api_key("operator", name="ops", cap=ONE)
    with pytest.raises(InvalidSetting):
        engine.create_api_key("org_read", org, name="reader", cap=ONE)
    with pytest.raises(InvalidAmount):
        engine.create_api_key("org", org, name="zero", cap=0)
    with pytest.raises(InvalidSetting):
        engine.create_api_key("org", org, name="weekly", cap=ONE, cap_window="week")
    with pytest.raises(InvalidSetting):
        engine.create_api_key("org", org, name="none", operations=[])
    stored = engine.create_api_key("org", org, name="ok", cap=ONE, operations=["predict"]).key
    assert engine.api_key(stored.id) == replace(stored, used_micros=0)
    assert (
        stored.principal.limited
        and not engine.create_api_key("org", org, name="plain").key.principal.limited
    )


def test_a_key_of_another_organization_charges_nothing(engine: Creditline) -> None:
    org, other = _org(engine), _org(engine)
    key = engine.create_api_key("org", other, name="agent", cap=ONE).key
    result = engine.record(org, "x", "predict", key_id=key.id)
    assert result.status is EventStatus.REJECTED and isinstance(result.error, InvalidSetting)
    assert engine.balance(org).available == 100 * ONE


def test_a_key_without_limits_charges_as_no_key_and_an_unknown_key_is_refused(
    engine: Creditline,
) -> None:
    org = _org(engine)
    plain = engine.create_api_key("org", org, name="backend").key
    assert engine.record(org, "p", "predict", key_id=plain.id).status == "accepted"
    assert engine.reserve(org, ONE, key_id=plain.id).key_id is None
    unknown = engine.record(org, "u", "predict", key_id="key_missing")
    assert unknown.status is EventStatus.REJECTED and isinstance(unknown.error, ApiKeyNotFound)
    assert engine.balance(org).available == 98 * ONE
