"""No body answers 5xx: every route that takes a body (read from the OpenAPI document)
gets a body nested a thousand deep, a JSON value that is not an object, a 1 MB string
and bytes that are not UTF-8, and answers 4xx each time with nothing stored. The Stripe
webhook refuses a correctly signed body that is not an object, and an event without an
id (never recorded as ``"None"``)."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from typing import Any

import pytest

from creditline.adapters.payments import sign
from creditline.entrypoints.exact_json import MAX_DEPTH
from tests.api.conftest import Tenant, World, bearer
from tests.billing import SECRET

DEEP = b"[" * 1000 + b"]" * 1000
HOSTILE = {
    "nested 1,000 deep": DEEP,
    "nested deep in an object": b'{"metadata": ' + DEEP + b"}",
    "not an object": b'"just a string"',
    "a number": b"42",
    "a 1 MB string": json.dumps("x" * 1_000_000).encode(),
    "not UTF-8": b'{"name": "\xff\xfe\xfd"}',
}


def _state(world: World, *tenants: Tenant) -> Any:
    cl = world.cl
    per_org = [
        (cl.balance(t.org), cl.history(t.org, limit=1000), cl.usage_events(t.org, 1000),
         cl.reservations(t.org), cl.grants(t.org), cl.purchases(t.org))
        for t in tenants
    ]  # fmt: skip
    return (per_org, cl.list_orgs(), [k.id for k in cl.api_keys()], cl.webhook_endpoints())


def _operations_with_a_body(world: World) -> list[tuple[str, str]]:
    document = world.client.get("/openapi.json").json()
    return [
        (method, path)
        for path, item in document["paths"].items()
        for method, operation in item.items()
        if "requestBody" in operation
    ]


def _fill(path: str, tenant: Tenant) -> str:
    ids = {"org_id": tenant.org, **tenant.ids}
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "missing"), path)


def test_every_route_with_a_body_answers_hostile_bodies_with_4xx_and_stores_nothing(
    world: World,
) -> None:
    a = world.tenant("Alpha")
    operations = [*_operations_with_a_body(world), ("post", "/api/v1/events")]
    assert len(operations) > 25
    before = _state(world, a)
    for method, path in operations:
        url = _fill(path, a)
        for name, body in HOSTILE.items():
            for kind in ("application/json", "application/cloudevents+json"):
                response = world.client.request(
                    method.upper(),
                    url,
                    content=body,
                    headers={**bearer(world.operator), "content-type": kind},
                )
                assert 400 <= response.status_code < 500, (method, url, name, response.text)
                assert response.headers["content-type"] == "application/problem+json"
                assert len(response.content) < 10_000, (method, url, name)
    assert _state(world, a) == before


def test_an_array_nested_a_thousand_deep_is_400_on_the_cloudevents_route(world: World) -> None:
    a = world.tenant("Alpha")
    for path in ("/v1/events", "/api/v1/events"):
        response = world.client.post(
            path, content=DEEP, headers={**bearer(a.key), "content-type": "application/json"}
        )
        assert response.status_code == 400, response.text
        assert response.json()["type"] == "urn:creditline:problem:malformed-request"
        assert f"deeper than {MAX_DEPTH} levels" in response.json()["detail"]


def test_a_body_at_the_depth_limit_is_read(world: World) -> None:
    a = world.tenant("Alpha")
    nested: Any = "leaf"
    for _ in range(MAX_DEPTH - 2):  # the body and its metadata are two levels
        nested = [nested]
    body = {"amount": "1", "metadata": {"deep": nested}}
    response = world.post(f"/v1/orgs/{a.org}/spend", body, a.key)
    assert response.status_code == 201, response.text
    body = {"amount": "1", "metadata": {"deep": [nested]}}
    deeper = world.post(f"/v1/orgs/{a.org}/spend", body, a.key)
    assert deeper.status_code == 400, deeper.text


def _signature(body: bytes) -> str:
    """Stripe's signature of any bytes (the shipped ``sign`` takes text)."""
    if body.isascii():
        return sign(body, SECRET)
    at = int(time.time())
    mac = hmac.new(SECRET.encode(), f"{at}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={at},v1={mac}"


def _signed(world: World, body: bytes) -> Any:
    return world.client.post(
        "/webhooks/stripe",
        content=body,
        headers={"content-type": "application/json", "Stripe-Signature": _signature(body)},
    )


@pytest.mark.parametrize(
    "body",
    [b"[]", b'"event"', b"null", b"17", DEEP, b"{", b"\xff\xfe"],
    ids=["array", "string", "null", "number", "deep", "broken", "not-utf8"],
)
def test_a_signed_stripe_body_that_is_not_an_event_object_is_400(world: World, body: bytes) -> None:
    response = _signed(world, body)
    assert response.status_code == 400, response.text
    assert response.json()["type"] == "urn:creditline:problem:webhook-rejected"


def test_a_stripe_event_without_an_id_is_refused_every_time(world: World) -> None:
    before = world.cl.dashboard.payment_events()
    for body in (
        {"type": "checkout.session.completed", "data": {"object": {"id": "cs_1"}}},
        {"id": None, "type": "checkout.session.completed"},
        {"id": "", "type": "checkout.session.completed"},
        {"id": 42, "type": "checkout.session.completed"},
        {"id": "evt_1", "data": {"object": {"id": "cs_1"}}},  # no type
    ):
        for _ in range(2):
            response = _signed(world, json.dumps(body).encode())
            assert response.status_code == 400, (body, response.text)
            assert "duplicate" not in response.text
    assert world.cl.dashboard.payment_events() == before  # nothing recorded, no "None"
    # A well-formed event still goes through (ignored: a type nobody acts on).
    fine = _signed(world, json.dumps({"id": "evt_ok", "type": "customer.created"}).encode())
    assert fine.status_code == 200, fine.text
