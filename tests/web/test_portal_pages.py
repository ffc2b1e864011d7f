"""Every portal page renders its organization's data: the credit counter, the cycle and
the burn-down; the state banner and its way out; usage; transactions whose causes open
to a usage event's components, a batch's events, a purchase; buying credits through the
checkout, the purchase page waiting for the webhook; purchases, receipts and invoices;
alerts, webhook endpoints and the delivery log; the plan."""

from __future__ import annotations

import json
import re
from datetime import UTC, date, datetime, timedelta
from html import unescape

from creditline import Creditline, credits
from creditline.domain.ledger import CauseType
from creditline.entrypoints.api import create_app
from creditline.entrypoints.web import WebSettings, views
from tests.billing import EXAMPLES
from tests.web.conftest import QUIET, Site, csrf


def _flash(page: str) -> str:
    found = re.search(r'data-testid="flash"[^>]*>([^<]*)<', page)
    assert found is not None, "no message on the page"
    return unescape(found.group(1))


def _json_block(page: str, ident: str) -> dict[str, object]:
    found = re.search(rf'<script type="application/json" id="{ident}">(.*?)</script>', page)
    assert found is not None
    data: dict[str, object] = json.loads(found.group(1))
    return data


def test_the_overview_shows_the_counter_by_kind_the_cycle_and_the_burn_down(
    site: Site,
) -> None:
    a = site.a
    # The OTAI plans' onboarding grant pays for OTAI's training runs: its card is loaded
    # for them (the organization's own usage is priced by the site's card).
    site.cl.load_rate_card((EXAMPLES / "otai" / "ratecard.toml").read_text(encoding="utf-8"))
    site.cl.load_plans((EXAMPLES / "otai" / "plans.toml").read_text(encoding="utf-8"))
    site.cl.subscribe(a.org, "pro")  # 100 included credits now, 50 each month
    for i in range(7):  # a credit a day, this week
        site.cl.record(a.org, f"daily-{i}", "ping", occurred_at=site.clock.now())
    balance = site.cl.balance(a.org)
    page = site.portal(a.org).get("/portal/").text
    assert f'data-testid="available" data-micros="{balance.available}"' in page
    assert re.search(r'data-testid="kind-included"><th scope="row">included</th>'
                     r'<td class="num"><span class="credits" title="93 credits">93.00</span></td>',
                     page)  # fmt: skip
    prepaid = balance.by_kind[next(k for k in balance.by_kind if k.value == "prepaid")]
    assert prepaid == credits(100) + credits(10) - credits(3) - credits(3)  # grant, pack, usage
    assert (
        'data-testid="burn-rate"><span class="credits" title="1 credits">1.00<' in page
    )  # 7 credits over the last 7 days
    assert 'data-testid="depletes-on"' in page
    assert 'data-testid="cycle-plan">pro<' in page
    assert 'data-testid="cycle-progress"' in page and 'data-testid="next-renewal"' in page
    assert "2026-03-03" in page  # a month after the subscription
    chart = _json_block(page, "burn-chart-data")
    assert chart["kind"] == "burndown"
    labels = chart["labels"]
    # the last 30 days (the cycle began today), then the forecast: 197 days to the
    # run-out date, after the cycle's end, shown up to views.FORECAST_DAYS
    assert isinstance(labels, list) and labels[0] == "2026-01-05" and labels[29] == "2026-02-03"
    assert labels[-1] == (date(2026, 2, 3) + timedelta(days=views.FORECAST_DAYS)).isoformat()
    forecast = chart["forecast"]
    # 207 left (197 and the onboarding guarantee's 10), 1 a day
    assert isinstance(forecast, list) and forecast[29:31] == ["207", "206"]
    assert balance.available == credits(207) and balance.general == credits(197)
    # the onboarding guarantee is shown apart: it pays for training runs only
    assert f'data-testid="general" data-micros="{credits(197)}"' in page
    assert f'data-testid="scoped-total" data-micros="{credits(10)}"' in page
    assert re.search(r'data-testid="scoped-grant"><th scope="row">train \(mode: any\)</th>'
                     r'<td>included</td><td class="num"><span class="credits" '
                     r'title="10 credits">10.00</span></td>', page)  # fmt: skip
    assert 'data-testid="burn-table"' in page
    assert 'data-testid="state-banner"' not in page


