"""Pricing: every price form, rounding, versions in force, and refusal of bad cards or usage."""

from __future__ import annotations

import json
import textwrap
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from creditline.domain.amounts import MICROS_PER_CREDIT
from creditline.domain.errors import (
    InvalidAmount,
    InvalidRateCard,
    InvalidTime,
    InvalidUsage,
    NoRateCardInForce,
    NotFound,
    UnknownOperation,
    ValidationError,
)
from creditline.domain.pricing import (
    DEFAULT_ROUNDING,
    Band,
    Flat,
    Formula,
    Matrix,
    ModelPrice,
    MultiplierBands,
    OffPeak,
    OperationPrice,
    PerUnit,
    Pipeline,
    RateCard,
    RateCardHistory,
    Rounding,
    RoundingMode,
    Step,
    SupplierPrices,
    Term,
    price,
    ratecard_format,
    round_to_increment,
)
from creditline.domain.pricing.ratecard_format import parse_ratecard

T0 = datetime(2026, 1, 1, tzinfo=UTC)
CREDIT = MICROS_PER_CREDIT
WHOLE_UP = Rounding(RoundingMode.UP, CREDIT)


def make_card(
    version: str = "v1", effective_from: datetime = T0, **operations: OperationPrice
) -> RateCard:
    return RateCard("acme", version, effective_from, operations)


def only(form: Any, **options: Any) -> RateCard:
    """A card with one operation, ``op``."""
    return make_card(op=OperationPrice(form, **options))


def usage_problems(card: RateCard, *args: Any, **kwargs: Any) -> list[str]:
    with pytest.raises(InvalidUsage) as caught:
        price(card, *args, **kwargs)
    assert isinstance(caught.value, ValidationError)
    return caught.value.problems


def card_problems(**fields: Any) -> list[str]:
    with pytest.raises(InvalidRateCard) as caught:
        RateCard(**{"name": "acme", "version": "v1", "effective_from": T0, **fields})
    assert isinstance(caught.value, ValidationError)
    return caught.value.problems


def locations(problems: list[str]) -> set[str]:
    return {problem.split(": ", 1)[0] for problem in problems}


OTAI_MATRIX = Matrix(
    ("mode", "delivery"),
    {
        ("Basic", "Standard"): Decimal(1),
        ("Basic", "Fast"): Decimal(2),
        ("Business", "Standard"): Decimal(3),
        ("Business", "Fast"): Decimal(5),
    },
)
ATTRIBUTE_BANDS = MultiplierBands(
    "attributes",
    (
        Band(Decimal(1), Decimal(5), Decimal("0.5")),
        Band(Decimal(6), Decimal(20), Decimal(1)),
        Band(Decimal(21), None, Decimal(2)),
    ),
)


# ------------------------------------------------------------------------- forms


def test_a_flat_price_costs_the_same_per_call_whatever_the_quantities() -> None:
    card = only(Flat(Decimal("2.5")))
    assert price(card, "op").total == 2_500_000
    assert price(card, "op", {"tokens": 10**6}).total == 2_500_000


def test_a_per_unit_price_is_credits_per_units_of_a_quantity() -> None:
    card = only(PerUnit(Decimal(10), "characters", 1_000_000))
    assert price(card, "op", {"characters": 1_000_000}).total == 10 * CREDIT
    assert price(card, "op", {"characters": 1}).total == 10
    assert price(card, "op", {"characters": 0}).total == 0


def test_fractional_quantities_are_exact_from_text_or_decimal() -> None:
    card = only(PerUnit(Decimal("0.024"), "minutes"))
    assert price(card, "op", {"minutes": "12.5"}).total == 300_000
    assert price(card, "op", {"minutes": Decimal("12.5")}).total == 300_000
    assert price(card, "op", {"minutes": 40}).total == 960_000


def test_a_matrix_picks_the_price_by_every_dimension() -> None:
    card = only(OTAI_MATRIX)
    quote = price(card, "op", dimensions={"mode": "Business", "delivery": "Fast"})
    assert quote.total == 5 * CREDIT
    assert dict(quote.selection) == {"mode": "Business", "delivery": "Fast"}
    assert quote.components[0].label.startswith("Business x Fast")


def test_a_matrix_with_a_unit_prices_each_cell_per_unit() -> None:
    matrix = Matrix(("region",), {("eu",): Decimal(2), ("us",): Decimal(1)}, "gigabytes", 1000)
    card = only(matrix)
    assert price(card, "op", {"gigabytes": 500}, {"region": "eu"}).total == CREDIT
    assert price(card, "op", {"gigabytes": 500}, {"region": "us"}).total == CREDIT // 2


