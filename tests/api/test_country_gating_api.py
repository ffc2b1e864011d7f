"""Country gating and contact sales over HTTP (D8): the purchase route answers a gated
organization with a 403 problem naming the contact-sales route, and never reaches the
(fake) Stripe; the contact-sales routes record and list requests; an organization's
country is set at creation and by PATCH (operator only)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline import Creditline, ManualClock
from creditline.adapters.payments import FakeStripe
from creditline.entrypoints.api import PROBLEM_JSON, create_app
from tests.api.conftest import QUIET, bearer
from tests.billing import EXAMPLES, provider
from tests.databases import migrated


@dataclass
class Gated:
    cl: Creditline
    client: TestClient
    fake: FakeStripe
    operator: str

    def call(self, method: str, path: str, body: Any = None, key: str | None = None) -> Any:
        return self.client.request(method, path, json=body, headers=bearer(key or self.operator))


@pytest.fixture
def gated(db_url: str, clock: ManualClock) -> Iterator[Gated]:
    fake = FakeStripe()
    cl = Creditline.open(
        migrated(db_url), clock=clock, payments=provider(fake), self_serve_countries="US,CA"
    )
    try:
        cl.load_packs((EXAMPLES / "datarobot" / "packs.toml").read_text(encoding="utf-8"))
        operator = cl.create_api_key("operator", name="ops").secret
        with TestClient(create_app(cl, settings=QUIET), raise_server_exceptions=False) as c:
            yield Gated(cl, c, fake, operator)
    finally:
        cl.close()


def test_the_purchase_route_sends_a_gated_organization_to_sales(gated: Gated) -> None:
    made = gated.call("POST", "/v1/orgs", {"name": "Acme GmbH", "country": "DE"})
    assert made.status_code == 201, made.text
    org = made.json()
    assert org["country"] == "DE"
    key = gated.cl.create_api_key("org", org["id"], name="backend").secret
    body = {"pack": "explorer", "currency": "USD"}
    refused = gated.call("POST", f"/v1/orgs/{org['id']}/purchases", body, key)
    assert refused.status_code == 403
    assert refused.headers["content-type"] == PROBLEM_JSON
    problem = refused.json()
    assert problem["type"] == "urn:creditline:problem:self-serve-unavailable"
    assert (problem["org_id"], problem["country"]) == (org["id"], "DE")
    assert problem["contact_sales"] == f"/v1/orgs/{org['id']}/sales-requests"
    assert "contact sales" in problem["detail"]
    assert gated.fake.requests == []
    assert gated.call("GET", f"/v1/orgs/{org['id']}/purchases", key=key).json() == []
    state = gated.call("GET", f"/v1/orgs/{org['id']}/self-serve", key=key).json()
    assert state == {
        "org_id": org["id"], "country": "DE", "available": False, "countries": ["CA", "US"],
        "contact_sales": f"/v1/orgs/{org['id']}/sales-requests",
    }  # fmt: skip
    asked = gated.call(
        "POST",
        problem["contact_sales"],
        {"pack": "explorer", "message": "Invoice us, please.", "email": "cfo@acme.example"},
        key,
    )
    assert asked.status_code == 201, asked.text
    request = asked.json()
    assert request["id"].startswith("csr_")
    assert (request["org_id"], request["country"], request["pack"]) == (org["id"], "DE", "explorer")
    assert (request["message"], request["email"], request["source"]) == (
        "Invoice us, please.", "cfo@acme.example", "api",
    )  # fmt: skip
    assert gated.call("GET", problem["contact_sales"], key=key).json() == [request]
    one = gated.call("GET", f"{problem['contact_sales']}/{request['id']}", key=key)
    assert one.json() == request
    assert gated.call("GET", "/v1/sales-requests").json() == [request]
    assert gated.call("GET", f"/v1/sales-requests/{request['id']}").json() == request
    assert gated.fake.requests == []


def test_an_operator_sets_the_country_and_the_checkout_opens(gated: Gated) -> None:
    org = gated.call("POST", "/v1/orgs", {"name": "Maple"}).json()
    assert org["country"] is None
    key = gated.cl.create_api_key("org", org["id"], name="backend").secret
    body = {"pack": "explorer", "currency": "USD"}
    assert gated.call("POST", f"/v1/orgs/{org['id']}/purchases", body, key).status_code == 403
    # An organization's own key cannot move itself to a listed country.
    own = gated.call("PATCH", f"/v1/orgs/{org['id']}", {"country": "CA"}, key)
    assert own.status_code == 403
    assert own.json()["type"] == "urn:creditline:problem:permission-denied"
    moved = gated.call("PATCH", f"/v1/orgs/{org['id']}", {"country": "CA"})
    assert moved.status_code == 200 and moved.json()["country"] == "CA"
    bought = gated.call("POST", f"/v1/orgs/{org['id']}/purchases", body, key)
    assert bought.status_code == 201, bought.text
    assert bought.json()["checkout_url"]
    assert ("POST", "/v1/checkout/sessions") in gated.fake.requests
    renamed = gated.call("PATCH", f"/v1/orgs/{org['id']}", {"name": "Maple Inc"}).json()
    assert (renamed["name"], renamed["country"]) == ("Maple Inc", "CA")
    cleared = gated.call("PATCH", f"/v1/orgs/{org['id']}", {"country": None}).json()
    assert cleared["country"] is None


@pytest.mark.parametrize(
    ("path", "body"),
    [
        ("/v1/orgs", {"name": "Bad", "country": "UK"}),
        ("/v1/orgs", {"name": "Bad", "country": "de"}),
        ("{org}/sales-requests", {"pack": "explorer", "amount": "5"}),
        ("{org}/sales-requests", {"message": "x" * 4001}),
        ("{org}/sales-requests", {"email": "not an address"}),
        ("{org}/sales-requests", {"amount_micros": 0}),
    ],
)
def test_bad_input_is_a_422_and_changes_nothing(gated: Gated, path: str, body: Any) -> None:
    org = gated.cl.create_org("Acme GmbH", country="DE").id
    answer = gated.call("POST", path.format(org=f"/v1/orgs/{org}"), body)
    assert answer.status_code == 422, answer.text
    assert answer.headers["content-type"] == PROBLEM_JSON
    assert [o.id for o in gated.cl.list_orgs()] == [org]
    assert gated.cl.sales_requests() == []


def test_an_unknown_pack_or_someone_elses_request_is_not_found(gated: Gated) -> None:
    org = gated.cl.create_org("Acme GmbH", country="DE").id
    other = gated.cl.create_org("Other", country="FR").id
    theirs = gated.cl.contact_sales(other, message="hi").id
    key = gated.cl.create_api_key("org", org, name="backend").secret
    missing = gated.call("POST", f"/v1/orgs/{org}/sales-requests", {"pack": "platinum"}, key)
    assert missing.status_code == 404
    hidden = gated.call("GET", f"/v1/orgs/{org}/sales-requests/{theirs}", key=key)
    assert hidden.status_code == 404
    assert hidden.json()["type"] == "urn:creditline:problem:sales-request-not-found"
    assert gated.call("GET", "/v1/sales-requests", key=key).status_code == 403
    assert gated.call("GET", f"/v1/orgs/{other}/sales-requests", key=key).status_code in (403, 404)
