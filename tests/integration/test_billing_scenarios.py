"""Billing stories of the seed platforms, with exact figures (D1-D6), on SQLite and
PostgreSQL: DataRobot (packs expiring 6 months after purchase, read-only when out,
non-refundable), Roboflow (included, then prepaid, then flex up to a threshold, billed
on the 1st for the month before), aiXplain (any amount at USD 1 a credit).

Figures quoted from a seed page are marked "seed"; the others follow from the example
files' ILLUSTRATIVE numbers (their comments say which).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from creditline import Cause, CauseType, CostBasis, EntryType, GrantKind, ManualClock, credits
from creditline.domain.errors import InvalidAmount, RefundRefused
from creditline.domain.invoices import InvoiceStatus
from creditline.domain.money import Money
from creditline.domain.purchases import PurchaseStatus
from creditline.domain.usage import EventStatus
from tests.billing import Shop, verified_shop


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


def test_datarobot_packs_expire_six_months_after_purchase_and_are_final(shop: Shop) -> None:
    bought_at = datetime(2026, 1, 15, 10, tzinfo=UTC)
    shop.clock.set(bought_at)
    shop.load("datarobot")
    org = shop.customer("Analyst", "credit-pack", "datarobot")
    # Seed: "Upon credit depletion, your account will be turned into a read-only state".
    assert shop.cl.is_read_only(org)
    refused = shop.cl.record(org, "p0", "create_project", {"training_data_mb": 50})
    assert refused.status is EventStatus.REFUSED

    # Seed: "purchase a credit pack through our secure Stripe integration".
    purchase = shop.buy(org, "explorer")
    assert shop.fake.sessions[purchase.session_id or ""]["amount_total"] == 50000  # USD 500
    assert shop.cl.balance(org).total == 0  # never before the payment is confirmed
    paid = shop.pay(purchase)
    (grant,) = shop.cl.grants(org)
    assert (grant.kind, grant.amount, grant.cost_basis) == (
        GrantKind.PREPAID, credits(500), CostBasis(100, "USD"),
    )  # fmt: skip
    # Seed: "Credits expire 6 months from the purchase date".
    assert grant.expires_at == datetime(2026, 7, 15, 10, tzinfo=UTC)
    assert not shop.cl.is_read_only(org)
    # Seed: "After a successful transaction, you will receive a receipt of payment".
    assert shop.cl.receipt(org, paid.id).amount == Money(50000, "USD")

    # A project with 50 MB of training data: 5 + 50 / 10 = 10 credits (ILLUSTRATIVE card).
    assert shop.cl.record(org, "p1", "create_project", {"training_data_mb": 50}).cost == credits(10)
    assert shop.cl.balance(org).available == credits(490)
    # Seed: "all purchases of DataRobot Credits are ... final and are non-refundable".
    with pytest.raises(RefundRefused, match="final and non-refundable"):
        shop.cl.refund_purchase(org, paid.id)

    # Spendable until the last microsecond of the sixth month, expired at its end.
    shop.clock.set(grant.expires_at - timedelta(microseconds=1))  # type: ignore[operator]
    assert shop.cl.balance(org).available == credits(490)
    shop.clock.set(datetime(2026, 7, 15, 10, tzinfo=UTC))
    assert shop.cl.balance(org).available == 0
    assert shop.cl.is_read_only(org)
    assert shop.cl.expire_due().amount == credits(490)
    (expired,) = shop.cl.history(org, types=["expire"])
    assert (expired.amount, expired.grant_id) == (-credits(490), grant.id)

    # Seed: "Go to the Purchases tab ... to view all purchase history".
    shop.clock.set(datetime(2026, 7, 20, tzinfo=UTC))
    second = shop.pay(shop.buy(org, "accelerator"))
    assert shop.cl.grants(org, include_spent=False)[0].expires_at == datetime(
        2027, 1, 20, tzinfo=UTC
    )
    history = shop.cl.purchases(org)
    assert [(p.pack, p.status, p.price) for p in history] == [
        ("accelerator", PurchaseStatus.PAID, Money(225000, "USD")),
        ("explorer", PurchaseStatus.PAID, Money(50000, "USD")),
    ]
    assert second.credits == credits(2500)


def test_roboflow_flex_after_included_and_prepaid_is_invoiced_on_the_first(shop: Shop) -> None:
    shop.clock.set(datetime(2026, 3, 1, tzinfo=UTC))
    shop.load("roboflow")
    a = shop.customer("Workspace A", "core", "roboflow")  # flex up to 100 credits a month
    b = shop.customer("Workspace B", "core", "roboflow")
    c = shop.customer("Workspace C", "growth", "roboflow")
    shop.cl.assign_plan(b, "core", flex_enabled=False)  # seed: "enable/disable flex usage"
    april = datetime(2026, 4, 1, tzinfo=UTC)
    for org in (a, b):
        shop.cl.grant(org, credits(30), "included", expires_at=april)  # ILLUSTRATIVE 30
    # Seed: prepaid credits are "purchased in advance" (in bulk, through sales).
    shop.cl.grant(a, credits(20), "prepaid", cost_basis=CostBasis(300, "USD"))

    def label(org: str, event: str, images: int, day: int) -> EventStatus:
        shop.clock.set(datetime(2026, 3, day, 12, tzinfo=UTC))
        return shop.cl.record(org, event, "labeling", {"images": images}).status

    # Seed: "consumed in order of: Included, Prepaid, Flex". 9,000 images: 90 credits.
    assert label(a, "a1", 9000, 10) is EventStatus.ACCEPTED
    used = {g.kind: g.amount - g.remaining for g in shop.cl.grants(a)}
    assert used == {GrantKind.INCLUDED: credits(30), GrantKind.PREPAID: credits(20),
                    GrantKind.FLEX: credits(40)}  # fmt: skip
    # Seed: "billing thresholds that dictate the amount of flex usage": 40 + 75 > 100.
    assert label(a, "a2", 7500, 20) is EventStatus.REFUSED
    assert label(a, "a3", 3000, 25) is EventStatus.ACCEPTED  # flex 70 of 100
    # Flex switched off: B stops when its included credits are gone.
    assert label(b, "b1", 3000, 10) is EventStatus.ACCEPTED
    assert label(b, "b2", 100, 11) is EventStatus.REFUSED
    assert label(c, "c1", 1000, 12) is EventStatus.ACCEPTED  # growth: 10 credits of flex

    # Seed: "Flex credits are billed monthly for the credits used in the previous month".
    shop.clock.set(april)
    shop.cl.tick()
    (inv_a,) = shop.cl.invoices(a)
    (inv_c,) = shop.cl.invoices(c)
    assert shop.cl.invoices(b) == []
    assert (inv_a.period, inv_a.total, inv_a.status) == (
        "2026-03",
        Money(28000, "USD"),
        InvoiceStatus.OPEN,
    )
    assert inv_a.lines[0].credits == credits(70)  # 70 x USD 4.00 = USD 280.00
    assert (inv_c.period, inv_c.total) == ("2026-03", Money(3500, "USD"))  # 10 x USD 3.50
    assert {inv_a.number, inv_c.number} == {1, 2}

    # April: A's included credits are gone (they reset with its cycle, not granted here).
    shop.clock.set(datetime(2026, 4, 18, tzinfo=UTC))
    assert shop.cl.record(a, "a4", "labeling", {"images": 500}).accepted  # 5 credits of flex
    shop.cl.tick()  # mid-month: April is not over, nothing to invoice
    assert len(shop.cl.invoices(a)) == 1
    shop.clock.set(datetime(2026, 5, 1, 0, 5, tzinfo=UTC))
    shop.cl.tick()
    may = shop.cl.invoices(a)[0]
    assert (may.display_number, may.period, may.total) == (
        "INV-000003",
        "2026-04",
        Money(2000, "USD"),
    )
    assert shop.cl.tick().ok  # and again: nothing twice
    assert sorted(i.number for org in (a, b, c) for i in shop.cl.invoices(org)) == [1, 2, 3]


def test_aixplain_sells_any_amount_at_one_dollar_a_credit(shop: Shop) -> None:
    shop.clock.set(datetime(2026, 2, 1, tzinfo=UTC))
    shop.load("aixplain")
    org = shop.customer("Team", "pay-as-you-go", "aixplain")
    # Seed: "enter the number of credits you'd like to purchase ... and proceed to the
    # checkout page"; "Each credit is equivalent to $1".
    purchase = shop.buy(org, credits=credits(25))
    session = shop.fake.sessions[purchase.session_id or ""]
    assert (session["amount_total"], session["currency"]) == (2500, "usd")
    paid = shop.pay(purchase, payment_method="pm_saved_visa")
    (grant,) = shop.cl.grants(org)
    assert (grant.amount, grant.cost_basis, grant.expires_at) == (
        credits(25), CostBasis(100, "USD"), None,
    )  # fmt: skip
    assert (paid.pack, paid.price) == ("any-amount", Money(2500, "USD"))
    for wrong in (credits("2.5"), credits(10_001)):
        with pytest.raises(InvalidAmount):
            shop.buy(org, credits=wrong)

    # Seed: "Translate: ... (Azure, 10 C/1M chars)".
    translated = shop.cl.record(
        org, "t1", "translate", {"characters": 1_000_000}, {"model": "azure-translator"}
    )
    assert translated.cost == credits(10)
    assert shop.cl.balance(org).available == credits(15)
    # Refunds are ILLUSTRATIVE here: the 15 unspent credits, USD 15.00.
    refunded = shop.cl.refund_purchase(org, paid.id)
    assert (refunded.refunded_credits, refunded.refunded_minor) == (credits(15), 1500)
    assert shop.fake.refunds[refunded.refund_id or ""]["amount"] == 1500
    (entry,) = shop.cl.history(org, types=[EntryType.REFUND])
    assert (entry.amount, entry.cause) == (-credits(15), Cause(CauseType.REFUND, paid.id))
    assert shop.cl.balance(org).total == 0
