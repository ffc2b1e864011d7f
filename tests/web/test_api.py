"""Portal links and test webhooks over the HTTP API and the Python client: a platform's
backend (an organization's key, or an operator's) asks for a link and redirects its
user to the absolute URL it gets; tenancy and roles as everywhere in the API."""

from __future__ import annotations

import httpx
import pytest

from creditline.client import Client
from creditline.domain.errors import (
    InvalidSetting,
    OrganizationNotFound,
    WebhookEndpointNotFound,
)
from tests.billing import served
from tests.web.conftest import Site


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_an_org_key_or_an_operator_gets_an_absolute_portal_link(site: Site) -> None:
    cl, a, b = site.cl, site.a, site.b
    key = cl.create_api_key("org", a.org, name="backend").secret
    read_key = cl.create_api_key("org_read", a.org, name="dashboard").secret
    api = site.browser()
    url = f"/v1/orgs/{a.org}/portal_sessions"
    made = api.post(url, json={"read_only": True, "ttl_seconds": 60}, headers=_bearer(key))
    assert made.status_code == 201, made.text
    body = made.json()
    assert body["url"] == f"http://testserver{body['path']}"
    assert body["path"] == f"/portal/session/{body['token']}"
    assert (body["org_id"], body["member_id"], body["read_only"]) == (a.org, None, True)
    assert body["expires_at"].startswith("2026-02-03T09:31:00")
    user = site.browser()
    assert user.get(body["path"]).headers["location"] == "/portal/"
    assert 'data-testid="read-only-badge"' in user.get("/portal/").text
    member = {"member_id": a.ids["member_id"]}
    assert api.post(url, json=member, headers=_bearer(site.operator)).status_code == 201
    assert api.post(url, json={}, headers=_bearer(read_key)).status_code == 403
    assert (
        api.post(f"/v1/orgs/{b.org}/portal_sessions", json={}, headers=_bearer(key)).status_code
        == 404
    )
    stranger = {"member_id": b.ids["member_id"]}
    refused = api.post(url, json=stranger, headers=_bearer(key))
    assert refused.json()["type"] == "urn:creditline:problem:member-not-found"
    for wrong in (
        {"ttl_seconds": 29},
        {"ttl_seconds": 3601},
        {"org_id": b.org},
        {"read_only": "yes"},
    ):
        assert api.post(url, json=wrong, headers=_bearer(key)).status_code == 422, wrong
    assert api.post(url, json={}).status_code == 401


def test_a_test_webhook_is_queued_through_the_api_for_the_orgs_own_endpoint(site: Site) -> None:
    cl, a, b = site.cl, site.a, site.b
    key = cl.create_api_key("org", a.org, name="backend").secret
    api = site.browser()
    queued = api.post(f"/v1/orgs/{a.org}/webhook-endpoints/{a.ids['endpoint_id']}/test",
                      headers=_bearer(key))  # fmt: skip
    assert queued.status_code == 201, queued.text
    assert queued.json()["event_type"] == "webhook.test"
    assert queued.json()["status"] == "pending"
    theirs = api.post(f"/v1/orgs/{a.org}/webhook-endpoints/{b.ids['endpoint_id']}/test",
                      headers=_bearer(key))  # fmt: skip
    assert theirs.status_code == 404
    assert [d.event_type for d in cl.webhook_deliveries(b.org)] == ["credits.below_threshold"]


def test_the_client_makes_portal_links_and_test_webhooks_as_the_library_does(site: Site) -> None:
    cl, a, b = site.cl, site.a, site.b
    with served(cl) as base, Client(base, site.operator) as client:
        link = client.create_portal_session(a.org, member_id=a.ids["member_id"], ttl_seconds=120)
        assert link.url == f"{base}/portal/session/{link.token}"
        assert (link.org_id, link.member_id, link.read_only) == (a.org, a.ids["member_id"], False)
        assert cl.open_portal_link(link.token) == cl.open_portal_link(link.token)
        assert cl.open_portal_link(link.token).expires_at == link.expires_at
        opened = httpx.get(link.url, follow_redirects=False)
        assert opened.status_code == 303 and opened.headers["location"] == "/portal/"
        with pytest.raises(InvalidSetting):
            client.create_portal_session(a.org, ttl_seconds=10)
        with pytest.raises(OrganizationNotFound):
            client.create_portal_session("org_aaaaaaaaaaaaaaaaaaaaaaaa")
        delivery = client.queue_test_webhook(a.org, a.ids["endpoint_id"])
        assert delivery == cl.webhook_delivery(delivery.id, a.org)
        with pytest.raises(WebhookEndpointNotFound):
            client.queue_test_webhook(a.org, b.ids["endpoint_id"])
