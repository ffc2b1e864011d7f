"""Exact amounts: credits parse to micro-credits without rounding, and format back."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.amounts import (
    MAX_MICROS,
    MICROS_PER_CREDIT,
    CostBasis,
    credits,
    format_credits,
    parse_credits,
    require_positive_micros,
)
from creditline.domain.errors import InvalidAmount, ValidationError

micros_in_range = st.integers(min_value=-MAX_MICROS, max_value=MAX_MICROS)


@pytest.mark.parametrize(
    ("text", "micros"),
    [
        ("2.5", 2_500_000),
        ("0.000001", 1),
        ("1", MICROS_PER_CREDIT),
        ("0", 0),
        ("-1.5", -1_500_000),
        ("  2.5  ", 2_500_000),
        ("2.50", 2_500_000),
        ("1.0000000000", MICROS_PER_CREDIT),
        ("1e3", 1_000 * MICROS_PER_CREDIT),
        ("1E-6", 1),
        ("9223372036854.775807", MAX_MICROS),
        ("-9223372036854.775807", -MAX_MICROS),
    ],
)
def test_text_amounts_parse_to_exact_micro_credits(text: str, micros: int) -> None:
    assert parse_credits(text) == micros


@pytest.mark.parametrize(
    ("value", "micros"),
    [
        (3, 3_000_000),
        (0, 0),
        (Decimal("0.000001"), 1),
        (Decimal("2.5"), 2_500_000),
        (Decimal("-7"), -7_000_000),
    ],
)
def test_ints_and_decimals_parse_to_exact_micro_credits(value: int | Decimal, micros: int) -> None:
    assert parse_credits(value) == micros


def test_credits_is_shorthand_for_parse_credits() -> None:
    assert credits("2.5") == parse_credits("2.5") == 2_500_000
    assert credits(100) == 100_000_000


@pytest.mark.parametrize(
    "value",
    [
        "0.0000001",
        "1.0000001",
        "-0.0000005",
        Decimal("0.0000001"),
        # 31 significant digits: Decimal's 28-digit context would round it to 1 credit.
        "1.000000000000000000000000000001",
        # A tiny exponent that Decimal's context would flush to zero.
        "1e-999999999",
        "0." + "0" * 5000 + "1",
    ],
)
def test_more_precision_than_a_micro_credit_is_refused_not_rounded(value: str | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="more precise than one micro-credit"):
        parse_credits(value)


@pytest.mark.parametrize("value", [2.5, 0.1, 1.0, 0.0, -3.0])
def test_floats_are_refused(value: float) -> None:
    with pytest.raises(InvalidAmount, match="exact"):
        parse_credits(value)  # type: ignore[arg-type]


def test_booleans_are_not_amounts() -> None:
    with pytest.raises(InvalidAmount):
        parse_credits(True)


@pytest.mark.parametrize(
    "value",
    ["NaN", "nan", "-NaN", "sNaN", "inf", "-Infinity", Decimal("NaN"), Decimal("Infinity")],
)
def test_nan_and_infinity_are_refused(value: str | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="finite"):
        parse_credits(value)


@pytest.mark.parametrize("value", ["", "   ", "abc", "1,5", "2.5 credits", "0x10", "--1"])
def test_text_that_is_not_a_number_is_refused(value: str) -> None:
    with pytest.raises(InvalidAmount, match="not a number"):
        parse_credits(value)


@pytest.mark.parametrize("value", [None, [1], {"amount": 1}, b"2.5"])
def test_values_of_other_types_are_refused_with_invalid_amount(value: object) -> None:
    with pytest.raises(InvalidAmount):
        parse_credits(value)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "value",
    [
        "9223372036854.775808",
        "-9223372036854.775808",
        "1e30",
        "-1e30",
        "1e999999999",
        "1" * 5000,
        Decimal("1E+1000000"),
        10**13,
        -(10**13),
        2**63,
    ],
)
def test_huge_amounts_are_refused(value: str | int | Decimal) -> None:
    with pytest.raises(InvalidAmount, match="too large"):
        parse_credits(value)


def test_an_invalid_amount_names_the_value_and_is_a_validation_error() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_credits("0.0000001")
    assert isinstance(caught.value, InvalidAmount)
    assert caught.value.value == "0.0000001"
    assert "0.0000001" in str(caught.value)


@pytest.mark.parametrize(
    ("micros", "text"),
    [
        (2_500_000, "2.5"),
        (3_000_000, "3"),
        (0, "0"),
        (1, "0.000001"),
        (10, "0.00001"),
        (-1, "-0.000001"),
        (-1_500_000, "-1.5"),
        (1_234_567_890, "1234.56789"),
        (MAX_MICROS, "9223372036854.775807"),
    ],
)
def test_format_credits_writes_credits_without_trailing_zeros(micros: int, text: str) -> None:
    assert format_credits(micros) == text


@given(micros_in_range)
def test_format_then_parse_is_the_identity(micros: int) -> None:
    assert parse_credits(format_credits(micros)) == micros


@given(
    whole=st.integers(min_value=0, max_value=9_000_000_000_000),
    frac=st.integers(min_value=0, max_value=999_999),
    negative=st.booleans(),
)
def test_six_decimal_places_always_parse_exactly(whole: int, frac: int, negative: bool) -> None:
    sign = "-" if negative else ""
    expected = (whole * MICROS_PER_CREDIT + frac) * (-1 if negative else 1)
    assert parse_credits(f"{sign}{whole}.{frac:06d}") == expected


@given(
    micros=st.integers(min_value=-(10**15), max_value=10**15),
    zeros=st.integers(min_value=0, max_value=40),
    digit=st.integers(min_value=1, max_value=9),
)
def test_any_nonzero_digit_past_the_sixth_decimal_is_refused(
    micros: int, zeros: int, digit: int
) -> None:
    whole, frac = divmod(abs(micros), MICROS_PER_CREDIT)
    sign = "-" if micros < 0 else ""
    text = f"{sign}{whole}.{frac:06d}{'0' * zeros}{digit}"
    with pytest.raises(InvalidAmount):
        parse_credits(text)


def test_require_positive_micros_accepts_an_int_above_zero() -> None:
    assert require_positive_micros(1) == 1
    assert require_positive_micros(MAX_MICROS) == MAX_MICROS


@pytest.mark.parametrize("value", [0, -1, MAX_MICROS + 1, 1.0, 2.5, True, "5", None, Decimal(5)])
def test_require_positive_micros_refuses_everything_else(value: object) -> None:
    with pytest.raises(InvalidAmount):
        require_positive_micros(value)


def test_a_cost_basis_is_minor_units_and_an_iso_currency() -> None:
    basis = CostBasis(900, "EUR")
    assert (basis.unit_price_minor, basis.currency) == (900, "EUR")
    assert CostBasis(0, "USD").unit_price_minor == 0


@pytest.mark.parametrize(
    ("price", "currency"),
    [
        (-1, "EUR"),
        (9.0, "EUR"),
        (True, "EUR"),
        ("900", "EUR"),
        (900, "eur"),
        (900, "EURO"),
        (900, ""),
    ],
)
def test_a_cost_basis_refuses_negative_inexact_prices_and_bad_currencies(
    price: object, currency: str
) -> None:
    with pytest.raises(InvalidAmount):
        CostBasis(price, currency)  # type: ignore[arg-type]