def test_a_formula_sums_its_terms_each_a_product_of_quantities() -> None:
    formula = Formula(
        (
            Term(Decimal("0.5"), label="setup"),
            Term(Decimal("0.001"), ("model_params_b", "samples")),
            Term(Decimal(1), ("samples",), per=1000),
        )
    )
    quote = price(only(formula), "op", {"model_params_b": "7", "samples": 5000})
    assert quote.total == 500_000 + 35_000_000 + 5_000_000
    assert [c.micros for c in quote.components] == [500_000, 35_000_000, 5_000_000]
    assert quote.components[0].label.startswith("setup:")
    assert sum(c.micros for c in quote.components) == quote.base


def test_a_supplier_price_is_charged_as_the_supplier_sets_it_with_nothing_added() -> None:
    models = SupplierPrices(
        {
            "gpt-4": ModelPrice("OpenAI", PerUnit(Decimal(60), "tokens", 1_000_000)),
            "echo": ModelPrice("Acme", Flat(Decimal(0))),
        }
    )
    card = only(models)
    quote = price(card, "op", {"tokens": 16_000}, {"model": "gpt-4"})
    assert quote.total == 960_000
    assert quote.exact == quote.total
    assert quote.supplier == "OpenAI"
    assert price(card, "op", {}, {"model": "echo"}).total == 0  # no quantity needed


def test_a_pipeline_costs_the_sum_of_its_steps_each_priced_as_its_own_operation() -> None:
    card = make_card(
        words=OperationPrice(PerUnit(Decimal(1), "words", 1000), rounding=WHOLE_UP),
        call=OperationPrice(Flat(Decimal("0.25"))),
        run=OperationPrice(Pipeline()),
    )
    steps = [Step("words", {"words": 1500}), Step("call"), Step("call")]
    quote = price(card, "run", steps=steps)
    assert [step.total for step in quote.steps] == [2 * CREDIT, 250_000, 250_000]
    assert quote.total == 2_500_000
    assert quote.rounding is None
    assert quote.exact == Decimal("2000000")  # 1.5 + 0.25 + 0.25 credits before rounding
    assert quote.adjustment == 500_000  # the first step's rounding up


def test_a_pipeline_refuses_missing_nested_and_disallowed_steps() -> None:
    card = make_card(
        call=OperationPrice(Flat(Decimal(1))),
        other=OperationPrice(Flat(Decimal(1))),
        run=OperationPrice(Pipeline(("call",))),
        any=OperationPrice(Pipeline()),
    )
    assert usage_problems(card, "run") == ["steps: a pipeline needs at least one step"]
    problems = usage_problems(card, "any", steps=[Step("run", {}), Step("nope"), Step("call")])
    assert locations(problems) == {"steps[0].operation", "steps[1].operation"}
    assert "pipeline cannot be a step" in problems[0]
    assert "not allowed" in usage_problems(card, "run", steps=[Step("other")])[0]


def test_only_a_pipeline_takes_steps() -> None:
    card = only(Flat(Decimal(1)))
    assert usage_problems(card, "op", steps=[Step("op")]) == [
        "steps: only a pipeline operation has steps"
    ]


def test_a_step_problem_is_located_in_its_step() -> None:
    card = make_card(
        per=OperationPrice(PerUnit(Decimal(1), "pages")), run=OperationPrice(Pipeline())
    )
    problems = usage_problems(card, "run", steps=[Step("per", {"pages": 1}), Step("per")])
    assert problems == ["steps[1].quantities.pages: missing"]


# ------------------------------------------------------------------ multipliers


@pytest.mark.parametrize(
    ("attributes", "micros"),
    [(1, 500_000), (5, 500_000), (6, CREDIT), (20, CREDIT), (21, 2 * CREDIT), (10**9, 2 * CREDIT)],
)
def test_multiplier_bands_include_both_ends_and_the_last_may_be_open(
    attributes: int, micros: int
) -> None:
    card = only(Flat(Decimal(1)), multipliers=(ATTRIBUTE_BANDS,))
    assert price(card, "op", {"attributes": attributes}).total == micros


def test_a_value_in_no_band_is_refused() -> None:
    card = only(Flat(Decimal(1)), multipliers=(ATTRIBUTE_BANDS,))
    assert usage_problems(card, "op", {"attributes": 0}) == [
        "quantities.attributes: 0 is outside every band (1..5, 6..20, 21..)"
    ]
    assert usage_problems(card, "op", {"attributes": "5.5"})[0].startswith(
        "quantities.attributes: 5.5 is outside every band"
    )


