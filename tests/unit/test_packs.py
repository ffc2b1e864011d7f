"""Credit packs, money rounding, refunds' money and flex invoice lines: the pure rules."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline import CostBasis, credits
from creditline.domain.cycles import ExpiryRule
from creditline.domain.errors import InvalidAmount, InvalidSetting, PackNotFound
from creditline.domain.invoices import (
    flex_lines,
    flex_ref,
    invoice_number,
    month_bounds,
    parse_month,
    previous_month,
)
from creditline.domain.money import (
    Money,
    format_money,
    money_for_credits,
    round_half_up,
    unit_price_minor,
)
from creditline.domain.packs import (
    ANY_AMOUNT,
    Catalogue,
    RefundPolicy,
    load_catalogue,
    parse_catalogue,
)
from creditline.domain.purchases import Purchase, PurchaseStatus, refund_money

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def catalogue(platform: str) -> Catalogue:
    return load_catalogue((EXAMPLES / platform / "packs.toml").read_text(encoding="utf-8"))


# -- the seeds' catalogues ------------------------------------------------------------------


def test_otai_sells_10_50_and_100_credits_for_eur_100_450_and_800() -> None:
    otai = catalogue("otai")
    offers = [otai.offer("EUR", name) for name in ("10-credits", "50-credits", "100-credits")]
    assert [(o.credits, o.price) for o in offers] == [
        (credits(10), Money(10000, "EUR")),
        (credits(50), Money(45000, "EUR")),
        (credits(100), Money(80000, "EUR")),
    ]
    # seed: EUR 10, 9 (10% off) and 8 (20% off) a credit
    assert [o.cost_basis for o in offers] == [
        CostBasis(1000, "EUR"), CostBasis(900, "EUR"), CostBasis(800, "EUR"),
    ]  # fmt: skip
    assert all(o.expiry == ExpiryRule.never() for o in offers)  # "Credits do not expire"


def test_datarobot_packs_expire_6_months_after_purchase_and_are_final() -> None:
    datarobot = catalogue("datarobot")
    assert [p.name for p in datarobot.packs] == ["explorer", "accelerator"]
    assert all(p.expiry == ExpiryRule.after(months=6) for p in datarobot.packs)
    assert datarobot.refund_policy is RefundPolicy.FINAL


def test_ai_engine_sells_standard_1000_and_professional_5000_in_euros_and_dollars() -> None:
    engine = catalogue("ai-engine")
    assert [(p.name, p.credits) for p in engine.packs] == [
        ("standard", credits(1000)),
        ("professional", credits(5000)),
    ]
    assert engine.offer("EUR", "standard").price == Money(9000, "EUR")
    assert engine.offer("USD", "standard").price == Money(10000, "USD")


def test_aixplain_sells_any_whole_number_of_credits_at_one_dollar_each() -> None:
    aixplain = catalogue("aixplain")
    offer = aixplain.offer("USD", credits=credits(25))
    assert (offer.pack, offer.credits, offer.price) == (ANY_AMOUNT, credits(25), Money(2500, "USD"))
    assert offer.cost_basis == CostBasis(100, "USD")
    with pytest.raises(InvalidAmount, match="multiple of 1 credits"):
        aixplain.offer("USD", credits=credits("2.5"))
    with pytest.raises(InvalidAmount, match="from 1 to 10000"):
        aixplain.offer("USD", credits=credits(10_001))
    with pytest.raises(InvalidSetting, match="sold in USD"):
        aixplain.offer("EUR", credits=credits(5))
    with pytest.raises(PackNotFound):
        aixplain.offer("USD", "explorer")


def test_an_offer_names_a_pack_or_an_amount_and_only_in_a_currency_it_is_sold_in() -> None:
    otai = catalogue("otai")
    with pytest.raises(InvalidSetting, match="give a pack or an amount"):
        otai.offer("EUR")
    with pytest.raises(InvalidSetting, match="give a pack or an amount"):
        otai.offer("EUR", "10-credits", credits(10))
    with pytest.raises(InvalidSetting, match="sold in EUR"):
        otai.offer("USD", "10-credits")
    with pytest.raises(PackNotFound):  # OTAI has no any-amount rate
        otai.offer("EUR", credits=credits(3))


# -- the document form ------------------------------------------------------------------------


@pytest.mark.parametrize("platform", ["otai", "datarobot", "ai-engine", "aixplain"])
def test_a_catalogue_reads_back_from_its_document(platform: str) -> None:
    found = catalogue(platform)
    assert parse_catalogue(found.to_document()) == found


def test_every_problem_of_a_catalogue_is_listed_with_its_place() -> None:
    text = """
    name = "broken"
    refund_policy = "sometimes"
    colour = "red"

    [[packs]]
    name = "small"
    credits = 0
    prices_minor = { eur = 100, USD = -5 }
    expiry = "end_of_cycle"

    [[packs]]
    name = "small"
    credits = "1.0000001"
    prices_minor = { EUR = 12.5 }
    expiry = { after = "6 fortnights" }

    [any_amount]
    unit_prices_minor = {}
    min_credits = 10
    max_credits = 5
    """
    with pytest.raises(InvalidSetting) as caught:
        load_catalogue(text)
    problems = caught.value.reason.split("; ")
    assert problems == [
        "colour: unknown key",
        "refund_policy: one of final, refundable",
        "packs[0] (small).credits: must be greater than zero, got 0",
        "packs[0] (small).prices_minor.eur: not a three-letter ISO 4217 code",
        "packs[0] (small).prices_minor.USD: must be a whole number of minor units above zero"
        " (EUR 450.00 is 45000), got -5",
        'packs[0] (small).expiry: bought credits expire "never" or { after = "6 months" }'
        " (cycle rules belong to plans)",
        "packs[1] (small).credits: more precise than one micro-credit (0.000001), got '1.0000001'",
        "packs[1] (small).prices_minor.EUR: must be a whole number of minor units above zero"
        " (EUR 450.00 is 45000), got Decimal('12.5')",
        "packs[1] (small).expiry.after: '6 fortnights' is not a whole number and a unit"
        ' (days, months or years), as "6 months"',
        "any_amount.unit_prices_minor: must be a table of currency = minor units,"
        " as { EUR = 45000 }",
        "any_amount: min_credits must not be above max_credits",
    ]


def test_a_catalogue_sells_something_and_names_each_pack_once() -> None:
    with pytest.raises(InvalidSetting, match="sell at least one"):
        load_catalogue('name = "empty"')
    twice = """
    name = "twice"
    [[packs]]
    name = "a"
    credits = 1
    prices_minor = { EUR = 100 }
    [[packs]]
    name = "a"
    credits = 2
    prices_minor = { EUR = 200 }
    """
    with pytest.raises(InvalidSetting, match="'a' is defined more than once"):
        load_catalogue(twice)
    with pytest.raises(InvalidSetting, match="not a TOML document"):
        load_catalogue("name = ")


def test_refunds_are_final_unless_a_catalogue_says_otherwise() -> None:
    found = load_catalogue('name = "x"\n[[packs]]\nname="a"\ncredits=1\nprices_minor={EUR=1}')
    assert found.refund_policy is RefundPolicy.FINAL


# -- money -----------------------------------------------------------------------------------


def test_money_rounds_half_up_to_the_minor_unit_and_only_there() -> None:
    assert [round_half_up(n, 8) for n in (3, 4, 5, 12)] == [0, 1, 1, 2]
    assert money_for_credits(credits("2.5"), 100) == 250
    assert money_for_credits(credits("0.005"), 100) == 1  # half a cent rounds up
    assert money_for_credits(credits("0.004999"), 100) == 0
    assert unit_price_minor(225000, credits(2500)) == 90
    assert unit_price_minor(10000, credits(3)) == 3333  # EUR 33.333... a credit
    with pytest.raises(InvalidAmount):
        round_half_up(-1, 2)
    with pytest.raises(InvalidAmount):
        round_half_up(1, 0)


def test_money_is_shown_with_the_currency_and_its_minor_digits() -> None:
    assert format_money(45000, "EUR") == "EUR 450.00"
    assert format_money(5, "USD") == "USD 0.05"
    assert format_money(500, "JPY") == "JPY 500"
    assert str(Money(80000, "EUR")) == "EUR 800.00"
    with pytest.raises(InvalidAmount):
        Money(-1, "EUR")
    with pytest.raises(InvalidAmount):
        Money(1, "eur")


@given(
    paid=st.integers(min_value=0, max_value=10**9),
    bought=st.integers(min_value=1, max_value=10**12),
    data=st.data(),
)
def test_a_refund_never_returns_more_than_was_paid_and_all_of_it_when_untouched(
    paid: int, bought: int, data: st.DataObject
) -> None:
    purchase = Purchase(
        "pur_1", "org_1", "p", bought, Money(paid, "EUR"), PurchaseStatus.PAID, "stripe",
        RefundPolicy.REFUNDABLE, ExpiryRule.never(), datetime(2026, 1, 1, tzinfo=UTC),
    )  # fmt: skip
    unspent = data.draw(st.integers(min_value=0, max_value=bought))
    money = refund_money(purchase, unspent)
    assert 0 <= money <= paid
    assert refund_money(purchase, bought) == paid
    assert refund_money(purchase, 0) == 0


# -- flex invoices ----------------------------------------------------------------------------


def test_a_month_is_billed_on_the_first_of_the_next_one() -> None:
    assert previous_month(datetime(2026, 4, 1, tzinfo=UTC)) == "2026-03"
    assert previous_month(datetime(2026, 1, 1, tzinfo=UTC)) == "2025-12"
    assert month_bounds("2026-12") == (
        datetime(2026, 12, 1, tzinfo=UTC),
        datetime(2027, 1, 1, tzinfo=UTC),
    )
    assert parse_month(datetime(2026, 3, 31, 23, 59, tzinfo=UTC)) == "2026-03"
    assert flex_ref("2026-03") == "flex:2026-03"
    assert invoice_number(42) == "INV-000042"
    for bad in ("2026-13", "2026-3", "March", 202603):
        with pytest.raises(InvalidSetting):
            parse_month(bad)


def test_flex_lines_price_the_used_credits_rounding_once() -> None:
    (line,) = flex_lines("2026-03", credits("70.005"), 400)
    assert (line.credits, line.unit_price_minor, line.amount_minor) == (
        credits("70.005"),
        400,
        28002,
    )
    assert flex_lines("2026-03", 0, 400) == ()


# -- the plan's flex price ---------------------------------------------------------------------


def test_a_plan_prices_its_flex_and_documents_without_a_price_read_as_before() -> None:
    from creditline.domain.plans import Plan, parse_plan

    priced = parse_plan(
        {"name": "core", "flex_price": {"currency": "USD", "minor_per_credit": 400}}
    )
    assert priced.flex_price == CostBasis(400, "USD")
    assert parse_plan(priced.to_dict()) == priced
    assert "flex_price" not in Plan("old").to_dict()  # stored documents are unchanged
    assert parse_plan(Plan("old").to_dict()).flex_price is None
    with pytest.raises(InvalidSetting) as caught:
        parse_plan(
            {"name": "x", "flex_price": {"currency": "usd", "minor_per_credit": 1.5, "per": 1}}
        )
    assert caught.value.reason.split("; ") == [
        "flex_price.per: unknown key",
        "flex_price.currency: a three-letter ISO 4217 code, got 'usd'",
        "flex_price.minor_per_credit: a whole number of minor units >= 0, got 1.5",
    ]
