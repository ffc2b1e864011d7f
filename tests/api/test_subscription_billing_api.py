"""Subscription invoices and dunning through the HTTP API and the Python client: the
subscription's currency, the monthly invoice's fee lines, what waits for the next
invoice, the billing events of a declined card, the retries, an operator marking the
invoice paid, and the suspension on the organization's plan.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from creditline import ManualClock
from creditline.client import Client
from creditline.domain.invoices import Collection, InvoiceStatus, LineKind
from tests.billing import Shop, served, verified_shop

CARD = "pm_card_api"


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def test_the_api_bills_a_subscription_and_runs_its_dunning(shop: Shop) -> None:
    shop.load("ai-engine")
    key = shop.cl.create_api_key("operator", name="ops").secret
    headers = {"Authorization": f"Bearer {key}"}
    org = shop.customer("Api Co", card="ai-engine")

    def call(method: str, path: str, body: Any = None) -> Any:
        response = shop.client.request(method, path, json=body, headers=headers)
        assert response.status_code == 200, response.text
        return response.json()

    refused = shop.client.put(
        f"/v1/orgs/{org}/plan", json={"plan": "standard", "subscribe": True, "currency": "JPY"},
        headers=headers,
    )  # fmt: skip
    assert refused.status_code == 422 and "priced in EUR, USD" in refused.text
    plan = call("PUT", f"/v1/orgs/{org}/plan",
                {"plan": "standard", "subscribe": True, "currency": "EUR"})  # fmt: skip
    assert (plan["subscription"]["currency"], plan["billing_hold"]) == ("EUR", None)
    (item,) = call("GET", f"/v1/orgs/{org}/invoice-items")
    assert (item["kind"], item["amount_minor"], item["currency"], item["due_at"]) == (
        "fee", 8900, "EUR", "2026-02-01T00:00:00Z",
    )  # fmt: skip
    shop.pay(shop.buy(org, "standard"), payment_method=CARD)
    shop.fake.decline_charges(CARD, "card_declined")
    shop.clock.set(utc(2026, 2, 1, 6))
    run = call("POST", "/v1/invoices/run", {})
    (invoice,) = run["issued"]
    assert invoice["lines"][0]["kind"] == "fee"
    assert (invoice["status"], invoice["collection"], invoice["payment_attempts"]) == (
        "open", "retrying", 1,
    )  # fmt: skip
    assert invoice["next_attempt_at"] == "2026-02-02T06:00:00Z"
    assert call("POST", "/v1/payments/retry", {}) == {"invoices": []}  # not due yet
    for moment in (utc(2026, 2, 2, 6), utc(2026, 2, 5, 6), utc(2026, 2, 12, 6)):
        shop.clock.set(moment)
        (tried,) = call("POST", "/v1/payments/retry", {})["invoices"]
    assert (tried["collection"], tried["payment_attempts"]) == ("overdue", 4)
    assert call("GET", f"/v1/orgs/{org}/plan")["billing_hold"] == invoice["number"]
    spend = shop.client.post(f"/v1/orgs/{org}/spend", json={"amount": "1"}, headers=headers)
    assert spend.status_code == 402
    assert spend.json()["overdue_invoice"] == invoice["number"]
    events = call("GET", f"/v1/orgs/{org}/billing-events")
    assert [e["type"] for e in events][:2] == ["suspended", "payment_failed"]
    paid = call("POST", f"/v1/orgs/{org}/invoices/{invoice['id']}/mark-paid", {"reference": "w1"})
    assert (paid["status"], paid["collection"]) == ("paid", None)
    assert call("GET", f"/v1/orgs/{org}/plan")["billing_hold"] is None
    events = call("GET", f"/v1/orgs/{org}/billing-events?invoice_id={invoice['id']}")
    assert [(e["type"], e["cause"]) for e in events][:3] == [
        ("payment_reference", "operator"), ("restored", "operator"), ("paid", "operator"),
    ]  # fmt: skip


def test_the_client_answers_as_the_library_does(shop: Shop) -> None:
    shop.load("roboflow")
    key = shop.cl.create_api_key("operator", name="ops").secret
    shop.clock.set(utc(2026, 1, 10))
    with served(shop.cl) as url, Client(url, key) as client:
        org = client.create_org("Client Co").id
        client.set_rate_card(org, "roboflow")
        assert client.subscribe(org, "core", currency="USD").change is not None
        (item,) = client.pending_items(org)
        assert item == shop.cl.pending_items(org)[0]
        shop.clock.set(utc(2026, 2, 1, 6))
        run = client.invoice_month()
        (invoice,) = run.issued
        assert invoice == shop.cl.invoice(org, invoice.id)
        assert invoice.lines[0].kind is LineKind.FEE and invoice.total.minor == 4900
        assert invoice.status is InvoiceStatus.OPEN and invoice.collection is None  # no card
        assert client.billing_events(org) == shop.cl.billing_events(org)
        assert client.billing_hold(org) is None
        assert client.retry_payments() == []
        paid = client.mark_invoice_paid(org, invoice.id, "cheque 7")
        assert paid == shop.cl.invoice(org, invoice.id)
        assert (paid.status, paid.collection) == (InvoiceStatus.PAID, None)
        assert Collection.OVERDUE.value == "overdue"
        shop.cl.load_packs(
            'name = "r"\nrefund_policy = "final"\n[[packs]]\nname = "ten"\ncredits = 10\n'
            "prices_minor = { USD = 4000 }\n"
        )
        bought = client.buy_on_account(org, "ten", currency="USD", idempotency_key="po")
        assert bought == shop.cl.purchase(org, bought.id)
        assert client.buy_on_account(org, "ten", currency="USD", idempotency_key="po") == bought
        (item,) = [i for i in client.pending_items(org) if i.kind is LineKind.PURCHASE]
        assert (item.amount_minor, item.credits) == (4000, bought.credits)