def test_multipliers_multiply_the_base_and_are_listed_in_the_quote() -> None:
    card = only(OTAI_MATRIX, multipliers=(ATTRIBUTE_BANDS,), rounding=WHOLE_UP)
    quote = price(card, "op", {"attributes": 3}, {"mode": "Business", "delivery": "Standard"})
    assert quote.base == 3 * CREDIT
    assert quote.multiplier == Decimal("0.5")
    assert quote.multipliers[0].reason == "attributes 3 in 1..5"
    assert quote.exact == Decimal(1_500_000)
    assert quote.total == 2 * CREDIT
    assert quote.adjustment == 500_000


# ------------------------------------------------------------------- off-peak

NIGHT = OffPeak(time(22), time(6), Decimal("0.5"))


def night_card(off_peak: OffPeak = NIGHT, off_peak_of_operation: OffPeak | None = None) -> RateCard:
    operation = OperationPrice(Flat(Decimal(4)), off_peak=off_peak_of_operation)
    return RateCard("acme", "v1", T0, {"op": operation}, off_peak=off_peak)


@pytest.mark.parametrize(
    ("hour", "minute", "credits"),
    [(21, 59, 4), (22, 0, 2), (3, 0, 2), (5, 59, 2), (6, 0, 4), (12, 0, 4)],
)
def test_off_peak_hours_are_priced_lower_in_a_window_that_wraps_midnight(
    hour: int, minute: int, credits: int
) -> None:
    at = datetime(2026, 3, 2, hour, minute, tzinfo=UTC)
    assert price(night_card(), "op", at=at).total == credits * CREDIT


def test_the_off_peak_multiplier_is_listed_in_the_quote() -> None:
    quote = price(night_card(), "op", at=datetime(2026, 3, 2, 23, tzinfo=UTC))
    assert [(m.reason, m.factor) for m in quote.multipliers] == [
        ("off-peak 22:00-06:00 UTC", Decimal("0.5"))
    ]


def test_the_off_peak_window_is_in_its_zone_with_daylight_saving_time() -> None:
    berlin = night_card(OffPeak(time(22), time(6), Decimal("0.5"), "Europe/Berlin"))
    summer_22_local = datetime(2026, 7, 1, 20, tzinfo=UTC)  # CEST is UTC+2
    winter_22_local = datetime(2026, 1, 5, 21, tzinfo=UTC)  # CET is UTC+1
    assert price(berlin, "op", at=summer_22_local).total == 2 * CREDIT
    assert price(berlin, "op", at=winter_22_local).total == 2 * CREDIT
    assert price(berlin, "op", at=summer_22_local - timedelta(minutes=1)).total == 4 * CREDIT
    fixed = night_card(OffPeak(time(22), time(6), Decimal("0.5"), "-05:00"))
    assert price(fixed, "op", at=datetime(2026, 7, 2, 3, tzinfo=UTC)).total == 2 * CREDIT


def test_the_event_time_may_be_given_in_any_zone() -> None:
    at = datetime(2026, 3, 2, 23, 30, tzinfo=timezone(timedelta(hours=5)))  # 18:30 UTC
    assert price(night_card(), "op", at=at).total == 4 * CREDIT


def test_an_operation_off_peak_rate_replaces_the_cards() -> None:
    free_at_noon = OffPeak(time(11), time(13), Decimal(0))
    card = night_card(off_peak=NIGHT, off_peak_of_operation=free_at_noon)
    assert price(card, "op", at=datetime(2026, 3, 2, 12, tzinfo=UTC)).total == 0
    assert price(card, "op", at=datetime(2026, 3, 2, 23, tzinfo=UTC)).total == 4 * CREDIT


def test_an_off_peak_price_needs_the_event_time() -> None:
    assert locations(usage_problems(night_card(), "op")) == {"at"}
    with pytest.raises(InvalidTime):
        price(night_card(), "op", at=datetime(2026, 3, 2, 23))


# --------------------------------------------------------------------- rounding


