"""``Creditline.overview`` on SQLite and PostgreSQL: a subscribed organization's month
told day by day, the burn-down checked against the balance read at each day's end, the
burn rate and forecast against the usage recorded, the state flags as credits run out."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from creditline import Creditline, GrantKind, ManualClock, credits
from creditline.domain.errors import OrganizationNotFound
from tests.metering import card_doc

DAY = timedelta(days=1)
START = datetime(2026, 3, 1, 9, tzinfo=UTC)
PLAN = {
    "name": "studio",
    "depletion": "read_only",
    "anchor": "calendar",
    "cycle_grant": {"credits": "100", "kind": "included"},
    "grant_expiry": "end_of_cycle",
}


def test_overview_tells_the_cycle_day_by_day(cl: Creditline, clock: ManualClock) -> None:
    clock.set(START)
    cl.load_rate_card(card_doc())
    cl.put_plan(PLAN)
    org = cl.create_org("Studio").id
    cl.subscribe(org, "studio")  # 100 included credits, expiring at the end of March
    cl.grant(org, credits(20), "promotional", expires_at=START + 5 * DAY)
    closing: dict[date, int] = {}
    for n in range(10):
        for i in range(n % 3 + 1):  # 1, 2 or 3 pings (1 credit each) a day
            cl.record(org, f"d{n}-{i}", "ping")
        if n == 4:
            cl.void_event(org, "d4-0")  # given back the same day
        closing[clock.now().date()] = cl.balance(org).total
        clock.advance(DAY)
    clock.advance(-DAY + timedelta(hours=3))  # day 10, noon: the last day recorded

    o = cl.overview(org)
    assert o.as_of == clock.now() and o.balance == cl.balance(org)
    assert o.cycle is not None and o.cycle.plan == "studio"
    march = (datetime(2026, 3, 1, tzinfo=UTC), datetime(2026, 4, 1, tzinfo=UTC))
    assert (o.cycle.start, o.cycle.end) == march
    assert o.cycle.next_renewal_at == o.cycle.end
    assert o.cycle.elapsed_seconds == 9 * 86_400 + 12 * 3_600
    assert o.cycle.total_seconds == 31 * 86_400
    assert [p.day for p in o.burn_down] == [date(2026, 3, d) for d in range(1, 11)]
    assert {p.day: p.closing for p in o.burn_down} == closing
    burnt = {date(2026, 3, n + 1): n % 3 + 1 for n in range(10)}
    burnt[date(2026, 3, 5)] -= 1
    assert {p.day: p.burnt for p in o.burn_down} == {d: credits(b) for d, b in burnt.items()}
    last_week = sum(b for d, b in burnt.items() if d >= date(2026, 3, 4))
    assert o.burn_rate == credits(last_week) // 7
    seconds = o.balance.available * 7 * 86_400 // credits(last_week)
    assert o.depletes_on == (clock.now() + timedelta(seconds=seconds)).date()
    kinds = dict(o.by_kind)
    assert kinds[GrantKind.PROMOTIONAL] == 0  # past its expiry (not swept yet): not available
    assert kinds[GrantKind.INCLUDED] == o.balance.available > 0
    assert sum(kinds.values()) == o.balance.available
    assert [e.kind for e in o.expiring] == [GrantKind.INCLUDED]
    assert o.expiring[0].expires_at == o.cycle.end
    assert not (o.read_only or o.paused or o.on_flex)


def test_overview_flags_a_read_only_organization_without_credits(
    cl: Creditline, clock: ManualClock
) -> None:
    cl.load_rate_card(card_doc())
    cl.put_plan({"name": "locked", "depletion": "read_only"})
    org = cl.create_org("Locked").id
    cl.assign_plan(org, "locked")
    cl.grant(org, credits(2), "prepaid")
    cl.record(org, "a", "ping")
    cl.record(org, "b", "ping")
    o = cl.overview(org)
    assert (o.read_only, o.paused, o.on_flex) == (True, False, False)
    assert o.read_only == cl.is_read_only(org)
    assert o.cycle is None and len(o.burn_down) == 30
    last = o.burn_down[-1]
    assert (last.day, last.closing, last.burnt) == (clock.now().date(), 0, credits(2))
    assert o.depletes_on == clock.now().date()


def test_overview_of_an_unknown_organization_is_not_found(cl: Creditline) -> None:
    with pytest.raises(OrganizationNotFound):
        cl.overview("org_missing")
