"""The express lane (:mod:`creditline.entrypoints.api.express`): the hot write routes
are served without FastAPI's per-request work, and answer exactly as FastAPI's routes
do, good requests and bad ones alike."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline.entrypoints.api import create_app
from creditline.entrypoints.api.app import EXPRESS
from creditline.entrypoints.api.express import _Express
from tests.api.conftest import QUIET, Tenant, World, bearer

Answer = tuple[int, str | None, tuple[str, ...]]


def _without_lane(world: World) -> TestClient:
    """A second app over the same engine, its express routes taken out."""
    app = create_app(world.cl, settings=QUIET)
    app.router.routes[:] = [
        r for r in app.router.routes if not isinstance(getattr(r, "app", None), _Express)
    ]
    return TestClient(app, raise_server_exceptions=False)


@pytest.fixture
def slow_client(world: World) -> Iterator[TestClient]:
    with _without_lane(world) as client:
        yield client


def _answer(response: Any) -> Answer:
    body = response.json()
    kind = body.get("type") if isinstance(body, dict) else None
    keys = tuple(sorted(body)) if isinstance(body, dict) else ()
    return response.status_code, kind, keys


def _story(client: TestClient, t: Tenant, other: Tenant) -> list[Answer]:
    """Every kind of answer the express routes give, asked of ``client`` by ``t``."""
    org = f"/v1/orgs/{t.org}"
    writer = bearer(t.key)
    answers: list[Answer] = []

    def post(path: str, body: Any = None, key: dict[str, str] = writer, **more: Any) -> Any:
        response = client.post(path, json=body, headers={**key, **more.pop("headers", {})}, **more)
        answers.append(_answer(response))
        return response

    post(f"{org}/spend", {"amount": "1"}, headers={"Idempotency-Key": "s-1"})
    post(f"{org}/spend", {"amount": "1"}, headers={"Idempotency-Key": "s-1"})  # a replay
    post(f"{org}/spend", {"amount": "2"}, headers={"Idempotency-Key": "s-1"})  # reused: 409
    post(f"{org}/spend", {"amount_micros": 1})
    post(f"{org}/spend", {"amount": "100000"})  # insufficient credits
    post(f"{org}/spend", {"amount": "1"}, key=bearer(t.read_key))  # may not write
    post(f"/v1/orgs/{other.org}/spend", {"amount": "1"})  # another's: not found
    post(f"/v1/orgs/{'o' * 41}/spend", {"amount": "1"})  # longer than an id
    post(f"{org}/spend", {"amount": "one"})
    post(f"{org}/spend", {"amount": "1", "colour": "red"})
    post(f"{org}/spend", {"amount": "1", "amount_micros": 1000000})
    post(f"{org}/spend", {"amount": "1"}, params={"colour": "red"})
    post(f"{org}/spend", content=b'{"amount": "1",}', headers={"content-type": "application/json"})
    post(f"{org}/spend", content=b'{"amount": "1"}', headers={"content-type": "text/plain"})
    post(f"{org}/spend", content=b"", headers={"content-type": "application/json"})
    post(f"{org}/spend", key={})  # no key at all
    post(f"{org}/usage", {"event_id": f"e-{t.org}", "operation": "ping"})
    post(f"{org}/usage", {"event_id": f"e-{t.org}", "operation": "ping"})  # a duplicate
    post(f"{org}/usage", {"event_id": f"u-{t.org}", "operation": "no-such-operation"})
    post(f"{org}/usage", {"event_id": "a/b", "operation": "ping"})
    batch = [{"event_id": f"b{i}-{t.org}", "operation": "ping"} for i in range(3)]
    post(f"{org}/usage/batch", {"events": batch})
    post(
        f"{org}/usage/batch", {"events": [{"event_id": "x", "operation": "ping", "colour": "red"}]}
    )
    post(f"{org}/usage/batch", content=b"[{", headers={"content-type": "application/json"})
    held = post(f"{org}/reservations", {"amount": "3", "ttl_seconds": 60}).json()
    post(f"{org}/reservations", {"amount": "3", "ttl_seconds": 0})
    post(f"{org}/reservations", {"amount": "100000"})
    post(f"{org}/reservations/{held['id']}/commit", {"amount": "1", "final": False})
    post(f"{org}/reservations/{held['id']}/commit", {"amount": "1", "final": "no"})
    post(f"{org}/reservations/{held['id']}/release")
    post(f"{org}/reservations/{held['id']}/release")  # settled already
    post(f"{org}/reservations/res_missing/commit", {"amount": "1"})
    post(f"{org}/reservations/{t.ids['reservation_id']}/release", key=bearer(t.read_key))
    return answers


def test_express_routes_answer_as_fastapis_routes_do(world: World, slow_client: TestClient) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")

    express = _story(world.client, a, b)
    slow = _story(slow_client, b, a)

    assert express == slow
    statuses = {status for status, _, _ in express}
    assert statuses >= {200, 201, 400, 401, 402, 403, 404, 409, 422}


def test_a_well_formed_request_never_reaches_fastapis_route(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[str] = []

    async def refuse(self: _Express, scope: Any, receive: Callable[..., Any], send: Any) -> None:
        taken.append(scope["path"])
        raise AssertionError(f"{scope['path']} left the express lane")

    monkeypatch.setattr(_Express, "_slow", refuse)
    t = world.tenant("Alpha")
    org = f"/v1/orgs/{t.org}"

    assert world.post(f"{org}/spend", {"amount": "1"}, t.key).status_code == 201
    assert world.post(f"{org}/spend", {"amount": "1000"}, t.key).status_code == 402
    assert (
        world.post(f"{org}/usage", {"event_id": "e-1", "operation": "ping"}, t.key).status_code
        == 201
    )
    batch = [{"event_id": "e-2", "operation": "ping"}, {"event_id": "e-3", "operation": "ping"}]
    assert world.post(f"{org}/usage/batch", {"events": batch}, t.key).status_code == 200
    held = world.post(f"{org}/reservations", {"amount": "3"}, t.key).json()
    commit = world.post(f"{org}/reservations/{held['id']}/commit", {"amount": "1"}, t.key)
    assert commit.status_code == 200
    assert (
        world.post(f"{org}/reservations/{t.ids['reservation_id']}/release", None, t.key).status_code
        == 200
    )
    assert taken == []
    assert {path for _, path in EXPRESS} <= {
        r.path
        for r in world.client.app.router.routes
        if isinstance(getattr(r, "app", None), _Express)  # type: ignore[attr-defined]
    }
