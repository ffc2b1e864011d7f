"""Flex invoices (D5, D6): monthly in arrears, gapless numbers, exactly once per
organization and month, paid with the saved payment method; on SQLite and PostgreSQL.

Workspaces run on the Roboflow example plans (``core``: flex at USD 4.00 a credit,
``growth``: USD 3.50; both ILLUSTRATIVE) and its rate card, where AI-assisted
labeling costs 0.01 credits an image (ILLUSTRATIVE).
"""

from __future__ import annotations

import io
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest
from pypdf import PdfReader

from creditline import ManualClock, credits
from creditline.domain.errors import InvalidSetting, InvoiceNotFound
from creditline.domain.invoices import InvoiceStatus
from creditline.domain.money import Money
from tests.billing import Shop, verified_shop


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


MARCH = datetime(2026, 3, 10, tzinfo=UTC)
APRIL_1 = datetime(2026, 4, 1, tzinfo=UTC)

SAVED_CARD_PACK = """
name = "roboflow"
refund_policy = "final"
[[packs]]
name = "prepaid-10"
credits = 10
prices_minor = { USD = 4000 }
"""
"""A pack to buy once, so that the workspace's card is saved at Stripe (ILLUSTRATIVE)."""


@pytest.fixture
def roboflow(shop: Shop) -> Shop:
    shop.clock.set(MARCH)
    shop.load("roboflow")
    return shop


def flex(shop: Shop, org: str, used: int, event: str) -> None:
    """Use ``used`` whole credits of flex (a workspace with nothing else to spend)."""
    result = shop.cl.record(org, event, "labeling", {"images": used * 100})  # 0.01 an image
    assert result.accepted, result.reason


def workspace(
    shop: Shop, name: str, plan: str = "core", *, card: bool = False, method: str = "pm_card_visa"
) -> str:
    org = shop.customer(name, plan, "roboflow")
    if card:  # buy once at the checkout: the card is saved for the invoices
        shop.cl.load_packs(SAVED_CARD_PACK)
        purchase = shop.pay(shop.buy(org, "prepaid-10"), payment_method=method)
        shop.cl.spend(org, purchase.credits)  # keep the scenario's flex figures simple
    return org


def test_flex_is_invoiced_on_the_first_for_the_month_before_with_gapless_numbers(
    roboflow: Shop,
) -> None:
    a, b = workspace(roboflow, "A"), workspace(roboflow, "B", "growth")
    flex(roboflow, a, 70, "a1")
    flex(roboflow, b, 10, "b1")
    with pytest.raises(InvalidSetting, match="not over yet"):
        roboflow.cl.invoice_flex("2026-03")
    roboflow.clock.set(APRIL_1)
    run = roboflow.cl.invoice_flex()
    assert run.month == "2026-03"
    by_org = {i.org_id: i for i in run.issued}
    assert by_org[a].total == Money(28000, "USD")  # 70 credits x USD 4.00
    assert by_org[b].total == Money(3500, "USD")  # 10 credits x USD 3.50
    assert sorted(i.number for i in run.issued) == [1, 2]
    assert all(i.status is InvoiceStatus.OPEN for i in run.issued)  # no card saved: open
    (line,) = by_org[a].lines
    assert (line.description, line.credits, line.unit_price_minor) == (
        "Flex credits used in 2026-03", credits(70), 400,
    )  # fmt: skip
    # Again, the same month: nothing is issued twice.
    again = roboflow.cl.invoice_flex("2026-03")
    assert (again.issued, again.existing) == ((), 2)
    # April's flex of A is invoiced on May 1st with the next number.
    flex(roboflow, a, 5, "a2")
    roboflow.clock.set(datetime(2026, 5, 1, 6, tzinfo=UTC))
    (may,) = roboflow.cl.invoice_flex().issued
    assert (may.number, may.display_number, may.period, may.total) == (
        3, "INV-000003", "2026-04", Money(2000, "USD"),
    )  # fmt: skip
    assert [i.number for i in roboflow.cl.invoices(a)] == [3, by_org[a].number]


def test_concurrent_runs_issue_each_invoice_once_and_leave_no_gap(roboflow: Shop) -> None:
    orgs = [workspace(roboflow, f"W{i}") for i in range(6)]
    for i, org in enumerate(orgs):
        flex(roboflow, org, i + 1, f"e{i}")
    roboflow.clock.set(APRIL_1)
    barrier = threading.Barrier(5)

    def run() -> int:
        barrier.wait()
        return len(roboflow.cl.invoice_flex("2026-03").issued)

    with ThreadPoolExecutor(5) as pool:
        issued = [f.result() for f in [pool.submit(run) for _ in range(5)]]
    assert sum(issued) == 6
    invoices = [i for org in orgs for i in roboflow.cl.invoices(org)]
    assert sorted(i.number for i in invoices) == [1, 2, 3, 4, 5, 6]
    assert sorted(i.total.minor for i in invoices) == [400, 800, 1200, 1600, 2000, 2400]


