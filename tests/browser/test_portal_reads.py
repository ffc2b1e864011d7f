"""The portal reads like a product a customer pays for, in Debian's Chromium on the live
server: amounts to two decimals (exact on hover), money as money, causes and payers by
name, the burn-down over the cycle with the burn on its own axis, no empty kinds, tables
that scroll inside their cards and a compact navigation at 375 px and 1280 px, one date
format, and a usage event's "happened" and "recorded" times."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import creditline.entrypoints.api  # noqa: F401 (the app's package imports the web package whole)
from creditline.entrypoints.web import views
from tests.browser.conftest import BROWSER, Site, shoot, sign_in

pytestmark = BROWSER

PORTAL_PAGES = (
    "/portal/",
    "/portal/usage",
    "/portal/transactions",
    "/portal/buy",
    "/portal/billing",
    "/portal/alerts",
    "/portal/plan",
)
SIX_DECIMALS = re.compile(r"\d\.\d{3,}")
"""An amount with more than two decimals, in a page's visible text."""


def _pages(site: Site) -> list[str]:
    acme = site.story.acme
    return [
        *PORTAL_PAGES,
        f"/portal/events/{acme.pipeline_event}",
        f"/portal/batches/{acme.batch}",
        f"/portal/purchases/{acme.purchase}",
        f"/portal/purchases/{acme.purchase}/receipt",
    ]


def test_no_page_shows_more_than_two_decimals_and_each_amount_is_exact_on_hover(
    page: Any, site: Site
) -> None:
    sign_in(page, site, site.story.acme.id)
    for url in _pages(site):
        page.goto(site.url + url)
        text = page.locator("main").inner_text()
        assert not SIX_DECIMALS.findall(text), (url, SIX_DECIMALS.findall(text)[:5])
    page.goto(site.url + "/portal/")
    amount = page.get_by_test_id("available").locator(".credits")
    assert re.fullmatch(r"[\d,]+\.\d\d", amount.inner_text())
    assert re.fullmatch(r"\d+(\.\d{1,6})? credits", amount.get_attribute("title") or "")


def test_money_is_shown_with_its_currency_sign(page: Any, site: Site) -> None:
    sign_in(page, site, site.story.acme.id)
    page.goto(site.url + "/portal/billing")
    prices = page.get_by_test_id("purchases-table").locator("td.num").all_inner_texts()
    assert any(re.fullmatch(r"\$[\d,]+\.\d\d", p) for p in prices), prices


def test_causes_and_payers_are_named_with_their_ids_on_hover(page: Any, site: Site) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id)
    page.goto(site.url + "/portal/transactions")
    causes = page.get_by_test_id("cause")
    labels = causes.all_inner_texts()
    assert not [c for c in labels if re.search(r"\b(ub|evt|grt|pur)[_-]", c)], labels[:5]
    assert any(re.fullmatch(r"generate_text, \d+ events", c) for c in labels), labels[:5]
    assert "pipeline, 1 event" in labels
    titles = [causes.nth(i).get_attribute("title") or "" for i in range(causes.count())]
    assert f"usage event {acme.pipeline_event}" in titles
    assert f"usage batch {acme.batch}" in titles
    shoot(page, "portal-reads-transactions")
    page.goto(site.url + f"/portal/events/{acme.pipeline_event}")
    payers = page.get_by_test_id("payer-row").locator("td").first
    assert re.fullmatch(r"(included|prepaid) credits, .+", payers.inner_text())
    assert (payers.get_attribute("title") or "").startswith("grant grt_")


BURN_CHART = """() => {
  const chart = Chart.getChart(document.querySelector("#burn-chart-canvas"));
  if (!chart) return null;
  const burnt = chart.data.datasets.find((d) => d.yAxisID === "burn");
  return {
    burn: chart.scales.burn ? chart.scales.burn.position : null,
    balance: chart.scales.y.position,
    burnt: burnt ? burnt.label : null,
    labels: chart.data.labels,
    history: chart.data.datasets[0].data.filter((v) => v !== null).length,
  };
}"""


def test_the_burn_down_shows_a_month_of_history_burn_on_its_own_axis_and_the_run_out(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    with site.engine() as cl:
        overview = cl.overview(acme.id)
    sign_in(page, site, acme.id)
    page.wait_for_function("() => window.Chart && Chart.getChart('burn-chart-canvas')")
    drawn = page.evaluate(BURN_CHART)
    assert drawn["burn"] == "right" and drawn["balance"] == "left"
    assert drawn["burnt"].startswith("Burnt that day")
    assert drawn["history"] >= 30
    last = drawn["labels"][-1]
    ends = [overview.cycle.end.date().isoformat()] if overview.cycle else []
    if overview.depletes_on is not None:
        ends.append(overview.depletes_on.isoformat())
    cap = (overview.as_of.date() + timedelta(days=views.FORECAST_DAYS)).isoformat()
    assert ends and last >= min(max(ends), cap), (last, ends)
    shoot(page, "portal-reads-burn-down")


def test_kinds_without_credits_are_left_out_of_the_balance_table(page: Any, site: Site) -> None:
    with site.engine() as cl:
        by_kind = cl.overview(site.story.acme.id).by_kind
    sign_in(page, site, site.story.acme.id)
    rows = page.get_by_test_id("by-kind").locator("tbody tr th").all_inner_texts()
    assert rows == [k.value for k, amount in by_kind if amount]
    empty = [k.value for k, amount in by_kind if not amount]
    assert empty and page.get_by_test_id("empty-kinds").inner_text() == (
        f"No {', '.join(empty)} credits."
    )