@pytest.mark.parametrize(
    ("value", "increment", "mode", "expected"),
    [
        ("1500000", CREDIT, RoundingMode.UP, 2 * CREDIT),
        ("1500000", CREDIT, RoundingMode.DOWN, CREDIT),
        ("1500000", CREDIT, RoundingMode.HALF_UP, 2 * CREDIT),
        ("1500000", CREDIT, RoundingMode.HALF_EVEN, 2 * CREDIT),
        ("2500000", CREDIT, RoundingMode.HALF_EVEN, 2 * CREDIT),
        ("2500000", CREDIT, RoundingMode.HALF_UP, 3 * CREDIT),
        ("2500001", CREDIT, RoundingMode.HALF_EVEN, 3 * CREDIT),
        ("2499999", CREDIT, RoundingMode.HALF_UP, 2 * CREDIT),
        ("2000000", CREDIT, RoundingMode.UP, 2 * CREDIT),
        ("0", CREDIT, RoundingMode.UP, 0),
        ("0.000001", 1, RoundingMode.UP, 1),
        ("0.5", 1, RoundingMode.HALF_EVEN, 0),
        ("0.5", 1, RoundingMode.HALF_UP, 1),
        ("400.0008", 1, RoundingMode.UP, 401),
        ("400.0008", 1, RoundingMode.DOWN, 400),
        ("12345", 10_000, RoundingMode.HALF_UP, 10_000),
        ("1", 3, RoundingMode.HALF_UP, 0),
        ("2", 3, RoundingMode.HALF_UP, 3),
    ],
)
def test_round_to_increment_rounds_once_to_a_multiple_in_its_mode(
    value: str, increment: int, mode: RoundingMode, expected: int
) -> None:
    assert round_to_increment(Decimal(value), increment, mode) == expected


def test_round_to_increment_refuses_negative_costs_and_bad_increments() -> None:
    with pytest.raises(InvalidAmount):
        round_to_increment(Decimal(-1), 1, RoundingMode.UP)
    with pytest.raises(InvalidAmount):
        round_to_increment(Decimal("NaN"), 1, RoundingMode.UP)
    for increment in (0, -1, True):
        with pytest.raises(InvalidAmount):
            round_to_increment(Decimal(1), increment, RoundingMode.UP)


exact_costs = st.decimals(min_value=0, max_value=10**15, places=9, allow_nan=False)
increments = st.sampled_from([1, 10, 3, 10_000, 250_000, CREDIT])


@given(exact_costs, increments)
def test_rounding_up_never_charges_less_nor_a_whole_increment_more(
    value: Decimal, increment: int
) -> None:
    rounded = round_to_increment(value, increment, RoundingMode.UP)
    assert rounded % increment == 0
    assert value <= rounded < value + increment


@given(exact_costs, increments)
def test_rounding_down_never_charges_more_nor_a_whole_increment_less(
    value: Decimal, increment: int
) -> None:
    rounded = round_to_increment(value, increment, RoundingMode.DOWN)
    assert rounded % increment == 0
    assert value - increment < rounded <= value


@given(exact_costs, increments, st.sampled_from([RoundingMode.HALF_UP, RoundingMode.HALF_EVEN]))
def test_rounding_to_nearest_is_within_half_an_increment(
    value: Decimal, increment: int, mode: RoundingMode
) -> None:
    rounded = round_to_increment(value, increment, mode)
    assert rounded % increment == 0
    assert abs(rounded - value) * 2 <= increment


def test_a_price_without_a_rule_uses_the_cards_and_a_card_without_one_rounds_up_to_the_micro() -> (
    None
):
    tiny = PerUnit(Decimal(1), "characters", 10**9)  # 0.001 micro-credits a character
    card = only(tiny)
    assert card.rounding == DEFAULT_ROUNDING == Rounding(RoundingMode.UP, 1)
    assert price(card, "op", {"characters": 1}).total == 1
    assert price(card, "op", {"characters": 1000}).total == 1
    assert price(card, "op", {"characters": 1001}).total == 2
    half_even = RateCard("acme", "v1", T0, {"op": OperationPrice(tiny)}, Rounding("half_even", 1))
    assert price(half_even, "op", {"characters": 1500}).total == 2
    assert price(half_even, "op", {"characters": 2500}).total == 2


@given(st.integers(min_value=0, max_value=10**12), st.integers(min_value=0, max_value=10**12))
def test_a_per_unit_price_never_falls_as_the_quantity_grows(a: int, b: int) -> None:
    card = only(PerUnit(Decimal("0.024"), "minutes", 1000), rounding=WHOLE_UP)
    low, high = sorted((a, b))
    assert price(card, "op", {"minutes": low}).total <= price(card, "op", {"minutes": high}).total


@given(
    st.decimals(min_value=0, max_value=10**9, places=6, allow_nan=False),
    st.sampled_from([1, 5, 6, 20, 21, 200]),
    st.sampled_from(list(RoundingMode)),
)
def test_a_quote_adds_up_from_components_to_total(
    minutes: Decimal, attributes: int, mode: RoundingMode
) -> None:
    formula = Formula((Term(Decimal("0.1")), Term(Decimal("0.024"), ("minutes",))))
    card = only(formula, multipliers=(ATTRIBUTE_BANDS,), rounding=Rounding(mode, 10_000))
    quote = price(card, "op", {"minutes": minutes, "attributes": attributes})
    assert sum(c.micros for c in quote.components) == quote.base
    assert quote.base * quote.multiplier == quote.exact
    assert quote.total == round_to_increment(quote.exact, 10_000, mode)
    assert quote.total - quote.exact == quote.adjustment


