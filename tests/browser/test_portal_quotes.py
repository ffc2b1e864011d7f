"""The portal's quotes page in Debian's Chromium on the live server: an organization's
binding quotes, newest first, each issued, used (by which usage) or expired, reached
from the price list (var/screenshots/portal-quotes.png); the console's organization page
lists them too (var/screenshots/console-org-quotes.png)."""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

from creditline import credits
from tests.browser.conftest import BROWSER, Site, shoot, sign_in

pytestmark = BROWSER

GPT = {"model": "gpt-4o"}


def test_the_quotes_page_lists_each_quote_with_its_state(page: Any, site: Site) -> None:
    with site.engine() as cl:
        org = cl.create_org("Quoting Co").id
        cl.set_rate_card(org, "demo-ai-lab")
        cl.grant(org, credits(100))
        azure = {"model": "azure-translator"}
        second = timedelta(seconds=1)
        lapsed = cl.issue_quote(org, "translate", {"characters": 10_000}, azure, valid_for=second)
        used = cl.issue_quote(org, "generate_text", {"tokens": 100_000}, GPT)
        cl.record(org, "evt-quoted", "generate_text", {"tokens": 100_000}, GPT, quote_id=used.id)
        fresh = cl.issue_quote(org, "generate_text", {"tokens": 250_000}, GPT)
    time.sleep(1.1)  # the first quote's second is over
    sign_in(page, site, org)
    page.goto(f"{site.url}/portal/prices")
    page.get_by_test_id("quotes-link").click()
    page.wait_for_url(f"{site.url}/portal/quotes")
    rows = page.get_by_test_id("quote-row")
    states = [rows.nth(n).get_attribute("data-state") for n in range(rows.count())]
    assert states == ["issued", "used", "expired"]
    text = page.get_by_test_id("quotes-table").inner_text()
    for quote in (fresh, used, lapsed):
        assert quote.id in text
    assert "usage_event:evt-quoted" in text
    assert "7.50" in text and "3.00" in text  # 250k and 100k tokens at 30 credits per 1M
    shoot(page, "portal-quotes")

    page.goto(f"{site.url}/console/login")
    page.get_by_test_id("api-key").fill(site.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{site.url}/console/orgs")
    page.goto(f"{site.url}/console/orgs/{org}")
    rows = page.get_by_test_id("quote-row")
    assert [rows.nth(n).get_attribute("data-state") for n in range(rows.count())] == states
    page.locator("#org-quotes").scroll_into_view_if_needed()
    shoot(page, "console-org-quotes")
