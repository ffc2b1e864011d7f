"""The customer portal in Debian's Chromium, on the live server: a portal link opens
Acme's overview (balance, burn-down chart and its numbers), the ledger opens a pipeline
run to its components, the usage CSV adds up to the ledger, an alert threshold is
changed, a purchase goes through the checkout and is granted by Stripe's signed webhook,
bad links are refused, the keyboard reaches the navigation, and a phone gets the
overview without sideways scrolling."""

from __future__ import annotations

import base64
import csv
import io
import json
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import creditline.entrypoints.api  # noqa: F401 (the app's package imports the web package whole)
from creditline import Creditline, ManualClock, credits, format_credits
from creditline.domain.ledger import EntryType
from creditline.entrypoints.web.render import credits_text
from tests.browser.conftest import BROWSER, Site, csrf, shoot, sign_in
from tests.browser.story import PIPELINE, PIPELINE_STEPS, THRESHOLD

pytestmark = BROWSER

CANVAS_DRAWN = """(selector) => {
  const canvas = document.querySelector(selector);
  if (!canvas || !canvas.width || !canvas.height) return false;
  const pixels = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
  for (let i = 3; i < pixels.length; i += 4) if (pixels[i] !== 0) return true;
  return false;
}"""
"""Whether a canvas has any non-transparent pixel: Chart.js drew on it."""


def exact(shown: Any) -> str:
    """The exact amount of credits a shown amount gives on hover, as plain text."""
    title: str = shown.locator(".credits").first.get_attribute("title")
    return title.removesuffix(" credits")


def test_a_portal_link_opens_the_overview_with_the_balance_and_the_burn_down(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    with site.engine() as cl:
        balance = cl.balance(acme.id)

    sign_in(page, site, acme.id)

    assert page.get_by_test_id("org-name").inner_text() == "Acme Labs"
    shown = page.get_by_test_id("available")
    assert shown.get_attribute("data-micros") == str(balance.available)
    assert shown.inner_text() == credits_text(balance.available)
    assert exact(shown) == format_credits(balance.available)
    page.wait_for_function(CANVAS_DRAWN, arg="#burn-chart-canvas", timeout=10_000)
    page.get_by_text("The numbers behind the chart").click()
    table = page.get_by_test_id("burn-table")
    assert table.is_visible()
    today = datetime.now(UTC).date().isoformat()
    cells = table.locator("tbody tr").filter(has=page.locator(f"time[datetime^='{today}']"))
    assert credits_text(balance.available) in cells.inner_text()
    shoot(page, "portal-overview")


def test_a_pipeline_row_in_the_ledger_opens_to_components_that_sum_to_it(
    page: Any, site: Site
) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id)
    page.get_by_test_id("nav-transactions").click()
    cause = page.locator(f'[data-testid="cause"][title="usage event {PIPELINE}"]')
    row = page.get_by_test_id("ledger-row").filter(has=cause)
    charged = -int(row.locator("[data-micros]").get_attribute("data-micros"))
    shoot(page, "portal-transactions")

    row.get_by_test_id("cause-link").click()

    assert page.get_by_test_id("event-id").inner_text() == PIPELINE
    assert page.get_by_test_id("event-operation").inner_text() == "pipeline"
    components = page.get_by_test_id("component-row")
    costs = [int(c) for c in components.locator("[data-micros]").evaluate_all(
        "cells => cells.map(c => c.dataset.micros)")]  # fmt: skip
    assert components.count() == len(PIPELINE_STEPS) == 3
    assert sum(costs) == charged == credits("2.424")
    assert int(page.get_by_test_id("event-cost").get_attribute("data-micros")) == charged
    shoot(page, "portal-event")


