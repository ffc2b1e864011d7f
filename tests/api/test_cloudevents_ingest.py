"""CloudEvents as their producers send them: OpenMeter's answers at ``/api/v1/events``
(204, or 400 naming each bad event), binary content mode, ``data_base64``, ``subject``
as the organization's ``external_ref``, ``time`` left out, and a 4xx for a single
structured-mode event that breaks the spec."""

from __future__ import annotations

import base64
import json
from datetime import timedelta
from typing import Any

import pytest

from creditline import credits
from tests.api.conftest import Tenant, World, bearer
from tests.conftest import T0

WHEN = T0.isoformat()
BATCH = "application/cloudevents-batch+json"
STRUCTURED = "application/cloudevents+json"


def _event(subject: str, ident: str, **extra: Any) -> dict[str, Any]:
    """A translate of 100,000 characters: 1 credit."""
    return {
        "specversion": "1.0", "id": ident, "source": "/svc", "type": "translate",
        "subject": subject, "time": WHEN, "data": {"characters": 100_000}, **extra,
    }  # fmt: skip


def _post(world: World, path: str, body: Any, t: Tenant, kind: str = BATCH) -> Any:
    return world.client.post(
        path, content=json.dumps(body).encode(), headers={**bearer(t.key), "content-type": kind}
    )


def test_openmeter_route_answers_204_for_accepted_duplicate_and_refused_events(
    world: World,
) -> None:
    a = world.tenant("Alpha")  # external_ref "alpha"
    before = world.cl.balance(a.org).available
    events = [_event("alpha", "om-1"), _event(a.org, "om-2"), _event("alpha", "om-1")]
    first = _post(world, "/api/v1/events", events, a)
    assert first.status_code == 204, first.text
    assert first.content == b""
    assert world.cl.balance(a.org).available == before - credits(2)
    again = _post(world, "/api/v1/events", events[0], a, STRUCTURED)
    assert again.status_code == 204
    world.cl.spend(a.org, world.cl.balance(a.org).available)  # nothing left: refused
    refused = _post(world, "/api/v1/events", [_event("alpha", "om-3")], a)
    assert refused.status_code == 204, refused.text
    assert world.cl.usage_event(a.org, "om-3").status == "refused"


def test_openmeter_route_names_each_invalid_event_and_records_none_of_the_batch(
    world: World,
) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    before = world.cl.usage_events(a.org, 100)
    no_source = _event("alpha", "bad-1")
    del no_source["source"]
    events = [
        _event("alpha", "good-1"),
        no_source,
        _event("alpha", "bad-2", specversion="0.3"),
        _event("beta", "bad-3"),  # another organization's reference: not found
        _event("nobody", "bad-4"),
    ]
    response = _post(world, "/api/v1/events", events, a)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["type"] == "urn:creditline:problem:invalid-events"
    assert body["recorded"] == 0
    assert [(e["index"], e["event_id"]) for e in body["errors"]] == [
        (1, "bad-1"), (2, "bad-2"), (3, "bad-3"), (4, "bad-4"),
    ]  # fmt: skip
    assert "source: missing" in body["errors"][0]["message"]
    assert body["errors"][2]["problem"] == "urn:creditline:problem:organization-not-found"
    assert world.cl.usage_events(a.org, 100) == before
    assert b.org not in response.text


def test_openmeter_route_keeps_the_valid_events_when_only_pricing_rejects_one(
    world: World,
) -> None:
    a = world.tenant("Alpha")
    unknown = _event("alpha", "mixed-2", type="teleport")
    response = _post(world, "/api/v1/events", [_event("alpha", "mixed-1"), unknown], a)
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["recorded"] == 1
    assert [e["event_id"] for e in body["errors"]] == ["mixed-2"]
    assert body["errors"][0]["problem"] == "urn:creditline:problem:unknown-operation"
    assert world.cl.usage_event(a.org, "mixed-1").status == "accepted"
    # The corrected retry of the whole batch: the first is a duplicate, nothing charged twice.
    available = world.cl.balance(a.org).available
    fixed = [_event("alpha", "mixed-1"), _event("alpha", "mixed-2")]
    assert _post(world, "/api/v1/events", fixed, a).status_code == 204
    assert world.cl.balance(a.org).available == available - credits(1)


