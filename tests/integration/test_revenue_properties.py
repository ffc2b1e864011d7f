"""The revenue report over a random year, on both databases: every month reconciles to
the minor unit, months chain, sales are the cash taken, and the last month's liability is
what the grants left (and held) are worth.

Hypothesis draws a year of operations at random days: purchases paid through the (fake)
Stripe checkout and on account, at prices that do not divide evenly; operator grants
with and without a cost basis, some expiring; spends (one organization goes on flex past
zero), holds (committed, released or left open), refunds and negative adjustments. The
engine runs them in order, expiring what is due as it goes; then each month of the year
is reported. The reference figures come from the purchases, grants and holds the library
answers, never from the ledger's entries.
"""

from __future__ import annotations

import tempfile
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import hypothesis
import pytest
from hypothesis import HealthCheck
from hypothesis import strategies as st

from creditline import CostBasis, GrantKind, ManualClock
from creditline.domain.errors import CreditlineError
from creditline.domain.money import round_half_up
from creditline.domain.revenue import Flow, RevenueReport, grant_value
from tests.billing import Shop, open_shop
from tests.databases import database, migrated

START = datetime(2026, 1, 1, tzinfo=UTC)
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]

CATALOGUE = """
name = "odd"
refund_policy = "refundable"

[[packs]]
name = "three"
credits = 3
prices_minor = { EUR = 1000, USD = 1099 }
expiry = { after = "2 months" }

[[packs]]
name = "seven"
credits = 7
prices_minor = { EUR = 999, JPY = 1001 }
expiry = "never"
"""

ORGS = 2
FLEX_PLAN = """
[[plans]]
name = "flexible"
depletion = "flex"
flex_price = { currency = "USD", minor_per_credit = 100 }
"""
PACKS = {"three": ("EUR", "USD"), "seven": ("EUR", "JPY")}

_org = st.integers(0, ORGS - 1)
_micros = st.integers(1, 2_500_000)
_pack = st.sampled_from([(p, c) for p, cs in PACKS.items() for c in cs])
OPERATION = st.one_of(
    st.tuples(st.just("buy"), _org, _pack),
    st.tuples(st.just("on_account"), _org, _pack),
    st.tuples(
        st.just("grant"), _org, _micros,
        st.sampled_from([None, CostBasis(333, "EUR"), CostBasis(7, "USD"), CostBasis(1, "JPY")]),
        st.sampled_from([GrantKind.PREPAID, GrantKind.PROMOTIONAL, GrantKind.INCLUDED]),
        st.sampled_from([None, 10, 45]),
    ),
    st.tuples(st.just("spend"), _org, _micros),
    st.tuples(st.just("hold"), _org, _micros),
    st.tuples(st.just("settle"), _org, st.integers(0, 2), _micros),
    st.tuples(st.just("refund"), _org),
    st.tuples(st.just("adjust"), _org, _micros),
)  # fmt: skip
YEAR = st.lists(st.tuples(st.integers(0, 364), OPERATION), min_size=10, max_size=50)


@dataclass
class Books:
    """What the library answered: the value of each paid grant and the cash per month."""

    values: dict[str, tuple[int, int, str]] = field(default_factory=dict)
    sold: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    refunds: dict[tuple[str, str], int] = field(default_factory=lambda: defaultdict(int))
    held_refunds: set[tuple[str, str]] = field(default_factory=set)
    """Months and currencies with a refund of a grant that had credits on hold: the held
    credits stay owed, so the refund's value is not the money returned."""
    purchases: dict[str, list[tuple[str, str]]] = field(default_factory=lambda: defaultdict(list))


def _month(moment: datetime) -> str:
    return f"{moment:%Y-%m}"


