"""Over HTTP: an event without a time retried later is a duplicate, and a refusal at the
flex limit carries the limit, the flex used and the room left."""

from __future__ import annotations

from datetime import timedelta

from creditline import credits
from tests.api.conftest import World


def test_a_retried_event_without_a_time_is_a_duplicate_on_both_usage_routes(
    world: World,
) -> None:
    a = world.tenant("Alpha")
    event = {"event_id": "run-1", "operation": "translate", "quantities": {"characters": 250000}}
    first = world.post(f"/v1/orgs/{a.org}/usage", event, key=a.key)
    assert first.status_code == 201, first.text
    received = world.clock.now()
    world.clock.advance(timedelta(minutes=5))
    again = world.post(f"/v1/orgs/{a.org}/usage", event, key=a.key)
    assert again.status_code == 200, again.text
    assert (again.json()["status"], again.json()["cost"]) == ("duplicate", "2.5")
    world.clock.advance(timedelta(minutes=5))
    batch = world.post(f"/v1/orgs/{a.org}/usage/batch", {"events": [event]}, key=a.key)
    assert batch.json()["results"][0]["status"] == "duplicate", batch.text
    stored = world.get(f"/v1/orgs/{a.org}/usage/run-1", a.read_key).json()
    assert stored["occurred_at"].startswith(received.isoformat()[:19])


def test_a_spend_at_the_flex_limit_is_402_with_the_limit_the_use_and_the_room(
    world: World,
) -> None:
    a = world.tenant("Alpha")
    world.cl.put_plan({"name": "capped", "depletion": "flex", "flex_limit_micros": credits(20)})
    world.cl.assign_plan(a.org, "capped")
    available = world.cl.balance(a.org).available
    spent = world.post(f"/v1/orgs/{a.org}/spend", {"amount_micros": available + credits(12)},
                       key=a.key)  # fmt: skip
    assert spent.status_code in (200, 201), spent.text
    refused = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "15"}, key=a.key)
    assert refused.status_code == 402, refused.text
    body = refused.json()
    assert body["type"] == "urn:creditline:problem:insufficient-credits"
    assert (body["needed_micros"], body["available_micros"]) == (credits(15), credits(8))
    assert (body["flex_limit_micros"], body["flex_used_micros"], body["flex_room_micros"]) == (
        credits(20),
        credits(12),
        credits(8),
    )
    assert (body["flex_limit"], body["flex_used"], body["flex_room"]) == ("20", "12", "8")
    assert "flex limit" in body["detail"]
