"""Binding quotes over HTTP: issued (201), read and listed with their state, used once by
a usage event or a reservation's commit (``quote_id``); an expired or used quote is a
409 problem naming the quote, usage other than quoted a 422, an unknown quote a 404."""

from __future__ import annotations

from datetime import timedelta

from creditline import credits
from tests.api.conftest import World, bearer
from tests.metering import card_doc


def _base(world: World) -> tuple[str, str]:
    tenant = world.tenant("Quoted")
    return tenant.org, tenant.key


def test_a_quote_is_issued_read_and_listed(world: World) -> None:
    org, key = _base(world)
    made = world.client.post(
        f"/v1/orgs/{org}/quotes",
        json={"operation": "translate", "quantities": {"characters": 500_000},
              "valid_for_seconds": 600},
        headers=bearer(key),
    )  # fmt: skip
    assert made.status_code == 201, made.text
    body = made.json()
    assert (body["total"], body["total_micros"], body["state"]) == ("5", credits(5), "issued")
    assert body["breakdown"]["components"][0]["label"].startswith("500000 characters")
    assert body["quantities"] == {"characters": 500000}
    one = world.client.get(f"/v1/orgs/{org}/quotes/{body['id']}", headers=bearer(key))
    assert one.status_code == 200 and one.json() == body
    listed = world.client.get(f"/v1/orgs/{org}/quotes", headers=bearer(key)).json()
    assert body["id"] in [q["id"] for q in listed]


def test_the_validity_is_bounded_and_unknown_quotes_are_404(world: World) -> None:
    org, key = _base(world)
    for seconds in (0, 86_401):
        answer = world.client.post(
            f"/v1/orgs/{org}/quotes",
            json={"operation": "ping", "valid_for_seconds": seconds},
            headers=bearer(key),
        )
        assert answer.status_code == 422
    missing = world.client.get(f"/v1/orgs/{org}/quotes/qt_missing", headers=bearer(key))
    assert missing.status_code == 404
    assert missing.json()["type"] == "urn:creditline:problem:quote-not-found"


def test_usage_with_a_quote_is_charged_its_price_once_then_409(world: World) -> None:
    org, key = _base(world)
    quote = world.client.post(
        f"/v1/orgs/{org}/quotes", json={"operation": "ping"}, headers=bearer(key)
    ).json()
    world.cl.load_rate_card(card_doc("v2", world.clock.now() + timedelta(minutes=1), "5"))
    world.clock.advance(timedelta(minutes=1))
    before = world.cl.balance(org).available
    used = world.client.post(
        f"/v1/orgs/{org}/usage",
        json={"event_id": "q-1", "operation": "ping", "quote_id": quote["id"]},
        headers=bearer(key),
    )
    assert used.status_code == 201, used.text
    assert used.json()["cost_micros"] == credits(1)
    replay = world.client.post(
        f"/v1/orgs/{org}/usage",
        json={"event_id": "q-1", "operation": "ping", "quote_id": quote["id"]},
        headers=bearer(key),
    )
    assert replay.status_code == 200 and replay.json()["cost_micros"] == credits(1)
    again = world.client.post(
        f"/v1/orgs/{org}/usage",
        json={"event_id": "q-2", "operation": "ping", "quote_id": quote["id"]},
        headers=bearer(key),
    )
    assert again.status_code == 409, again.text
    problem = again.json()
    assert problem["type"] == "urn:creditline:problem:quote-used"
    assert (problem["quote_id"], problem["used_by"]) == (quote["id"], "usage_event:q-1")
    assert world.cl.balance(org).available == before - credits(1)
    state = world.client.get(f"/v1/orgs/{org}/quotes/{quote['id']}", headers=bearer(key))
    assert state.json()["state"] == "used"


def test_an_expired_quote_is_409_with_its_expiry(world: World) -> None:
    org, key = _base(world)
    quote = world.client.post(
        f"/v1/orgs/{org}/quotes",
        json={"operation": "ping", "valid_for_seconds": 60},
        headers=bearer(key),
    ).json()
    world.clock.advance(timedelta(seconds=60))
    answer = world.client.post(
        f"/v1/orgs/{org}/usage",
        json={"event_id": "q-late", "operation": "ping", "quote_id": quote["id"]},
        headers=bearer(key),
    )
    assert answer.status_code == 409
    problem = answer.json()
    assert problem["type"] == "urn:creditline:problem:quote-expired"
    assert problem["expires_at"].startswith(quote["expires_at"][:19])
    listed = world.client.get(f"/v1/orgs/{org}/quotes", headers=bearer(key)).json()
    assert [q["state"] for q in listed if q["id"] == quote["id"]] == ["expired"]


def test_a_commit_with_a_quote_captures_its_price_and_a_mismatch_is_422(world: World) -> None:
    org, key = _base(world)
    quote = world.client.post(
        f"/v1/orgs/{org}/quotes", json={"operation": "render", "dimensions": {"mode": "pro"}},
        headers=bearer(key),
    ).json()  # fmt: skip
    hold = world.client.post(
        f"/v1/orgs/{org}/reservations",
        json={"amount": "10", "operation": "render"},
        headers=bearer(key),
    ).json()
    wrong = world.client.post(
        f"/v1/orgs/{org}/reservations/{hold['id']}/commit",
        json={"quote_id": quote["id"], "amount": "4"},
        headers=bearer(key),
    )
    assert wrong.status_code == 422
    assert wrong.json()["type"] == "urn:creditline:problem:quote-mismatch"
    done = world.client.post(
        f"/v1/orgs/{org}/reservations/{hold['id']}/commit",
        json={"quote_id": quote["id"]},
        headers=bearer(key),
    )
    assert done.status_code == 200, done.text
    assert done.json()["consumed_micros"] == credits(3)
    nothing = world.client.post(
        f"/v1/orgs/{org}/reservations/{hold['id']}/commit", json={}, headers=bearer(key)
    )
    assert nothing.status_code == 422
