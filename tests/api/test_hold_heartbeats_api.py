"""Extending (heartbeat) and increasing a hold through the HTTP API."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from creditline import credits
from tests.api.conftest import World


def _hold(world: World, org: str, key: str, ttl: int = 3600, amount: str = "10") -> str:
    made = world.post(
        f"/v1/orgs/{org}/reservations", {"amount": amount, "ttl_seconds": ttl}, key=key
    )
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_an_org_key_heartbeats_and_grows_its_own_hold(world: World) -> None:
    a = world.tenant("Alpha")
    rid = _hold(world, a.org, a.key)
    base = f"/v1/orgs/{a.org}/reservations/{rid}"
    world.clock.advance(timedelta(minutes=30))
    beat = world.post(f"{base}/extend", {"ttl_seconds": 7200}, key=a.key)
    assert beat.status_code == 200, beat.text
    expires = world.clock.now() + timedelta(hours=2)
    assert beat.json()["status"] == "open"
    assert world.cl.reservation(a.org, rid).expires_at == expires
    shorter = world.post(f"{base}/extend", {"ttl_seconds": 60}, key=a.key)
    assert shorter.status_code == 200 and world.cl.reservation(a.org, rid).expires_at == expires
    grown = world.post(f"{base}/increase", {"amount": "2.5"}, key=a.key)
    assert grown.status_code == 200, grown.text
    assert (grown.json()["amount"], grown.json()["held_micros"]) == ("12.5", 12_500_000)
    micros = world.post(f"{base}/increase", {"amount_micros": 500_000}, key=a.key)
    assert micros.status_code == 200 and micros.json()["amount"] == "13"
    step = world.post(f"{base}/commit", {"amount": "4", "final": False}, key=a.key)
    assert step.status_code == 200 and step.json()["reservation"]["held"] == "9"
    assert world.cl.verify().ok


@pytest.mark.parametrize(
    ("route", "body"),
    [
        ("extend", {}),
        ("extend", {"ttl_seconds": 0}),
        ("extend", {"ttl_seconds": 31 * 24 * 3600}),
        ("extend", {"ttl_seconds": "soon"}),
        ("extend", {"ttl_seconds": 60, "extra": 1}),
        ("increase", {}),
        ("increase", {"amount": "0"}),
        ("increase", {"amount": "-1"}),
        ("increase", {"amount": "1", "amount_micros": 1_000_000}),
        ("increase", {"amount_micros": 1.5}),
        ("increase", {"amount": "0.0000001"}),
    ],
)
def test_bad_bodies_are_422_and_change_nothing(world: World, route: str, body: Any) -> None:
    a = world.tenant("Alpha")
    rid = _hold(world, a.org, a.key)
    before = world.cl.reservation(a.org, rid)
    answer = world.post(f"/v1/orgs/{a.org}/reservations/{rid}/{route}", body, key=a.key)
    assert answer.status_code == 422, answer.text
    assert world.cl.reservation(a.org, rid) == before


def test_settled_holds_are_409_missing_ones_404_short_credits_402(world: World) -> None:
    a = world.tenant("Alpha")
    rid = _hold(world, a.org, a.key)
    base = f"/v1/orgs/{a.org}/reservations"
    assert world.post(f"{base}/{rid}/commit", {"amount": "1"}, key=a.key).status_code == 200
    for route, body in (("extend", {"ttl_seconds": 60}), ("increase", {"amount": "1"})):
        refused = world.post(f"{base}/{rid}/{route}", body, key=a.key)
        assert refused.status_code == 409, refused.text
        assert "committed" in refused.json()["detail"]
        missing = world.post(f"{base}/res_missing/{route}", body, key=a.key)
        assert missing.status_code == 404
    other = _hold(world, a.org, a.key)
    short = world.post(f"{base}/{other}/increase", {"amount": "1000"}, key=a.key)
    assert short.status_code == 402, short.text
    assert world.cl.reservation(a.org, other).held == credits(10)


def test_another_organizations_hold_is_404_and_unchanged(world: World) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    theirs = _hold(world, b.org, b.key)
    before = world.cl.reservation(b.org, theirs)
    for route, body in (("extend", {"ttl_seconds": 600}), ("increase", {"amount": "1"})):
        mine = world.post(f"/v1/orgs/{a.org}/reservations/{theirs}/{route}", body, key=a.key)
        assert mine.status_code == 404, mine.text
        cross = world.post(f"/v1/orgs/{b.org}/reservations/{theirs}/{route}", body, key=a.key)
        assert cross.status_code == 404, cross.text
        read = world.post(f"/v1/orgs/{a.org}/reservations/{theirs}/{route}", body, key=a.read_key)
        assert read.status_code in (403, 404)
    assert world.cl.reservation(b.org, theirs) == before


def test_past_the_plans_longest_hold_is_422_naming_the_limit(world: World) -> None:
    a = world.tenant("Alpha")
    made = world.post("/v1/plans", {"name": "short-runs", "max_hold_hours": 2})
    assert made.status_code == 201 and made.json()["document"]["max_hold_hours"] == 2
    bad = world.post("/v1/plans", {"name": "never", "max_hold_hours": 0})
    assert bad.status_code == 422 and "max_hold_hours" in bad.json()["detail"]
    world.cl.assign_plan(a.org, "short-runs")
    rid = _hold(world, a.org, a.key)
    world.clock.advance(timedelta(minutes=30))
    refused = world.post(
        f"/v1/orgs/{a.org}/reservations/{rid}/extend", {"ttl_seconds": 7200}, key=a.key
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["type"].endswith("invalid-setting")
    assert "max_hold_hours 2" in refused.json()["detail"]


def test_the_routes_are_documented(world: World) -> None:
    paths = world.client.get("/openapi.json").json()["paths"]
    extend = paths["/v1/orgs/{org_id}/reservations/{reservation_id}/extend"]["post"]
    increase = paths["/v1/orgs/{org_id}/reservations/{reservation_id}/increase"]["post"]
    assert "max_hold_hours" in extend["description"]
    assert "402" in increase["summary"]


def test_an_increase_retried_with_its_idempotency_key_draws_once(world: World) -> None:
    a = world.tenant("Alpha")
    rid = _hold(world, a.org, a.key)
    path = f"/v1/orgs/{a.org}/reservations/{rid}/increase"
    headers = {"Idempotency-Key": "grow-1"}
    first = world.post(path, {"amount": "3"}, key=a.key, **headers)
    again = world.post(path, {"amount": "3"}, key=a.key, **headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.headers.get("idempotent-replayed") == "true"
    assert world.cl.reservation(a.org, rid).held == credits(13)
    other = world.post(path, {"amount": "4"}, key=a.key, **headers)
    assert other.status_code == 409
