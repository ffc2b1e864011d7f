"""Reports over HTTP: usage by ISO week, and the overview an org's dashboard key reads
(its own organization only)."""

from __future__ import annotations

from datetime import timedelta

from creditline import credits
from tests.api.conftest import World


def test_usage_report_by_iso_week(world: World) -> None:
    a = world.tenant("Alpha")  # one ping on Thursday 2026-01-01 (ISO week 2026-W01)
    world.clock.advance(timedelta(days=4))  # Monday 2026-01-05: week 2
    world.cl.record(a.org, "w-1", "render", {}, {"mode": "pro"})
    world.cl.record(a.org, "w-2", "ping")
    url = f"/v1/orgs/{a.org}/reports/usage?group_by=operation&period=week"
    report = world.get(url + "&since=2025-12-29T00:00:00Z", a.read_key).json()
    rows = {(r["operation"], r["period"]): (r["events"], r["cost"]) for r in report["rows"]}
    assert rows == {
        ("ping", "2026-W01"): (1, "1"),
        ("ping", "2026-W02"): (1, "1"),
        ("render", "2026-W02"): (1, "3"),
    }
    assert world.get(f"/v1/orgs/{a.org}/reports/usage?period=year", a.read_key).status_code == 422


def test_overview_answers_the_counter_state_cycle_and_burn_down(world: World) -> None:
    a = world.tenant("Alpha")
    b = world.tenant("Beta")
    world.cl.record(a.org, "o-1", "render", {}, {"mode": "max"})  # 12 credits
    answer = world.get(f"/v1/orgs/{a.org}/overview", a.read_key)
    assert answer.status_code == 200, answer.text
    o = answer.json()
    assert o["org_id"] == a.org
    # 100 granted, 1 + 12 used, 5 held by the tenant's reservation.
    assert o["balance"]["available_micros"] == credits(100 - 13 - 5)
    assert o["by_kind"]["prepaid"] == "82" and o["by_kind_micros"]["included"] == 0
    assert (o["read_only"], o["paused"], o["on_flex"]) == (False, False, False)
    assert o["cycle"] is None and len(o["burn_down"]) == 30
    today = o["burn_down"][-1]
    assert today["day"] == "2026-01-01"
    assert today["closing"] == "82" and today["burnt_micros"] == credits(13 + 5)
    assert o["burn_rate_micros"] == credits(18) // 7
    assert o["depletes_on"] is not None
    assert world.get(f"/v1/orgs/{b.org}/overview", a.read_key).status_code == 404
