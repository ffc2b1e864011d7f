"""The console's revenue page in Debian's Chromium on the live server: an operator opens
it from the console's navigation and reads, per currency, the month's sales, revenue
recognised and what is still owed at cost basis, as the library reports it; then last
month, with Globex's flex apart (var/screenshots/console-revenue.png)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from tests.browser.conftest import BROWSER, Site, shoot

pytestmark = BROWSER


def _sign_in(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/console/login")
    page.get_by_test_id("api-key").fill(site.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{site.url}/console/orgs")


def _shown(page: Any) -> dict[str, dict[str, str | None]]:
    """Each currency's flows as the page shows them: minor units by flow name."""
    shown = {}
    sections = page.get_by_test_id("revenue-currency")
    for n in range(sections.count()):
        section = sections.nth(n)
        flows = ("opening", "sold", "consumed", "expired", "refunded", "adjusted", "closing")
        shown[section.get_attribute("data-currency")] = {
            f: section.get_by_test_id(f"revenue-{f}").get_attribute("data-minor") for f in flows
        }
    return shown


def _expected(report: Any) -> dict[str, dict[str, str]]:
    flows = ("opening", "sold", "consumed", "expired", "refunded", "adjusted", "closing")
    return {line.currency: {f: str(getattr(line, f).minor) for f in flows} for line in report.lines}


def test_the_operator_reads_the_months_revenue(page: Any, site: Site) -> None:
    now = datetime.now(UTC)
    last = (now.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    with site.engine() as cl:
        this_month, last_month = cl.revenue_report(now), cl.revenue_report(last)
    assert this_month.lines, "the story sells credits"
    _sign_in(page, site)
    page.get_by_test_id("nav-revenue").click()
    page.wait_for_url(f"{site.url}/console/revenue")
    assert page.get_by_test_id("revenue-month").input_value() == f"{now:%Y-%m}"
    assert _shown(page) == _expected(this_month)
    checks = page.get_by_test_id("revenue-check")
    assert all("Reconciles" in checks.nth(n).inner_text() for n in range(checks.count()))
    shoot(page, "console-revenue")

    page.get_by_test_id("revenue-month").fill(last)
    page.get_by_test_id("revenue-show").click()
    page.wait_for_url(f"{site.url}/console/revenue?month={last}")
    assert _shown(page) == _expected(last_month)
    kinds = page.get_by_test_id("revenue-kind")
    seen = [kinds.nth(n).get_attribute("data-kind") for n in range(kinds.count())]
    wanted = [k.kind.value for k in last_month.free]
    assert seen == wanted + (["flex"] if last_month.flex else [])
    assert last_month.flex is not None and last_month.flex.consumed > 0  # Globex went past zero
    shoot(page, "console-revenue-last-month")


def test_a_bad_month_is_explained(page: Any, site: Site) -> None:
    _sign_in(page, site)
    answer = page.goto(f"{site.url}/console/revenue?month=1969-12")
    assert answer.status == 422
    assert "1970-01" in page.get_by_test_id("revenue-problems").inner_text()
