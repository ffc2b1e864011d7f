"""``GET /v1/reports/revenue`` on both databases: the operator's month per currency, as
JSON or CSV; organizations' keys are refused; a bad month is 422."""

from __future__ import annotations

from datetime import timedelta

from creditline import CostBasis, GrantKind, credits
from tests.api.conftest import World


def _month(world: World) -> str:
    """January 2026: an organization buys 10 credits for EUR 100.00 on account, is given
    3 credits bought outside at USD 3.33 each and 2 as a gift, and spends 4."""
    org = world.cl.create_org("Buyer").id
    world.cl.buy_on_account(org, "10-credits", currency="EUR")
    world.cl.grant(org, credits(3), cost_basis=CostBasis(333, "USD"), kind=GrantKind.INCLUDED)
    world.cl.grant(org, credits(2), GrantKind.PROMOTIONAL)
    world.clock.advance(timedelta(days=1))
    world.cl.spend(org, credits(4))  # the included credits first (USD 9.99), then 1 prepaid
    return org


def test_the_operator_sees_the_months_revenue_per_currency(world: World) -> None:
    _month(world)
    answer = world.get("/v1/reports/revenue", params={"month": "2026-01"})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["month"], body["since"], body["until"]) == (
        "2026-01", "2026-01-01T00:00:00Z", "2026-02-01T00:00:00Z",
    )  # fmt: skip
    eur, usd = body["currencies"]
    assert eur["currency"] == "EUR" and eur["reconciles"] is True
    assert eur["sold"] == {"credits": "10", "credits_micros": credits(10), "minor": 10000,
                           "money": "EUR 100.00"}  # fmt: skip
    assert (eur["consumed"]["minor"], eur["closing"]["money"]) == (1000, "EUR 90.00")
    assert (usd["sold"]["minor"], usd["consumed"]["minor"], usd["recognised_minor"]) == (
        999, 999, 999,
    )  # fmt: skip
    (gift,) = body["no_cash"]
    assert (gift["kind"], gift["granted"]["credits"], gift["closing"]["credits"]) == (
        "promotional", "2", "2",
    )  # fmt: skip
    assert body["flex"] is None


def test_the_report_exports_to_csv(world: World) -> None:
    _month(world)
    answer = world.get("/v1/reports/revenue", params={"month": "2026-01", "format": "csv"})
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/csv")
    header, eur, usd, gift = answer.text.splitlines()
    assert header.startswith("section,currency,kind,opening_credits,opening_micros,opening_minor")
    assert eur.startswith("cash,EUR,,0,0,0,10,10000000,10000,")
    assert usd.startswith("cash,USD,") and gift.startswith("no_cash,,promotional,0,0,,2,")


def test_an_organizations_key_is_refused(world: World) -> None:
    tenant = world.tenant("Acme")
    answer = world.get("/v1/reports/revenue", key=tenant.key, params={"month": "2026-01"})
    assert answer.status_code == 403


def test_a_bad_month_is_422(world: World) -> None:
    for month in ("2026-13", "nov", "", "0000-01", "9999-12"):
        answer = world.get("/v1/reports/revenue", params={"month": month})
        assert answer.status_code == 422, (month, answer.text)
    assert world.get("/v1/reports/revenue").status_code == 422