def test_binary_mode_and_data_base64_are_read_everywhere(world: World) -> None:
    a = world.tenant("Alpha")
    headers = {
        "ce-specversion": "1.0", "ce-id": "bin%2D1", "ce-source": "/svc",
        "ce-type": "translate", "ce-subject": "alpha", "ce-time": WHEN,
        "ce-traceparent": "00-ab", "content-type": "application/json",
    }  # fmt: skip
    data = json.dumps({"characters": 200_000}).encode()
    for path, status in (("/v1/events", 200), ("/api/v1/events", 204)):
        answer = world.client.post(path, content=data, headers={**bearer(a.key), **headers})
        assert answer.status_code == status, answer.text
    stored = world.cl.usage_event(a.org, "bin-1")
    assert stored.event.quantities == {"characters": 200_000}
    assert stored.event.metadata["cloudevents"] == {"source": "/svc", "traceparent": "00-ab"}
    encoded = _event("alpha", "b64-1", datacontenttype="application/json")
    encoded["data_base64"] = base64.b64encode(b'{"characters": 300000}').decode()
    del encoded["data"]
    assert _post(world, "/v1/events", encoded, a, STRUCTURED).json()["accepted"] == 1
    assert _post(world, "/api/v1/events", [encoded], a).status_code == 204
    assert world.cl.usage_event(a.org, "b64-1").cost == credits(3)
    text = world.client.post(
        "/v1/events",
        content=b"hello",
        headers={**bearer(a.key), **headers, "ce-id": "bin-2", "content-type": "text/plain"},
    )
    assert text.status_code == 422, text.text
    assert "cannot be metered" in text.text


@pytest.mark.parametrize(
    "change",
    [
        {"specversion": "0.3"},
        {"source": None},
        {"id": None},
        {"data": [1, 2]},
        {"data": {"characters": -5}},
        {"time": "yesterday"},
    ],
    ids=["specversion", "no-source", "no-id", "data-list", "negative", "bad-time"],
)
def test_a_single_structured_event_that_is_invalid_is_a_4xx(
    world: World, change: dict[str, Any]
) -> None:
    a = world.tenant("Alpha")
    event = {k: v for k, v in {**_event("alpha", "one"), **change}.items() if v is not None}
    response = _post(world, "/v1/events", event, a, STRUCTURED)
    assert response.status_code == 422, response.text
    body = response.json()
    assert body["results"][0]["status"] == "rejected"
    assert world.cl.usage_events(a.org, 100)[0].event_id != "one"


def test_a_single_event_of_an_unknown_subject_is_404_and_a_batch_keeps_its_results(
    world: World,
) -> None:
    a = world.tenant("Alpha")
    single = _post(world, "/v1/events", _event("nobody", "x-1"), a, STRUCTURED)
    assert single.status_code == 404, single.text
    batch = _post(world, "/v1/events", [_event("alpha", "x-2"), _event("nobody", "x-3")], a)
    assert batch.status_code == 200, batch.text
    assert [r["status"] for r in batch.json()["results"]] == ["accepted", "rejected"]


def test_a_cloudevent_without_time_is_recorded_once_however_often_it_is_retried(
    world: World,
) -> None:
    a = world.tenant("Alpha")
    event = _event("alpha", "timeless")
    del event["time"]
    before = world.cl.balance(a.org).available
    first = _post(world, "/v1/events", event, a, STRUCTURED)
    assert first.json()["results"][0]["status"] == "accepted", first.text
    world.clock.advance(timedelta(minutes=3))
    for path, status in (("/v1/events", 200), ("/api/v1/events", 204)):
        retry = _post(world, path, event, a, STRUCTURED)
        assert retry.status_code == status, retry.text
    assert _post(world, "/v1/events", event, a, STRUCTURED).json()["duplicate"] == 1
    assert world.cl.balance(a.org).available == before - credits(1)
    assert world.cl.usage_event(a.org, "timeless").event.occurred_at == T0
