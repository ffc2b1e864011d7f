"""The web dashboard's tests' world: an engine on each database selling credits through
the in-memory Stripe, its HTTP service (API and dashboard) in FastAPI's TestClient, an
operator key, and two organizations, A and B, each holding one thing of every kind a
portal URL can name (a usage event with components, a usage batch, a paid purchase with
its receipt, a flex invoice, an alert rule, a webhook endpoint and a delivery).

Browsers are TestClients: each has its own cookie jar, so each portal or console
session is its own client.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from creditline import Creditline, ManualClock, credits
from creditline.adapters.payments import FakeStripe, sign
from creditline.domain.usage import UsageEvent, UsageStep
from creditline.entrypoints.api import ApiSettings, create_app
from tests.billing import EXAMPLES, SECRET, WEBHOOK, provider
from tests.databases import migrated
from tests.metering import card_doc

QUIET = ApiSettings(rate_per_second=0, log_requests=False)
JANUARY = datetime(2026, 1, 10, 9, 30, tzinfo=UTC)
FEBRUARY = datetime(2026, 2, 3, 9, 30, tzinfo=UTC)
FLEX_PLAN = {
    "name": "flexy",
    "depletion": "flex",
    "flex_price": {"currency": "EUR", "minor_per_credit": 400},
}
_CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class Tenant:
    """An organization and the ids of its things, by the name of their URL parameter."""

    name: str
    org: str
    ids: dict[str, str] = field(default_factory=dict)


@dataclass
class Site:
    cl: Creditline
    clock: ManualClock
    fake: FakeStripe
    app: Any
    operator: str
    tenants: dict[str, Tenant] = field(default_factory=dict)

    @property
    def a(self) -> Tenant:
        return self.tenants["A"]

    @property
    def b(self) -> Tenant:
        return self.tenants["B"]

    def browser(self) -> TestClient:
        """A browser of its own: an empty cookie jar."""
        return TestClient(self.app, follow_redirects=False)

    def portal(
        self, org: str, *, member_id: str | None = None, read_only: bool = False
    ) -> TestClient:
        """A browser signed in to ``org``'s portal through a portal link."""
        browser = self.browser()
        link = self.cl.create_portal_session(org, member_id=member_id, read_only=read_only)
        opened = browser.get(link.url)
        assert opened.status_code == 303, opened.text
        assert opened.headers["location"] == "/portal/"
        return browser

    def console(self) -> TestClient:
        """A browser signed in to the operator console."""
        browser = self.browser()
        signed_in = browser.post("/console/login", data={"api_key": self.operator})
        assert signed_in.status_code == 303, signed_in.text
        return browser

    def deliver(self, body: bytes) -> None:
        """Stripe delivers a webhook to the service."""
        response = self.browser().post(
            WEBHOOK,
            content=body,
            headers={"Stripe-Signature": sign(body, SECRET), "Content-Type": "application/json"},
        )
        assert response.status_code == 200, response.text

    def pay(self, session_id: str) -> None:
        """The buyer pays the checkout; Stripe says so."""
        session = self.fake.pay(session_id)
        self.deliver(self.fake.event("checkout.session.completed", session))

    def tenant(self, name: str) -> Tenant:
        """An organization (in January) with one of everything a portal URL can name."""
        cl = self.cl
        org = cl.create_org(name, external_ref=f"ext-{name.lower()}")
        cl.put_plan(FLEX_PLAN)
        cl.assign_plan(org.id, "flexy")
        tenant = Tenant(name, org.id)
        ids = tenant.ids
        ids["project_id"] = cl.create_project(org.id, f"{name} bot").id
        ids["member_id"] = cl.add_member(org.id, f"{name} Ada", f"ada@{name.lower()}.example").id
        # No credits yet: this ping is flex, invoiced in February.
        assert cl.record(org.id, f"flex-{name.lower()}", "ping").accepted
        ids["grant_id"] = cl.grant(org.id, credits(100), "prepaid").id
        pipeline = [UsageStep("ping"), UsageStep("translate", {"characters": 200_000})]
        ids["event_id"] = f"pipe-{name.lower()}"
        result = cl.record(
            org.id,
            ids["event_id"],
            "pipeline",
            steps=pipeline,
            project_id=ids["project_id"],
            member_id=ids["member_id"],
        )
        assert result.accepted, result.reason
        now = self.clock.now()
        batch = [
            UsageEvent(
                f"batch-{name.lower()}-{i}", org.id, "ping", now, project_id=ids["project_id"]
            )
            for i in range(3)
        ]
        cl.record_usage(batch)
        stored = cl.usage_event(org.id, batch[0].event_id)
        assert stored.batch_id is not None
        ids["batch_id"] = stored.batch_id
        purchase = cl.create_purchase(org.id, "10-credits", currency="EUR")
        assert purchase.session_id is not None
        self.pay(purchase.session_id)
        ids["purchase_id"] = purchase.id
        ids["endpoint_id"] = cl.add_webhook("http://127.0.0.1:9/hooks", org_id=org.id).id
        ids["rule_id"] = cl.add_alert(org.id, "remaining_below", threshold=credits(10_000)).id
        cl.evaluate_alerts()
        (delivery,) = cl.webhook_deliveries(org.id)
        ids["delivery_id"] = delivery.id
        self.tenants[name] = tenant
        return tenant


def csrf(page: str) -> str:
    """The CSRF token of a page's forms."""
    found = _CSRF.search(page)
    assert found is not None, "no form with a CSRF token on this page"
    return found.group(1)


def open_site(db_url: str, clock: ManualClock) -> Iterator[Site]:
    fake = FakeStripe()
    clock.set(JANUARY)
    cl = Creditline.open(migrated(db_url), clock=clock, payments=provider(fake))
    try:
        cl.load_rate_card(card_doc())
        cl.load_packs((EXAMPLES / "otai" / "packs.toml").read_text(encoding="utf-8"))
        operator = cl.create_api_key("operator", name="ops").secret
        site = Site(cl, clock, fake, create_app(cl, settings=QUIET), operator)
        yield site
    finally:
        cl.close()


@pytest.fixture
def site(db_url: str, clock: ManualClock) -> Iterator[Site]:
    """The world with organizations A and B, each with one of everything, and each with
    a flex invoice for January (the clock is then in February)."""
    for opened in open_site(db_url, clock):
        opened.tenant("A")
        opened.tenant("B")
        clock.set(FEBRUARY)
        issued = opened.cl.invoice_flex("2026-01").issued
        for tenant in opened.tenants.values():
            (invoice,) = [i for i in issued if i.org_id == tenant.org]
            tenant.ids["invoice_id"] = invoice.id
        yield opened
