"""Scoped grants (B7) in the portal, in Debian's Chromium on the live server: the
overview shows the credits for some operations apart from the general ones, and the
screenshot shows it (var/screenshots/portal-scoped-credits.png)."""

from __future__ import annotations

from typing import Any

from creditline import credits
from tests.browser.conftest import BROWSER, Site, shoot, sign_in

pytestmark = BROWSER


def test_the_overview_shows_scoped_credits_apart_from_the_general_ones(
    page: Any, site: Site
) -> None:
    with site.engine() as cl:
        org = cl.create_org("Scoped Studio").id
        cl.set_rate_card(org, "demo-ai-lab")  # the story's card: prices generate_text
        cl.grant(org, credits(50))
        gpt = [{"operation": "generate_text", "dimensions": {"model": ["gpt-4o"]}}]
        cl.grant(org, credits(10), "promotional", scope=gpt)
    sign_in(page, site, org)
    assert page.get_by_test_id("available").get_attribute("data-micros") == str(credits(60))
    assert page.get_by_test_id("general").get_attribute("data-micros") == str(credits(50))
    assert page.get_by_test_id("scoped-total").get_attribute("data-micros") == str(credits(10))
    row = page.get_by_test_id("scoped-grant")
    assert row.count() == 1
    assert "generate_text (model: gpt-4o)" in row.inner_text()
    assert "promotional" in row.inner_text()
    shoot(page, "portal-scoped-credits", full_page=False)
