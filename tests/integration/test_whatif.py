"""What-if pricing on both databases: a month of usage re-priced by a draft card, per
organization and operation; who would have run out earlier; nothing written."""

from __future__ import annotations

from datetime import timedelta

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import InvalidRateCard, InvalidSetting, OrganizationNotFound
from creditline.domain.whatif import OperationImpact
from tests.conftest import T0
from tests.metering import card_doc, snapshot

DAY = timedelta(days=1)


def _draft(ping: str = "2", render: dict[str, str] | None = None) -> dict:
    """The small card's next version: ``ping`` costs ``ping`` credits, ``render`` as given,
    ``translate`` is dropped."""
    doc = card_doc(version="v2", effective_from=T0 + 60 * DAY, ping=ping)
    del doc["operations"]["translate"]
    doc["operations"]["pipeline"] = {"pipeline": {"allow": ["ping"]}}
    if render is not None:
        doc["operations"]["render"]["matrix"] = render
    return doc


@pytest.fixture
def world(cl: Creditline, clock: ManualClock) -> tuple[str, str, str]:
    """Three organizations on the small card: ``rich`` (100 credits), ``tight`` (12
    credits, then a 5-credit grant on day 3) and ``other`` on a card of its own."""
    cl.load_rate_card(card_doc())
    other_card = card_doc() | {"name": "other"}
    cl.load_rate_card(other_card)
    rich, tight, other = (cl.create_org(n).id for n in ("Rich", "Tight", "Other"))
    cl.set_rate_card(other, "other")
    cl.grant(rich, credits(100))
    cl.grant(tight, credits(12))
    cl.grant(other, credits(100))
    for day in range(5):
        clock.advance(DAY)
        for n in range(2):
            cl.record(rich, f"r{day}-{n}", "ping")
            cl.record(tight, f"t{day}-{n}", "ping")
            cl.record(other, f"o{day}-{n}", "ping")
        cl.record(rich, f"rr{day}", "render", dimensions={"mode": "pro"})
        cl.record(rich, f"rt{day}", "translate", {"characters": 200_000})
        if day == 2:
            cl.grant(tight, credits(5))
    clock.advance(DAY)
    return rich, tight, other


def test_a_draft_reprices_every_organization_on_its_card(
    cl: Creditline, world: tuple[str, str, str]
) -> None:
    rich, tight, other = world
    before = {org: snapshot(cl, org) for org in world}
    report = cl.what_if(_draft(), since=T0, until=T0 + 10 * DAY)
    assert {org: snapshot(cl, org) for org in world} == before  # nothing written
    assert (report.card, report.version) == ("default", "v2")
    impacts = {(i.org_id, i.operation): i for i in report.impacts}
    assert other not in {org for org, _ in impacts}  # priced by another card
    assert impacts[(rich, "ping")] == OperationImpact(rich, "ping", 10, credits(10), credits(20))
    assert impacts[(rich, "render")] == OperationImpact(rich, "render", 5, credits(15), credits(15))
    dropped = impacts[(rich, "translate")]
    assert (dropped.events, dropped.charged, dropped.repriced) == (5, credits(10), 0)
    assert dropped.unpriced == 5 and "translate" in (dropped.unpriced_reason or "")
    assert impacts[(tight, "ping")].difference == credits(10)
    assert report.events == 30
    assert report.difference == credits(10) - credits(10) + credits(10)
    assert report.by_org()[rich] == (credits(35), credits(35))
    # tight had 12 credits and spent 2 a day, then got 5 more after day 3's events; at 4
    # a day: 8, 4, 0 (+5), 1, then day 5's first event leaves it 1 short. It never ran
    # out really (12 - 6 + 5 - 4 = 7 left).
    (out,) = report.run_outs
    assert out.org_id == tight and out.ran_out_at is None
    assert out.at == T0 + 5 * DAY and out.short == credits(1)


def test_one_organization_whatever_its_card(cl: Creditline, world: tuple[str, str, str]) -> None:
    _, _, other = world
    report = cl.what_if(_draft(ping="1"), since=T0, until=T0 + 10 * DAY, org_id=other)
    assert [(i.org_id, i.operation, i.events, i.difference) for i in report.impacts] == [
        (other, "ping", 10, 0)
    ]
    assert report.run_outs == ()


def test_the_period_selects_events_by_their_time(
    cl: Creditline, world: tuple[str, str, str]
) -> None:
    rich, _, _ = world
    report = cl.what_if(_draft(), since=T0 + 2 * DAY, until=T0 + 4 * DAY, org_id=rich)
    assert sum(i.events for i in report.impacts) == 8  # days 2 and 3, 4 events a day


def test_until_defaults_to_now_and_an_empty_period_is_empty(
    cl: Creditline, world: tuple[str, str, str]
) -> None:
    assert cl.what_if(_draft(), since=T0).events == 30
    assert cl.what_if(_draft(), since=T0 + 30 * DAY, until=T0 + 40 * DAY).impacts == ()


def test_bad_input_is_refused_with_a_clear_error(
    cl: Creditline, world: tuple[str, str, str]
) -> None:
    with pytest.raises(InvalidRateCard, match="operations"):
        cl.what_if({"name": "default", "version": "x"}, since=T0)
    with pytest.raises(InvalidSetting, match="must end after it starts"):
        cl.what_if(_draft(), since=T0, until=T0)
    with pytest.raises(InvalidSetting, match="3700 days"):
        cl.what_if(_draft(), since=T0 - 4000 * DAY, until=T0)
    with pytest.raises(OrganizationNotFound):
        cl.what_if(_draft(), since=T0, org_id="org_missing")


def test_an_organization_with_flex_would_have_gone_onto_flex_earlier(
    cl: Creditline, clock: ManualClock
) -> None:
    cl.load_rate_card(card_doc())
    cl.put_plan({"name": "flexy", "depletion": "flex", "flex_limit_micros": credits(50)})
    org = cl.create_org("Flexy").id
    cl.subscribe(org, "flexy")
    cl.grant(org, credits(4))
    times = []
    for n in range(5):  # at 1 credit a ping, the 5th goes onto flex
        clock.advance(DAY)
        times.append(clock.now())
        cl.record(org, f"f{n}", "ping")
    clock.advance(DAY)
    report = cl.what_if(_draft(ping="2"), since=T0, org_id=org)
    (out,) = report.run_outs  # at 2 a ping: 4 - 2 - 2 = 0, so the 3rd is 2 short
    assert (out.at, out.short, out.ran_out_at) == (times[2], credits(2), times[4])