# --------------------------------------------------------------------- versions


def versions() -> RateCardHistory:
    v1 = make_card("v1", T0, op=OperationPrice(Flat(Decimal(1))))
    v2 = make_card("v2", T0 + timedelta(days=31), op=OperationPrice(Flat(Decimal(2))))
    return RateCardHistory((v2, v1))  # any order: the history sorts them


def test_the_version_in_force_is_the_last_to_take_effect_at_or_before_the_time() -> None:
    history = versions()
    second = T0 + timedelta(days=31)
    assert history.in_force(T0).version == "v1"
    assert history.in_force(second - timedelta(microseconds=1)).version == "v1"
    assert history.in_force(second).version == "v2"  # half-open: the boundary is v2's
    assert history.in_force(second + timedelta(days=400)).version == "v2"
    assert history.price("op", at=second - timedelta(microseconds=1)).total == CREDIT
    assert history.price("op", at=second).total == 2 * CREDIT


def test_there_is_no_price_before_the_first_version() -> None:
    with pytest.raises(NoRateCardInForce) as caught:
        versions().in_force(T0 - timedelta(microseconds=1))
    assert isinstance(caught.value, NotFound)
    with pytest.raises(InvalidTime):
        versions().in_force(datetime(2026, 2, 1))


def test_a_new_version_never_changes_what_past_usage_costs() -> None:
    history = versions()
    past = T0 + timedelta(days=40)
    now = T0 + timedelta(days=50)
    before = history.price("op", at=past)
    v3 = make_card("v3", now, op=OperationPrice(Flat(Decimal(9))))
    newer = history.add(v3, now=now)
    assert newer.price("op", at=past) == before
    assert newer.price("op", at=now).total == 9 * CREDIT
    assert history.price("op", at=now).total == 2 * CREDIT  # the history is immutable


def test_a_new_version_may_not_take_effect_in_the_past() -> None:
    now = T0 + timedelta(days=50)
    backdated = make_card("v3", now - timedelta(seconds=1), op=OperationPrice(Flat(Decimal(9))))
    with pytest.raises(InvalidRateCard) as caught:
        versions().add(backdated, now=now)
    assert locations(caught.value.problems) == {"effective_from"}


def test_versions_must_be_of_one_card_with_distinct_labels_and_times() -> None:
    v1 = make_card("v1", T0, op=OperationPrice(Flat(Decimal(1))))
    clash = make_card("v1", T0, op=OperationPrice(Flat(Decimal(2))))
    other = RateCard("other", "v9", T0 + timedelta(days=1), {"op": OperationPrice(Flat(1))})
    with pytest.raises(InvalidRateCard) as caught:
        RateCardHistory((v1, clash, other))
    assert locations(caught.value.problems) == {"name", "version", "effective_from"}
    with pytest.raises(InvalidRateCard):
        RateCardHistory(())


def test_effective_from_is_kept_in_utc() -> None:
    one_am_in_paris = datetime(2026, 1, 1, 1, tzinfo=timezone(timedelta(hours=1)))
    card = make_card("v1", one_am_in_paris, op=OperationPrice(Flat(Decimal(1))))
    assert card.effective_from == T0
    assert card.effective_from.tzinfo is UTC


# ---------------------------------------------------------------- invalid cards


def test_an_invalid_card_lists_every_problem_not_just_the_first() -> None:
    problems = card_problems(
        name="",
        effective_from=datetime(2026, 1, 1),
        rounding=Rounding("sideways", 0),
        operations={
            "train": OperationPrice(
                Matrix(
                    ("mode", "delivery"),
                    {
                        ("Basic", "Standard"): Decimal(1),
                        ("Basic", "Fast"): Decimal(-2),
                        ("Maximum", "Standard"): 0.5,
                    },
                ),
                multipliers=(MultiplierBands("attributes", (Band(1, 5, 1), Band(5, 9, 2))),),
            ),
            "read": OperationPrice(PerUnit(Decimal(1), "Pages", 60)),
            "run": OperationPrice(Pipeline(("nope",)), rounding=WHOLE_UP),
            "bad name!": OperationPrice(Flat(Decimal(1))),
        },
    )
    assert locations(problems) == {
        "name",
        "effective_from",
        "rounding.mode",
        "rounding.increment",
        "operations.train.matrix.Basic.Fast",
        "operations.train.matrix.Maximum.Standard",
        "operations.train.matrix.Maximum.Fast",
        "operations.train.multipliers[0].bands[1]",
        "operations.read.per_unit.quantity",
        "operations.read.per_unit.per",
        "operations.run",
        "operations.run.pipeline.allow[0]",
        'operations."bad name!"',
    }
    assert "operations.train.matrix.Basic.Fast: must not be negative, got -2" in problems
    assert any("not a float" in p for p in problems if "Maximum.Standard" in p)


