"""Country gating in Debian's Chromium (D8, seed 000), on a live ``creditline serve``
whose self-serve countries come from ``CREDITLINE_SELF_SERVE_COUNTRIES`` (US and CA),
its payments going to a fake Stripe served from this process: a German organization's
buy page shows the contact-sales form instead of the checkout; submitting it records a
request that the operator's console lists and that reaches the operator's webhook
receiver, signed; the fake Stripe sees no request at all. Pages are photographed at
1280 and 375 px (``contact-sales-*``)."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from creditline import Creditline, credits
from creditline.adapters.payments import FakeStripe, FakeStripeServer
from creditline.domain.sales import CONTACT_REQUESTED
from creditline.services.deliveries import DeliveryRun
from tests.alerting import Receiver, free_port, receiver
from tests.billing import EXAMPLES
from tests.browser.conftest import BROWSER, CLI, shoot
from tests.live import server_env, wait_ready

pytestmark = BROWSER

SECRET = "whsec_contact_sales_tests"


@dataclass
class Gated:
    url: str
    db: str
    stripe: FakeStripe
    hooks: Receiver
    operator_key: str
    german: str
    member: str
    american: str

    def engine(self) -> Creditline:
        return Creditline.open(self.db, migrate=False)

    def portal(self, org_id: str, member_id: str | None = None) -> str:
        with self.engine() as cl:
            link = cl.create_portal_session(org_id, member_id=member_id, ttl_seconds=600)
        return self.url + link.url

    def deliver(self) -> DeliveryRun:
        with self.engine() as cl:
            return cl.deliver_webhooks()


@pytest.fixture(scope="module")
def gated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gated]:
    folder = tmp_path_factory.mktemp("gated")
    db = f"sqlite:///{folder / 'gated.db'}"
    fake = FakeStripe()
    with receiver() as hooks, FakeStripeServer(fake) as stripe_api:
        with Creditline.open(db) as cl:
            cl.load_packs((EXAMPLES / "datarobot" / "packs.toml").read_text(encoding="utf-8"))
            german = cl.create_org("Acme GmbH", country="DE").id
            member = cl.add_member(german, "Ada Lovelace", "ada@acme.example").id
            cl.grant(german, credits(12))
            american = cl.create_org("Acme Inc", country="US").id
            endpoint = cl.add_webhook(f"{hooks.url}/sales", event_types=[CONTACT_REQUESTED])
            assert endpoint.secret is not None
            hooks.verify_with("/sales", endpoint.secret)
        made = subprocess.run(
            [*CLI, "--db", db, "key", "create", "--operator", "--name", "sales", "-f", "json"],
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert made.returncode == 0, made.stderr
        log = folder / "server.log"
        env = server_env(
            CREDITLINE_API_RATE_PER_SECOND="0",
            CREDITLINE_STRIPE_API_KEY="sk_test_gated",
            CREDITLINE_STRIPE_WEBHOOK_SECRET=SECRET,
            CREDITLINE_STRIPE_API_BASE=stripe_api.url,
            CREDITLINE_SELF_SERVE_COUNTRIES="US,CA",
        )
        port = free_port()
        with log.open("w") as out:
            process = subprocess.Popen(
                [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
                stdout=out, stderr=out, text=True, env=env,
            )  # fmt: skip
            url = f"http://127.0.0.1:{port}"
            try:
                wait_ready(process, url, log)
                yield Gated(
                    url, db, fake, hooks, json.loads(made.stdout)["key"], german, member,
                    american,
                )  # fmt: skip
            finally:
                process.terminate()
                process.wait(timeout=30)


@pytest.fixture
def browser_page(chromium: Any, errors: Any) -> Iterator[Any]:
    context = chromium.new_context(viewport={"width": 1280, "height": 900})
    context.on("page", errors.watch)
    try:
        yield context.new_page()
    finally:
        context.close()
    assert list(errors) == [], errors


def both_widths(page: Any, name: str) -> list[Path]:
    """Photograph the page at 1280 px and on a phone, 375 px wide, without sideways
    scrolling."""
    shots = [shoot(page, name)]
    page.set_viewport_size({"width": 375, "height": 812})
    wide = page.evaluate("document.documentElement.scrollWidth")
    assert wide <= 375, f"{name} scrolls sideways on a phone: {wide} px"
    shots.append(shoot(page, f"{name}-375"))
    page.set_viewport_size({"width": 1280, "height": 900})
    return shots


def test_a_gated_buyer_contacts_sales_and_the_operator_sees_it(
    browser_page: Any, gated: Gated
) -> None:
    page = browser_page
    page.goto(gated.portal(gated.german, gated.member))
    page.get_by_role("link", name="Buy credits").first.click()
    page.wait_for_url(f"{gated.url}/portal/buy")
    section = page.get_by_test_id("contact-sales")
    assert "not available in your country (DE)" in section.inner_text()
    assert page.get_by_test_id("packs-table").count() == 0  # no checkout offered
    assert page.get_by_test_id("buy-explorer").count() == 0
    both_widths(page, "contact-sales-portal-form")

    page.get_by_test_id("sales-pack").select_option("explorer")
    page.get_by_test_id("sales-message").fill("We would like the Explorer pack, invoiced.")
    page.get_by_test_id("contact-sales-submit").click()
    page.wait_for_url(f"{gated.url}/portal/buy")
    assert "Sent to sales (the explorer pack)" in page.get_by_test_id("flash").inner_text()
    row = page.get_by_test_id("sales-request-row").first
    assert "We would like the Explorer pack, invoiced." in row.inner_text()
    both_widths(page, "contact-sales-portal-sent")

    with gated.engine() as cl:
        (asked,) = cl.sales_requests(gated.german)
    assert (asked.pack, asked.member_id, asked.email, asked.source.value) == (
        "explorer", gated.member, "ada@acme.example", "portal",
    )  # fmt: skip
    assert gated.stripe.requests == []  # the gated organization never reached Stripe

    # The operator's webhook receiver gets the signed event.
    assert gated.deliver().delivered == 1
    (got,) = gated.hooks.at("/sales")
    assert got.verified and got.payload["type"] == CONTACT_REQUESTED
    data = got.payload["data"]
    assert (data["request_id"], data["org_name"], data["country"]) == (
        asked.id, "Acme GmbH", "DE",
    )  # fmt: skip

    # The console lists it.
    page.goto(f"{gated.url}/console/login")
    page.get_by_test_id("api-key").fill(gated.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{gated.url}/console/orgs")
    page.get_by_test_id("nav-sales").click()
    page.wait_for_url(f"{gated.url}/console/sales")
    assert "only in CA, US" in page.get_by_test_id("self-serve-countries").inner_text()
    listed = page.get_by_test_id("sales-request-row")
    assert listed.count() == 1
    text = listed.first.inner_text()
    for shown in ("Acme GmbH", "DE", "Ada Lovelace", "ada@acme.example", "the explorer pack"):
        assert shown in text, shown
    assert "We would like the Explorer pack, invoiced." in text
    both_widths(page, "contact-sales-console")


def test_a_listed_country_still_buys_through_the_checkout(browser_page: Any, gated: Gated) -> None:
    page = browser_page
    page.goto(gated.portal(gated.american))
    page.goto(f"{gated.url}/portal/buy")
    assert page.get_by_test_id("contact-sales").count() == 0
    assert page.get_by_test_id("buy-explorer").is_visible()
    shoot(page, "contact-sales-portal-self-serve")


def test_the_operator_moves_an_organization_to_a_listed_country_in_the_console(
    browser_page: Any, gated: Gated
) -> None:
    page = browser_page
    page.goto(f"{gated.url}/console/login")
    page.get_by_test_id("api-key").fill(gated.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{gated.url}/console/orgs")
    page.goto(f"{gated.url}/console/orgs/{gated.american}")
    assert "US (buys self-serve)" in page.get_by_test_id("org-country").inner_text()
    page.get_by_test_id("country-code").fill("FR")
    page.get_by_test_id("country-submit").click()
    page.wait_for_url(f"{gated.url}/console/orgs/{gated.american}")
    assert "FR (contacts sales)" in page.get_by_test_id("org-country").inner_text()
    shoot(page, "contact-sales-console-org")
    page.get_by_test_id("country-code").fill("US")
    page.get_by_test_id("country-submit").click()
    page.wait_for_url(f"{gated.url}/console/orgs/{gated.american}")
    assert "US (buys self-serve)" in page.get_by_test_id("org-country").inner_text()
