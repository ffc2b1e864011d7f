"""Budgets in the portal's usage page, in Debian's Chromium on the live server: each
project's or member's budget with its consumption this period (holds included), what is
left and how much is used; a hard budget that is reached shows nothing left. The
screenshot shows it (var/screenshots/portal-usage-budgets.png)."""

from __future__ import annotations

from typing import Any

from creditline import credits
from creditline.domain.errors import BudgetExceeded
from tests.browser.conftest import BROWSER, Site, shoot, sign_in

pytestmark = BROWSER


def test_the_usage_page_shows_each_budget_with_its_consumption(page: Any, site: Site) -> None:
    with site.engine() as cl:
        org = cl.create_org("Budgeted Studio").id
        cl.grant(org, credits(500))
        chatbot = cl.create_project(org, "Chatbot").id
        research = cl.create_project(org, "Research").id
        ana = cl.add_member(org, "Ana Lima").id
        hard = cl.create_budget(org, project_id=chatbot, amount=credits(10), period="day").budget
        cl.create_budget(org, project_id=research, amount=credits(200), alerts=[80, 100])
        cl.create_budget(org, member_id=ana, amount=credits(40), mode="soft", alerts=[50])
        cl.spend(org, credits(7), project_id=chatbot, member_id=ana)
        cl.reserve(org, credits(3), project_id=chatbot)
        try:
            cl.spend(org, credits(1), project_id=chatbot)
        except BudgetExceeded:
            pass
        else:  # pragma: no cover - the hard budget must refuse
            raise AssertionError("the hard budget let a spend pass it")
        cl.spend(org, credits(170), project_id=research, member_id=ana)
    sign_in(page, site, org)
    page.goto(f"{site.url}/portal/usage")
    rows = page.get_by_test_id("budget-row")
    assert rows.count() == 3
    first = page.locator(f'[data-budget="{hard.id}"]')
    text = first.inner_text()
    assert "Project Chatbot" in text and "hard" in text and "day" in text
    assert first.get_by_test_id("budget-room").inner_text() == "0.00"
    assert first.get_by_test_id("budget-percent").inner_text() == "100%"
    assert "85%" in rows.nth(1).inner_text() and "alerts at 80%, 100%" in rows.nth(1).inner_text()
    member = rows.nth(2).inner_text()
    assert "Member Ana Lima" in member and "soft" in member and "442%" in member
    page.get_by_test_id("budgets").scroll_into_view_if_needed()
    shoot(page, "portal-usage-budgets")