def test_an_organization_without_credits_is_told_its_state_and_the_way_out(site: Site) -> None:
    cl = site.cl
    cl.put_plan({
        "name": "locked", "depletion": "read_only", "grant_expiry": "end_of_cycle",
        "cycle_grant": {"credits": 5, "kind": "included"},
    })  # fmt: skip
    read_only = cl.create_org("Read only").id
    cl.subscribe(read_only, "locked")
    cl.spend(read_only, credits(5))
    paused = cl.create_org("Paused").id
    flexing = cl.create_org("Flexing").id
    cl.assign_plan(flexing, "flexy")
    expected = {
        read_only: ("read_only", "This organization is read-only"),
        paused: ("paused", "New operations are paused"),
        flexing: ("flex", "You are using flex credits"),
    }
    for org, (state, title) in expected.items():
        page = site.portal(org).get("/portal/").text
        assert f'data-state="{state}"' in page, state
        assert title in page
        assert 'href="/portal/buy" data-testid="banner-buy"' in page
    renewal = site.portal(read_only).get("/portal/").text
    assert 'data-testid="banner-renewal"' in renewal
    assert "wait for the renewal on 2026-03-03" in renewal


def test_the_usage_page_groups_filters_and_charts_the_usage(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org)
    by_project = browser.get("/portal/usage?group=project&period=day").text
    assert "A bot" in by_project
    chart = _json_block(by_project, "usage-chart-data")
    assert chart["kind"] == "usage" and chart["labels"] == ["2026-01-10"]
    # everything: the flex ping (no project) 1, the pipeline 3, the batch 3
    assert (
        'data-testid="usage-table-total"><span class="credits" title="7 credits">7.00<'
        in by_project
    )
    by_operation = browser.get(
        f"/portal/usage?group=operation&period=month&project={a.ids['project_id']}"
    ).text
    rows = re.findall(r'data-testid="usage-row"><th scope="row"[^>]*>([^<]+)</th><td>([^<]+)</td>'
                      r'<td class="num">(\d+)</td>', by_operation)  # fmt: skip
    assert rows == [("2026-01", "ping", "3"), ("2026-01", "pipeline", "1")]
    assert (
        'data-testid="usage-table-total"><span class="credits" title="6 credits">6.00<'
        in by_operation
    )
    no_project = browser.get("/portal/usage?group=operation&project=-").text
    assert (
        'data-testid="usage-table-total"><span class="credits" title="1 credits">1.00<'
        in no_project
    )
    bad = browser.get("/portal/usage?group=colour")
    assert bad.status_code == 422
    assert "group" in bad.text


def test_transactions_name_each_cause_and_open_usage_rows_to_their_components(
    site: Site,
) -> None:
    a = site.a
    site.app.state.web_settings = WebSettings(page_size=3)
    browser = site.portal(a.org)
    first = browser.get("/portal/transactions").text
    assert len(re.findall(r'data-testid="ledger-row"', first)) == 3
    older = re.search(r'href="(/portal/transactions\?before=\d+)" rel="next"', first)
    assert older is not None
    second = browser.get(unescape(older.group(1))).text
    assert 'data-testid="newest"' in second
    site.app.state.web_settings = WebSettings(page_size=100)
    everything = browser.get("/portal/transactions").text
    links = set(re.findall(r'href="([^"]+)" data-testid="cause-link"', everything))
    assert f"/portal/events/{a.ids['event_id']}" in links
    assert f"/portal/batches/{a.ids['batch_id']}" in links
    assert f"/portal/purchases/{a.ids['purchase_id']}" in links
    consumes = browser.get("/portal/transactions?type=consume").text
    assert set(re.findall(r'data-type="(\w+)"', consumes)) == {"consume"}
    by_cause = browser.get(
        f"/portal/transactions?cause_type=usage_event&cause_ref={a.ids['event_id']}"
    ).text
    assert len(re.findall(r'data-testid="ledger-row"', by_cause)) == 1
    entry = site.cl.history(
        a.org,
        1,
        types=["consume"],
    )[0]
    assert entry.cause.type in (CauseType.USAGE_EVENT, CauseType.USAGE_BATCH)
    event = browser.get(f"/portal/events/{a.ids['event_id']}").text
    components = re.findall(r'data-testid="component-row"><th scope="row">([^<]+)</th>'
                            r'<td class="num" data-micros="(\d+)">', event)  # fmt: skip
    assert components == [("ping", "1000000"), ("translate", "2000000")]
    assert 'data-testid="event-cost" data-micros="3000000"' in event
    batch = browser.get(f"/portal/batches/{a.ids['batch_id']}").text
    assert len(re.findall(r'data-testid="batch-row"', batch)) == 3
    assert 'data-testid="batch-total"><span class="credits" title="3 credits">3.00<' in batch
    assert browser.get("/portal/events/no-such-event").status_code == 404