def test_a_card_prices_at_least_one_operation() -> None:
    assert card_problems(operations={}) == ["operations: a rate card prices at least one operation"]


@pytest.mark.parametrize(
    ("form", "location"),
    [
        (Flat(Decimal("1e15")), "operations.op.flat"),
        (Flat(Decimal("0.0000000000000000001")), "operations.op.flat"),
        (Flat(Decimal("Infinity")), "operations.op.flat"),
        (PerUnit(Decimal(1), "pages", 0), "operations.op.per_unit.per"),
        (Formula(()), "operations.op.formula"),
        (
            Formula((Term(Decimal(1), ("a", "b", "c", "d", "e")),)),
            "operations.op.formula[0].quantities",
        ),
        (Matrix((), {}), "operations.op.dimensions"),
        (Matrix(("a", "a"), {("x", "y"): Decimal(1)}), "operations.op.dimensions"),
        (SupplierPrices({}), "operations.op.models"),
        (
            SupplierPrices({"m": ModelPrice(" ", Flat(Decimal(1)))}),
            "operations.op.models.m.supplier",
        ),
        (SupplierPrices({"m": ModelPrice("S", Pipeline())}), "operations.op.models.m"),  # type: ignore[arg-type]
    ],
)
def test_each_form_checks_its_own_values(form: Any, location: str) -> None:
    problems = card_problems(operations={"op": OperationPrice(form)})
    assert locations(problems) == {location}


def test_an_off_peak_window_needs_a_real_zone_and_distinct_ends() -> None:
    problems = card_problems(
        operations={"op": OperationPrice(Flat(Decimal(1)))},
        off_peak=OffPeak(time(6), time(6), Decimal(-1), "Mars/Olympus"),
    )
    assert locations(problems) == {"off_peak.end", "off_peak.zone", "off_peak.multiplier"}


def test_a_matrix_needs_every_combination_of_its_values() -> None:
    matrix = Matrix(("mode", "delivery"), {("Basic", "Standard"): 1, ("Pro", "Fast"): 2})
    problems = card_problems(operations={"train": OperationPrice(matrix)})
    assert locations(problems) == {
        "operations.train.matrix.Basic.Fast",
        "operations.train.matrix.Pro.Standard",
    }
    assert problems[0].endswith("missing: every combination of mode x delivery needs a price")


# ------------------------------------------------------------------- bad usage


def test_an_unknown_operation_names_the_ones_the_card_prices() -> None:
    card = make_card(b=OperationPrice(Flat(Decimal(1))), a=OperationPrice(Flat(Decimal(1))))
    with pytest.raises(UnknownOperation) as caught:
        price(card, "c")
    assert isinstance(caught.value, ValidationError)
    assert caught.value.known == ["a", "b"]
    assert caught.value.card == "acme v1"


def test_bad_usage_lists_every_bad_field_by_name() -> None:
    card = only(
        Matrix(("mode",), {("Basic",): Decimal(1)}, "minutes"), multipliers=(ATTRIBUTE_BANDS,)
    )
    problems = usage_problems(card, "op", {"attributes": -1}, {"mode": "Ultra"})
    assert problems == [
        "dimensions.mode: unknown value 'Ultra' (one of Basic)",
        "quantities.attributes: must not be negative, got -1",
    ]
    problems = usage_problems(card, "op", {"minutes": 0.5, "attributes": "many"}, {})
    assert problems == [
        "dimensions.mode: missing (one of Basic)",
        "quantities.attributes: must be a number, got 'many'",
    ]
    problems = usage_problems(card, "op", {"minutes": 0.5, "attributes": 3}, {"mode": "Basic"})
    assert locations(problems) == {"quantities.minutes"}
    assert "not a float" in problems[0]


@pytest.mark.parametrize("bad", [True, None, "1e400000", "NaN", "-0.5", "0.0000000000000000001"])
def test_a_quantity_must_be_an_exact_non_negative_number(bad: object) -> None:
    card = only(PerUnit(Decimal(1), "pages"))
    assert locations(usage_problems(card, "op", {"pages": bad})) == {"quantities.pages"}


def test_quantities_and_dimensions_the_price_does_not_use_are_ignored() -> None:
    card = only(PerUnit(Decimal(1), "pages"))
    assert price(card, "op", {"pages": 2, "bytes": 0.5}, {"region": "eu"}).total == 2 * CREDIT


