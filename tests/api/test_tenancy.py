"""No organization can see or touch another's anything (promise 4), by every route.

The routes come from the published OpenAPI document, so a route added later is checked
without touching this test. Organization A's keys call every method of every route with
organization B's ids; every route under ``/v1/orgs/{org_id}`` answers 404 (exactly as
for an organization that does not exist), the others answer nothing of B's, and B's
balance, ledger, usage, reservations, purchases and keys are unchanged.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from creditline import credits
from tests.api.conftest import Tenant, World, bearer

# Valid bodies where a route's body would otherwise be refused (422) before its ids are
# looked up; every other route gets {}.
BODIES: dict[tuple[str, str], Any] = {
    ("post", "/v1/orgs/{org_id}/reservations/{reservation_id}/commit"): {"amount": "1"},
    ("post", "/v1/orgs/{org_id}/reservations/{reservation_id}/extend"): {"ttl_seconds": 60},
    ("post", "/v1/orgs/{org_id}/reservations/{reservation_id}/increase"): {"amount": "1"},
    ("post", "/v1/orgs/{org_id}/usage/{event_id}/amend"): {"quantities": {}},
}
PUBLIC = {"/healthz", "/readyz", "/metrics", "/problems", "/problems/{slug}", "/webhooks/stripe"}
# Routes outside /v1/orgs/{org_id} an organization's key may use: the platform's
# catalogue, its own organization, its own events.
SHARED = {
    ("get", "/v1/orgs"),
    ("get", "/v1/rate-cards"),
    ("get", "/v1/rate-cards/{name}"),
    ("get", "/v1/rate-cards/{name}/current"),
    ("get", "/v1/plans"),
    ("get", "/v1/plans/{name}"),
    ("get", "/v1/packs"),
    ("post", "/v1/events"),
}


def _operations(world: World) -> list[tuple[str, str]]:
    schema = world.client.get("/openapi.json").json()
    return [
        (method, path)
        for path, operations in schema["paths"].items()
        for method in operations
        if path not in PUBLIC
    ]


def _fill(path: str, org: str, ids: dict[str, str]) -> str:
    values = {"org_id": org, "name": "default", **ids}
    return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], path)


def _with_alerts(world: World, tenant: Tenant) -> Tenant:
    """The tenant with an alert rule, a webhook endpoint and a delivery of its own (the
    rule fired; the endpoint's URL is never sent to in these tests), and a budget."""
    cl, org = world.cl, tenant.org
    tenant.ids["endpoint_id"] = cl.add_webhook("http://127.0.0.1:9/hooks", org_id=org).id
    tenant.ids["rule_id"] = cl.add_alert(org, "remaining_below", threshold=credits(10_000)).id
    cl.evaluate_alerts()
    (delivery,) = cl.webhook_deliveries(org)
    tenant.ids["delivery_id"] = delivery.id
    project = tenant.ids["project_id"]
    tenant.ids["budget_id"] = cl.create_budget(
        org, project_id=project, amount=credits(50)
    ).budget.id
    return tenant


def _snapshot(world: World, b: Tenant) -> dict[str, Any]:
    cl, org = world.cl, b.org
    return {
        "balance": cl.balance(org),
        "history": cl.history(org, limit=1000),
        "grants": cl.grants(org),
        "usage": cl.usage_events(org),
        "reservations": cl.reservations(org),
        "purchases": cl.purchases(org),
        "keys": [(k.id, k.revoked_at) for k in cl.api_keys(org)],
        "projects": cl.projects(org),
        "members": cl.members(org),
        "sales_requests": cl.sales_requests(org),
        "quotes": cl.binding_quotes(org),
        "org": cl.get_org(org),
        "metering": cl.metering(org),
        "alert rules": cl.alert_rules(org, include_disabled=True),
        "webhook endpoints": cl.webhook_endpoints(org, include_disabled=True),
        "webhook deliveries": [cl.webhook_delivery(d.id) for d in cl.webhook_deliveries(org)],
        "budgets": cl.budgets(org),
    }


def _call(world: World, method: str, url: str, key: str, body: Any) -> Any:
    if method in ("get", "delete"):
        return world.client.request(method.upper(), url, headers=bearer(key))
    return world.client.request(method.upper(), url, json=body, headers=bearer(key))


@pytest.mark.parametrize("role", ["org", "org_read"])
def test_a_key_of_org_a_reaches_nothing_of_org_b_by_any_route(world: World, role: str) -> None:
    a, b = world.tenant("Alpha"), _with_alerts(world, world.tenant("Beta"))
    key = a.key if role == "org" else a.read_key
    before = _snapshot(world, b)
    secrets = [b.org, *(v for k, v in b.ids.items() if k not in ("event_id", "invoice_id"))]
    operations = _operations(world)
    assert len(operations) > 50
    checked = 0
    for method, path in operations:
        if "{org_id}" in path:
            # B's organization in the path: 404, whatever else the request says.
            url = _fill(path, b.org, b.ids)
            response = _call(world, method, url, key, BODIES.get((method, path), {}))
            assert response.status_code == 404, (method, url, response.text)
            assert response.json()["type"] == "urn:creditline:problem:organization-not-found"
            # A's own organization with B's things in it: not found (or not allowed).
            if re.search(r"\{(?!org_id)\w+\}", path):
                url = _fill(path, a.org, b.ids)
                response = _call(world, method, url, key, BODIES.get((method, path), {}))
                assert response.status_code in (403, 404), (method, url, response.text)
        else:
            url = _fill(path, b.org, b.ids)
            response = _call(world, method, url, key, {})
            if (method, path) not in SHARED:
                assert response.status_code == 403, (method, url, response.text)
        for secret in secrets:  # nothing of B's but what the request itself named
            assert secret in url or secret not in response.text, (method, url, secret)
        checked += 1
    assert checked == len(operations)
    assert _snapshot(world, b) == before


def test_cloudevents_of_another_organization_are_rejected_as_not_found(world: World) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    before = _snapshot(world, b)
    event = {
        "specversion": "1.0", "id": "sneaky", "source": "/x", "type": "ping",
        "subject": b.org, "time": "2026-01-01T00:00:00Z",
    }  # fmt: skip
    response = world.post("/v1/events", [event], key=a.key)
    assert response.status_code == 200
    (result,) = response.json()["results"]
    assert result["status"] == "rejected"
    assert result["problem"] == "urn:creditline:problem:organization-not-found"
    assert _snapshot(world, b) == before


def test_an_unknown_organization_and_another_one_answer_alike(world: World) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    theirs = world.get(f"/v1/orgs/{b.org}/balance", a.key).json()
    nobody = world.get("/v1/orgs/org_nobody/balance", a.key).json()
    for body in (theirs, nobody):
        body.pop("instance")
        body["detail"] = body["detail"].replace(b.org, "X").replace("org_nobody", "X")
    assert theirs == nobody


def test_an_organization_key_lists_only_its_own_organization(world: World) -> None:
    a, b = world.tenant("Alpha"), world.tenant("Beta")
    listed = world.get("/v1/orgs", a.key).json()
    assert [o["id"] for o in listed["items"]] == [a.org]
    assert {o["id"] for o in world.get("/v1/orgs").json()["items"]} == {a.org, b.org}
