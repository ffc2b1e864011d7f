"""The dashboard's one format of amounts: credits to two decimals with comma-grouped
thousands (exact on hover), money in its major unit with its sign or code."""

from __future__ import annotations

from decimal import Decimal

from creditline import credits
from creditline.domain.money import Money
from creditline.entrypoints.web.render import (
    credits_html,
    credits_text,
    money_text,
    number_text,
    signed_credits,
    templates,
)


def test_credits_show_two_decimals_grouped_by_commas() -> None:
    assert credits_text(5_433_139_208) == "5,433.14"
    assert credits_text(credits(1000)) == "1,000.00"
    assert credits_text(78_000_000_000) == "78,000.00"
    assert credits_text(2_500_000) == "2.50"
    assert credits_text(0) == "0.00"
    assert credits_text(None) == ""


def test_credits_round_half_away_from_zero_and_keep_their_sign() -> None:
    assert credits_text(4_995_000) == "5.00"
    assert credits_text(4_994_999) == "4.99"
    assert credits_text(-696_726) == "-0.70"
    assert signed_credits(credits(100)) == "+100.00"
    assert signed_credits(-2_500_000) == "-2.50"
    assert signed_credits(0) == "0.00"


def test_the_credits_filter_gives_the_exact_amount_on_hover() -> None:
    html = str(credits_html(5_433_139_208))
    assert html == '<span class="credits" title="5433.139208 credits">5,433.14</span>'
    assert str(credits_html(None)) == ""


def test_every_template_uses_the_one_filter() -> None:
    env = templates.env
    shown = env.from_string("{{ a|credits }} {{ b|signed_credits }}").render(a=1_234_567, b=-1)
    assert shown == (
        '<span class="credits" title="1.234567 credits">1.23</span> '
        '<span class="credits" title="-0.000001 credits">-0.00</span>'
    )


def test_money_is_shown_in_its_major_unit_with_its_sign_or_code() -> None:
    assert money_text(Money(45_000, "USD")) == "$450.00"
    assert money_text(Money(123_456_789, "EUR")) == "€1,234,567.89"
    assert money_text(500, "JPY") == "¥500"
    assert money_text(Money(1_000, "CHF")) == "CHF 10.00"
    assert money_text(None, "USD") == ""


def test_a_refund_is_shown_negative() -> None:
    assert money_text(Money(10_000, "USD"), negative=True) == "-$100.00"
    assert money_text(Money(0, "USD"), negative=True) == "$0.00"
    shown = templates.env.from_string("{{ m|money(negative=True) }}").render(m=Money(1, "GBP"))
    assert shown == "-£0.01"


def test_quantities_are_grouped_by_commas() -> None:
    assert number_text(78_000) == "78,000"
    assert number_text(Decimal("1234.50")) == "1,234.5"
    assert number_text(0.25) == "0.25"
    assert number_text("gpt-4o") == "gpt-4o"
    assert templates.env.from_string("{{ n|number }}").render(n=24000) == "24,000"
