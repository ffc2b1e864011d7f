"""The operator's revenue report on both databases: a month's credits sold, consumed,
expired and refunded, valued at the cost basis of the grants that paid, and the
liability at the month's start and end (:mod:`creditline.domain.revenue`)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from creditline import CostBasis, GrantKind, ManualClock, credits
from creditline.domain.errors import InvalidSetting
from creditline.domain.revenue import CurrencyLine, Flow, FreeLine
from tests.billing import Shop, verified_shop

STUDIO = """
name = "studio"
refund_policy = "refundable"

[[packs]]
name = "starter"
credits = 3
prices_minor = { EUR = 1000 }
expiry = { after = "1 month" }

[[packs]]
name = "pro"
credits = 10
prices_minor = { EUR = 9000, USD = 10000 }
expiry = "never"
"""


def day(month: int, number: int) -> datetime:
    return datetime(2026, month, number, 12, tzinfo=UTC)


@pytest.fixture
def shop(db_url: str, clock: ManualClock) -> Iterator[Shop]:
    clock.set(day(10, 1))
    for opened in verified_shop(db_url, clock):
        opened.cl.load_packs(STUDIO)
        yield opened


def _buy(shop: Shop, org: str, pack: str, currency: str, when: datetime) -> str:
    shop.clock.set(when)
    return shop.pay(shop.buy(org, pack, currency=currency)).id


def test_a_months_revenue_report(shop: Shop) -> None:
    """November 2026 told from the operator's side: Acme pays in euros, Beta in dollars.

    October: Acme buys a starter pack (3 credits for EUR 10.00, expiring after a month)
    and uses one credit, so November opens owing Acme 2 credits worth EUR 6.67
    (10.00 x 2/3, rounded half up).
    """
    cl = shop.cl
    acme, beta = shop.customer("Acme"), shop.customer("Beta")
    _buy(shop, acme, "starter", "EUR", day(10, 10))
    shop.clock.set(day(10, 20))
    cl.spend(acme, credits(1))

    # November: Acme buys a pro pack (10 credits, EUR 90.00), Beta one in dollars.
    _buy(shop, acme, "pro", "EUR", day(11, 2))
    beta_pro = _buy(shop, beta, "pro", "USD", day(11, 2))
    shop.clock.set(day(11, 3))
    cl.grant(acme, credits(5), GrantKind.PROMOTIONAL)  # a gift: no cash
    shop.clock.set(day(11, 5))
    cl.spend(acme, credits(1))  # from the starter pack, which expires first: EUR 3.34
    cl.spend(beta, credits(3))  # USD 30.00 earned
    shop.clock.set(day(11, 11))
    cl.expire_due()  # the starter pack's last credit expired on the 10th: EUR 3.33 broken
    shop.clock.set(day(11, 15))
    cl.refund_purchase(beta, beta_pro)  # Beta's 7 unused credits: USD 70.00 back
    shop.clock.set(day(11, 20))
    cl.spend(acme, credits(7))  # from the pro pack: EUR 63.00 earned
    shop.clock.set(day(11, 25))
    cl.reserve(acme, credits(2), ttl=timedelta(days=10))  # held, not consumed: still owed

    shop.clock.set(day(12, 1))
    report = cl.revenue_report("2026-11")

    assert (report.month, report.since, report.until) == (
        "2026-11",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
    )
    eur, usd = report.lines
    assert eur == CurrencyLine(
        "EUR",
        opening=Flow(credits(2), 667),
        sold=Flow(credits(10), 9000),
        consumed=Flow(credits(8), 334 + 6300),
        expired=Flow(credits(1), 333),
        refunded=Flow(),
        adjusted=Flow(),
        closing=Flow(credits(3), 2700),
    )
    assert (eur.recognised_minor, eur.breakage_minor) == (6634, 333)
    assert usd == CurrencyLine(
        "USD",
        opening=Flow(),
        sold=Flow(credits(10), 10000),
        consumed=Flow(credits(3), 3000),
        expired=Flow(),
        refunded=Flow(credits(7), 7000),
        adjusted=Flow(),
        closing=Flow(),
    )
    assert cl.purchase(beta, beta_pro).refunded_minor == 7000  # the cash, to the cent
    assert report.free == (FreeLine(GrantKind.PROMOTIONAL, 0, credits(5), 0, 0, 0, 0, credits(5)),)
    assert report.flex is None
    assert report.reconciles()

    october, december = cl.revenue_report("2026-10"), cl.revenue_report("2026-12")
    assert october.lines[0].closing == eur.opening
    (owed,) = december.lines  # nothing is owed in dollars any more
    assert (owed.currency, owed.opening) == ("EUR", eur.closing)


def test_a_grant_with_a_cost_basis_but_no_purchase_is_worth_its_credits(shop: Shop) -> None:
    org = shop.customer("Contract")
    shop.clock.set(day(11, 2))
    shop.cl.grant(org, credits(4), cost_basis=CostBasis(250, "USD"))  # sold outside
    shop.cl.spend(org, credits(1))
    (line,) = shop.cl.revenue_report("2026-11").lines
    assert (line.sold, line.consumed, line.closing) == (
        Flow(credits(4), 1000),
        Flow(credits(1), 250),
        Flow(credits(3), 750),
    )


def test_an_empty_month_has_no_lines(shop: Shop) -> None:
    report = shop.cl.revenue_report(day(3, 1))
    assert (report.month, report.lines, report.free, report.flex) == ("2026-03", (), (), None)


@pytest.mark.parametrize("month", ["2026-13", "november", "2026-1", ""])
def test_a_bad_month_is_refused(shop: Shop, month: str) -> None:
    with pytest.raises(InvalidSetting, match="month"):
        shop.cl.revenue_report(month)


FLEX_PLAN = """
[[plans]]
name = "flexible"
depletion = "flex"
flex_price = { currency = "USD", minor_per_credit = 100 }
"""


def test_flex_usage_is_apart_from_deferred_revenue(shop: Shop) -> None:
    cl = shop.cl
    cl.load_plans(FLEX_PLAN)
    org = shop.customer("Flexible", plan="flexible")
    shop.clock.set(day(11, 2))
    cl.grant(org, credits(1), cost_basis=CostBasis(100, "USD"))
    cl.spend(org, credits(3))  # 1 paid credit, then 2 past zero
    report = cl.revenue_report("2026-11")
    (usd,) = report.lines
    assert (usd.consumed, usd.closing) == (Flow(credits(1), 100), Flow())
    assert report.flex == FreeLine(GrantKind.FLEX, 0, credits(2), credits(2), 0, 0, 0, 0)
    assert report.free == ()  # the plan grants nothing: no credits without cash
