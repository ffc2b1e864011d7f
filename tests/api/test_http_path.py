"""The lean HTTP path keeps every promise of the slower one: keys that do not check out
are limited per address, ``Idempotency-Key`` is looked at only after the key, keys never
reach the log, every route has its own metrics label, batches read without a model per
event answer exactly as the schema did, and the hot routes' hand-made answers are the
documented models'."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pydantic
import pytest
from fastapi.testclient import TestClient

from creditline import ManualClock, credits
from creditline.domain.ledger import Cause, CauseType
from creditline.domain.usage import UsageEvent
from creditline.entrypoints.api import ApiSettings, answers
from creditline.entrypoints.api.observability import JsonFormatter, RequestLog, _chunks, redact
from creditline.entrypoints.api.schemas.events import (
    EventResultOut,
    UsageBatchIn,
)
from creditline.entrypoints.api.schemas.ledger import (
    DebitOut,
)
from creditline.entrypoints.api.schemas.reservations import (
    ReservationOut,
    SettlementOut,
)
from tests.api.conftest import World, bearer, open_world
from tests.conftest import T0


@pytest.fixture
def guarded(db_url: str, clock: ManualClock) -> Iterator[World]:
    settings = ApiSettings(
        rate_per_second=0, log_requests=False, bad_key_rate_per_second=1, bad_key_burst=3
    )
    yield from open_world(db_url, clock, settings)


def test_an_address_sending_bad_keys_is_refused_before_its_keys_are_looked_up(
    guarded: World,
) -> None:
    a = guarded.tenant("Alpha")
    path = f"/v1/orgs/{a.org}/balance"
    assert guarded.get(path, a.key).status_code == 200  # checked: kept in memory
    guesses = [f"cl_live_abcdefghij_{n:043d}" for n in range(5)]
    answers_ = [guarded.get(path, guess) for guess in guesses]
    assert [r.status_code for r in answers_] == [401, 401, 401, 429, 429]
    limited = answers_[-1]
    assert limited.json()["type"] == "urn:creditline:problem:rate-limited"
    assert int(limited.headers["retry-after"]) >= 1
    # Not even a right key is looked up from that address now (a guess could be right)...
    other = guarded.cl.create_api_key("org", a.org, name="new").secret
    assert guarded.get(path, other).status_code == 429
    # ...but a key it already proved keeps working, and another address is not limited.
    assert guarded.get(path, a.key).status_code == 200
    app = guarded.client.app
    with TestClient(app, client=("192.0.2.7", 40000)) as elsewhere:
        assert elsewhere.get(path, headers=bearer(other)).status_code == 200


def test_bad_keys_are_not_limited_when_the_limit_is_off(db_url: str, clock: ManualClock) -> None:
    settings = ApiSettings(rate_per_second=0, log_requests=False, bad_key_rate_per_second=0)
    opened = open_world(db_url, clock, settings)
    world = next(opened)
    try:
        guesses = (f"cl_live_abcdefghij_{n:043d}" for n in range(30))
        assert {world.get("/v1/orgs", guess).status_code for guess in guesses} == {401}
    finally:
        opened.close()


def test_idempotency_key_is_checked_after_the_api_key(world: World) -> None:
    a = world.tenant("Alpha")
    path = f"/v1/orgs/{a.org}/spend"
    bad = {"Idempotency-Key": "two words"}
    no_key = world.client.post(path, json={"amount": "1"}, headers=bad)
    assert no_key.status_code == 401, no_key.text
    wrong_key = world.client.post(
        path, json={"amount": "1"}, headers={**bad, **bearer("cl_live_abcdefghij_" + "A" * 43)}
    )
    assert wrong_key.status_code == 401, wrong_key.text
    good_key = world.post(path, {"amount": "1"}, key=a.key, **bad)
    assert good_key.status_code == 422
    assert good_key.json()["errors"][0]["field"] == "header.Idempotency-Key"


def test_anything_shaped_like_a_key_is_redacted_from_a_logged_path(
    db_url: str, clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    opened = open_world(db_url, clock, ApiSettings(rate_per_second=0, log_requests=True))
    world = next(opened)
    try:
        secret = world.operator
        with caplog.at_level(logging.INFO, logger="creditline.api"):
            world.get(f"/v1/orgs/{secret}/balance?key={secret}", world.operator)
            world.get(f"/v1/{secret[:20]}")
    finally:
        opened.close()
    paths = [getattr(r, "path", None) for r in caplog.records if r.getMessage() == "request"]
    assert paths == ["/v1/orgs/cl_live_[redacted]/balance", "/v1/cl_live_[redacted]"]
    assert "cl_live_" not in caplog.text.replace("cl_live_[redacted]", "")


def test_the_servers_own_log_lines_redact_keys_and_match_the_formatter() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.requestlog")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    log = RequestLog(logger)
    scope = {"method": "GET", "path": "/v1/x/cl_live_abcdefghij_" + "B" * 43, "state": {}}
    log.request(scope, "rid-1", "unmatched", 404, 0.0012)
    log.flush()
    (line,) = stream.getvalue().splitlines()
    fast = json.loads(line)
    assert fast["path"] == "/v1/x/cl_live_[redacted]" and "BBBB" not in line
    logger.info("request", extra={k: fast[k] for k in ("request_id", "method", "path")})
    slow = json.loads(stream.getvalue().splitlines()[-1])
    assert set(slow) <= set(fast)
    assert redact("no key here") == "no key here"


def test_framework_routes_are_labelled_by_their_route(world: World) -> None:
    for path in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect", "/static/app.css"):
        assert world.client.get(path).status_code == 200, path
    metrics = world.client.get("/metrics").text
    for route in ("/docs", "/openapi.json", "/redoc", "/docs/oauth2-redirect", "/static/{path}"):
        assert f'route="{route}"' in metrics, route
    assert 'route="unmatched"' not in metrics
    world.client.get("/no/such/route")
    assert 'route="unmatched"' in world.client.get("/metrics").text


# -- the batch route -------------------------------------------------------------------


def _batch(world: World, key: str, org: str, body: Any) -> Any:
    return world.client.post(f"/v1/orgs/{org}/usage/batch", json=body, headers=bearer(key))


BAD_BATCHES = [
    {"events": []},
    {"events": [{"event_id": "", "operation": "ping"}]},
    {"events": [{"event_id": "e", "operation": "ping", "surprise": 1}]},
    {"events": [{"event_id": "e", "operation": "ping", "quantities": {"n": True}}]},
    {"events": [{"event_id": "e", "operation": "ping", "quantities": {"n": None}}]},
    {"events": [{"event_id": "e", "operation": "ping", "dimensions": {"m": 3}}]},
    {"events": [{"event_id": "e" * 201, "operation": "ping"}]},
    {"events": [{"event_id": "e", "operation": "ping", "occurred_at": "2026-01-01T00:00:00"}]},
    {"events": [{"event_id": "e", "operation": "ping", "occurred_at": "yesterday"}]},
    {"events": [{"event_id": "e", "operation": "ping", "quantities": {"x" * 101: 1}}]},
    {"events": [{"event_id": "ok", "operation": "ping"}, {"operation": 7}]},
    {"events": [{"event_id": "e", "operation": "ping"}], "org_id": "org_other"},
    {"events": {"event_id": "e"}},
    [{"event_id": "e", "operation": "ping"}],
]


@pytest.mark.parametrize("body", BAD_BATCHES, ids=[str(i) for i in range(len(BAD_BATCHES))])
def test_a_bad_batch_is_422_with_every_fields_problem_as_the_schema_states(
    world: World, body: Any
) -> None:
    a = world.tenant("Alpha")
    answer = _batch(world, a.key, a.org, body)
    assert answer.status_code == 422, answer.text
    problem = answer.json()
    assert problem["type"] == "urn:creditline:problem:invalid-request"
    with pytest.raises(pydantic.ValidationError) as schema:
        UsageBatchIn.model_validate(body)
    expected = [
        (".".join(["body", *map(str, e["loc"])]), e["msg"], e["type"])
        for e in schema.value.errors()
    ]
    got = [(e["field"], e["message"], e["code"]) for e in problem["errors"]]
    assert got == expected
    assert len(world.cl.usage_events(a.org)) == 1  # the tenant's own event only


def test_a_batch_that_is_not_json_is_400_and_an_empty_one_422(world: World) -> None:
    a = world.tenant("Alpha")
    path = f"/v1/orgs/{a.org}/usage/batch"
    headers = {**bearer(a.key), "content-type": "application/json"}
    broken = world.client.post(path, content=b'{"events": [', headers=headers)
    assert broken.status_code == 400
    assert broken.json()["type"] == "urn:creditline:problem:malformed-request"
    for number in (b"NaN", b"Infinity"):
        body = b'{"events":[{"event_id":"e","operation":"ping","quantities":{"n":' + number
        answer = world.client.post(path, content=body + b"}}]}", headers=headers)
        assert answer.status_code == 400
    empty = world.client.post(path, content=b"", headers=headers)
    assert empty.status_code == 422
    assert empty.json()["errors"][0]["field"] == "body"


def test_batch_numbers_are_exact_and_both_readings_record_alike(world: World) -> None:
    a = world.tenant("Alpha")
    digits = "0.12345678901234567890123"
    plain = [
        {"event_id": "d-1", "operation": "translate", "quantities": {"characters": 2500000}},
        {"event_id": "d-2", "operation": "translate", "quantities": {"characters": "1000000"}},
        {"event_id": "d-3", "operation": "ping", "quantities": {"fraction": Decimal(digits)},
         "occurred_at": "2026-01-01T01:00:00+01:00", "project_id": a.ids["project_id"]},
        {"event_id": "d-4", "operation": "unknown-op"},
    ]  # fmt: skip
    # The same events with metadata: read through the schema's models instead.
    modelled = [{**e, "event_id": "m" + e["event_id"], "metadata": {"n": 1}} for e in plain]
    for events in (plain, modelled):
        body = '{"events":' + _exact_json(events) + "}"
        answer = world.client.post(
            f"/v1/orgs/{a.org}/usage/batch",
            content=body,
            headers={**bearer(a.key), "content-type": "application/json"},
        )
        assert answer.status_code == 200, answer.text
        out = answer.json()
        assert [r["status"] for r in out["results"]] == [
            "accepted", "accepted", "accepted", "rejected"
        ]  # fmt: skip
        assert [r["cost_micros"] for r in out["results"][:3]] == [credits(25), credits(10), 10**6]
        assert [r["index"] for r in out["results"]] == [0, 1, 2, 3]
        assert out["cost_micros"] == credits(36) and out["accepted"] == 3
    stored = {s.event.event_id: s for s in world.cl.usage_events(a.org)}
    for first in ("d-3", "md-3"):
        event = stored[first].event
        assert event.quantities == {"fraction": digits}  # every digit: never a float
        assert event.occurred_at == T0
        assert event.project_id == a.ids["project_id"]


def _exact_json(value: Any) -> str:
    """JSON with Decimals written as numbers (the standard library writes no Decimal)."""
    if isinstance(value, dict):
        return "{" + ",".join(f'"{k}":{_exact_json(v)}' for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ",".join(_exact_json(v) for v in value) + "]"
    if isinstance(value, Decimal):
        return str(value)
    return json.dumps(value)


# -- the hot routes' answers are the documented models' ----------------------------------


def test_the_hot_routes_answers_are_exactly_their_models(world: World) -> None:
    a = world.tenant("Alpha")
    cl = world.cl
    hold = cl.reserve(a.org, credits(3), cause=Cause(CauseType.OPERATOR, "run-9"),
                      project_id=a.ids["project_id"], metadata={"k": "v"})  # fmt: skip
    assert answers.reservation(hold) == ReservationOut.of(hold).model_dump(mode="json")
    world.clock.advance(timedelta(seconds=1, microseconds=4500))
    settled = cl.commit(a.org, hold.id, credits(2))
    assert answers.settlement(settled) == SettlementOut.of(settled).model_dump(mode="json")
    debit = cl.spend(a.org, credits(1), cause=Cause(CauseType.OPERATOR, "x"))
    assert answers.debit(debit) == DebitOut.of(debit).model_dump(mode="json")
    for result in cl.record_usage(
        [world_event(a.org, "h-1", "translate"), world_event(a.org, "h-2", "nothing")]
    ):
        made = EventResultOut.of(result, 7, answers.event_result(result)["problem"])
        assert answers.event_result(result, 7) == made.model_dump(mode="json")


def world_event(org: str, event_id: str, operation: str) -> UsageEvent:
    return UsageEvent(event_id, org, operation, T0, {"characters": 1000}, {})


def test_the_hot_routes_answer_over_http_as_before(world: World) -> None:
    a = world.tenant("Alpha")
    held = world.post(f"/v1/orgs/{a.org}/reservations", {"amount": "4"}, key=a.key)
    assert held.status_code == 201, held.text
    hold = held.json()
    assert hold == ReservationOut.of(world.cl.reservation(a.org, hold["id"])).model_dump(
        mode="json"
    )
    committed = world.post(
        f"/v1/orgs/{a.org}/reservations/{hold['id']}/commit", {"amount": "1"}, key=a.key
    )
    assert committed.status_code == 200 and committed.json()["consumed_micros"] == credits(1)
    other = world.post(f"/v1/orgs/{a.org}/reservations", {"amount": "2"}, key=a.key).json()
    released = world.post(f"/v1/orgs/{a.org}/reservations/{other['id']}/release", key=a.key)
    assert released.status_code == 200 and released.json()["released_micros"] == credits(2)
    spent = world.post(f"/v1/orgs/{a.org}/spend", {"amount_micros": 5}, key=a.key)
    assert spent.status_code == 201 and spent.json()["amount_micros"] == 5
    broke = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "100000"}, key=a.key)
    assert broke.status_code == 402
    assert broke.headers["content-type"].startswith("application/problem+json")
    one = world.post(f"/v1/orgs/{a.org}/usage", {"event_id": "s-1", "operation": "ping"}, a.key)
    assert one.status_code == 201 and one.json()["index"] is None
    dup = world.post(f"/v1/orgs/{a.org}/usage", {"event_id": "s-1", "operation": "ping"}, a.key)
    assert dup.status_code == 200 and dup.json()["status"] == "duplicate"
    unknown = world.post(f"/v1/orgs/{a.org}/usage", {"event_id": "s-2", "operation": "x"}, a.key)
    assert unknown.status_code == 422 and unknown.json()["event"]["status"] == "rejected"
    assert world.cl.verify().ok


def test_held_log_lines_are_written_whole_in_writes_a_pipe_keeps_apart() -> None:
    lines = [f"{n}{'x' * 1500}\n" for n in range(7)] + ["y" * 5000 + "\n"]
    chunks = _chunks(lines)
    assert "".join(chunks) == "".join(lines)
    assert all(len(c) <= 4000 or c.count("\n") == 1 for c in chunks)
    assert all(c.endswith("\n") for c in chunks)


def test_requests_answered_before_routing_are_labelled_by_their_route(world: World) -> None:
    """Replays, 401s and 422s of the middleware never reach the router: their label comes
    from the routes the application includes, and nothing fails after the answer."""
    a = world.tenant("Alpha")
    with TestClient(world.client.app, raise_server_exceptions=True) as strict:
        path = f"/v1/orgs/{a.org}/grants"
        headers = {**bearer(world.operator), "Idempotency-Key": "same"}
        for _ in range(2):  # the second is replayed by the middleware
            assert strict.post(path, json={"amount": "1"}, headers=headers).status_code == 201
        refused = strict.get(f"/v1/orgs/{a.org}/balance", headers=bearer("cl_live_x"))
        assert refused.status_code == 401
        metrics = strict.get("/metrics").text
    assert 'route="/v1/orgs/{org_id}/grants",status="201"} 2.0' in metrics
    assert 'route="/v1/orgs/{org_id}/balance",status="401"} 1.0' in metrics


def test_a_method_a_path_does_not_take_is_405_listing_every_method_it_does(world: World) -> None:
    a = world.tenant("Alpha")
    cases = {
        "/v1/orgs": {"GET", "POST"},
        f"/v1/orgs/{a.org}/grants": {"GET", "POST"},
        f"/v1/orgs/{a.org}/balance": {"GET"},
    }
    for path, methods in cases.items():
        answer = world.client.request("OPTIONS", path, headers=bearer(world.operator))
        assert answer.status_code == 405, (path, answer.text)
        allowed = {m.strip() for m in answer.headers["allow"].split(",")}
        assert allowed == methods, path
        assert answer.json()["type"].endswith(":method-not-allowed")


def test_an_unknown_query_parameter_is_refused_by_name(world: World) -> None:
    a = world.tenant("Alpha")
    answer = world.client.get(
        f"/v1/orgs/{a.org}/ledger", params={"limit": 5, "colour": "red"}, headers=bearer(a.key)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {
            "field": "query.colour",
            "message": "not a query parameter of this route",
            "code": "extra_forbidden",
        }
    ]
    assert (
        world.client.get(
            f"/v1/orgs/{a.org}/ledger", params={"limit": 5}, headers=bearer(a.key)
        ).status_code
        == 200
    )


def test_a_query_parameter_of_one_value_given_twice_is_refused_by_name(world: World) -> None:
    a = world.tenant("Alpha")
    answer = world.client.get(
        "/v1/orgs", params=[("cursor", "a"), ("cursor", "b")], headers=bearer(world.operator)
    )
    assert answer.status_code == 422, answer.text
    assert answer.json()["errors"] == [
        {
            "field": "query.cursor",
            "message": "given more than once; this parameter takes one value",
            "code": "repeated",
        }
    ]
    types = [("type", "grant"), ("type", "consume")]  # a list parameter takes several
    ledger = world.client.get(f"/v1/orgs/{a.org}/ledger", params=types, headers=bearer(a.key))
    assert ledger.status_code == 200, ledger.text
