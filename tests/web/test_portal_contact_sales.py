"""The portal of an organization that cannot buy self-serve in its country (D8): the buy
page offers the contact-sales form instead of the checkout, the overview's banner points
to it once the credits are gone, a read-only session sees the page without the form, and
a request sent from the form records the session's member."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from creditline import Creditline, ManualClock, credits
from creditline.adapters.payments import FakeStripe
from creditline.entrypoints.api import create_app
from tests.billing import EXAMPLES, provider
from tests.databases import migrated
from tests.web.conftest import QUIET, csrf


@pytest.fixture
def gated(db_url: str, clock: ManualClock) -> Iterator[tuple[Creditline, FakeStripe, TestClient]]:
    fake = FakeStripe()
    cl = Creditline.open(
        migrated(db_url), clock=clock, payments=provider(fake), self_serve_countries="US"
    )
    try:
        cl.load_packs((EXAMPLES / "datarobot" / "packs.toml").read_text(encoding="utf-8"))
        with TestClient(create_app(cl, settings=QUIET), follow_redirects=False) as browser:
            yield cl, fake, browser
    finally:
        cl.close()


def _signed_in(
    cl: Creditline,
    browser: TestClient,
    org: str,
    *,
    member_id: str | None = None,
    read_only: bool = False,
) -> None:
    link = cl.create_portal_session(org, member_id=member_id, read_only=read_only)
    assert browser.get(link.url).status_code == 303


def test_the_buy_page_offers_contact_sales_and_records_the_member(
    gated: tuple[Creditline, FakeStripe, TestClient],
) -> None:
    cl, fake, browser = gated
    org = cl.create_org("Acme GmbH", country="DE").id
    ada = cl.add_member(org, "Ada", "ada@acme.example").id
    cl.assign_plan(org, None, depletion="read_only")
    _signed_in(cl, browser, org, member_id=ada)
    overview = browser.get("/portal/").text
    assert 'data-testid="banner-contact-sales"' in overview
    assert 'data-testid="banner-buy"' not in overview
    page = browser.get("/portal/buy").text
    assert "not available in your country (DE)" in page
    assert 'data-testid="contact-sales-form"' in page and 'data-testid="packs-table"' not in page
    sent = browser.post(
        "/portal/contact-sales",
        data={"csrf": csrf(page), "pack": "", "credits": "750", "message": "Call us"},
    )
    assert (sent.status_code, sent.headers["location"]) == (303, "/portal/buy")
    (asked,) = cl.sales_requests(org)
    assert (asked.member_id, asked.email, asked.credits, asked.message, asked.source.value) == (
        ada, "ada@acme.example", credits(750), "Call us", "portal",
    )  # fmt: skip
    after = browser.get("/portal/buy").text
    assert "Sent to sales (750 credits)" in after and "Call us" in after
    refused = browser.post(
        "/portal/contact-sales", data={"csrf": csrf(after), "pack": "explorer", "credits": "5"}
    )
    assert refused.status_code == 303
    assert "give a pack or an amount, not both" in browser.get("/portal/buy").text
    assert len(cl.sales_requests(org)) == 1
    # The checkout route refuses too, and Stripe never hears of it.
    bought = browser.post(
        "/portal/buy", data={"csrf": csrf(after), "pack": "explorer", "currency": "USD"}
    )
    assert bought.status_code == 303 and bought.headers["location"] == "/portal/buy"
    assert "self-serve buying is not available in DE" in browser.get("/portal/buy").text
    assert fake.requests == [] and cl.purchases(org) == []


def test_a_read_only_session_sees_the_note_without_the_form(
    gated: tuple[Creditline, FakeStripe, TestClient],
) -> None:
    cl, _, browser = gated
    org = cl.create_org("Nowhere Ltd").id  # no country while a list is set: sales
    _signed_in(cl, browser, org, read_only=True)
    page = browser.get("/portal/buy").text
    assert "until its country is on record" in page
    assert 'data-testid="contact-sales-form"' not in page