class Year:
    def __init__(self, shop: Shop, orgs: list[str]) -> None:
        self.shop, self.cl, self.orgs, self.books = shop, shop.cl, orgs, Books()
        self.outcomes: set[str] = set()

    def run(self, when: datetime, op: tuple) -> None:  # type: ignore[type-arg]
        self.shop.clock.set(when)
        self.cl.expire_due()
        kind, org = op[0], self.orgs[op[1]]
        try:
            getattr(self, f"_{kind}")(org, *op[2:])
        except CreditlineError:  # refused (too few credits, nothing to refund): no change
            self.outcomes.add(f"{kind} refused")
        else:
            self.outcomes.add(f"{kind} done")

    def _paid(self, purchase_id: str, org: str) -> None:
        purchase = self.cl.purchase(org, purchase_id)
        assert purchase.grant_id is not None and purchase.paid_at is not None
        price = purchase.price
        self.books.values[purchase.grant_id] = (purchase.credits, price.minor, price.currency)
        self.books.sold[(_month(purchase.paid_at), price.currency)] += price.minor
        self.books.purchases[org].append((purchase.id, purchase.grant_id))

    def _buy(self, org: str, pack: tuple[str, str]) -> None:
        purchase = self.shop.pay(self.shop.buy(org, pack[0], currency=pack[1]))
        self._paid(purchase.id, org)

    def _on_account(self, org: str, pack: tuple[str, str]) -> None:
        purchase = self.cl.buy_on_account(org, pack[0], currency=pack[1])
        self._paid(purchase.id, org)

    def _grant(self, org: str, micros: int, basis: CostBasis | None, kind: GrantKind,
               days: int | None) -> None:  # fmt: skip
        now = self.shop.clock.now()
        expires = None if days is None else now + timedelta(days=days)
        grant = self.cl.grant(org, micros, kind, cost_basis=basis, expires_at=expires)
        value = grant_value(micros, None if basis is None else basis.unit_price_minor)
        if basis is not None and value > 0:
            self.books.values[grant.id] = (micros, value, basis.currency)
            self.books.sold[(_month(now), basis.currency)] += value

    def _spend(self, org: str, micros: int) -> None:
        self.cl.spend(org, micros)

    def _hold(self, org: str, micros: int) -> None:
        self.cl.reserve(org, micros, ttl=timedelta(days=20))

    def _settle(self, org: str, how: int, micros: int) -> None:
        open_holds = self.cl.reservations(org, "open")
        if not open_holds:
            return
        hold = open_holds[0]
        if how == 0:
            self.cl.release(org, hold.id)
        elif how == 1:
            self.cl.commit(org, hold.id, micros)  # more than held: the rest from the grants

    def _refund(self, org: str) -> None:
        if not self.books.purchases[org]:
            return
        purchase_id, grant_id = self.books.purchases[org][-1]
        held = {a.grant_id for r in self.cl.reservations(org, "open") for a in r.holds}
        refunded = self.cl.refund_purchase(org, purchase_id)
        assert refunded.refunded_at is not None
        key = (_month(refunded.refunded_at), refunded.price.currency)
        self.books.refunds[key] += refunded.refunded_minor
        if grant_id in held:
            self.books.held_refunds.add(key)

    def _adjust(self, org: str, micros: int) -> None:
        self.cl.adjust(org, -micros, "a correction")

    def liability(self) -> dict[str, Flow]:
        """What the paid grants left, and held, are worth now, per currency."""
        left: dict[str, int] = defaultdict(int)
        for org in self.orgs:
            for grant in self.cl.grants(org):
                left[grant.id] += grant.remaining
            for hold in self.cl.reservations(org, "open", limit=1000):
                for part in hold.holds:
                    left[part.grant_id] += part.amount
        owed: dict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
        for grant_id, (amount, value, currency) in self.books.values.items():
            micros = left.get(grant_id, 0)
            before = owed[currency]
            owed[currency] = (before[0] + micros, before[1] + round_half_up(value * micros, amount))
        return {c: Flow(*f) for c, f in owed.items() if f != (0, 0)}


