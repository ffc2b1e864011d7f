"""One set of field limits for every way an event comes in: the usage route, its batch,
CloudEvents in structured, binary and batch mode, and the JSON-lines import all accept
an event at the limits and refuse one past them, quoting at most a short prefix of the
bad value. Event ids that a URL path cannot carry are refused; the others are fetched
back by their percent-encoded path."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from typing import Any
from urllib.parse import quote

import pytest

from creditline.domain import event_limits as limits
from creditline.entrypoints import jsonl
from tests.api.conftest import Tenant, World, bearer
from tests.conftest import T0

HUGE = "x" * 100_000
WHEN = T0.isoformat()


def _own(ident: str, **data: Any) -> dict[str, Any]:
    return {"event_id": ident, "operation": "render", "occurred_at": WHEN, **data}


def _cloud(t: Tenant, ident: str, data: dict[str, Any], **attributes: Any) -> dict[str, Any]:
    return {
        "specversion": "1.0", "id": ident, "source": "/svc", "type": "render",
        "subject": t.org, "time": WHEN, "data": data, **attributes,
    }  # fmt: skip


# Each way in: (world, tenant, event id, data fields, CloudEvent attributes) -> accepted?
Way = Callable[[World, Tenant, str, dict[str, Any], dict[str, Any]], bool]


def _usage_route(world: World, t: Tenant, ident: str, data: dict[str, Any], _: Any) -> bool:
    response = world.post(f"/v1/orgs/{t.org}/usage", _own(ident, **data), t.key)
    assert response.status_code in (201, 422), response.text
    assert len(response.content) < 5_000
    return response.status_code == 201


def _usage_batch(world: World, t: Tenant, ident: str, data: dict[str, Any], _: Any) -> bool:
    response = world.post(f"/v1/orgs/{t.org}/usage/batch", {"events": [_own(ident, **data)]}, t.key)
    assert response.status_code in (200, 422), response.text
    assert len(response.content) < 5_000
    return response.status_code == 200 and response.json()["accepted"] == 1


def _structured(world: World, t: Tenant, ident: str, data: dict[str, Any], extra: Any) -> bool:
    response = world.client.post(
        "/v1/events",
        json=_cloud(t, ident, data, **extra),
        headers={**bearer(t.key), "content-type": "application/cloudevents+json"},
    )
    assert response.status_code in (200, 422), response.text
    assert len(response.content) < 5_000
    return response.status_code == 200 and response.json()["accepted"] == 1


def _batch(world: World, t: Tenant, ident: str, data: dict[str, Any], extra: Any) -> bool:
    response = world.client.post(
        "/api/v1/events",
        json=[_cloud(t, ident, data, **extra)],
        headers={**bearer(t.key), "content-type": "application/cloudevents-batch+json"},
    )
    assert response.status_code in (204, 400), response.text
    assert len(response.content) < 5_000
    return response.status_code == 204


def _binary(world: World, t: Tenant, ident: str, data: dict[str, Any], extra: Any) -> bool:
    attributes = {k: v for k, v in _cloud(t, ident, data, **extra).items() if k != "data"}
    headers = {f"ce-{k}": quote(str(v), safe="") for k, v in attributes.items()}
    response = world.client.post(
        "/v1/events",
        content=json.dumps(data).encode(),
        headers={**bearer(t.key), **headers, "content-type": "application/json"},
    )
    assert response.status_code in (200, 422), response.text
    assert len(response.content) < 5_000
    return response.status_code == 200 and response.json()["accepted"] == 1


def _import(world: World, t: Tenant, ident: str, data: dict[str, Any], extra: Any) -> bool:
    line = json.dumps(_cloud(t, ident, data, **extra)).encode()
    parsed = jsonl.parse_events(line, world.clock.now())
    for bad in parsed.bad:
        assert len(str(bad)) < 5_000
    if parsed.bad:
        return False
    results = world.cl.record_usage([e for _, e in parsed.events])
    return results[0].status.value == "accepted"


WAYS: dict[str, Way] = {
    "usage": _usage_route,
    "usage-batch": _usage_batch,
    "cloudevents-structured": _structured,
    "cloudevents-binary": _binary,
    "cloudevents-batch": _batch,
    "jsonl-import": _import,
}
CLOUD_ONLY = ("cloudevents-structured", "cloudevents-binary", "cloudevents-batch", "jsonl-import")


@pytest.mark.parametrize("way", list(WAYS))
def test_every_way_in_keeps_the_same_limits(world: World, way: str) -> None:
    t = world.tenant("Alpha")
    send = WAYS[way]
    name = "n" * limits.MAX_NAME
    at_limits = {"dimensions": {"mode": "pro", name: "v" * limits.MAX_VALUE}}
    assert send(world, t, "i" * limits.MAX_ID, at_limits, {})
    before = world.cl.usage_events(t.org, 1000)
    past_limits: list[dict[str, Any]] = [
        {"dimensions": {"mode": "pro", "model": "v" * (limits.MAX_VALUE + 1)}},
        {"dimensions": {"mode": "pro", name + "n": "v"}},
        {"dimensions": {"mode": "pro", "model": HUGE}},
        {"dimensions": {"mode": "pro", **{f"d{i}": "v" for i in range(limits.MAX_ENTRIES)}}},
        {"dimensions": {"mode": "pro"}, "quantities": {"q": "1" * (limits.MAX_NAME + 1)}},
    ]
    for n, data in enumerate(past_limits):
        assert not send(world, t, f"past-{n}", data, {}), data
    for ident in ("i" * (limits.MAX_ID + 1), HUGE, "a/b", "a\x00b", "line\nbreak", "..", " "):
        assert not send(world, t, ident, {"dimensions": {"mode": "pro"}}, {}), ident
    if way in CLOUD_ONLY:
        assert not send(world, t, "src", {"dimensions": {"mode": "pro"}}, {"source": HUGE})
        assert not send(world, t, "ext", {"dimensions": {"mode": "pro"}}, {"traceid": HUGE})
    assert world.cl.usage_events(t.org, 1000) == before


def test_a_refused_huge_id_is_never_echoed_back_in_full(world: World) -> None:
    t = world.tenant("Alpha")
    answers = [
        world.client.post(
            "/v1/events",
            json=[_cloud(t, HUGE, {"dimensions": {"mode": "pro"}})],
            headers=bearer(t.key),
        ),
        world.client.post(
            "/v1/events",
            json=_cloud(t, "ok", {"dimensions": {"mode": "pro", "model": HUGE}}),
            headers=bearer(t.key),
        ),
        world.client.post(
            "/api/v1/events",
            json=[_cloud(t, HUGE, {"dimensions": {"mode": HUGE}}, source=HUGE)],
            headers=bearer(t.key),
        ),
        world.post(f"/v1/orgs/{t.org}/usage", _own(HUGE), t.key),
    ]
    for response in answers:
        assert 200 <= response.status_code < 500, response.text
        assert len(response.content) < 5_000, response.text[:300]
        assert "x" * (limits.MAX_SHOWN + 1) not in response.text
    batch = answers[0].json()["results"][0]
    assert batch["status"] == "rejected"
    assert batch["event_id"].startswith("'xxxx") and "(100000 characters)" in batch["event_id"]


@pytest.mark.parametrize(
    "ident", ["a b", "a?b", "a#b", "100%", "ü€-漢字", "a+b=c&d", "...", "~user", "a\\b"]
)
def test_an_event_id_of_printable_characters_is_fetched_back_by_its_path(
    world: World, ident: str
) -> None:
    t = world.tenant("Alpha")
    sent = world.client.post(
        "/v1/events",
        json=_cloud(t, ident, {"dimensions": {"mode": "pro"}}),
        headers=bearer(t.key),
    )
    assert sent.status_code == 200 and sent.json()["accepted"] == 1, sent.text
    fetched = world.get(f"/v1/orgs/{t.org}/usage/{quote(ident, safe='')}", t.key)
    assert fetched.status_code == 200, fetched.text
    assert fetched.json()["event_id"] == ident


def test_data_base64_is_held_to_the_same_limits(world: World) -> None:
    t = world.tenant("Alpha")

    def send(data: dict[str, Any]) -> int:
        event = _cloud(t, "b64", {})
        del event["data"]
        event["data_base64"] = base64.b64encode(json.dumps(data).encode()).decode()
        response = world.client.post("/v1/events", json=event, headers=bearer(t.key))
        return int(response.status_code)

    assert send({"dimensions": {"mode": "pro", "model": HUGE}}) == 422
    assert send({"dimensions": {"mode": "pro"}}) == 200
