"""Opening the portal: a valid link opens a browser session of its organization (an
HttpOnly, SameSite=Lax cookie scoped to /portal); a tampered link, an expired one, a
forged or stale cookie open nothing, each with its own page."""

from __future__ import annotations

import base64
import json
from datetime import timedelta

from creditline.adapters.db.portal import KeySigner
from creditline.entrypoints.web.sessions import PORTAL_COOKIE
from tests.web.conftest import Site, csrf


def _attributes(set_cookie: str) -> dict[str, str]:
    parts = [p.strip() for p in set_cookie.split(";")]
    return {p.split("=")[0].lower(): (p.split("=", 1)[1] if "=" in p else "") for p in parts[1:]}


def test_a_valid_link_opens_a_session_of_its_organization_only(site: Site) -> None:
    a, b = site.a, site.b
    link = site.cl.create_portal_session(a.org, member_id=a.ids["member_id"])
    browser = site.browser()
    opened = browser.get(link.url)
    assert opened.status_code == 303
    assert opened.headers["location"] == "/portal/"
    assert opened.headers["referrer-policy"] == "no-referrer"
    cookie = opened.headers["set-cookie"]
    assert cookie.startswith(f"{PORTAL_COOKIE}=")
    attributes = _attributes(cookie)
    assert attributes["path"] == "/portal"
    assert attributes["samesite"].lower() == "lax"
    assert "httponly" in attributes
    assert attributes["max-age"] == "3600"
    assert link.token not in cookie  # the session is not the link
    page = browser.get("/portal/")
    assert page.status_code == 200
    assert 'data-testid="org-name">A<' in page.text
    assert 'data-testid="member-name">A Ada<' in page.text
    assert b.org not in page.text and "B Ada" not in page.text
    # The organization comes from the session, never from the URL.
    asked = browser.get(f"/portal/transactions?org_id={b.org}&org={b.org}")
    assert asked.status_code == 200
    assert b.ids["purchase_id"] not in asked.text and a.ids["purchase_id"] in asked.text


def test_a_tampered_link_is_refused_with_a_page_saying_it_is_not_valid(site: Site) -> None:
    link = site.cl.create_portal_session(site.a.org)
    payload, _, signature = link.token.partition(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["o"], claims["r"] = site.b.org, 0
    swapped = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    foreign = KeySigner(b"another key of another server").sign("portal-link", claims)
    for token in (f"{swapped}.{signature}", link.token[:-3] + "abc", foreign, "nothing"):
        browser = site.browser()
        refused = browser.get(f"/portal/session/{token}")
        assert refused.status_code == 403, token
        assert "This link is not valid." in refused.text
        assert "set-cookie" not in refused.headers
        assert browser.get("/portal/").status_code == 401


def test_an_expired_link_is_refused_with_a_page_asking_for_a_new_one(site: Site) -> None:
    link = site.cl.create_portal_session(site.a.org, ttl_seconds=60)
    site.clock.advance(timedelta(seconds=60))
    browser = site.browser()
    refused = browser.get(link.url)
    assert refused.status_code == 403
    assert "This link has expired, ask for a new one." in refused.text
    assert "set-cookie" not in refused.headers
    assert browser.get("/portal/").status_code == 401


def test_without_a_session_no_portal_page_shows_anything(site: Site) -> None:
    browser = site.browser()
    purchase = f"/portal/purchases/{site.a.ids['purchase_id']}"
    for path in ("/portal/", "/portal/usage", "/portal/transactions", "/portal/billing",
                 purchase, "/portal/usage.csv"):  # fmt: skip
        page = browser.get(path)
        assert page.status_code == 401, path
        assert "Session ended" in page.text
        assert site.a.org not in page.text and site.a.ids["purchase_id"] not in page.text
    refused = browser.post("/portal/alerts", data={"kind": "depleted"})
    assert refused.status_code == 401
    assert site.cl.alert_rules(site.a.org)[0].kind.value == "remaining_below"
    assert len(site.cl.alert_rules(site.a.org)) == 1


def test_a_session_ends_after_an_hour(site: Site) -> None:
    browser = site.portal(site.a.org)
    site.clock.advance(timedelta(minutes=59, seconds=59))
    assert browser.get("/portal/").status_code == 200
    site.clock.advance(timedelta(seconds=1))
    ended = browser.get("/portal/")
    assert ended.status_code == 401
    assert "Open the portal again" in ended.text


def test_a_forged_or_foreign_session_cookie_opens_nothing(site: Site) -> None:
    browser = site.portal(site.a.org)
    genuine = browser.cookies.get(PORTAL_COOKIE, path="/portal")
    assert genuine
    link = site.cl.create_portal_session(site.b.org)
    console = site.console().cookies.get("cl_console", path="/console")
    for value in (genuine[:-2] + "xx", link.token, console, "e30.e30"):
        forged = site.browser()
        forged.cookies.set(PORTAL_COOKIE, value, path="/portal")
        assert forged.get("/portal/").status_code == 401, value


def test_signing_out_ends_the_session(site: Site) -> None:
    browser = site.portal(site.a.org, read_only=True)
    token = csrf(browser.get("/portal/").text)
    out = browser.post("/portal/logout", data={"csrf": token})
    assert out.status_code == 200
    assert 'data-testid="signed-out"' in out.text
    assert f"{PORTAL_COOKIE}=" in out.headers["set-cookie"]
    assert browser.get("/portal/").status_code == 401