def check_year(shop: Shop, operations: list[tuple[int, tuple]]) -> set[str]:  # type: ignore[type-arg]
    """Run the year and check every month; what was done and what refused."""
    shop.clock.set(START)
    shop.cl.load_packs(CATALOGUE)
    shop.cl.load_plans(FLEX_PLAN)
    orgs = [shop.customer("Org 0"), shop.customer("Org 1", plan="flexible")]  # 1 goes past zero
    year = Year(shop, orgs)
    for day, op in sorted(operations, key=lambda o: o[0]):
        year.run(START + timedelta(days=day, hours=9), op)
    shop.clock.set(datetime(2027, 1, 1, 1, tzinfo=UTC))
    shop.cl.expire_due()
    reports = [shop.cl.revenue_report(month) for month in MONTHS]
    closing: dict[str, Flow] = {}
    for month, report in zip(MONTHS, reports, strict=True):
        lines = {line.currency: line for line in report.lines}
        assert report.reconciles(), month
        for currency, line in lines.items():
            assert line.opening == closing.get(currency, Flow()), (month, currency)
            assert line.sold.minor == year.books.sold.get((month, currency), 0), (month, currency)
            if (month, currency) not in year.books.held_refunds:  # the money returned, exactly
                assert line.refunded.minor == year.books.refunds.get((month, currency), 0)
        assert {c for c, f in closing.items() if f != Flow()} <= set(lines), month
        assert all(
            year.books.sold.get((month, c), 0) == 0 for c in PACKS_CURRENCIES - set(lines)
        ), month
        closing = {c: line.closing for c, line in lines.items()}
    assert {c: f for c, f in closing.items() if f != Flow()} == year.liability()
    _no_cash_reconciles(reports)
    return year.outcomes


PACKS_CURRENCIES = {"EUR", "USD", "JPY"}


def _no_cash_reconciles(reports: list[RevenueReport]) -> None:
    for report in reports:
        for line in (*report.free, *((report.flex,) if report.flex else ())):
            assert (
                line.opening + line.granted - line.consumed - line.expired - line.refunded
                - line.adjusted == line.closing
            )  # fmt: skip


@contextmanager
def _shop(kind: str) -> Iterator[Shop]:
    with (
        tempfile.TemporaryDirectory(prefix="creditline-revenue-") as folder,
        database(kind, Path(folder)) as url,
        open_shop(migrated(url), ManualClock(START)) as shop,
    ):
        yield shop
        report = shop.cl.verify()
        assert report.ok, report.problems


_SETTINGS = {"deadline": None, "suppress_health_check": [HealthCheck.too_slow]}


@hypothesis.settings(max_examples=15, **_SETTINGS)  # type: ignore[arg-type]
@hypothesis.given(operations=YEAR)
def test_a_random_year_reconciles_to_the_minor_unit_on_sqlite(
    operations: list[tuple[int, tuple]],  # type: ignore[type-arg]
) -> None:
    with _shop("sqlite") as shop:
        for outcome in check_year(shop, operations):
            hypothesis.event(outcome)


@pytest.mark.postgres
@hypothesis.settings(max_examples=6, **_SETTINGS)  # type: ignore[arg-type]
@hypothesis.given(operations=YEAR)
def test_a_random_year_reconciles_to_the_minor_unit_on_postgres(
    operations: list[tuple[int, tuple]],  # type: ignore[type-arg]
) -> None:
    with _shop("postgres") as shop:
        for outcome in check_year(shop, operations):
            hypothesis.event(outcome)


A_YEAR = [
    (0, ("buy", 0, ("three", "EUR"))),
    (3, ("spend", 0, 1_000_000)),
    (5, ("buy", 1, ("seven", "JPY"))),
    (6, ("hold", 1, 2_500_000)),
    (20, ("spend", 1, 1_000_000)),
    (40, ("refund", 0)),
    (70, ("on_account", 0, ("three", "USD"))),
    (71, ("spend", 0, 1_000_000)),
    (200, ("grant", 1, 1_000_000, CostBasis(333, "EUR"), GrantKind.PREPAID, 10)),
]


def test_the_year_checks_catch_a_valuation_that_rounds_down(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Test the test: with each grant's value floored instead of rounded half up, every
    month still reconciles (the identity holds whatever the rule), but the refunds and
    the liability no longer match the money and the grants."""
    with _shop("sqlite") as shop:
        done = check_year(shop, A_YEAR)
    assert not any(outcome.endswith("refused") for outcome in done)
    monkeypatch.setattr("creditline.domain.revenue.round_half_up", lambda n, d: n // d)
    with _shop("sqlite") as shop, pytest.raises(AssertionError):
        check_year(shop, A_YEAR)
