"""Binding quotes on the engine (C3): issued, stored with their breakdown, and used once
by a usage event or a commit, within their validity.

Every test runs on SQLite and on PostgreSQL. The clock starts at 2026-01-01 00:00 UTC.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import (
    InvalidSetting,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    QuoteUsed,
)
from creditline.domain.quotes import QuoteState
from creditline.domain.usage import EventStatus
from tests.conftest import T0


def card(version: str, effective_from: datetime, ping: str) -> dict[str, Any]:
    """The default card: ``ping`` costs a flat ``ping`` credits."""
    return {
        "name": "default",
        "version": version,
        "effective_from": effective_from.isoformat(),
        "operations": {
            "ping": {"flat": ping},
            "translate": {"per_unit": {"credits": "10", "quantity": "characters", "per": 10**6}},
        },
    }


@pytest.fixture
def engine(cl: Creditline) -> Iterator[Creditline]:
    cl.load_rate_card(card("v1", T0, "10"))
    yield cl
    report = cl.verify()
    assert report.ok, report.problems


@pytest.fixture
def org(engine: Creditline) -> str:
    org_id = engine.create_org("Quoted").id
    engine.grant(org_id, credits(100))
    return org_id


def raise_price(cl: Creditline, clock: ManualClock) -> None:
    """Version v2 raises ping to 15 credits, from a minute from now; the clock goes there."""
    cl.load_rate_card(card("v2", clock.now() + timedelta(minutes=1), "15"))
    clock.advance(timedelta(minutes=1))


# -- the story ---------------------------------------------------------------------------


def test_story_a_price_rise_during_a_quotes_validity(
    engine: Creditline, org: str, clock: ManualClock
) -> None:
    """A customer is quoted 10 credits for a ping, valid 15 minutes. A new rate card
    version raises the price to 15 a minute later. The ping recorded with the quote is
    charged 10; the quote cannot be used twice; after its expiry a ping without a quote
    costs the new 15."""
    quote = engine.issue_quote(org, "ping", valid_for=timedelta(minutes=15))
    assert quote.total == credits(10) and quote.version == "v1"
    assert quote.expires_at == T0 + timedelta(minutes=15)

    raise_price(engine, clock)
    assert engine.quote(org, "ping").total == credits(15)

    used = engine.record(org, "evt-1", "ping", quote_id=quote.id)
    assert (used.status, used.cost, used.rate_card) == (
        EventStatus.ACCEPTED, credits(10), "default@v1",
    )  # fmt: skip
    assert engine.balance(org).available == credits(90)

    again = engine.record(org, "evt-2", "ping", quote_id=quote.id)
    assert again.status is EventStatus.REJECTED and isinstance(again.error, QuoteUsed)
    assert engine.balance(org).available == credits(90)

    clock.advance(timedelta(minutes=15))
    later = engine.record(org, "evt-3", "ping")
    assert (later.cost, later.rate_card) == (credits(15), "default@v2")
    assert engine.balance(org).available == credits(75)
    stored = engine.binding_quote(org, quote.id)
    assert stored.state(clock.now()) is QuoteState.USED
    assert stored.used_by == "usage_event:evt-1"


# -- issuing and reading -----------------------------------------------------------------


def test_a_quote_is_stored_with_its_breakdown_and_listed(engine: Creditline, org: str) -> None:
    quote = engine.issue_quote(org, "translate", {"characters": 250_000})
    assert quote.total == credits("2.5")
    assert quote.breakdown["total_micros"] == quote.total
    assert quote.breakdown["components"][0]["label"].startswith("250000 characters")
    assert engine.binding_quote(org, quote.id) == quote
    assert [q.id for q in engine.binding_quotes(org)] == [quote.id]


def test_another_organizations_quote_is_not_found(engine: Creditline, org: str) -> None:
    quote = engine.issue_quote(org, "ping")
    other = engine.create_org("Other").id
    engine.grant(other, credits(100))
    with pytest.raises(QuoteNotFound):
        engine.binding_quote(other, quote.id)
    result = engine.record(other, "evt-1", "ping", quote_id=quote.id)
    assert isinstance(result.error, QuoteNotFound)
    assert engine.binding_quotes(other) == []


def test_the_validity_is_bounded(engine: Creditline, org: str) -> None:
    for bad in (timedelta(0), timedelta(days=2)):
        with pytest.raises(InvalidSetting):
            engine.issue_quote(org, "ping", valid_for=bad)
    assert engine.binding_quotes(org) == []


# -- using ----------------------------------------------------------------------------------


def test_an_expired_quote_is_refused_and_changes_nothing(
    engine: Creditline, org: str, clock: ManualClock
) -> None:
    quote = engine.issue_quote(org, "ping", valid_for=timedelta(seconds=60))
    clock.advance(timedelta(seconds=60))
    result = engine.record(org, "evt-1", "ping", quote_id=quote.id)
    assert isinstance(result.error, QuoteExpired) and result.error.expires_at == quote.expires_at
    assert engine.balance(org).available == credits(100)
    assert engine.binding_quote(org, quote.id).state(clock.now()) is QuoteState.EXPIRED


def test_a_replayed_event_answers_its_first_outcome(engine: Creditline, org: str) -> None:
    quote = engine.issue_quote(org, "ping")
    first = engine.record(org, "evt-1", "ping", quote_id=quote.id)
    again = engine.record(org, "evt-1", "ping", quote_id=quote.id)
    assert again.status is EventStatus.DUPLICATE and again.cost == first.cost == credits(10)
    assert engine.balance(org).available == credits(90)


def test_usage_other_than_quoted_is_a_mismatch(engine: Creditline, org: str) -> None:
    quote = engine.issue_quote(org, "translate", {"characters": 1000})
    result = engine.record(org, "evt-1", "translate", {"characters": 2000}, quote_id=quote.id)
    assert isinstance(result.error, QuoteMismatch)
    assert engine.binding_quote(org, quote.id).used_by is None


def test_a_group_of_events_naming_one_quote_charges_it_once(engine: Creditline, org: str) -> None:
    from creditline.domain.usage import UsageEvent

    quote = engine.issue_quote(org, "ping")
    events = [UsageEvent(f"evt-{i}", org, "ping", None, quote_id=quote.id) for i in range(3)]
    results = engine.record_usage(events)
    assert [r.status for r in results] == [
        EventStatus.ACCEPTED, EventStatus.REJECTED, EventStatus.REJECTED,
    ]  # fmt: skip
    assert engine.balance(org).available == credits(90)


def test_a_hold_committed_with_a_quote_is_charged_the_quoted_price(
    engine: Creditline, org: str, clock: ManualClock
) -> None:
    quote = engine.issue_quote(org, "ping")
    hold = engine.reserve(org, credits(20), operation="ping")
    raise_price(engine, clock)
    settled = engine.commit(org, hold.id, quote_id=quote.id)
    assert (settled.consumed, settled.released) == (credits(10), credits(10))
    assert engine.balance(org).available == credits(90)
    assert engine.binding_quote(org, quote.id).used_by == f"reservation:{hold.id}"
    other = engine.reserve(org, credits(20), operation="ping")
    with pytest.raises(QuoteUsed):
        engine.commit(org, other.id, quote_id=quote.id)
    assert engine.commit(org, hold.id, quote_id=quote.id).replayed


def test_two_engines_racing_on_one_quote_charge_it_once(
    engine: Creditline, org: str, db_url: str, clock: ManualClock
) -> None:
    """Two engines on one database (two processes' writers), each recording events with
    the same quote at once: one event is charged, every other is refused as used."""
    import threading

    from tests.databases import migrated

    quote = engine.issue_quote(org, "ping")
    other = Creditline.open(migrated(db_url), clock=clock)
    results: list[Any] = []
    start = threading.Barrier(2)

    def race(cl: Creditline, name: str) -> None:
        start.wait()
        for i in range(10):
            results.append(cl.record(org, f"{name}-{i}", "ping", quote_id=quote.id))

    try:
        threads = [threading.Thread(target=race, args=(cl, n)) for cl, n in
                   ((engine, "a"), (other, "b"))]  # fmt: skip
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    finally:
        other.close()
    accepted = [r for r in results if r.status is EventStatus.ACCEPTED]
    assert len(accepted) == 1 and len(results) == 20
    assert all(isinstance(r.error, QuoteUsed) for r in results if r not in accepted)
    assert engine.balance(org).available == credits(90)