def test_the_usage_csv_export_adds_up_to_the_ledger(page: Any, site: Site) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id)
    page.get_by_test_id("nav-usage").click()
    page.wait_for_function("(s) => document.querySelector(s) !== null", arg="#usage-chart-canvas")
    shoot(page, "portal-usage")

    with page.expect_download() as downloading:
        page.get_by_test_id("export-csv").click()
    download = downloading.value
    text = Path(download.path()).read_text(encoding="utf-8")
    rows = list(csv.DictReader(io.StringIO(text)))

    by_project: dict[str, int] = defaultdict(int)
    for r in rows:
        by_project[r["project_id"]] += int(r["cost_micros"])
        assert r["cost"] == format_credits(int(r["cost_micros"]))
    with site.engine() as cl:
        consumed: dict[str, int] = defaultdict(int)
        for e in cl.history(acme.id, 10_000, types=[EntryType.CONSUME, EntryType.VOID]):
            consumed[e.project_id or ""] -= e.amount
    assert download.suggested_filename.startswith("usage-project-day-")
    assert dict(by_project) == dict(consumed)
    assert sum(by_project.values()) == sum(consumed.values()) > 0
    total = page.get_by_test_id("usage-table-total")
    assert exact(total) == format_credits(sum(consumed.values()))
    assert total.inner_text() == credits_text(sum(consumed.values()))


def test_an_alert_threshold_changed_in_the_portal_is_stored(page: Any, site: Site) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id)
    page.get_by_test_id("nav-alerts").click()
    shoot(page, "portal-alerts")
    old = page.get_by_test_id("rule-row").filter(has_text="below 500")
    assert old.count() == 1

    # the new threshold: a rule at 750 credits in place of the one at 500
    page.get_by_test_id("add-rule-panel").locator("summary").click()
    page.locator("#kind").select_option("remaining_below")
    page.get_by_test_id("rule-threshold").fill("750")
    page.get_by_test_id("add-rule").click()
    assert page.get_by_test_id("flash").get_attribute("data-kind") != "error"
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_test_id("rule-row").filter(has_text="below 500").get_by_test_id(
        "remove-rule"
    ).click()
    page.wait_for_load_state()

    with site.engine() as cl:
        rules = cl.alert_rules(acme.id)
    thresholds = [r.params.threshold for r in rules if r.kind.value == "remaining_below"]
    assert thresholds == [credits(750)]
    assert THRESHOLD not in thresholds
    assert page.get_by_test_id("rule-row").filter(has_text="below 750").count() == 1


def test_a_purchase_is_pending_until_the_signed_webhook_then_granted(page: Any, site: Site) -> None:
    acme = site.story.acme
    with site.engine() as cl:
        before = cl.balance(acme.id).available
    sign_in(page, site, acme.id)
    page.get_by_test_id("nav-buy").click()
    shoot(page, "portal-buy")

    page.get_by_test_id("buy-starter").click()  # to the (fake) Stripe checkout
    assert page.get_by_test_id("checkout-amount").inner_text() == "100.00 USD"
    page.get_by_test_id("checkout-pay").click()  # paid; back to the portal

    status = page.get_by_test_id("purchase-status")
    assert status.get_attribute("data-status") == "pending"
    shoot(page, "portal-purchase-pending")
    (session,) = site.paid.values()
    answer = site.post_webhook(site.stripe.event("checkout.session.completed", session))
    assert answer.status_code == 200, answer.text

    page.wait_for_selector("[data-testid=purchase-status][data-status=paid]", timeout=15_000)
    shoot(page, "portal-purchase-paid")
    with site.engine() as cl:
        assert cl.balance(acme.id).available == before + credits(1000)
    page.get_by_test_id("receipt-link").click()
    shoot(page, "portal-receipt")


