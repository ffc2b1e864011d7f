"""The operator console: only an operator key signs in (and revoking it ends the
session); organizations with their balance and state, found by name or reference; a
grant or an adjustment needs a reason, which the ledger records as its cause; an
organization's portal opened read-only; rate cards validated with every problem shown,
and loaded; the webhook and payment logs."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from html import unescape

from creditline import Cause, CauseType, EntryType, credits
from creditline.entrypoints.web.sessions import CONSOLE_COOKIE
from tests.metering import card_doc
from tests.web.conftest import Site, csrf


def _flash(page: str) -> str:
    found = re.search(r'data-testid="flash"[^>]*>([^<]*)<', page)
    assert found is not None, "no message on the page"
    return unescape(found.group(1))


def test_only_an_operator_key_signs_in(site: Site) -> None:
    cl, a = site.cl, site.a
    org_key = cl.create_api_key("org", a.org, name="backend").secret
    read_key = cl.create_api_key("org_read", a.org, name="dashboard").secret
    refusals = {
        org_key: "Only an operator key signs in to the console.",
        read_key: "Only an operator key signs in to the console.",
        "cl_live_nothing_here": "That key is not valid.",
        "": "That key is not valid.",
    }
    for key, message in refusals.items():
        browser = site.browser()
        refused = browser.post("/console/login", data={"api_key": key})
        assert refused.status_code == 401, key
        assert message in refused.text
        assert "set-cookie" not in refused.headers
        assert browser.get("/console/orgs").headers["location"] == "/console/login"
    browser = site.browser()
    signed_in = browser.post("/console/login", data={"api_key": site.operator})
    assert signed_in.headers["location"] == "/console/orgs"
    cookie = signed_in.headers["set-cookie"].lower()
    assert "path=/console" in cookie and "samesite=strict" in cookie and "httponly" in cookie
    assert "max-age=28800" in cookie
    assert site.operator not in signed_in.headers["set-cookie"]  # the key's id, not its text
    assert browser.get("/console/orgs").status_code == 200


def test_the_console_session_ends_with_its_key_or_after_eight_hours(site: Site) -> None:
    browser = site.console()
    assert browser.get("/console/orgs").status_code == 200
    site.clock.advance(timedelta(hours=8))
    assert browser.get("/console/orgs").headers["location"] == "/console/login"
    browser = site.console()
    (key,) = [k for k in site.cl.api_keys() if k.role.value == "operator"]
    site.cl.revoke_api_key(key.id)
    assert browser.get("/console/orgs").headers["location"] == "/console/login"
    forged = site.browser()
    forged.cookies.set(CONSOLE_COOKIE, "eyJrIjoia2V5In0.forged", path="/console")
    assert forged.get("/console/orgs").headers["location"] == "/console/login"


def test_organizations_are_listed_with_balance_and_state_and_found(site: Site) -> None:
    cl = site.cl
    broke = cl.create_org("Broke Ltd").id
    browser = site.console()
    page = browser.get("/console/orgs").text
    rows = re.findall(r'data-testid="org-row" data-org-id="([^"]+)" data-state="([^"]+)"', page)
    assert dict(rows) == {site.a.org: "active", site.b.org: "active", broke: "paused"}
    available = cl.balance(site.a.org).available
    assert f'data-micros="{available}"' in page
    assert re.findall(r'data-org-id="([^"]+)"', browser.get("/console/orgs?q=broke").text) == [
        broke
    ]
    by_ref = browser.get("/console/orgs?q=ext-b").text
    assert re.findall(r'data-org-id="([^"]+)"', by_ref) == [site.b.org]
    assert "No organization found" in browser.get("/console/orgs?q=%25").text


def test_a_grant_needs_a_reason_and_the_ledger_records_it_as_the_cause(site: Site) -> None:
    cl, a = site.cl, site.a
    browser = site.console()
    token = csrf(browser.get(f"/console/orgs/{a.org}").text)
    before = cl.balance(a.org).total
    url = f"/console/orgs/{a.org}/grants"
    refused = browser.post(url, data={"csrf": token, "amount": "25", "kind": "promotional"})
    assert refused.headers["location"] == f"/console/orgs/{a.org}"
    assert "the reason is the ledger entry's cause" in _flash(
        browser.get(refused.headers["location"]).text
    )
    assert cl.balance(a.org).total == before
    reason = "goodwill for the outage of 2026-02-01"
    data = {"csrf": token, "amount": "25", "kind": "promotional", "reason": reason,
            "expires_on": "2026-06-01"}  # fmt: skip
    granted = browser.post(url, data=data)
    page = browser.get(granted.headers["location"]).text
    assert _flash(page).startswith("Granted 25.00 promotional credits")
    assert f"operator: {reason}" in unescape(page)
    (entry,) = cl.history(a.org, 1)
    assert (entry.type, entry.amount, entry.cause) == (
        EntryType.GRANT, credits(25), Cause(CauseType.OPERATOR, reason),
    )  # fmt: skip
    grant = next(g for g in cl.grants(a.org) if g.id == entry.grant_id)
    assert grant.expires_at == datetime(2026, 6, 1, tzinfo=UTC)
    assert grant.metadata["reason"] == reason and grant.metadata["operator_key"].startswith("key_")
    taken = browser.post(
        f"/console/orgs/{a.org}/adjustments",
        data={"csrf": token, "amount": "-2.5", "reason": "double charge"},
    )
    assert _flash(browser.get(taken.headers["location"]).text) == "Adjusted by -2.50 credits."
    (entry,) = cl.history(a.org, 1)
    assert (entry.type, entry.amount, entry.cause) == (
        EntryType.ADJUSTMENT, -credits("2.5"), Cause(CauseType.OPERATOR, "double charge"),
    )  # fmt: skip
    forged = browser.post(url, data={**data, "csrf": "forged"})
    assert forged.status_code == 403
    assert cl.history(a.org, 1) == [entry]


def test_the_console_opens_an_organizations_portal_read_only_or_as_the_customer(
    site: Site,
) -> None:
    browser = site.console()
    token = csrf(browser.get(f"/console/orgs/{site.b.org}").text)
    for mode, read_only in (("view", True), ("act", False)):
        opened = browser.post(
            f"/console/orgs/{site.b.org}/portal", data={"csrf": token, "mode": mode}
        )
        assert opened.headers["location"].startswith("/portal/session/")
        assert browser.get(opened.headers["location"]).headers["location"] == "/portal/"
        page = browser.get("/portal/").text
        assert 'data-testid="org-name">B<' in page
        assert ('data-testid="read-only-badge"' in page) is read_only


def test_a_pasted_rate_card_is_validated_with_every_problem_shown_then_loaded(
    site: Site,
) -> None:
    cl = site.cl
    browser = site.console()
    token = csrf(browser.get("/console/ratecards").text)
    broken = 'name = "default"\nversion = "v2"\n[operations.ping]\nflat = "-1"\n'
    checked = browser.post(
        "/console/ratecards/validate", data={"csrf": token, "document": broken, "syntax": "toml"}
    )
    assert checked.status_code == 422
    problems = re.findall(r'data-testid="ratecard-problem">([^<]*)<', checked.text)
    assert len(problems) >= 2 and any("effective_from" in p for p in problems)
    assert "[operations.ping]" in unescape(checked.text)  # the document is kept in the form
    later = datetime(2026, 3, 1, tzinfo=UTC)
    text = json.dumps(card_doc("v2", later, ping="2"))
    valid = browser.post(
        "/console/ratecards/validate", data={"csrf": token, "document": text, "syntax": "json"}
    )
    assert valid.status_code == 200
    assert 'data-testid="ratecard-valid"' in valid.text
    assert [c.version for c in cl.rate_card_history().versions] == ["v1"]
    loaded = browser.post(
        "/console/ratecards/load", data={"csrf": token, "document": text, "syntax": "json"}
    )
    assert 'data-testid="ratecard-loaded"' in loaded.text
    assert [c.version for c in cl.rate_card_history().versions] == ["v1", "v2"]
    conflict = browser.post(
        "/console/ratecards/load",
        data={"csrf": token, "document": json.dumps(card_doc("v2", later, ping="3")),
              "syntax": "json"},
    )  # fmt: skip
    assert conflict.status_code == 409 and 'data-testid="ratecard-problem"' in conflict.text
    version = browser.get("/console/ratecards/default/v2").text
    assert 'data-testid="operations-table"' in version and "pipeline" in version


def test_the_logs_show_every_delivery_and_payment_event_and_the_catalogue(site: Site) -> None:
    browser = site.console()
    hooks = browser.get("/console/webhooks").text
    for tenant in (site.a, site.b):
        assert f'data-delivery-id="{tenant.ids["delivery_id"]}"' in hooks
        assert f'href="/console/orgs/{tenant.org}"' in hooks  # whose delivery it is
    delivery = browser.get(f"/console/deliveries/{site.a.ids['delivery_id']}").text
    assert "credits.below_threshold" in delivery
    token = csrf(delivery)
    again = browser.post(
        f"/console/deliveries/{site.a.ids['delivery_id']}/redeliver", data={"csrf": token}
    )
    assert again.status_code == 303
    payments = browser.get("/console/payments").text
    events = re.findall(r'data-testid="payment-event-row">(.*?)</tr>', payments)
    assert len(events) == 2 and all("checkout.session.completed" in e for e in events)
    assert all("granted" in e for e in events)
    assert site.a.ids["purchase_id"] in payments and site.b.ids["purchase_id"] in payments
    packs = browser.get("/console/packs").text
    assert "€450.00" in packs and "refundable" in packs
    plans = browser.get("/console/plans").text
    assert 'data-plan="flexy"' in plans
    out = browser.post("/console/logout", data={"csrf": token})
    assert out.headers["location"] == "/console/login"
    assert browser.get("/console/orgs").headers["location"] == "/console/login"


def test_the_revenue_page_shows_the_month_and_exports_it(site: Site) -> None:
    browser = site.console()
    month = f"{site.clock.now():%Y-%m}"
    report = site.cl.revenue_report(month)
    page = browser.get("/console/revenue").text
    assert f'value="{month}"' in page and 'data-testid="nav-revenue"' in page
    for line in report.lines:
        assert f'data-currency="{line.currency}"' in page
        assert f'data-testid="revenue-closing" data-minor="{line.closing.minor}"' in page
    export = browser.get(f"/console/revenue.csv?month={month}")
    assert export.status_code == 200 and export.headers["content-type"].startswith("text/csv")
    assert f'filename="revenue-{month}.csv"' in export.headers["content-disposition"]
    assert export.text.startswith("section,currency,kind,opening_credits,")
    assert browser.get("/console/revenue?month=2026-13").status_code == 422
    assert browser.get("/console/revenue.csv?month=nope").status_code == 422
    assert site.browser().get("/console/revenue", follow_redirects=False).status_code == 303
