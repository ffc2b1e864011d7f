"""Webhooks in the customer portal, on SQLite and PostgreSQL: an endpoint the server must
not call is refused with its reason and nothing is added; the portal's delivery log
holds only the organization's own endpoints' deliveries (the operator's console, all).
"""

from __future__ import annotations

import re
from html import unescape

from creditline import credits
from tests.web.conftest import Site, csrf


def _flash(page: str) -> str:
    found = re.search(r'data-testid="flash"[^>]*>([^<]*)<', page)
    assert found is not None, "no message on the page"
    return unescape(found.group(1))


def test_the_portal_refuses_an_endpoint_inside_and_says_why(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org)
    token = csrf(browser.get("/portal/alerts").text)
    before = site.cl.webhook_endpoints(a.org)
    for url, words in (
        ("http://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://0x0a000001/", "private"),
        ("http://metadata.google.internal/", "metadata"),
        ("http://user:pass@hooks.a.example/", "user name or password"),
    ):
        refused = browser.post("/portal/webhooks", data={"csrf": token, "url": url})
        assert refused.status_code == 303, refused.text
        message = _flash(browser.get("/portal/alerts").text)
        assert "refused" in message and words in message, message
    assert site.cl.webhook_endpoints(a.org) == before


def test_the_portal_log_omits_what_the_operators_endpoints_got(site: Site) -> None:
    a = site.a
    operator = site.cl.add_webhook("http://127.0.0.1:9/ops")  # every organization's events
    site.cl.add_alert(a.org, "depleted")
    site.cl.spend(a.org, site.cl.balance(a.org).available)
    site.cl.evaluate_alerts()
    everything = site.cl.webhook_deliveries(limit=1000)
    theirs = [d for d in everything if d.endpoint_id == operator.id and d.org_id == a.org]
    mine = site.cl.webhook_deliveries(a.org)
    assert theirs and mine and not {d.id for d in theirs} & {d.id for d in mine}
    browser = site.portal(a.org)
    log = browser.get("/portal/alerts").text
    for delivery in mine:
        assert f'data-delivery-id="{delivery.id}"' in log
    for delivery in theirs:
        assert delivery.id not in log
        assert browser.get(f"/portal/deliveries/{delivery.id}").status_code == 404
    console = site.console().get("/console/webhooks").text
    assert all(d.id in console for d in theirs)
    assert credits(0) == site.cl.balance(a.org).available


def test_the_portals_alert_form_offers_used_at_least_a_percent(site: Site) -> None:
    browser = site.portal(site.a.org)
    page = browser.get("/portal/alerts").text
    assert '<option value="used_percent">' in page
    added = browser.post(
        "/portal/alerts",
        data={"csrf": csrf(page), "kind": "used_percent", "percent": "80", "channels": "webhook"},
    )
    assert added.headers["location"] == "/portal/alerts"
    assert _flash(browser.get("/portal/alerts").text) == (
        "Alert added: used at least 80% of the cycle's grant."
    )
    assert "used_percent" in [r.kind.value for r in site.cl.alert_rules(site.a.org)]