def test_buying_a_pack_goes_to_the_checkout_and_the_return_page_waits_for_the_payment(
    site: Site,
) -> None:
    a = site.a
    browser = site.portal(a.org, member_id=a.ids["member_id"])
    page = browser.get("/portal/buy").text
    assert 'data-testid="pack-50-credits"' in page and "€450.00" in page and "€9.00" in page
    form = {"csrf": csrf(page), "pack": "50-credits", "currency": "EUR", "purchase_key": "p-1"}
    started = browser.post("/portal/buy", data=form)
    assert started.status_code == 303
    assert started.headers["location"].startswith("https://checkout.stripe.com/c/pay/")
    again = browser.post("/portal/buy", data=form)  # a double click buys once
    assert again.headers["location"] == started.headers["location"]
    (purchase,) = [p for p in site.cl.purchases(a.org) if p.pack == "50-credits"]
    assert purchase.email == "ada@a.example"  # the member's, for the receipt
    session = site.fake.sessions[purchase.session_id or ""]
    assert session["success_url"] == "http://testserver/portal/purchases/return?key=p-1"
    back = browser.get("/portal/purchases/return?key=p-1")
    assert back.headers["location"] == f"/portal/purchases/{purchase.id}"
    waiting = browser.get(back.headers["location"]).text
    assert 'data-status="pending"' in waiting
    assert f'hx-get="/portal/purchases/{purchase.id}/status" hx-trigger="every 2s"' in waiting
    assert 'data-testid="refresh-link"' in waiting  # readable without JavaScript
    before = site.cl.balance(a.org).available
    site.pay(purchase.session_id or "")
    status = browser.get(f"/portal/purchases/{purchase.id}/status").text
    assert 'data-status="paid"' in status and "hx-get" not in status
    assert "<html" not in status  # a fragment, swapped into the page
    assert site.cl.balance(a.org).available == before + credits(50)
    receipt = browser.get(f"/portal/purchases/{purchase.id}/receipt").text
    assert 'data-testid="receipt-amount">€450.00<' in receipt


def test_any_amount_is_bought_at_the_catalogues_rate_and_mistakes_are_explained(
    site: Site,
) -> None:
    site.cl.load_packs((EXAMPLES / "aixplain" / "packs.toml").read_text(encoding="utf-8"))
    browser = site.portal(site.a.org)
    page = browser.get("/portal/buy").text
    assert 'data-testid="any-amount"' in page and "$1.00 per credit" in page
    token = csrf(page)
    started = browser.post("/portal/buy", data={"csrf": token, "credits": "25", "currency": "USD"})
    assert started.status_code == 303
    bought = site.cl.purchases(site.a.org)[0]
    assert (bought.credits, bought.price.minor, bought.price.currency) == (credits(25), 2500, "USD")
    refused = browser.post("/portal/buy", data={"csrf": token, "credits": "0.5", "currency": "USD"})
    assert refused.headers["location"] == "/portal/buy"
    assert "buy from 1 to 10000 credits" in _flash(browser.get("/portal/buy").text)


