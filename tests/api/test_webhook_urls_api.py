"""Webhook URLs through the HTTP API, on SQLite and PostgreSQL: every hostile URL of the
table is answered 422 ``webhook-url-refused`` (an organization's key and the
operator's), nothing is stored; an organization's delivery log holds only its own
endpoints' deliveries, the operator's holds all."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline import Creditline, ManualClock, credits
from creditline.entrypoints.api import create_app
from tests.alerting import RecordingSender
from tests.api.conftest import QUIET, bearer
from tests.webhook_urls import ALLOWED, HOSTILE, resolver

PROBLEM = "urn:creditline:problem:"


@pytest.fixture
def guarded(db_url: str, clock: ManualClock) -> Iterator[tuple[Creditline, TestClient]]:
    """The API of an engine that allows no network beyond public addresses."""
    cl = Creditline.open(
        db_url, clock=clock, webhook_allow_networks=(), webhook_resolver=resolver(),
        webhook_sender=RecordingSender(),
    )  # fmt: skip
    try:
        with TestClient(create_app(cl, settings=QUIET), raise_server_exceptions=False) as client:
            yield cl, client
    finally:
        cl.close()


def test_every_hostile_url_is_answered_422_webhook_url_refused(
    guarded: tuple[Creditline, TestClient],
) -> None:
    cl, client = guarded
    operator = bearer(cl.create_api_key("operator", name="ops").secret)
    org = cl.create_org("Acme").id
    tenant = bearer(cl.create_api_key("org", org, name="acme").secret)
    for url, words in HOSTILE:
        for path, key in ((f"/v1/orgs/{org}/webhook-endpoints", tenant),
                          ("/v1/webhook-endpoints", operator)):  # fmt: skip
            answer = client.post(path, json={"url": url}, headers=key)
            assert answer.status_code == 422, (url, answer.text)
            body: dict[str, Any] = answer.json()
            if len(url) > 2000:  # the schema's limit answers first
                assert body["type"] == PROBLEM + "invalid-request"
                continue
            assert body["type"] == PROBLEM + "webhook-url-refused", (url, body)
            assert body["title"] == "Webhook URL refused"
            assert words.lower() in body["detail"].lower(), (url, body)
            assert body["errors"] and all(e["field"] in ("url", "host") for e in body["errors"])
            assert len(body["detail"]) < 1000
    assert cl.webhook_endpoints(include_disabled=True) == []
    for url in ALLOWED:
        made = client.post(f"/v1/orgs/{org}/webhook-endpoints", json={"url": url}, headers=tenant)
        assert made.status_code == 201, (url, made.text)
    described = client.get("/problems/webhook-url-refused")
    assert described.status_code == 200, described.text


def test_an_organizations_log_omits_the_operators_endpoints(
    guarded: tuple[Creditline, TestClient],
) -> None:
    cl, client = guarded
    operator = bearer(cl.create_api_key("operator", name="ops").secret)
    org = cl.create_org("Acme").id
    tenant = bearer(cl.create_api_key("org", org, name="acme").secret)
    own = client.post(
        f"/v1/orgs/{org}/webhook-endpoints",
        json={"url": "https://hooks.example.com/acme"},
        headers=tenant,
    ).json()
    ops = client.post(
        "/v1/webhook-endpoints", json={"url": "https://hooks.example.com/ops"}, headers=operator
    ).json()
    cl.grant(org, credits(1))
    cl.add_alert(org, "depleted")
    cl.spend(org, credits(1))
    assert cl.tick().ok
    mine = client.get(f"/v1/orgs/{org}/webhook-deliveries", headers=tenant).json()
    assert [d["endpoint_id"] for d in mine] == [own["id"]]
    everything = client.get("/v1/webhook-deliveries", headers=operator).json()
    assert sorted(d["endpoint_id"] for d in everything) == sorted([own["id"], ops["id"]])
    (theirs,) = [d for d in everything if d["endpoint_id"] == ops["id"]]
    hidden = client.get(f"/v1/orgs/{org}/webhook-deliveries/{theirs['id']}", headers=tenant)
    assert hidden.status_code == 404
    assert hidden.json()["type"] == PROBLEM + "webhook-delivery-not-found"
