"""No organization sees or touches another's anything through the portal (promise 4):
organization A's session asks every portal route, by every method, with the ids of
organization B's things (an event, a batch, a purchase, an invoice, an alert rule, a
webhook endpoint, a delivery) and gets 404, exactly as for a thing that does not exist;
B is unchanged. The routes come from the portal's router, so a route added later is
checked without touching this test."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

from creditline.entrypoints.web import portal
from tests.web.conftest import Site, Tenant, csrf

LINK = "/portal/session/{token}"
_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")


def _routes() -> list[tuple[str, str]]:
    return [
        (method, route.path)
        for route in portal.router.routes
        if isinstance(route, APIRoute) and route.path != LINK
        for method in sorted(route.methods)
    ]


def _fill(path: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: ids[m.group(1)], path)


def _snapshot(site: Site, tenant: Tenant) -> dict[str, Any]:
    cl, org = site.cl, tenant.org
    return {
        "balance": cl.balance(org),
        "history": cl.history(org, limit=1000),
        "purchases": cl.purchases(org),
        "invoices": cl.invoices(org),
        "rules": cl.alert_rules(org, include_disabled=True),
        "endpoints": cl.webhook_endpoints(org, include_disabled=True),
        "deliveries": [cl.webhook_delivery(d.id) for d in cl.webhook_deliveries(org)],
    }


def test_every_portal_route_answers_404_for_another_organizations_things(site: Site) -> None:
    a, b = site.a, site.b
    browser = site.portal(a.org)
    token = csrf(browser.get("/portal/alerts").text)
    before = _snapshot(site, b)
    named = [(m, p) for m, p in _routes() if _PARAM.search(p)]
    assert len(named) >= 13  # every route that names a thing, at least those of today
    for method, path in named:
        assert {n for n in _PARAM.findall(path)} <= b.ids.keys(), path
        url = _fill(path, b.ids)
        data = {"csrf": token}
        response = browser.get(url) if method == "GET" else browser.post(url, data=data)
        assert response.status_code == 404, (method, url, response.text[:300])
        assert "There is nothing here." in response.text
        for secret in (b.org, "B Ada", b.ids["purchase_id"], b.ids["invoice_id"]):
            assert secret not in response.text, (method, url, secret)
    # The same routes with A's own things work (so the 404s above are B's, not the route's).
    for method, path in named:
        if method == "GET":
            assert browser.get(_fill(path, a.ids)).status_code == 200, path
    assert _snapshot(site, b) == before


def test_the_portal_lists_only_the_sessions_own_things(site: Site) -> None:
    a, b = site.a, site.b
    browser = site.portal(a.org)
    plain = [p for m, p in _routes() if m == "GET" and not _PARAM.search(p)]
    assert "/portal/usage.csv" in plain and "/portal/billing" in plain
    for path in plain:
        if path == "/portal/purchases/return":
            continue
        page = browser.get(path)
        assert page.status_code == 200, path
        for secret in (b.org, *b.ids.values(), "B Ada", "B bot"):
            assert secret not in page.text, (path, secret)


def test_the_checkout_return_finds_only_the_sessions_own_purchase(site: Site) -> None:
    a, b = site.a, site.b
    buyer = site.portal(b.org)
    page = buyer.get("/portal/buy").text
    started = buyer.post(
        "/portal/buy",
        data={"csrf": csrf(page), "pack": "10-credits", "currency": "EUR", "purchase_key": "k1"},
    )
    assert started.status_code == 303
    back = buyer.get("/portal/purchases/return?key=k1")
    assert back.status_code == 303
    assert back.headers["location"].startswith("/portal/purchases/pur_")
    stranger = site.portal(a.org)
    assert stranger.get("/portal/purchases/return?key=k1").status_code == 404
    assert stranger.get(back.headers["location"]).status_code == 404