def test_without_a_payment_provider_the_buy_page_says_to_contact_sales(
    db_url: str, site: Site
) -> None:
    site.cl.close()
    cl = Creditline.open(db_url, clock=site.clock)
    try:
        site.cl, site.app = cl, create_app(cl, settings=QUIET)
        page = site.portal(site.a.org).get("/portal/buy").text
        assert 'data-testid="contact-sales"' in page
        assert '<form method="post" action="/portal/buy"' not in page
        overview = site.portal(site.a.org).get("/portal/").text
        assert 'data-testid="state-banner"' not in overview
    finally:
        cl.close()


def test_purchases_and_invoices_list_with_receipts_and_downloads(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org)
    page = browser.get("/portal/billing").text
    assert f'data-purchase-id="{a.ids["purchase_id"]}"' in page
    assert f'data-invoice-id="{a.ids["invoice_id"]}"' in page
    assert f'href="/portal/purchases/{a.ids["purchase_id"]}/receipt"' in page
    invoice = site.cl.invoice(a.org, a.ids["invoice_id"])
    html = browser.get(f"/portal/invoices/{invoice.id}")
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assert f"{invoice.number:06d}" in html.text and "EUR 4.00" in html.text
    pdf = browser.get(f"/portal/invoices/{invoice.id}/pdf")
    assert pdf.headers["content-type"] == "application/pdf"
    assert pdf.content.startswith(b"%PDF")
    assert "attachment" in pdf.headers["content-disposition"]


def test_alerts_add_rules_and_endpoints_show_the_secret_once_and_send_a_test(
    site: Site,
) -> None:
    a = site.a
    browser = site.portal(a.org)
    token = csrf(browser.get("/portal/alerts").text)
    added = browser.post(
        "/portal/alerts",
        data={"csrf": token, "kind": "remaining_below", "threshold": "50", "channels": "webhook"},
    )
    assert added.headers["location"] == "/portal/alerts"
    page = browser.get("/portal/alerts").text
    assert _flash(page) == "Alert added: remaining below 50 credits."
    assert len(re.findall(r'data-testid="rule-row"', page)) == 2
    refused = browser.post("/portal/alerts", data={"csrf": token, "kind": "remaining_below"})
    assert refused.status_code == 303
    assert "threshold" in _flash(browser.get("/portal/alerts").text)
    hook = browser.post(
        "/portal/webhooks",
        data={"csrf": token, "url": "https://hooks.a.example/credits",
              "event_types": "credits.depleted", "description": "ops"},
    )  # fmt: skip
    assert hook.status_code == 201
    secret = re.search(r'data-testid="secret-value"', hook.text)
    assert secret is not None and "whsec_" in hook.text
    assert "whsec_" not in browser.get("/portal/alerts").text  # shown once
    endpoint = next(
        e for e in site.cl.webhook_endpoints(a.org) if e.url == "https://hooks.a.example/credits"
    )
    sent = browser.post(f"/portal/webhooks/{endpoint.id}/test", data={"csrf": token})
    assert sent.status_code == 303
    log = browser.get("/portal/alerts").text
    assert "Test event msg_" in _flash(log)
    (test,) = [d for d in site.cl.webhook_deliveries(a.org) if d.event_type == "webhook.test"]
    assert f'data-delivery-id="{test.id}"' in log
    detail = browser.get(f"/portal/deliveries/{test.id}").text
    assert "webhook.test" in detail and 'data-testid="attempts-table"' in detail
    again = browser.post(f"/portal/deliveries/{test.id}/redeliver", data={"csrf": token})
    assert again.headers["location"] == f"/portal/deliveries/{test.id}"
    removed = browser.post(f"/portal/alerts/{a.ids['rule_id']}/disable", data={"csrf": token})
    assert removed.status_code == 303
    assert [r.id for r in site.cl.alert_rules(a.org)] != [a.ids["rule_id"]]
    assert a.ids["rule_id"] not in [r.id for r in site.cl.alert_rules(a.org)]
    gone = browser.post(f"/portal/webhooks/{endpoint.id}/disable", data={"csrf": token})
    assert gone.status_code == 303
    assert endpoint.id not in [e.id for e in site.cl.webhook_endpoints(a.org)]
    failed = browser.get("/portal/alerts?status=failed").text
    assert 'data-testid="delivery-row"' not in failed


