"""The API tests' world: an engine on each database, its HTTP API in a TestClient, an
operator key and two organizations, A and B, each with its own keys and things (a
project, a member, grants, a usage event, a reservation, a purchase)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline import Creditline, ManualClock, credits
from creditline.adapters.payments import FakeStripe
from creditline.entrypoints.api import ApiSettings, create_app
from tests.billing import EXAMPLES, provider
from tests.databases import migrated
from tests.metering import card_doc

QUIET = ApiSettings(rate_per_second=0, log_requests=False)


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


@dataclass
class Tenant:
    """One organization and what it holds: ids of each kind, and its keys' texts."""

    org: str
    key: str
    read_key: str
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class World:
    cl: Creditline
    clock: ManualClock
    client: TestClient
    operator: str
    fake: FakeStripe

    def tenant(self, name: str) -> Tenant:
        cl = self.cl
        org = cl.create_org(name, external_ref=name.lower()).id
        key = cl.create_api_key("org", org, name=f"{name} backend").secret
        read_key = cl.create_api_key("org_read", org, name=f"{name} dashboard").secret
        tenant = Tenant(org, key, read_key)
        ids = tenant.ids
        ids["project_id"] = cl.create_project(org, "bot").id
        ids["member_id"] = cl.add_member(org, "Ada", f"ada@{name.lower()}.example").id
        ids["grant_id"] = cl.grant(org, credits(100), "prepaid").id
        ids["event_id"] = f"evt-{name.lower()}"
        cl.record(org, ids["event_id"], "ping", project_id=ids["project_id"])
        ids["reservation_id"] = cl.reserve(org, credits(5)).id
        ids["quote_id"] = cl.issue_quote(org, "ping").id
        ids["purchase_id"] = cl.create_purchase(org, "10-credits", currency="EUR").id
        ids["key_id"] = cl.api_keys(org)[0].id
        ids["invoice_id"] = "inv_missing"
        ids["request_id"] = cl.contact_sales(org, message=f"{name} asks").id
        return tenant

    def get(self, path: str, key: str | None = None, **options: Any) -> Any:
        return self.client.get(path, headers=bearer(key or self.operator), **options)

    def post(self, path: str, body: Any = None, key: str | None = None, **headers: str) -> Any:
        return self.client.post(
            path, json=body, headers={**bearer(key or self.operator), **headers}
        )


def open_world(db_url: str, clock: ManualClock, settings: ApiSettings = QUIET) -> Iterator[World]:
    fake = FakeStripe()
    cl = Creditline.open(migrated(db_url), clock=clock, payments=provider(fake))
    try:
        cl.load_rate_card(card_doc())
        cl.load_packs((EXAMPLES / "otai" / "packs.toml").read_text(encoding="utf-8"))
        operator = cl.create_api_key("operator", name="ops").secret
        with TestClient(create_app(cl, settings=settings), raise_server_exceptions=False) as c:
            yield World(cl, clock, c, operator, fake)
    finally:
        cl.close()


@pytest.fixture
def world(db_url: str, clock: ManualClock) -> Iterator[World]:
    yield from open_world(db_url, clock)
