"""Reports through the client answer as the library does: the overview (counter, flags,
cycle, burn-down, forecast) and usage by ISO week, the same types and values."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from creditline import Creditline, credits
from creditline.client import Client
from creditline.domain.overview import Overview
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER

pytestmark = SERVER

CYCLED = {
    "name": "cycled",
    "depletion": "flex",
    "flex_limit_micros": credits(50),
    "cycle_grant": {"credits": "5", "kind": "included"},
    "grant_expiry": "end_of_cycle",
}


def script(cl: Any) -> list[Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    cl.put_plan(CYCLED)
    org = cl.create_org("Overview")
    cl.subscribe(org.id, "cycled")  # 5 included credits now
    cl.grant(org.id, credits(3), "promotional", expires_at=now + timedelta(days=3))
    cl.record(org.id, "o-1", "render", dimensions={"mode": "pro"})  # 3 credits
    funded = outcome(lambda: cl.overview(org.id))
    cl.record(org.id, "o-2", "render", dimensions={"mode": "max"})  # 12: 7 of them flex
    on_flex = outcome(lambda: cl.overview(org.id))
    week = (now - timedelta(days=8), now + timedelta(hours=1))
    report = outcome(lambda: cl.usage_report(org.id, ["operation"], *week, period="week"))
    missing = outcome(lambda: cl.overview("org_aaaaaaaaaaaaaaaaaaaaaaaa"))
    return [funded, on_flex, report, missing]


def test_overview_and_weekly_report_answer_as_the_library_does(
    embedded: Creditline, client: Client
) -> None:
    here, there = script(embedded), script(client)
    assert Canon()(there) == Canon()(here)
    funded, on_flex = here[0], here[1]
    assert isinstance(funded, Overview) and isinstance(on_flex, Overview)
    assert funded.cycle is not None and funded.expiring and not funded.on_flex
    assert on_flex.on_flex and on_flex.flex_used == credits(7) and on_flex.burn_rate > 0
    assert type(here[3]).__name__ == "OrganizationNotFound"
