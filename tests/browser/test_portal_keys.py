"""Keys with a cap in the portal, in Debian's Chromium on the live server: the API keys
page lists the organization's keys, each capped one with its cap, what it used today
and its room, and the operations it may charge; the screenshot shows it
(var/screenshots/portal-keys.png)."""

from __future__ import annotations

from typing import Any

from creditline import credits
from tests.browser.conftest import BROWSER, Site, shoot, sign_in

pytestmark = BROWSER


def test_the_keys_page_shows_each_capped_keys_cap_used_and_room(page: Any, site: Site) -> None:
    with site.engine() as cl:
        org = cl.create_org("Agent Works").id
        cl.set_rate_card(org, "demo-ai-lab")
        cl.grant(org, credits(50))
        cl.create_api_key("org", org, name="backend")
        agent = cl.create_api_key(
            "org", org, name="support agent", cap=credits(5), operations=["generate_text"]
        ).key
        cl.spend(org, credits(2), operation="generate_text", key_id=agent.id)
    sign_in(page, site, org)
    page.get_by_test_id("nav-keys").click()
    page.wait_for_url(f"{site.url}/portal/keys")
    rows = page.get_by_test_id("key-row")
    assert rows.count() == 2
    capped = page.locator(f"[data-testid=key-row][data-key={agent.id}]")
    assert "5.00 a day" in capped.get_by_test_id("key-cap").inner_text()
    assert "2.00" in capped.get_by_test_id("key-used").inner_text()
    assert "3.00" in capped.get_by_test_id("key-room").inner_text()
    assert capped.get_by_test_id("key-operations").inner_text() == "generate_text"
    plain = rows.filter(has_text="backend")
    assert plain.get_by_test_id("key-cap").inner_text() == "no cap"
    assert page.get_by_test_id("nav-keys").get_attribute("aria-current") == "page"
    shoot(page, "portal-keys", full_page=False)
