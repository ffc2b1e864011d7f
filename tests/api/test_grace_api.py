"""Grace over HTTP, on SQLite and PostgreSQL: a plan's grace fields are set with the plan
(POST /v1/plans), the organization's state and transitions are read at
GET /v1/orgs/{org_id}/grace, and a usage event refused while read-only answers 402 with
the state and since when."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest

from creditline import ManualClock
from creditline.entrypoints.api import PROBLEM_JSON
from tests.api.conftest import World, open_world

PLAN = {
    "name": "team",
    "depletion": "pause",
    "grace_hours": 24,
    "grace_credits": "2",
    "grace_billing": "flex",
    "read_only_hours": 48,
}


@pytest.fixture
def world(db_url: str, clock: ManualClock) -> Iterator[World]:
    yield from open_world(db_url, clock)


def test_grace_is_set_with_the_plan_and_read_with_its_history(world: World) -> None:
    made = world.post("/v1/plans", PLAN)
    assert made.status_code == 201, made.text
    assert {k: made.json()["document"][k] for k in PLAN} == PLAN
    bad = world.post("/v1/plans", {**PLAN, "name": "bad", "grace_billing": "later",
                                   "grace_hours": -1})  # fmt: skip
    assert bad.status_code == 422
    assert "grace_billing" in bad.text and "grace_hours" in bad.text

    org = world.cl.create_org("Acme").id
    key = world.cl.create_api_key("org", org, name="backend").secret
    assert world.client.put(
        f"/v1/orgs/{org}/plan", json={"plan": "team"},
        headers={"Authorization": f"Bearer {world.operator}"},
    ).status_code == 200  # fmt: skip
    calm = world.get(f"/v1/orgs/{org}/grace", key)
    assert calm.status_code == 200, calm.text
    assert (calm.json()["state"], calm.json()["transitions"]) == ("active", [])
    assert calm.json()["terms"]["grace_credits_micros"] == 2_000_000

    for n in (1, 2):  # ping: 1 credit each, from grace
        ok = world.post(f"/v1/orgs/{org}/usage", {"event_id": f"e-{n}", "operation": "ping"}, key)
        assert ok.status_code == 201, ok.text
    refused = world.post(f"/v1/orgs/{org}/usage", {"event_id": "e-3", "operation": "ping"}, key)
    assert refused.status_code == 402, refused.text
    assert refused.headers["content-type"] == PROBLEM_JSON
    problem = refused.json()
    assert problem["grace_state"] == "read_only" and problem["grace_since"]

    seen = world.get(f"/v1/orgs/{org}/grace", key).json()
    assert seen["state"] == "read_only"
    assert seen["until"] is not None
    assert [(t["from_state"], t["to_state"], t["cause_type"], t["cause_ref"])
            for t in seen["transitions"]] == [
        ("active", "grace", "usage_event", "e-1"),
        ("grace", "read_only", "usage_event", "e-2"),
    ]  # fmt: skip

    world.clock.advance(timedelta(hours=49))
    later = world.get(f"/v1/orgs/{org}/grace", key, params={"limit": 1}).json()
    assert later["state"] == "paused"  # due: shown as the next charge would see it
    assert [t["cause_ref"] for t in later["transitions"]] == ["read_only_hours"]
    assert world.get("/v1/orgs/org_aaaaaaaaaaaaaaaaaaaaaaaa/grace").status_code == 404
