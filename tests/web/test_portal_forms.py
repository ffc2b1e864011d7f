"""What a portal session may post: a read-only session sees every page without its forms
and is refused every change (403); every form carries the session's CSRF token, and a
post without it, or with another session's, changes nothing (403)."""

from __future__ import annotations

import re
from typing import Any

from fastapi.routing import APIRoute

from creditline.entrypoints.web import portal
from tests.web.conftest import Site, Tenant, csrf

_PARAM = re.compile(r"\{(\w+)(?::\w+)?\}")
_FORM = re.compile(r'<form method="post" action="([^"]+)"')


def _posts() -> list[str]:
    return [
        route.path
        for route in portal.router.routes
        if isinstance(route, APIRoute) and "POST" in route.methods
    ]


def _fill(path: str, ids: dict[str, str]) -> str:
    return _PARAM.sub(lambda m: ids[m.group(1)], path)


def _state(site: Site, tenant: Tenant) -> dict[str, Any]:
    cl, org = site.cl, tenant.org
    return {
        "history": cl.history(org, limit=1000),
        "purchases": cl.purchases(org),
        "rules": cl.alert_rules(org, include_disabled=True),
        "endpoints": cl.webhook_endpoints(org, include_disabled=True),
        "deliveries": [cl.webhook_delivery(d.id) for d in cl.webhook_deliveries(org)],
    }


# A plausible body for each form, so that only the session can be why it is refused.
BODIES = {
    "/portal/buy": {"pack": "10-credits", "currency": "EUR", "purchase_key": "ro"},
    "/portal/alerts": {"kind": "depleted"},
    "/portal/webhooks": {"url": "https://hooks.example/x"},
}


def _pages(tenant: Tenant) -> list[str]:
    ids = tenant.ids
    purchase = f"/portal/purchases/{ids['purchase_id']}"
    return [
        "/portal/", "/portal/usage", "/portal/transactions", f"/portal/events/{ids['event_id']}",
        f"/portal/batches/{ids['batch_id']}", "/portal/buy", purchase, f"{purchase}/receipt",
        "/portal/billing", "/portal/alerts", f"/portal/deliveries/{ids['delivery_id']}",
        "/portal/plan", "/portal/keys",
    ]  # fmt: skip


def test_a_read_only_session_sees_every_page_but_no_form_that_changes_anything(
    site: Site,
) -> None:
    a = site.a
    reader = site.portal(a.org, read_only=True)
    writer = site.portal(a.org)
    for path in _pages(a):
        page = reader.get(path)
        assert page.status_code == 200, path
        assert 'data-testid="read-only-badge"' in page.text
        assert _FORM.findall(page.text) == ["/portal/logout"], path
    # The full session has the forms the read-only one lacks.
    assert len(_FORM.findall(writer.get("/portal/alerts").text)) > 5
    assert "/portal/buy" in _FORM.findall(writer.get("/portal/buy").text)


def test_a_read_only_session_is_refused_every_change(site: Site) -> None:
    a = site.a
    reader = site.portal(a.org, read_only=True)
    token = csrf(reader.get("/portal/").text)
    before = _state(site, a)
    posts = [p for p in _posts() if p != "/portal/logout"]
    assert len(posts) >= 8
    for path in posts:
        url = _fill(path, a.ids)
        refused = reader.post(url, data={"csrf": token, **BODIES.get(path, {})})
        assert refused.status_code == 403, (url, refused.text[:300])
        assert "This session is read-only" in refused.text
    assert _state(site, a) == before
    assert len(site.fake.sessions) == 2  # the checkouts of the setup purchases only


def test_a_post_without_this_sessions_csrf_token_is_refused(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org)
    other = site.portal(a.org)  # the same organization, another session
    token, foreign = csrf(browser.get("/portal/").text), csrf(other.get("/portal/").text)
    assert token != foreign
    before = _state(site, a)
    for data in ({}, {"csrf": ""}, {"csrf": foreign}, {"csrf": token[:-1]}):
        refused = browser.post("/portal/alerts", data={"kind": "depleted", **data})
        assert refused.status_code == 403, data
        assert "This form has expired or did not come from this page" in refused.text
    refused = browser.post(f"/portal/webhooks/{a.ids['endpoint_id']}/disable", data={})
    assert refused.status_code == 403
    assert _state(site, a) == before
    added = browser.post("/portal/alerts", data={"kind": "depleted", "csrf": token})
    assert added.status_code == 303
    assert len(site.cl.alert_rules(a.org)) == 2


def test_a_form_posted_as_json_is_refused(site: Site) -> None:
    browser = site.portal(site.a.org)
    token = csrf(browser.get("/portal/").text)
    refused = browser.post("/portal/alerts", json={"kind": "depleted", "csrf": token})
    assert refused.status_code == 415
    assert len(site.cl.alert_rules(site.a.org)) == 1