def test_an_expired_link_and_a_tampered_link_are_refused(page: Any, site: Site) -> None:
    acme = site.story.acme
    an_hour_ago = datetime.now(UTC) - timedelta(hours=1)
    with Creditline.open(site.db, clock=ManualClock(an_hour_ago), migrate=False) as past:
        expired = site.url + past.create_portal_session(acme.id, ttl_seconds=60).url
    prefix, token = site.portal_link(acme.id).rsplit("/", 1)
    payload, signature = token.split(".")
    tampered = f"{prefix}/{payload}.{'A' if signature[0] != 'A' else 'B'}{signature[1:]}"
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["o"] = site.story.globex.id  # the same signature on another organization's claims
    other = base64.urlsafe_b64encode(json.dumps(claims, separators=(",", ":")).encode())
    forged = f"{prefix}/{other.decode().rstrip('=')}.{signature}"

    for name, url, words in (
        ("expired", expired, "expired"),
        ("tampered", tampered, "not valid"),
        ("forged", forged, "not valid"),
    ):
        answer = page.goto(url)
        assert answer is not None and answer.status == 403, (name, answer and answer.status)
        assert words in page.content(), name
        assert [c["name"] for c in page.context.cookies()] == [], name
        shoot(page, f"portal-link-{name}")
    refused = page.goto(f"{site.url}/portal/")
    assert refused is not None and refused.status == 401, refused.status


def test_tab_reaches_the_main_navigation_and_enter_follows_a_link(page: Any, site: Site) -> None:
    sign_in(page, site, site.story.acme.id)

    for _ in range(30):
        page.keyboard.press("Tab")
        focused = page.evaluate("document.activeElement.dataset.testid || ''")
        if focused == "nav-usage":
            break
    else:
        raise AssertionError("Tab never reached the Usage link of the main navigation")
    assert page.evaluate("document.activeElement.closest('nav') !== null")
    page.keyboard.press("Enter")

    page.wait_for_url(f"{site.url}/portal/usage")
    assert page.get_by_test_id("nav-usage").get_attribute("aria-current") == "page"


def test_the_overview_fits_a_375px_wide_phone(chromium: Any, site: Site) -> None:
    phone = chromium.new_context(viewport={"width": 375, "height": 812}, is_mobile=True)
    try:
        page = phone.new_page()
        sign_in(page, site, site.story.acme.id)
        page.wait_for_function(CANVAS_DRAWN, arg="#burn-chart-canvas", timeout=10_000)

        shoot(page, "portal-overview-375px")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375
        assert page.get_by_test_id("available").is_visible()
    finally:
        phone.close()


def test_a_read_only_session_sees_the_pages_and_cannot_post(page: Any, site: Site) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id, read_only=True)
    assert page.get_by_test_id("read-only-badge").is_visible()
    page.get_by_test_id("nav-alerts").click()
    token = csrf(page)

    refused = page.request.post(
        f"{site.url}/portal/alerts",
        form={"csrf": token, "kind": "depleted"},
        max_redirects=0,
    )

    assert refused.status == 403
    assert page.get_by_test_id("add-rule-panel").count() == 0
    with site.engine() as cl:
        assert [r.kind.value for r in cl.alert_rules(acme.id)].count("depleted") == 0


def test_automatic_and_recurring_top_ups_are_set_on_the_buy_page(page: Any, site: Site) -> None:
    acme = site.story.acme
    sign_in(page, site, acme.id)
    page.get_by_test_id("nav-buy").click()
    page.get_by_test_id("auto-threshold").fill("250")
    page.get_by_test_id("auto-buy").select_option(index=0)
    page.get_by_test_id("auto-cap").fill("300.00")
    page.get_by_test_id("auto-save").click()
    assert page.get_by_test_id("flash").get_attribute("data-kind") != "error"
    page.get_by_test_id("recurring-day").fill("3")
    page.get_by_test_id("recurring-save").click()
    assert page.get_by_test_id("flash").get_attribute("data-kind") != "error"
    assert "On: when fewer than" in page.get_by_test_id("auto-state").inner_text()
    assert "day 3 of every month" in page.get_by_test_id("recurring-state").inner_text()
    page.get_by_test_id("auto-topup").scroll_into_view_if_needed()
    shoot(page, "portal-buy-topups")
    with site.engine() as cl:
        auto, recurring = cl.auto_topup(acme.id), cl.recurring_topup(acme.id)
        assert auto is not None and auto.threshold == credits(250) and auto.enabled
        assert recurring is not None and recurring.day == 3 and recurring.active
        cl.disable_auto_topup(acme.id)
        cl.cancel_recurring_topup(acme.id)
