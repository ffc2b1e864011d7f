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
from creditline.domain.ledger import Cause, CauseType
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
    "/portal/keys",
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
    with site.engine() as cl:
        events = cl.dashboard.batch_events(acme.id, acme.batch)
        netted = cl.history(acme.id, 50, cause=Cause(CauseType.USAGE_BATCH, acme.batch))
    for entry in netted:  # a batch's entry counts the events of its project and member
        mine = [
            s
            for s in events
            if (s.event.project_id, s.event.member_id) == (entry.project_id, entry.member_id)
        ]
        row = page.locator(f'[data-testid="ledger-row"][data-entry-id="{entry.id}"]')
        assert row.get_by_test_id("cause").inner_text().endswith(f", {len(mine)} events")
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


OVERFLOWING = """(tables) => {
  const wide = (el) => el.scrollWidth > el.clientWidth + 1;
  const name = (el) => el.dataset.testid || el.className;
  const cards = [...document.querySelectorAll(".card:not(.table-wrap)")];
  const found = cards.filter(wide).map((c) => "card " + name(c));
  if (tables) {
    const wraps = [...document.querySelectorAll(".table-wrap")].filter(wide);
    found.push(...wraps.map((w) => "table " + name(w.querySelector("table"))));
  }
  if (document.documentElement.scrollWidth > window.innerWidth) found.push("page");
  return found;
}"""
"""What is wider than its box: a card (at any width), a table in its scrolling wrapper
(asked at 1280 px: a phone scrolls a wide table inside its card), the page."""

NAV_ROWS = """() => {
  const tops = [...document.querySelectorAll(".site-nav li")].map((li) => li.offsetTop);
  return new Set(tops).size;
}"""
"""How many rows the navigation's links take."""


def _console_pages(site: Site) -> list[str]:
    acme = site.story.acme
    return [
        "/console/orgs",
        f"/console/orgs/{acme.id}",
        "/console/plans",
        "/console/packs",
        "/console/ratecards",
        "/console/webhooks",
        f"/console/deliveries/{acme.delivery}",
        "/console/payments",
        "/console/revenue",
    ]


def _console_sign_in(page: Any, site: Site) -> None:
    page.goto(f"{site.url}/console/login")
    page.get_by_test_id("api-key").fill(site.operator_key)
    page.get_by_test_id("sign-in").click()
    page.wait_for_url(f"{site.url}/console/orgs")


def test_tables_stay_in_their_cards_and_the_navigation_is_one_row_on_a_phone(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id)
    _console_sign_in(page, site)
    for width in (1280, 375):
        page.set_viewport_size({"width": width, "height": 900})
        for url in [*_pages(site), f"/portal/deliveries/{acme.delivery}", *_console_pages(site)]:
            page.goto(site.url + url)
            assert page.evaluate(OVERFLOWING, width >= 1280) == [], (width, url)
            assert page.evaluate(NAV_ROWS) == 1, (width, url)
    page.goto(site.url + "/portal/alerts")
    shoot(page, "portal-reads-alerts-375")
    page.goto(site.url + "/portal/")
    shoot(page, "portal-reads-overview-375")


DATE_TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC")
OTHER_DATES = re.compile(r"\b\d{1,2}/\d{1,2}/\d{2,4}\b|\b\d\d:\d\d:\d\d\b|T\d\d:\d\d")


def test_dates_have_one_format_and_the_date_fields_show_it(page: Any, site: Site) -> None:
    sign_in(page, site, site.story.acme.id)
    for url in _pages(site):
        page.goto(site.url + url)
        text = page.locator("main").inner_text()
        assert not OTHER_DATES.findall(text), (url, OTHER_DATES.findall(text)[:3])
        for shown in page.locator("main time").all_inner_texts():
            assert not shown.strip() or re.fullmatch(
                r"\d{4}-\d\d-\d\d( \d\d:\d\d UTC)?", shown.strip()
            ), (url, shown)
    page.goto(site.url + "/portal/billing")
    assert DATE_TIME.search(page.get_by_test_id("purchases-table").inner_text())
    page.goto(site.url + "/portal/usage")
    assert page.locator("input[type=date]").count() == 0
    since = page.get_by_test_id("usage-since")
    assert re.fullmatch(r"\d{4}-\d\d-\d\d", since.input_value())
    assert since.get_attribute("placeholder") == "YYYY-MM-DD"
    shoot(page, "portal-reads-usage")
    _console_sign_in(page, site)
    page.goto(f"{site.url}/console/orgs/{site.story.acme.id}")
    assert page.locator("input[type=date]").count() == 0


def test_the_cycle_is_told_by_its_dates_the_plan_by_its_price_and_prices_are_linked(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    with site.engine() as cl:
        cycle = cl.overview(acme.id).cycle
    assert cycle is not None
    sign_in(page, site, acme.id)
    card = page.get_by_test_id("cycle").inner_text()
    assert not re.search(r"cycle \d", card), card
    dates = f"{cycle.start.date().isoformat()} to {cycle.end.date().isoformat()}"
    assert page.get_by_test_id("cycle-dates").inner_text() == dates
    page.goto(site.url + "/portal/plan")
    price = page.get_by_test_id("plan-price").inner_text()
    assert re.search(r"[\d,]+\.\d\d credits included", price), price
    assert re.search(r"from \$\d+\.\d\d each", price), price
    assert "rate card" not in page.locator("main").inner_text()
    shoot(page, "portal-reads-plan")
    page.get_by_test_id("prices-link").click()
    page.wait_for_url(site.url + "/portal/prices")
    rows = page.get_by_test_id("price-row").all_inner_texts()
    assert any(
        re.search(r"generate_text\s+gpt-4o\s+30 credits per 1,000,000 tokens", r) for r in rows
    )
    shoot(page, "portal-reads-prices")
    _console_sign_in(page, site)
    assert page.get_by_test_id("sign-out").inner_text() == "Sign out"


def test_a_usage_event_shows_when_it_happened_and_when_it_was_recorded(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    with site.engine() as cl:
        event = cl.usage_event(acme.id, acme.pipeline_event).event
        (entry,) = cl.history(acme.id, 5, cause=Cause(CauseType.USAGE_EVENT, event.event_id))
    sign_in(page, site, acme.id)
    page.goto(f"{site.url}/portal/events/{acme.pipeline_event}")
    happened = page.get_by_test_id("event-happened").inner_text()
    recorded = page.get_by_test_id("event-recorded").inner_text()
    assert happened.startswith(event.occurred_at.strftime("%Y-%m-%d %H:%M UTC"))
    assert recorded.startswith(entry.recorded_at.strftime("%Y-%m-%d %H:%M UTC"))
    shoot(page, "portal-reads-event")
    page.goto(f"{site.url}/portal/batches/{acme.batch}")
    assert DATE_TIME.fullmatch(page.get_by_test_id("batch-recorded").inner_text())
    assert page.get_by_test_id("batch-table").locator("th").nth(2).inner_text() == "Happened"
