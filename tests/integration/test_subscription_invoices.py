"""Subscription invoices (D5): a year of each seed platform's priced plans, replayed with a
travelling clock and the scheduler's tick on the 1st, on SQLite and PostgreSQL. Every
invoice of the year is checked: its number, period, lines and total.

Prices are the example plans' (``examples/*/plans.toml``; ILLUSTRATIVE where the seed
gives none): AI Engine Standard USD 99.00 and Professional USD 449.00 a month billed in
arrears; Roboflow core USD 49.00 and growth USD 299.00 a month, growth-annual USD
2,990.00 a year, billed in advance, flex at USD 4.00 / 3.50 a credit; OTAI Community
free, Pro EUR 499.00 a month in advance.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime

import pytest

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import InvalidSetting
from creditline.domain.invoices import Invoice, InvoiceStatus, LineKind
from tests.billing import Shop, verified_shop


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    yield from verified_shop(db_url, clock)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


def firsts(year: int, months: range) -> list[datetime]:
    """6 a.m. on the 1st of each month (the scheduler's first tick of the day)."""
    return [utc(year + (m - 1) // 12, (m - 1) % 12 + 1, 1, 6) for m in months]


def replay(shop: Shop, moments: list[datetime]) -> None:
    for moment in moments:
        shop.clock.set(moment)
        report = shop.cl.tick()
        assert report.ok, report.errors


def lines(invoice: Invoice) -> list[tuple[str, str, int]]:
    return [(line.kind.value, line.description, line.amount_minor) for line in invoice.lines]


def year(shop: Shop, org: str) -> list[Invoice]:
    """The organization's invoices, oldest first."""
    return list(reversed(shop.cl.invoices(org)))


def subscribed(shop: Shop, name: str, plan: str, card: str, **options: object) -> str:
    org = shop.customer(name, card=card)
    shop.cl.subscribe(org, plan, **options)  # type: ignore[arg-type]
    return org


MONTHS_2026 = [f"2026-{m:02d}" for m in range(1, 13)]


def test_ai_engine_standard_and_professional_are_invoiced_on_every_first_in_arrears(
    shop: Shop,
) -> None:
    shop.load("ai-engine")
    standard = subscribed(shop, "Standard Co", "standard", "ai-engine")
    professional = subscribed(shop, "Pro Co", "professional", "ai-engine")
    shop.clock.set(utc(2026, 1, 20))
    assert shop.cl.invoices(standard) == []  # January is billed on February 1st
    replay(shop, firsts(2026, range(2, 14)))  # Feb 1st 2026 .. Jan 1st 2027
    for org, plan, price, credit in (
        (standard, "standard", 9900, credits(1000)),
        (professional, "professional", 44900, credits(5000)),
    ):
        invoices = year(shop, org)
        assert [i.period for i in invoices] == MONTHS_2026
        for invoice, month in zip(invoices, range(1, 13), strict=True):
            last = (utc(2026 + month // 12, month % 12 + 1, 1) - utc(2026, month, 1)).days
            assert lines(invoice) == [
                ("fee", f"{plan} plan (monthly), 2026-{month:02d}-01 to "
                        f"2026-{month:02d}-{last:02d}", price),
            ]  # fmt: skip
            assert invoice.lines[0].credits == credit  # what the month granted
            assert (invoice.total.minor, invoice.currency) == (price, "USD")
            assert invoice.issued_at == firsts(2026, range(month + 1, month + 2))[0]
            assert invoice.status is InvoiceStatus.OPEN  # no card saved: left open
    numbers = sorted(i.number or 0 for org in (standard, professional) for i in year(shop, org))
    assert numbers == list(range(1, 25))  # gapless across both organizations
    # The same month again, or a second tick: nothing is issued twice.
    assert shop.cl.invoice_month("2026-12").issued == ()
    assert shop.cl.tick().job("monthly_invoices").summary["issued"] == 0


def test_ai_engine_in_another_currency_is_billed_at_its_price(shop: Shop) -> None:
    shop.load("ai-engine")
    org = subscribed(shop, "Euro GmbH", "standard", "ai-engine", currency="EUR")
    with pytest.raises(InvalidSetting, match="priced in EUR, USD"):
        shop.cl.subscribe(shop.customer("Yen KK"), "standard", currency="JPY")
    replay(shop, firsts(2026, range(2, 4)))
    assert [(i.period, i.total.minor, i.currency) for i in year(shop, org)] == [
        ("2026-01", 8900, "EUR"), ("2026-02", 8900, "EUR"),
    ]  # fmt: skip


def flex(shop: Shop, org: str, used: int, event: str) -> None:
    """Use ``used`` credits (labeling, 0.01 credits an image): flex once included is gone."""
    result = shop.cl.record(org, event, "labeling", {"images": used * 100})
    assert result.accepted, result.reason


def test_roboflow_core_year_bills_each_cycle_in_advance_with_the_previous_months_flex(
    shop: Shop,
) -> None:
    shop.load("roboflow")
    shop.clock.set(utc(2026, 1, 10))
    org = subscribed(shop, "Vision Inc", "core", "roboflow")
    flex_by_month = {1: 40, 3: 35, 7: 31}  # 30 included a cycle: 10, 5, 1 credits of flex
    for month in range(1, 13):
        shop.clock.set(utc(2026, month, 20))
        shop.cl.tick()
        if month in flex_by_month:
            flex(shop, org, flex_by_month[month], f"use-{month}")
        replay(shop, firsts(2026, range(month + 1, month + 2)))
    invoices = year(shop, org)
    assert [i.period for i in invoices] == MONTHS_2026
    for invoice, month in zip(invoices, range(1, 13), strict=True):
        start = utc(2026, month, 10)
        end = utc(2026 + month // 12, month % 12 + 1, 9)
        expected = [("fee", f"core plan (monthly), {start:%Y-%m-%d} to {end:%Y-%m-%d}", 4900)]
        used = {1: 10, 3: 5, 7: 1}.get(month)
        if used:
            expected.append(("flex", f"Flex credits used in 2026-{month:02d}", used * 400))
        assert lines(invoice) == expected, month
        assert invoice.total.minor == sum(amount for *_, amount in expected)
    assert [i.total.minor for i in invoices] == [
        8900,
        4900,
        6900,
        4900,
        4900,
        4900,
        5300,
        4900,
        4900,
        4900,
        4900,
        4900,
    ]


def test_an_annual_plan_is_invoiced_once_a_year(shop: Shop) -> None:
    shop.load("roboflow")
    shop.clock.set(utc(2026, 1, 10))
    org = subscribed(shop, "Yearly Ltd", "growth-annual", "roboflow")
    replay(shop, firsts(2026, range(2, 15)))  # Feb 1st 2026 .. Feb 1st 2027
    invoices = year(shop, org)
    assert [(i.period, lines(i)) for i in invoices] == [
        ("2026-01", [("fee", "growth-annual plan (annual), 2026-01-10 to 2027-01-09", 299000)]),
        ("2027-01", [("fee", "growth-annual plan (annual), 2027-01-10 to 2028-01-09", 299000)]),
    ]
    assert invoices[0].lines[0].credits == credits(3600)  # a year's credits upfront


def test_otai_pro_is_billed_in_euros_and_community_is_free(shop: Shop) -> None:
    shop.load("otai")
    shop.clock.set(utc(2026, 1, 15))
    pro = subscribed(shop, "Helpdesk AG", "pro", "otai")
    community = subscribed(shop, "Hobbyist", "community", "otai")
    replay(shop, firsts(2026, range(2, 14)))
    invoices = year(shop, pro)
    assert [(i.period, i.total.minor, i.currency) for i in invoices] == [
        (month, 49900, "EUR") for month in MONTHS_2026
    ]
    assert lines(invoices[0]) == [("fee", "pro plan (monthly), 2026-01-15 to 2026-02-14", 49900)]
    assert invoices[0].lines[0].credits == credits(100)  # the sign-up grant's month
    assert invoices[1].lines[0].credits == credits(50)
    assert shop.cl.invoices(community) == []  # Community (Free): nothing to bill
    assert shop.cl.pending_items(community) == []


# -- a change of plan mid-cycle, both ways --------------------------------------------------


def without_proration(shop: Shop, plan: str) -> None:
    document = shop.cl.plan(plan).to_dict()
    document["fee"]["on_change"] = "none"
    shop.cl.put_plan(document)


@pytest.mark.parametrize("on_change", ["prorate", "none"])
def test_a_change_of_plan_mid_cycle_in_arrears_bills_the_part_used_or_the_whole_month(
    shop: Shop, on_change: str
) -> None:
    shop.load("ai-engine")
    if on_change == "none":
        without_proration(shop, "standard")
    org = subscribed(shop, "Growing Co", "standard", "ai-engine")
    replay(shop, firsts(2026, range(2, 5)))  # January, February, March invoiced
    shop.clock.set(utc(2026, 4, 16))  # 15 of April's 30 days on standard
    change = shop.cl.subscribe(org, "professional")
    assert change.change.value == "changed"
    replay(shop, firsts(2026, range(5, 7)))
    april, may = year(shop, org)[3:]
    old = (
        [("proration", "standard plan (monthly), 2026-04-01 to 2026-04-15, prorated", 4950)]
        if on_change == "prorate"
        else [("fee", "standard plan (monthly), 2026-04-01 to 2026-04-30", 9900)]
    )
    # The new plan's cycle 0 is April (a calendar plan keeps its months), billed whole.
    assert lines(april) == [
        ("fee", "professional plan (monthly), 2026-04-16 to 2026-04-30", 44900), *old,
    ] or lines(april) == [
        *old, ("fee", "professional plan (monthly), 2026-04-16 to 2026-04-30", 44900),
    ]  # fmt: skip
    assert april.total.minor == 44900 + (4950 if on_change == "prorate" else 9900)
    assert lines(may) == [("fee", "professional plan (monthly), 2026-05-01 to 2026-05-31", 44900)]


@pytest.mark.parametrize("on_change", ["prorate", "none"])
def test_a_change_of_plan_mid_cycle_in_advance_credits_the_unused_part_or_nothing(
    shop: Shop, on_change: str
) -> None:
    shop.load("roboflow")
    if on_change == "none":
        without_proration(shop, "core")
    shop.clock.set(utc(2026, 1, 10))
    org = subscribed(shop, "Upgrader", "core", "roboflow")
    replay(shop, firsts(2026, range(2, 3)))
    shop.clock.set(utc(2026, 2, 24))  # 14 of the cycle's 28 days (Feb 10 - Mar 10) used
    shop.cl.subscribe(org, "growth")
    replay(shop, firsts(2026, range(3, 5)))
    february, march = year(shop, org)[1:]
    expected = [
        ("fee", "core plan (monthly), 2026-02-10 to 2026-03-09", 4900),
        ("fee", "growth plan (monthly), 2026-02-24 to 2026-03-23", 29900),
    ]
    if on_change == "prorate":
        expected.append(("proration", "Unused time of core plan, 2026-02-24 to 2026-03-09", -2450))
    assert lines(february) == expected
    assert february.total.minor == 4900 + 29900 - (2450 if on_change == "prorate" else 0)
    assert lines(march) == [("fee", "growth plan (monthly), 2026-03-24 to 2026-04-23", 29900)]


def test_a_credit_larger_than_the_invoice_is_carried_to_the_next(shop: Shop) -> None:
    shop.load("roboflow")
    shop.clock.set(utc(2026, 1, 10))
    org = subscribed(shop, "Downgrader", "growth-annual", "roboflow")
    replay(shop, firsts(2026, range(2, 3)))
    shop.clock.set(utc(2026, 2, 9))  # 30 of the year's 365 days used
    shop.cl.subscribe(org, "core")
    replay(shop, firsts(2026, range(3, 5)))
    _, february, march = year(shop, org)
    credit = 299000 * 335 // 365 + (1 if 299000 * 335 % 365 * 2 >= 365 else 0)
    assert lines(february) == [
        ("fee", "core plan (monthly), 2026-02-09 to 2026-03-08", 4900),
        ("proration", "Unused time of growth-annual plan, 2026-02-09 to 2027-01-09", -credit),
        ("credit", "Credit carried to the next invoice", credit - 4900),
    ]
    assert (february.total.minor, february.status) == (0, InvoiceStatus.PAID)
    assert lines(march) == [
        ("fee", "core plan (monthly), 2026-03-09 to 2026-04-08", 4900),
        ("credit", f"Credit carried from {february.display_number}", -(credit - 4900)),
        ("credit", "Credit carried to the next invoice", credit - 9800),
    ]
    assert {line.kind for line in march.lines} == {LineKind.FEE, LineKind.CREDIT}


def test_two_schedulers_at_once_issue_each_invoice_once_without_gaps(
    shop: Shop, db_url: str
) -> None:
    shop.load("ai-engine")
    orgs = [subscribed(shop, f"Org {i}", "standard", "ai-engine") for i in range(6)]
    shop.clock.set(utc(2026, 3, 1, 6))  # January and February are due
    other = Creditline.open(db_url, clock=shop.clock)  # a second process's engine
    barrier = threading.Barrier(4)

    def tick(engine: Creditline) -> int:
        barrier.wait()
        report = engine.tick()
        assert report.ok, report.errors
        return int(report.job("monthly_invoices").summary["issued"])

    try:
        with ThreadPoolExecutor(4) as pool:
            issued = list(pool.map(tick, [shop.cl, other, shop.cl, other]))
    finally:
        other.close()
    assert sum(issued) == 12
    invoices = [i for org in orgs for i in shop.cl.invoices(org)]
    assert sorted(i.number or 0 for i in invoices) == list(range(1, 13))
    for org in orgs:
        assert [i.period for i in year(shop, org)] == ["2026-01", "2026-02"]
        assert shop.cl.pending_items(org)[0].due_at == utc(2026, 4, 1)  # March's, not yet


def test_a_purchase_on_account_is_credited_now_and_billed_on_the_next_invoice(
    shop: Shop,
) -> None:
    shop.load("ai-engine")
    org = subscribed(shop, "On Account Ltd", "standard", "ai-engine")
    shop.clock.set(utc(2026, 1, 20, 15))
    bought = shop.cl.buy_on_account(org, "professional", currency="USD", idempotency_key="po-1")
    assert bought.status.value == "on_account" and bought.paid_at == utc(2026, 1, 20, 15)
    assert shop.cl.balance(org).available == credits(1000 + 5000)  # credited at once
    again = shop.cl.buy_on_account(org, "professional", currency="USD", idempotency_key="po-1")
    assert again == bought
    replay(shop, firsts(2026, range(2, 3)))
    (january,) = year(shop, org)
    assert lines(january) == [
        ("fee", "standard plan (monthly), 2026-01-01 to 2026-01-31", 9900),
        ("purchase", "5000 credits (professional), bought on account on 2026-01-20", 45000),
    ]
    assert january.lines[1].credits == credits(5000)
    assert january.total.minor == 54900
    kinds = [r.kind for r in shop.cl.billing_history(org)]
    assert kinds == ["invoice", "purchase"]


def test_a_credit_alone_waits_for_the_next_charge(shop: Shop) -> None:
    shop.load("roboflow")
    shop.clock.set(utc(2026, 1, 10))
    org = subscribed(shop, "Leaver", "core", "roboflow")
    shop.clock.set(utc(2026, 1, 24))  # 14 of the cycle's 31 days used, then it ends
    shop.cl.subscribe(org, None)
    replay(shop, firsts(2026, range(2, 5)))
    (january,) = year(shop, org)  # the fee and its credit; then nothing more, no zero bills
    assert [line.amount_minor for line in january.lines] == [4900, -2687]
    assert shop.cl.pending_items(org) == []
