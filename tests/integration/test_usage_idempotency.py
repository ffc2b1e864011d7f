"""One usage event sent 1,000 times is charged once, with one outcome (C1, RELIABILITY 2).

Sequentially (one call at a time, and all in one batch), and from 4 processes at once
(each sending it 250 times), on SQLite and on PostgreSQL: one ``accepted``, 999
``duplicate`` answers carrying the same cost, one consume entry, one stored event, a
clean verify. A deliberately broken client-side dedup (check, then charge) runs
through the same harness and checker, which must catch its double charge (rule 8).
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from creditline import Cause, CauseType, Creditline, EntryType, ManualClock, credits
from creditline.domain.usage import EventStatus, UsageEvent
from tests.concurrency import RunResult, entry_sums, run
from tests.metering import RecordJob, card_doc

SENDS = 1_000
PROCESSES = 4
PRICE = credits(10)  # translate, 1M characters
EARLY = datetime(2020, 1, 1, tzinfo=UTC)  # the card is in force for the real clock too


def setup(cl: Creditline, amount: int = 100) -> str:
    cl.load_rate_card(card_doc(effective_from=EARLY))
    org = cl.create_org("Retrying").id
    cl.grant(org, credits(amount))
    return org


def charged_once(cl: Creditline, org: str, event_id: str, *, granted: int) -> list[str]:
    """Every way the ledger could show the event charged other than exactly once."""
    problems = [f"verify: {p}" for p in cl.verify().problems]
    charges = [
        e for e in cl.history(org, limit=10_000, types=[EntryType.CONSUME])
        if e.cause == Cause(CauseType.USAGE_EVENT, event_id)
    ]  # fmt: skip
    if sum(-e.amount for e in charges) != PRICE or len(charges) != 1:
        problems.append(f"{len(charges)} charges of {[e.amount for e in charges]}, expected 1")
    if cl.balance(org).total != granted - PRICE:
        problems.append(f"balance {cl.balance(org).total}, expected {granted - PRICE}")
    events = cl.usage_events(org)
    if [(e.event_id, e.status, e.cost) for e in events] != [(event_id, "accepted", PRICE)]:
        problems.append(f"stored events: {[(e.event_id, e.status, e.cost) for e in events]}")
    return problems


def test_an_event_sent_1000_times_in_a_row_is_charged_once(cl: Creditline) -> None:
    org = setup(cl)
    results = [
        cl.record(org, "evt-1", "translate", {"characters": 1_000_000}) for _ in range(SENDS)
    ]
    assert results[0].status is EventStatus.ACCEPTED
    assert {(r.status, r.cost, r.reason, r.rate_card) for r in results[1:]} == {
        (EventStatus.DUPLICATE, PRICE, None, "default@v1")
    }
    assert charged_once(cl, org, "evt-1", granted=credits(100)) == []


def test_an_event_sent_1000_times_in_one_batch_is_charged_once(
    cl: Creditline, clock: ManualClock
) -> None:
    org = setup(cl)
    event = UsageEvent("evt-1", org, "translate", clock.now(), {"characters": 1_000_000})
    results = cl.record_usage([event] * SENDS)
    assert [r.status for r in results] == [EventStatus.ACCEPTED] + [EventStatus.DUPLICATE] * (
        SENDS - 1
    )
    assert {r.cost for r in results} == {PRICE}
    assert charged_once(cl, org, "evt-1", granted=credits(100)) == []


def test_a_refused_event_resent_after_credits_arrive_stays_refused(
    cl: Creditline,
) -> None:
    org = setup(cl, amount=1)
    first = cl.record(org, "evt-1", "translate", {"characters": 1_000_000})
    assert first.status is EventStatus.REFUSED
    cl.grant(org, credits(99))
    again = [cl.record(org, "evt-1", "translate", {"characters": 1_000_000}) for _ in range(199)]
    assert {(r.status, r.cost, r.reason) for r in again} == {
        (EventStatus.DUPLICATE, 0, first.reason)
    }
    assert cl.balance(org).total == credits(100)
    assert EntryType.CONSUME not in entry_sums(cl, org)
    assert cl.verify().ok


# -- from 4 processes at once -----------------------------------------------------------


def _race(db_url: str, *, broken: bool) -> tuple[str, RunResult]:
    # The workers use the system clock; the event's time is fixed, so every send is
    # the same event.
    with Creditline.open(db_url) as cl:
        org = setup(cl)
        sent_at = cl.clock.now()
    job = RecordJob(org, "evt-1", sent_at, SENDS // PROCESSES, broken=broken)
    return org, run(db_url, job, PROCESSES)


@pytest.mark.slow
@pytest.mark.xdist_group("concurrency")
def test_an_event_sent_1000_times_from_4_processes_at_once_is_charged_once(
    db_url: str,
) -> None:
    org, result = _race(db_url, broken=False)

    assert result.overlapped, result.describe()
    assert result.errors == 0, result.describe()
    assert (result.accepted, result.total("duplicate")) == (1, SENDS - 1), result.describe()
    # Every answer, first or replayed, carries the one cost.
    assert result.total("cost") == SENDS * PRICE, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        problems = charged_once(cl, org, "evt-1", granted=credits(100))
    assert problems == [], result.describe()


@pytest.mark.slow
@pytest.mark.xdist_group("concurrency")
def test_the_checker_catches_a_check_then_charge_double_charge(db_url: str) -> None:
    org, result = _race(db_url, broken=True)

    assert result.overlapped and result.errors == 0, result.describe()
    with Creditline.open(db_url, migrate=False) as cl:
        problems = charged_once(cl, org, "evt-1", granted=credits(100))
        charges, _ = entry_sums(cl, org)[EntryType.CONSUME]
    # The workers that saw the event missing charged it once more each, besides the
    # engine's own (exactly-once) charge when the event was recorded.
    assert any("charges of" in p for p in problems), problems
    assert charges >= 2, result.describe()
