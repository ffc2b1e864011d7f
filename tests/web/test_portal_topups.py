"""The buy page's top-up settings: automatic (threshold, what to buy, monthly limit,
failures) and recurring (a pack on a day), and the purchases they make, shown with what
made them on the billing page."""

from __future__ import annotations

import html
import re

from creditline import credits
from creditline.domain.topups import BuyKind, Trigger
from tests.web.conftest import Site, csrf


def _said(page: str, testid: str) -> str:
    """The words of the element with ``data-testid``, tags and spacing aside."""
    found = re.search(rf'data-testid="{testid}"[^>]*>(.*?)</p>', page, re.S)
    assert found is not None, testid
    return " ".join(html.unescape(re.sub(r"<[^>]+>", "", found.group(1))).split())


def test_the_buy_page_sets_automatic_and_recurring_top_ups(site: Site) -> None:
    a, cl = site.a, site.cl
    browser = site.portal(a.org)
    page = browser.get("/portal/buy")
    assert 'data-testid="auto-form"' in page.text and "Off. Buy credits automatically" in page.text
    token = csrf(page.text)
    saved = browser.post("/portal/topups/auto", data={
        "csrf": token, "currency": "EUR", "threshold": "5", "buy": "pack:10-credits",
        "monthly_cap": "2000.00", "max_failures": "2",
    })  # fmt: skip
    assert saved.status_code == 303
    setting = cl.auto_topup(a.org)
    assert setting is not None
    assert (setting.threshold, setting.buy, setting.pack) == (
        credits(5),
        BuyKind.PACK,
        "10-credits",
    )
    assert (setting.monthly_cap.minor if setting.monthly_cap else None, setting.max_failures) == (
        200000, 2,
    )  # fmt: skip
    page = browser.get("/portal/buy")
    assert _said(page.text, "auto-state") == (
        "On: when fewer than 5.00 credits are left, we buy pack '10-credits' with your saved "
        "card. At most €2,000.00 a month."
    )
    # refused input is said, and changes nothing
    bad = browser.post("/portal/topups/auto", data={
        "csrf": token, "currency": "EUR", "threshold": "5", "buy": "pack:10-credits",
        "monthly_cap": "12.345",
    })  # fmt: skip
    assert bad.status_code == 303 and "monthly cap" in browser.get("/portal/buy").text
    assert cl.auto_topup(a.org) == setting

    recurring = browser.post("/portal/topups/recurring", data={
        "csrf": token, "currency": "EUR", "pack": "50-credits", "day": "3",
    })  # fmt: skip
    assert recurring.status_code == 303
    assert _said(browser.get("/portal/buy").text, "recurring-state") == (
        "The 50-credits pack is bought on day 3 of every month."
    )
    browser.post("/portal/topups/recurring", data={
        "csrf": token, "currency": "EUR", "pack": "50-credits", "day": "31",
    })  # fmt: skip
    assert "a day of the month from 1 to 28" in browser.get("/portal/buy").text
    browser.post("/portal/topups/recurring/cancel", data={"csrf": token})
    assert _said(browser.get("/portal/buy").text, "recurring-state").startswith("None.")

    # a crossing: the top-up is bought with the card of the setup's checkout
    cl.spend(a.org, cl.balance(a.org).available - credits(1))
    cl.wait_topups()
    (auto,) = [p for p in cl.purchases(a.org) if p.trigger is Trigger.AUTOMATIC]
    assert auto.status.value == "paid"
    billing = browser.get("/portal/billing").text
    assert billing.count('data-testid="purchase-trigger">automatic top-up<') == 1
    assert 'data-testid="purchase-trigger">checkout<' in billing
    browser.post("/portal/topups/auto/disable", data={"csrf": token})
    assert _said(browser.get("/portal/buy").text, "auto-state") == "Off: turned off."
