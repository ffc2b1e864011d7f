"""Keys with a cap through the HTTP API: made by an operator, enforced on the usage,
reserve and spend routes (both lanes), listed with their cap, used and room."""

from __future__ import annotations

from typing import Any

from tests.api.conftest import World


def _capped_key(world: World, org: str, **limits: Any) -> dict[str, Any]:
    body = {"role": "org", "org_id": org, "name": "agent", **limits}
    made = world.post("/v1/api-keys", body)
    assert made.status_code == 201, made.text
    return dict(made.json())


def test_an_agent_key_is_refused_past_its_cap_with_the_cap_used_and_room(world: World) -> None:
    a = world.tenant("Alpha")
    made = _capped_key(world, a.org, cap="2", cap_window="day")
    assert (made["cap"], made["cap_micros"], made["cap_window"]) == ("2", 2_000_000, "day")
    assert (made["used"], made["room"]) == ("0", "2")
    agent = made["key"]
    usage = f"/v1/orgs/{a.org}/usage"
    for i in range(2):
        ok = world.post(usage, {"event_id": f"k{i}", "operation": "ping"}, key=agent)
        assert ok.status_code == 201, ok.text
    refused = world.post(usage, {"event_id": "k2", "operation": "ping"}, key=agent)
    assert refused.status_code == 402, refused.text
    problem = refused.json()
    assert problem["type"].endswith("key-cap-exceeded")
    assert (problem["cap"], problem["used"], problem["room"]) == (2_000_000, 2_000_000, 0)
    assert problem["window"] == "day" and problem["key_id"] == made["id"]
    hold = world.post(f"/v1/orgs/{a.org}/reservations", {"amount": "1"}, key=agent)
    assert hold.status_code == 402 and hold.json()["room"] == 0
    spend = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "1"}, key=agent)
    assert spend.status_code == 402
    # the organization's own key is not held back
    other = world.post(usage, {"event_id": "k3", "operation": "ping"}, key=a.key)
    assert other.status_code == 201
    listed = {k["id"]: k for k in world.get(f"/v1/orgs/{a.org}/api-keys", key=a.read_key).json()}
    mine = listed[made["id"]]
    assert (mine["cap"], mine["used"], mine["room"]) == ("2", "2", "0")
    assert listed[a.ids["key_id"]]["cap"] is None


def test_a_key_limited_to_operations_is_403_for_another(world: World) -> None:
    a = world.tenant("Alpha")
    agent = _capped_key(world, a.org, operations=["ping"])["key"]
    usage = f"/v1/orgs/{a.org}/usage"
    assert world.post(usage, {"event_id": "p", "operation": "ping"}, key=agent).status_code == 201
    body = {"event_id": "t", "operation": "translate", "quantities": {"characters": 10}}
    other = world.post(usage, body, key=agent)
    assert other.status_code == 403, other.text
    assert other.json()["allowed"] == ["ping"] and other.json()["operation"] == "translate"
    hold = world.post(f"/v1/orgs/{a.org}/reservations", {"amount": "1"}, key=agent)
    assert hold.status_code == 403


def test_bad_limits_are_422(world: World) -> None:
    a = world.tenant("Alpha")
    for limits in ({"cap": "0"}, {"cap": "1", "cap_window": "week"}, {"operations": []}):
        made = world.post("/v1/api-keys", {"role": "org", "org_id": a.org, "name": "x", **limits})
        assert made.status_code == 422, (limits, made.text)
    ops = world.post("/v1/api-keys", {"role": "operator", "name": "ops", "cap": "1"})
    assert ops.status_code == 422
    assert len(world.cl.api_keys(a.org)) == 2


def test_a_batch_with_a_capped_key_refuses_only_the_events_past_its_cap(world: World) -> None:
    a = world.tenant("Alpha")
    agent = _capped_key(world, a.org, cap="2")["key"]
    events = [{"event_id": f"b{i}", "operation": "ping"} for i in range(3)]
    batch = world.post(f"/v1/orgs/{a.org}/usage/batch", {"events": events}, key=agent)
    assert batch.status_code == 200, batch.text
    assert [r["status"] for r in batch.json()["results"]] == ["accepted", "accepted", "refused"]
