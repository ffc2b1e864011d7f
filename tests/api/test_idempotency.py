"""``Idempotency-Key`` on POST: the first answer is replayed; the effect happens once,
even when the process died between the effect and storing its answer."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from datetime import timedelta

import pytest

from creditline import GrantSource, ManualClock, SourceType
from creditline.domain.api_keys import IdempotentRequest
from creditline.entrypoints.api import ApiSettings
from creditline.entrypoints.api.idempotency import scoped_key
from tests.api.conftest import World, open_world


def test_the_same_key_and_body_replays_the_first_answer(world: World) -> None:
    a = world.tenant("Alpha")
    headers = {"Idempotency-Key": "grant-1"}
    first = world.post(f"/v1/orgs/{a.org}/grants", {"amount": "7"}, **headers)
    again = world.post(f"/v1/orgs/{a.org}/grants", {"amount": "7"}, **headers)
    assert first.status_code == again.status_code == 201
    assert again.content == first.content
    assert again.headers["idempotent-replayed"] == "true"
    assert len(world.cl.grants(a.org)) == 2  # the tenant's own grant, and this one


def test_a_refusal_is_replayed_too(world: World) -> None:
    a = world.tenant("Alpha")
    headers = {"Idempotency-Key": "big"}
    first = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "500"}, key=a.key, **headers)
    assert first.status_code == 402
    world.cl.grant(a.org, 1000 * 10**6)
    again = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "500"}, key=a.key, **headers)
    assert again.status_code == 402 and again.content == first.content


def test_keys_are_scoped_to_the_api_key_that_sent_them(world: World) -> None:
    a = world.tenant("Alpha")
    other = world.cl.create_api_key("org", a.org, name="second").secret
    headers = {"Idempotency-Key": "same"}
    one = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "1"}, key=a.key, **headers)
    two = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "2"}, key=other, **headers)
    assert (one.status_code, two.status_code) == (201, 201)


def test_keys_are_scoped_to_the_organization_the_request_is_for(world: World) -> None:
    # One platform backend (an operator key), one order number, two customers.
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    headers = {"Idempotency-Key": "order-42"}
    one = world.post(f"/v1/orgs/{a.org}/spend", {"amount": "2.5"}, **headers)
    two = world.post(f"/v1/orgs/{b.org}/spend", {"amount": "2.5"}, **headers)
    assert (one.status_code, two.status_code) == (201, 201), two.text
    assert "idempotent-replayed" not in two.headers
    assert one.json()["allocations"] != two.json()["allocations"]  # each its own grants
    # Within one organization the key still answers once.
    again = world.post(f"/v1/orgs/{b.org}/spend", {"amount": "2.5"}, **headers)
    assert again.headers["idempotent-replayed"] == "true" and again.content == two.content
    other = world.post(f"/v1/orgs/{b.org}/spend", {"amount": "3"}, **headers)
    assert other.status_code == 409
    assert world.cl.balance(a.org).available == world.cl.balance(b.org).available


def test_a_path_with_an_overlong_organization_is_refused_not_a_server_error(world: World) -> None:
    headers = {"Idempotency-Key": "k" * 100}
    answer = world.post(f"/v1/orgs/{'o' * 5000}/spend", {"amount": "1"}, **headers)
    assert answer.status_code == 422, answer.text  # the path's org_id is at most 40 characters
    assert len(scoped_key(f"/v1/orgs/{'o' * 5000}/spend", "k" * 100)) <= 200


def test_a_request_still_running_is_409_and_a_dead_one_is_taken_over(world: World) -> None:
    a = world.tenant("Alpha")
    key_id = world.cl.authenticate(world.operator).id
    body = b'{"amount":"3"}'
    path = f"/v1/orgs/{a.org}/grants"
    # A first request that got as far as its claim, and the grant, then its process died.
    digest = hashlib.sha256(f"POST {path}?".encode() + b"\n" + body).hexdigest()
    stored_as = scoped_key(path, "crash")
    claim = IdempotentRequest(key_id, stored_as, f"POST {path}", digest, world.clock.now())
    assert world.cl.begin_request(claim) is None
    grant = world.cl.grant(
        a.org,
        3 * 10**6,
        source=GrantSource(SourceType.OPERATOR, "api"),  # as the route grants
        idempotency_key=f"http:{key_id}:crash",
    )
    headers = {"Authorization": f"Bearer {world.operator}", "Idempotency-Key": "crash",
               "content-type": "application/json"}  # fmt: skip
    busy = world.client.post(path, content=body, headers=headers)
    assert busy.status_code == 409
    assert busy.json()["type"] == "urn:creditline:problem:idempotency-key-in-use"
    world.clock.advance(timedelta(minutes=3))
    retried = world.client.post(path, content=body, headers=headers)
    assert retried.status_code == 201, retried.text
    assert retried.json()["id"] == grant.id  # the engine replayed the first grant
    assert len([g for g in world.cl.grants(a.org) if g.amount == 3 * 10**6]) == 1


@pytest.fixture
def limited(db_url: str, clock: ManualClock) -> Iterator[World]:
    yield from open_world(db_url, clock, ApiSettings(rate_per_second=1, rate_burst=2))


def test_a_key_over_its_rate_gets_429_with_retry_after(limited: World) -> None:
    a = limited.tenant("Alpha")
    # A burst of 2 at 1 a second: the third of quick requests is refused. A slow machine
    # may refill a token between them (the bucket reads real time), so a few more are sent.
    answers = [limited.get(f"/v1/orgs/{a.org}/balance", a.key) for _ in range(6)]
    codes = [r.status_code for r in answers]
    assert codes[:2] == [200, 200] and 429 in codes and set(codes) == {200, 429}, codes
    refused = answers[codes.index(429)]
    assert refused.headers["retry-after"] == "1"
    assert refused.json()["type"] == "urn:creditline:problem:rate-limited"
    # Another key has its own bucket; health is never limited.
    assert limited.get(f"/v1/orgs/{a.org}/balance", a.read_key).status_code == 200
    assert all(limited.client.get("/healthz").status_code == 200 for _ in range(5))