# --------------------------------------------------------------- the document


EVERY_FORM = """
name = "acme"
version = "2026-02"
effective_from = 2026-02-01T00:00:00+01:00
description = "every form"
rounding = { mode = "half_even", increment = "0.01" }
off_peak = { start = "22:00", end = "06:00", zone = "Europe/Berlin", multiplier = 0.8 }

[operations.ping]
flat = 0.01
[operations.translate]
per_unit = { credits = 10, quantity = "characters", per = 1_000_000 }
off_peak = { start = "00:00", end = "01:00", multiplier = 1 }
[operations.train]
dimensions = ["mode", "delivery"]
rounding = { mode = "up", increment = 1 }
unit = { quantity = "rows", per = 1000 }
[operations.train.matrix]
Basic = { Standard = 1, Fast = 2 }
"Pro plus" = { Standard = 3, Fast = 5 }
[[operations.train.multipliers]]
quantity = "attributes"
bands = [{ from = 1, to = 5, multiplier = 0.5 }, { from = 6, multiplier = 1 }]
[[operations.bench.formula]]
credits = 0.5
label = "setup"
[[operations.bench.formula]]
credits = 0.001
quantities = ["model_params_b", "samples"]
per = 1000
[operations.generate]
dimension = "engine"
[operations.generate.models."gpt-4.1"]
supplier = "OpenAI"
per_unit = { credits = 60, quantity = "tokens", per = 1_000_000 }
[operations.generate.models.echo]
supplier = "Acme"
formula = [{ credits = 0 }]
[operations.design]
pipeline = { allow = ["translate", "generate"] }
[operations.any]
pipeline = {}
"""


def test_a_document_reads_into_a_card_and_the_card_writes_it_back() -> None:
    card = parse_ratecard(EVERY_FORM)
    assert card.effective_from == datetime(2026, 1, 31, 23, tzinfo=UTC)
    assert list(card.operations) == [
        "ping",
        "translate",
        "train",
        "bench",
        "generate",
        "design",
        "any",
    ]
    document = card.to_dict()
    assert parse_ratecard(document) == card
    text = json.dumps(document)
    assert parse_ratecard(text, syntax="json") == card
    assert parse_ratecard(text.encode(), syntax="json") == card


def test_a_card_built_in_code_equals_the_same_card_read_from_a_document() -> None:
    built = only(
        PerUnit(Decimal(10), "characters", 1_000_000), rounding=Rounding(RoundingMode.UP, 1)
    )
    read = parse_ratecard(
        {
            "name": "acme",
            "version": "v1",
            "effective_from": "2026-01-01T00:00:00Z",
            "operations": {
                "op": {
                    "per_unit": {"credits": "10", "quantity": "characters", "per": 1_000_000},
                    "rounding": {"mode": "up", "increment": "0.000001"},
                }
            },
        }
    )
    assert read == built


def test_a_document_prices_like_its_card() -> None:
    card = parse_ratecard(EVERY_FORM)
    quote = price(
        card,
        "design",
        steps=[
            Step("translate", {"characters": 123_456}),
            Step("generate", {"tokens": 1000}, {"engine": "gpt-4.1"}),
        ],
        at=datetime(2026, 3, 2, 12, tzinfo=UTC),
    )
    # translate 1.23456 -> 1.23 (half_even to 0.01); generate 0.06; no off-peak at noon
    assert [step.total for step in quote.steps] == [1_230_000, 60_000]
    assert quote.total == 1_290_000
    train = price(
        card,
        "train",
        {"rows": 2500, "attributes": 3},
        {"mode": "Pro plus", "delivery": "Fast"},
        at=datetime(2026, 3, 2, 23, tzinfo=UTC),
    )
    assert train.exact == Decimal("5000000")  # 5 x 2.5 thousand rows x 0.5 x 0.8 (off-peak)
    assert train.total == 5 * CREDIT


BROKEN = """
format = 2
name = " acme"
effective_from = 2026-01-01T00:00:00
colour = "red"
rounding = { mode = "sideways", increment = "0.0000001" }
off_peak = { start = "25:00", end = "06:00", zone = "Mars/Olympus", multiplier = -1 }
[operations.train]
dimensions = ["mode", "delivery"]
per = 3
[operations.train.matrix]
Basic = { Standard = 1, Fast = 2 }
Business = { Standard = 3 }
Maximum = { Standard = -12, Fast = "lots" }
[[operations.train.multipliers]]
quantity = "Attributes"
bands = [{ from = 1, to = 5, multiplier = 0.5 }, { from = 5, to = 20, multiplier = 1 }]
[operations.both]
flat = 1
per_unit = { credits = 1, quantity = "x" }
[operations.minutes]
per_unit = { credits = 1, quantity = "seconds", per = 60 }
[operations.run]
pipeline = { allow = ["nope", "run", "minutes"] }
rounding = { mode = "up", increment = 1 }
[operations."bad name!"]
formula = [{ credits = 1 }, { quantities = ["a"] }]
[operations.gen]
dimension = "Model"
unit = { quantity = "tokens" }
[operations.gen.models.x]
supplier = ""
flat = 1
[operations.gen.models.y]
supplier = "Y"
matrix = {}
"""


