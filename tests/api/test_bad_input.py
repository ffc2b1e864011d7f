"""Bad input over HTTP: each the documented status, as problem details, nothing changed.

Malformed JSON (400), wrong types and unknown fields (422, every field's problem listed),
huge bodies (413), an idempotency key reused with another body (409), expired, revoked,
unknown and malformed keys (401).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest

from creditline import ManualClock
from creditline.entrypoints.api import ApiSettings
from tests.api.conftest import Tenant, World, bearer, open_world

PROBLEM = "application/problem+json"


def _state(world: World, t: Tenant) -> Any:
    cl = world.cl
    return (
        cl.balance(t.org), cl.history(t.org, limit=1000), cl.usage_events(t.org),
        cl.reservations(t.org), cl.grants(t.org), cl.list_orgs(),
        [(k.id, k.revoked_at) for k in cl.api_keys()],
    )  # fmt: skip


@pytest.fixture
def small(db_url: str, clock: ManualClock) -> Iterator[World]:
    yield from open_world(db_url, clock, ApiSettings(rate_per_second=0, max_body_bytes=2000))


def test_malformed_json_is_400_and_changes_nothing(world: World) -> None:
    a = world.tenant("Alpha")
    before = _state(world, a)
    for body in (b"{", b'{"amount": "1",}', b"\xff\xfe", b'{"amount": NaN}', b"[1, 2"):
        response = world.client.post(
            f"/v1/orgs/{a.org}/spend",
            content=body,
            headers={**bearer(a.key), "content-type": "application/json"},
        )
        assert response.status_code == 400, (body, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert response.json()["type"] == "urn:creditline:problem:malformed-request"
    bad_events = world.client.post(
        "/v1/events",
        content=b"{nope",
        headers={**bearer(a.key), "content-type": "application/json"},
    )
    assert bad_events.status_code == 400
    assert _state(world, a) == before


def test_wrong_types_and_unknown_fields_are_422_listing_every_field(world: World) -> None:
    a = world.tenant("Alpha")
    before = _state(world, a)
    response = world.post(
        f"/v1/orgs/{a.org}/grants",
        {"amount": 5, "kind": "gold", "expires_at": "tomorrow", "org_id": a.org, "balance": 9},
    )
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:creditline:problem:invalid-request"
    fields = {e["field"] for e in body["errors"]}
    assert fields == {
        "body.amount", "body.kind", "body.expires_at", "body.org_id", "body.balance",
    }  # fmt: skip
    for payload in (
        {"amount": "1", "amount_micros": 1_000_000},  # both
        {},  # neither
        {"amount": "1.0000001"},  # finer than a micro-credit
        {"amount": "-1"},
        {"amount_micros": True},
        {"amount_micros": 1.5},
        {"amount": "1", "id": "grt_mine"},
        {"amount": "1", "remaining": "100"},
    ):
        response = world.post(f"/v1/orgs/{a.org}/grants", payload)
        assert response.status_code == 422, (payload, response.text)
        assert response.json()["errors"]
    spend = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "1", "org_id": "x"}, key=a.key)
    assert spend.status_code == 422
    event = {"event_id": "e", "operation": "ping", "quantities": {"n": True}, "cost": "0"}
    assert world.post(f"/v1/orgs/{a.org}/usage", event, key=a.key).status_code == 422
    assert world.get(f"/v1/orgs/{a.org}/ledger?limit=0", a.key).status_code == 422
    assert world.get(f"/v1/orgs/{a.org}/ledger?cursor=abc", a.key).status_code == 422
    assert _state(world, a) == before


def test_engine_refusals_list_every_problem(world: World) -> None:
    response = world.post("/v1/rate-cards", {"document": {"name": "x", "operations": {}}})
    assert response.status_code == 422
    body = response.json()
    assert body["type"] == "urn:creditline:problem:invalid-rate-card"
    assert len(body["errors"]) >= 2


def test_a_huge_body_is_413_declared_or_streamed(small: World) -> None:
    a = small.tenant("Alpha")
    before = _state(small, a)
    big = {"amount": "1", "metadata": {"blob": "x" * 5000}}
    response = small.post(f"/v1/orgs/{a.org}/spend", big, key=a.key)
    assert response.status_code == 413
    assert response.json()["type"] == "urn:creditline:problem:request-too-large"

    def chunks() -> Iterator[bytes]:
        yield b'{"amount": "1", "metadata": {"blob": "'
        for _ in range(10):
            yield b"x" * 500
        yield b'"}}'

    streamed = small.client.post(
        f"/v1/orgs/{a.org}/spend",
        content=chunks(),
        headers={**bearer(a.key), "content-type": "application/json"},
    )
    assert streamed.status_code == 413
    assert _state(small, a) == before


def test_an_idempotency_key_with_another_body_is_409_and_changes_nothing(world: World) -> None:
    a = world.tenant("Alpha")
    first = world.post(
        f"/v1/orgs/{a.org}/spend", {"amount": "1"}, key=a.key, **{"Idempotency-Key": "k1"}
    )
    assert first.status_code == 201
    before = _state(world, a)
    for body in ({"amount": "2"}, {"amount": "1", "metadata": {}}):
        other = world.post(f"/v1/orgs/{a.org}/spend", body, key=a.key, **{"Idempotency-Key": "k1"})
        assert other.status_code == 409, other.text
        assert other.json()["type"] == "urn:creditline:problem:idempotency-key-reused"
    elsewhere = world.post(
        f"/v1/orgs/{a.org}/reservations", {"amount": "1"}, key=a.key, **{"Idempotency-Key": "k1"}
    )
    assert elsewhere.status_code == 409
    for bad_key in ("x" * 101, "two words"):
        bad = world.post(
            f"/v1/orgs/{a.org}/spend", {"amount": "1"}, key=a.key, **{"Idempotency-Key": bad_key}
        )
        assert bad.status_code == 422, bad.text
    assert _state(world, a) == before


def test_expired_revoked_unknown_and_malformed_keys_are_401(world: World) -> None:
    a = world.tenant("Alpha")
    expiring = world.cl.create_api_key(
        "org", a.org, name="temp", expires_at=world.clock.now() + timedelta(hours=1)
    )
    revoked = world.cl.create_api_key("org", a.org, name="gone")
    assert world.get(f"/v1/orgs/{a.org}/balance", expiring.secret).status_code == 200
    assert world.post(f"/v1/api-keys/{revoked.key.id}/revoke").status_code == 200
    world.clock.advance(timedelta(hours=1))
    before = _state(world, a)
    unknown = "cl_live_abcdefghij_" + "A" * 43
    forged = revoked.secret[:-4] + "AAAA"
    for key, reason in (
        (expiring.secret, "the API key has expired"),
        (revoked.secret, "the API key has been revoked"),
        (unknown, "the API key is not valid"),
        (forged, "the API key is not valid"),
        ("not-a-key", "the API key is malformed"),
    ):
        response = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "1"}, key=key)
        assert response.status_code == 401, response.text
        body = response.json()
        assert body["type"] == "urn:creditline:problem:authentication-failed"
        assert body["detail"] == reason
        assert response.headers["www-authenticate"] == "Bearer"
        assert key not in response.text
    no_key = world.client.post(f"/v1/orgs/{a.org}/spend", json={"amount": "1"})
    assert no_key.status_code == 401
    basic = world.client.get(f"/v1/orgs/{a.org}/balance", headers={"Authorization": "Basic eDp5"})
    assert basic.status_code == 401
    assert _state(world, a) == before


def test_a_read_only_key_cannot_write_and_an_org_key_cannot_operate(world: World) -> None:
    a = world.tenant("Alpha")
    before = _state(world, a)
    for path, body in (
        (f"/v1/orgs/{a.org}/spend", {"amount": "1"}),
        (f"/v1/orgs/{a.org}/usage", {"event_id": "x", "operation": "ping"}),
        (f"/v1/orgs/{a.org}/reservations", {"amount": "1"}),
    ):
        response = world.post(path, body, key=a.read_key)
        assert response.status_code == 403, response.text
        assert response.json()["type"] == "urn:creditline:problem:permission-denied"
    granted = world.post(f"/v1/orgs/{a.org}/grants", {"amount": "1000"}, key=a.key)
    assert granted.status_code == 403
    assert world.post("/v1/orgs", {"name": "Mine"}, key=a.key).status_code == 403
    assert (
        world.post("/v1/api-keys", {"role": "operator", "name": "x"}, key=a.key).status_code == 403
    )
    assert _state(world, a) == before
