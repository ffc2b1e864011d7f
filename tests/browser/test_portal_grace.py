"""The portal's grace banner in Debian's Chromium on the live server: an organization on a
plan with grace that runs out sees, on every portal page, that it is in grace (the grace
left and until when), then that it is read-only (and when it will be paused), then
paused; a grant ends it and the banner is gone. Screenshots: ``portal-grace-*``."""

from __future__ import annotations

from typing import Any

from creditline import credits
from tests.browser.conftest import BROWSER, Site, shoot, sign_in

pytestmark = BROWSER

PLAN = {
    "name": "grace-browser",
    "depletion": "pause",
    "grace_credits": "5",
    "grace_hours": 72,
    "grace_billing": "flex",
    "read_only_hours": 48,
}


def _org(site: Site, name: str, plan: dict[str, Any]) -> str:
    with site.engine() as cl:
        cl.put_plan(plan)
        org = cl.create_org(name).id
        cl.assign_plan(org, plan["name"])
        cl.grant(org, credits(1))
        cl.spend(org, credits(3))  # 1 from its credits, 2 from grace
    return org


def _banner(page: Any) -> Any:
    banner = page.get_by_test_id("grace-banner")
    assert banner.count() == 1
    return banner


def test_the_banner_follows_the_grace_state_on_every_page(page: Any, site: Site) -> None:
    org = _org(site, "Grace Studio", PLAN)
    sign_in(page, site, org)
    banner = _banner(page)
    assert banner.get_attribute("data-state") == "grace"
    text = banner.inner_text()
    assert "Credits ran out: grace period" in text
    assert (
        "3.00 credits of grace left" in text and "then the organization becomes read-only" in text
    )
    assert page.get_by_test_id("state-banner").count() == 0  # not "paused" while in grace
    shoot(page, "portal-grace-grace")

    with site.engine() as cl:
        cl.spend(org, credits(3))  # the last of grace: read-only
    for path in ("/portal/", "/portal/usage", "/portal/plan"):
        page.goto(site.url + path)
        assert _banner(page).get_attribute("data-state") == "read_only", path
    text = _banner(page).inner_text()
    assert "This organization is read-only" in text and "It will be paused on" in text
    rule = "usage continues during a grace period of 72 hours or 5.00 credits (billed as flex)"
    assert rule in page.locator("main").inner_text()
    page.set_viewport_size({"width": 375, "height": 800})
    shoot(page, "portal-grace-read-only-375")
    page.set_viewport_size({"width": 1280, "height": 900})
    page.goto(site.url + "/portal/")
    shoot(page, "portal-grace-read-only")

    with site.engine() as cl:
        cl.grant(org, credits(10))
    page.reload()
    assert page.get_by_test_id("grace-banner").count() == 0


def test_a_paused_organization_is_told_so(page: Any, site: Site) -> None:
    plan = {**PLAN, "name": "grace-browser-paused", "read_only_hours": 0, "grace_credits": "2"}
    org = _org(site, "Paused Studio", plan)
    sign_in(page, site, org)
    banner = _banner(page)
    assert banner.get_attribute("data-state") == "paused"
    assert "This organization is paused" in banner.inner_text()
    assert (
        page.get_by_test_id("grace-buy").count()
        + page.get_by_test_id("grace-contact-sales").count()
        == 1
    )
    shoot(page, "portal-grace-paused")
