"""The console's what-if page in Debian's Chromium on the live server: an operator pastes
a draft of the story's rate card with a dearer model and sees, per organization and
operation, what the last three weeks would have cost (var/screenshots/console-whatif.png)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from creditline.entrypoints.cli.demo import RATE_CARD
from tests.browser.conftest import BROWSER, Site, shoot

pytestmark = BROWSER

DRAFT = RATE_CARD.replace('version = "demo-1"', 'version = "demo-2"').replace(
    'credits = 30, quantity = "tokens"', 'credits = 40, quantity = "tokens"'
)


def test_a_pasted_draft_shows_what_the_last_weeks_would_have_cost(page: Any, site: Site) -> None:
    since = (datetime.now(UTC) - timedelta(days=30)).date()
    with site.engine() as cl:
        expected = cl.what_if(DRAFT, since=datetime.combine(since, datetime.min.time(), UTC))
    assert expected.difference > 0
    page.goto(f"{site.url}/console/login")
    page.get_by_test_id("api-key").fill(site.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{site.url}/console/orgs")
    page.goto(f"{site.url}/console/ratecards")
    page.get_by_test_id("whatif-link").click()
    page.wait_for_url(f"{site.url}/console/whatif")
    page.get_by_test_id("whatif-document").fill(DRAFT)
    page.get_by_test_id("whatif-since").fill(since.isoformat())
    page.get_by_test_id("whatif-run").click()
    page.get_by_test_id("whatif-result").wait_for()
    rows = page.get_by_test_id("whatif-row")
    seen = [(rows.nth(n).get_attribute("data-org"), rows.nth(n).get_attribute("data-operation"))
            for n in range(rows.count())]  # fmt: skip
    assert seen == [(i.org_id, i.operation) for i in expected.impacts]
    difference = page.get_by_test_id("whatif-difference").get_attribute("data-micros")
    assert difference == str(expected.difference)
    assert "generate_text" in page.get_by_test_id("whatif-table").inner_text()
    shoot(page, "console-whatif")