def test_an_invalid_document_lists_every_problem_with_its_location() -> None:
    with pytest.raises(InvalidRateCard) as caught:
        parse_ratecard(BROKEN)
    assert locations(caught.value.problems) == {
        "format",
        "colour",
        "version",
        "name",
        "effective_from",
        "rounding.increment",
        "off_peak.start",
        "off_peak.zone",
        "off_peak.multiplier",
        "operations.train.per",
        "operations.train.matrix.Business.Fast",
        "operations.train.matrix.Maximum.Standard",
        "operations.train.matrix.Maximum.Fast",
        "operations.train.multipliers[0].quantity",
        "operations.train.multipliers[0].bands[1]",
        "operations.both",
        "operations.minutes.per_unit.per",
        "operations.run",
        "operations.run.pipeline.allow[0]",
        "operations.run.pipeline.allow[1]",
        'operations."bad name!"',
        'operations."bad name!".formula[1].credits',
        "operations.gen.unit",
        "operations.gen.models.y.matrix",
        "operations.gen.models.y",
    }
    assert "version: missing" in caught.value.problems
    assert "operations.train.matrix.Maximum.Fast: must be a non-negative number, got 'lots'" in (
        caught.value.problems
    )


def test_floats_in_a_dict_document_are_refused_as_inexact() -> None:
    with pytest.raises(InvalidRateCard) as caught:
        parse_ratecard(
            {
                "name": "acme",
                "version": "v1",
                "effective_from": "2026-01-01T00:00:00Z",
                "operations": {"op": {"flat": 0.1}},
            }
        )
    assert caught.value.problems == [
        "operations.op.flat: must be exact: write 0.1 as text or a Decimal, not a float"
    ]


@pytest.mark.parametrize(
    ("text", "syntax"),
    [("name = ", "toml"), ("{", "json"), ("[1, 2]", "json"), (b"\xff", "toml")],
)
def test_a_document_that_does_not_parse_is_refused(text: str | bytes, syntax: Any) -> None:
    with pytest.raises(InvalidRateCard) as caught:
        parse_ratecard(text, syntax=syntax)
    assert locations(caught.value.problems) == {"document"}


def test_a_document_must_have_a_name_version_time_and_operations() -> None:
    with pytest.raises(InvalidRateCard) as caught:
        parse_ratecard("")
    assert caught.value.problems == [
        "name: missing",
        "version: missing",
        "effective_from: missing",
        "operations: a rate card prices at least one operation",
    ]


def test_a_quote_is_shown_as_json_and_as_text() -> None:
    card = only(OTAI_MATRIX, multipliers=(ATTRIBUTE_BANDS,), rounding=WHOLE_UP)
    quote = price(card, "op", {"attributes": 3}, {"mode": "Business", "delivery": "Standard"})
    shown = json.loads(json.dumps(quote.to_dict()))
    assert shown["total"] == "2"
    assert shown["total_micros"] == 2 * CREDIT
    assert (shown["base"], shown["multiplier"], shown["exact"]) == ("3", "0.5", "1.5")
    assert shown["adjustment"] == "0.5"
    assert shown["rounding"] == {"mode": "up", "increment": "1"}
    assert quote.describe().splitlines() == [
        "op: 2 credits (acme v1)",
        "  Business x Standard: 3 credits per call = 3",
        "  x0.5 attributes 3 in 1..5",
        "  exact 1.5, rounded up to 1 credit: +0.5",
    ]


def test_the_documented_example_is_a_valid_card() -> None:
    assert ratecard_format.__doc__ is not None
    example = ratecard_format.__doc__.split("::\n", 1)[1].split("\nNames of quantities")[0]
    card = parse_ratecard(textwrap.dedent(example))
    assert list(card.operations) == [
        "ping",
        "translate",
        "train",
        "benchmark",
        "generate",
        "design",
    ]
    quote = price(
        card,
        "train",
        {"attributes": 3},
        {"mode": "Business", "delivery": "Standard"},
        at=datetime(2026, 2, 2, 12, tzinfo=UTC),
    )
    assert quote.total == 2 * CREDIT