def test_the_plan_page_shows_what_the_plan_includes_gates_and_when_it_renews(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org)
    flexy = browser.get("/portal/plan").text
    assert 'data-testid="plan-name">flexy<' in flexy
    assert (
        'data-testid="depletion">usage continues with no monthly limit, billed at the end '
        "of the month, at €4.00 a credit<"
    ) in flexy
    assert 'data-testid="no-gates"' in flexy and 'data-testid="not-subscribed"' in flexy
    site.cl.load_rate_card((EXAMPLES / "otai" / "ratecard.toml").read_text(encoding="utf-8"))
    site.cl.load_plans((EXAMPLES / "otai" / "plans.toml").read_text(encoding="utf-8"))
    site.cl.subscribe(a.org, "pro")
    pro = browser.get("/portal/plan").text
    shown = '<span class="credits" title="{0} credits">{0}.00</span> included credits<'
    assert 'data-testid="signup-grant">' + shown.format(100) in pro
    assert 'data-testid="cycle-grant">' + shown.format(50) in pro
    assert (
        'data-testid="extra-signup-grant">'
        + shown.format(10)[:-1]
        + (" for train (mode: any) only, spent first by it<")
        in pro
    )
    assert "<strong>mode</strong>: only Basic, Business." in pro
    assert 'data-testid="plan-next-renewal"><time datetime="2026-03-03' in pro


def test_the_billing_page_shows_the_subscription_line_and_the_overdue_banner(site: Site) -> None:
    cl, clock = site.cl, site.clock
    cl.put_plan({
        "name": "studio", "depletion": "pause", "interval": "monthly", "anchor": "calendar",
        "cycle_grant": {"credits": 20}, "fee": {"prices_minor": {"EUR": 2900}},
        "dunning": {"retry_after_days": [1]},
    })  # fmt: skip
    org = cl.create_org("Studio").id
    cl.subscribe(org, "studio")  # February 3rd: February's fee, due now, billed March 1st
    purchase = cl.create_purchase(org, "10-credits", currency="EUR")
    assert purchase.session_id is not None
    session = site.fake.pay(purchase.session_id, payment_method="pm_card_studio")
    site.deliver(site.fake.event("checkout.session.completed", session))
    browser = site.portal(org)
    page = browser.get("/portal/billing").text
    assert 'data-testid="pending-item"' in page and "studio plan (monthly)" in page
    site.fake.decline_charges("pm_card_studio", "insufficient_funds")
    clock.set(datetime(2026, 3, 1, 6, tzinfo=UTC))
    cl.tick()
    browser = site.portal(org)  # a new session: the first one's hour is long over
    page = browser.get("/portal/billing").text
    assert "studio plan (monthly), 2026-02-03 to 2026-02-28" in page  # the subscription line
    assert 'data-testid="retry-notice"' in page and "insufficient_funds" in page
    assert 'data-testid="overdue-banner"' not in page
    clock.set(datetime(2026, 3, 2, 6, tzinfo=UTC))
    cl.tick()  # the only retry fails: suspended
    browser = site.portal(org)
    (invoice,) = cl.invoices(org)
    for path in ("/portal/", "/portal/billing"):
        page = browser.get(path).text
        assert 'data-testid="overdue-banner"' in page, path
        assert f'data-invoice="{invoice.display_number}"' in page
        assert "New operations are paused until it is paid" in page
    assert "overdue, organization suspended" in browser.get("/portal/billing").text
    cl.mark_invoice_paid(org, invoice.id, reference="wire")
    assert 'data-testid="overdue-banner"' not in browser.get("/portal/").text


def test_the_plan_page_shows_how_long_a_running_operation_may_hold_credits(site: Site) -> None:
    a = site.a
    browser = site.portal(a.org)
    assert 'data-testid="max-hold"' not in browser.get("/portal/plan").text
    site.cl.put_plan({"name": "long-runs", "max_hold_hours": 96})
    site.cl.assign_plan(a.org, "long-runs")
    page = browser.get("/portal/plan").text
    assert 'data-testid="max-hold">96 hours from its start, heartbeats included<' in page