def test_an_invoice_is_charged_to_the_saved_card_and_a_decline_leaves_it_open(
    roboflow: Shop,
) -> None:
    paying = workspace(roboflow, "Paying", card=True)
    declined = workspace(roboflow, "Declined", card=True, method="pm_card_expiring")
    flex(roboflow, paying, 3, "p1")
    flex(roboflow, declined, 4, "d1")
    roboflow.clock.set(APRIL_1)
    roboflow.fake.decline_charges("pm_card_expiring", "expired_card")
    run = roboflow.cl.invoice_flex()
    by_org = {i.org_id: i for i in run.issued}
    assert by_org[paying].status is InvoiceStatus.PAID
    intent = roboflow.fake.payment_intents[by_org[paying].payment_id or ""]
    assert (intent["amount"], intent["currency"], intent["payment_method"]) == (
        1200, "usd", "pm_card_visa",
    )  # fmt: skip
    assert intent["metadata"]["invoice_id"] == by_org[paying].id
    assert by_org[declined].status is InvoiceStatus.OPEN
    assert "expired_card" in (by_org[declined].payment_error or "")
    assert run.failed_charges == (by_org[declined].id,)
    # The customer updates the card; the operator charges again.
    roboflow.fake.accept_charges("pm_card_expiring")
    paid = roboflow.cl.pay_invoice(declined, by_org[declined].id)
    assert (paid.status, paid.payment_error) == (InvoiceStatus.PAID, None)
    assert roboflow.cl.pay_invoice(declined, paid.id) == paid  # paid already: no charge


def test_a_payment_webhook_marks_an_open_invoice_paid_once(roboflow: Shop) -> None:
    org = workspace(roboflow, "A")
    flex(roboflow, org, 2, "a1")
    roboflow.clock.set(APRIL_1)
    (invoice,) = roboflow.cl.invoice_flex().issued
    # Paid another way (the customer paid the emailed invoice): Stripe reports it.
    charge = roboflow.cl.payments.charge(
        "cus_x", "pm_x", invoice.total, f"manual-{invoice.id}", {"invoice_id": invoice.id}
    )
    body = roboflow.fake.event("payment_intent.succeeded", roboflow.fake.payment_intents[charge.id])
    assert roboflow.deliver(body).json()["outcome"] == "paid"
    assert roboflow.deliver(body).json()["outcome"] == "duplicate"
    paid = roboflow.cl.invoice(org, invoice.id)
    assert (paid.status, paid.payment_id) == (InvoiceStatus.PAID, charge.id)


def test_the_scheduler_invoices_every_month_it_missed(roboflow: Shop) -> None:
    org = workspace(roboflow, "A")
    flex(roboflow, org, 1, "march")
    roboflow.clock.set(datetime(2026, 4, 15, tzinfo=UTC))
    flex(roboflow, org, 2, "april")
    roboflow.clock.set(datetime(2026, 5, 3, tzinfo=UTC))  # the scheduler was down since March
    report = roboflow.cl.tick()
    (job,) = [j for j in report.jobs if j.name == "monthly_invoices"]
    assert job.ok and job.summary["months"] == ["2026-03", "2026-04"]
    invoices = roboflow.cl.invoices(org)
    assert [(i.number, i.period, i.total.minor) for i in invoices] == [
        (2, "2026-04", 800), (1, "2026-03", 400),
    ]  # fmt: skip
    assert roboflow.cl.tick().job("monthly_invoices").summary["months"] == []


def test_a_plan_without_a_flex_price_is_reported_not_invoiced(roboflow: Shop) -> None:
    org = workspace(roboflow, "Big", "enterprise")
    flex(roboflow, org, 3, "e1")
    roboflow.clock.set(APRIL_1)
    run = roboflow.cl.invoice_flex()
    assert (run.issued, run.unpriced) == ((), (org,))


def test_voided_usage_is_not_billed(roboflow: Shop) -> None:
    org = workspace(roboflow, "A")
    flex(roboflow, org, 6, "a1")
    flex(roboflow, org, 3, "a2")
    roboflow.cl.void_event(org, "a2")
    roboflow.clock.set(APRIL_1)
    (invoice,) = roboflow.cl.invoice_flex().issued
    assert invoice.lines[0].credits == credits(6)


def test_an_invoice_renders_as_html_and_pdf_and_can_be_voided(roboflow: Shop) -> None:
    org = workspace(roboflow, "Acme Vision")
    flex(roboflow, org, 7, "a1")
    roboflow.clock.set(APRIL_1)
    (invoice,) = roboflow.cl.invoice_flex().issued
    html = roboflow.cl.invoice_html(org, invoice.id)
    assert "Invoice INV-000001" in html and "Acme Vision" in html and "USD 28.00" in html
    pdf = roboflow.cl.invoice_pdf(org, invoice.id)
    assert pdf.startswith(b"%PDF")
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)
    for expected in ("Invoice INV-000001", "Acme Vision", "2026-03", "Flex credits used in 2026-03",
                     "7", "USD 4.00", "USD 28.00", "OPEN"):  # fmt: skip
        assert expected in text, expected
    void = roboflow.cl.void_invoice(org, invoice.id)
    assert (void.status, void.number, void.voided_at) == (InvoiceStatus.VOID, 1, APRIL_1)
    with pytest.raises(InvalidSetting, match="is void: only an open invoice"):
        roboflow.cl.void_invoice(org, invoice.id)
    with pytest.raises(InvoiceNotFound):
        roboflow.cl.invoice(workspace(roboflow, "Other"), invoice.id)


def test_the_billing_history_lists_purchases_refunds_and_invoices(roboflow: Shop) -> None:
    roboflow.cl.load_packs(SAVED_CARD_PACK.replace('"final"', '"refundable"'))
    org = workspace(roboflow, "A")
    purchase = roboflow.pay(roboflow.buy(org, "prepaid-10"))
    roboflow.clock.set(datetime(2026, 3, 20, tzinfo=UTC))
    roboflow.cl.refund_purchase(org, purchase.id)
    flex(roboflow, org, 1, "a1")
    roboflow.clock.set(APRIL_1)
    roboflow.cl.invoice_flex()
    history = roboflow.cl.billing_history(org)
    assert [(r.kind, r.amount.minor, r.status) for r in history] == [
        ("invoice", 400, "paid"),  # charged to the card saved by the purchase
        ("refund", 4000, "refunded"),
        ("purchase", 4000, "refunded"),
    ]
