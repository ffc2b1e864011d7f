"""Charging (the ingest path's price) always agrees with the full, exact pricing.

:meth:`RateCardHistory.charge` prices common usage by compiled integer arithmetic and
hands the rest to :meth:`RateCardHistory.price`. These tests hold it to one rule: for
any card and any usage, ``charge`` gives what ``price`` gives (card, version, total,
steps' totals) or raises what ``price`` raises (same class, same message).
"""

from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from types import MappingProxyType
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from creditline.domain.amounts import MICROS_PER_CREDIT
from creditline.domain.errors import (
    InvalidTime,
    InvalidUsage,
    NoRateCardInForce,
    UnknownOperation,
)
from creditline.domain.pricing import (
    Band,
    Charge,
    Flat,
    Formula,
    Matrix,
    ModelPrice,
    MultiplierBands,
    OffPeak,
    OperationPrice,
    PerUnit,
    Pipeline,
    Quote,
    RateCard,
    RateCardHistory,
    Rounding,
    RoundingMode,
    SimplePrice,
    Step,
    SupplierPrices,
    Term,
)
from creditline.domain.pricing.compiled import _compile_price
from creditline.domain.pricing.ratecard_format import parse_ratecard

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
CREDIT = MICROS_PER_CREDIT
T0 = datetime(2026, 1, 1, tzinfo=UTC)
LIMIT = 10**18  # quantities are below this


def load(platform: str) -> RateCard:
    return parse_ratecard((EXAMPLES / platform / "ratecard.toml").read_text(encoding="utf-8"))


def two_versions(card: RateCard) -> RateCardHistory:
    """The card, and a later version of it (same prices, its own label)."""
    later = dataclasses.replace(
        card, version="later", effective_from=card.effective_from + timedelta(days=400)
    )
    return RateCardHistory((card, later))


PLATFORMS = sorted(path.parent.name for path in EXAMPLES.glob("*/ratecard.toml"))
HISTORIES = {platform: two_versions(load(platform)) for platform in PLATFORMS}


def outcome(call: Callable[[], Charge | Quote]) -> tuple[Any, ...]:
    """What a pricing call gave, as a Charge, or the class and message it raised."""
    try:
        result = call()
    except Exception as exc:
        return ("raised", type(exc), str(exc))
    if isinstance(result, Quote):
        result = as_charge(result)
    assert type(result) is Charge
    return ("charged", result)


def as_charge(quote: Quote) -> Charge:
    """The charge a quote makes: the parts of it that ``charge()`` gives."""
    steps = tuple((step.operation, step.total) for step in quote.steps)
    return Charge(quote.card, quote.version, quote.total, steps)


def agree(history: RateCardHistory, *usage: Any) -> tuple[Any, ...]:
    """Charge and price the same usage (operation, quantities, dimensions, time and
    steps); they must agree. Returns the outcome."""
    operation, quantities, dimensions, at = usage[:4]
    steps = usage[4] if len(usage) > 4 else ()
    expected = outcome(lambda: history.price(operation, quantities, dimensions, at=at, steps=steps))
    actual = outcome(lambda: history.charge(operation, quantities, dimensions, at=at, steps=steps))
    assert actual == expected
    return actual


# ------------------------------------------------------------------ strategies

ODD_QUANTITIES = [True, False, "12", "12.5", " 7 ", Decimal(7), Decimal("0.5"), 1.5, None, "x"]


def mostly(usual: st.SearchStrategy[Any], *rare: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``usual`` nine times in ten, else one of ``rare``."""
    return st.sampled_from([True] * 9 + [False]).flatmap(
        lambda usually: usual if usually else st.one_of(*rare)
    )


def amounts(edges: Sequence[int] = ()) -> st.SearchStrategy[Any]:
    """Usage quantities: mostly ints (small ones, band edges, 0, the limit and around
    it), sometimes of every other kind price() accepts or refuses."""
    return mostly(
        st.one_of(
            st.integers(min_value=0, max_value=10_000),
            st.sampled_from([0, 1, 2, 999_999, *edges]),
            st.integers(min_value=0, max_value=10**12),
        ),
        st.sampled_from([LIMIT - 1, LIMIT, LIMIT + 1, -1]),
        st.integers(min_value=0, max_value=LIMIT - 1),
        st.sampled_from(ODD_QUANTITIES),
    )


def band_edges(offer: OperationPrice | None) -> list[int]:
    edges = []
    for bands in offer.multipliers if offer is not None else ():
        for band in bands.bands:
            for limit in (band.low, band.high):
                if limit is not None:
                    edges += [int(limit) - 1, int(limit), int(limit) + 1]
    return edges


def quantity_names(offer: OperationPrice | None) -> tuple[str, ...]:
    if offer is None or isinstance(offer.form, Pipeline):
        return ()
    return offer.form.quantity_names() + tuple(bands.quantity for bands in offer.multipliers)


def dimension_values(offer: OperationPrice | None) -> dict[str, tuple[str, ...]]:
    form = offer.form if offer is not None else None
    if isinstance(form, Matrix):
        return form.values()
    if isinstance(form, SupplierPrices):
        return {form.dimension: tuple(form.models)}
    return {}


MISSING = object()


@st.composite
def usage_for(draw: st.DrawFn, card: RateCard, operation: Any) -> tuple[Any, Any]:
    """Quantities and dimensions for ``operation``: usually right, often not."""
    offer = card.operations.get(operation) if isinstance(operation, str) else None
    quantities: dict[str, Any] = {}
    for name in quantity_names(offer) + draw(st.sampled_from([(), ("unused",)])):
        value = draw(mostly(amounts(band_edges(offer)), st.just(MISSING)))
        if value is not MISSING:
            quantities[name] = value
    dimensions: dict[str, Any] = {}
    for name, known in dimension_values(offer).items():
        value = draw(mostly(st.sampled_from(known), st.sampled_from(["nope", 1, None, MISSING])))
        if value is not MISSING:
            dimensions[name] = value
    given_quantities = draw(
        mostly(st.just(quantities), st.sampled_from([None, MappingProxyType(quantities), [1]]))
    )
    given_dimensions = draw(mostly(st.just(dimensions), st.sampled_from([None, ["model"]])))
    return given_quantities, given_dimensions


@st.composite
def steps_for(draw: st.DrawFn, card: RateCard, pipeline: bool) -> Any:
    """Steps: a few for a pipeline (sometimes none or odd ones), rarely for others."""
    if not pipeline and draw(mostly(st.just(True), st.just(False))):
        return ()
    names = [
        name for name, offer in card.operations.items() if not isinstance(offer.form, Pipeline)
    ]
    steps: list[Any] = []
    for _ in range(draw(mostly(st.integers(1, 3), st.just(0)))):
        operation = draw(mostly(st.sampled_from(names), st.sampled_from([*card.operations, "no"])))
        quantities, dimensions = draw(usage_for(card, operation))
        step = draw(
            mostly(
                st.just(Step(operation, quantities, dimensions)),
                st.just((operation, quantities, dimensions)),  # not a Step
            )
        )
        steps.append(step)
    return draw(st.sampled_from([tuple(steps), steps]))


def moments(card: RateCard) -> st.SearchStrategy[Any]:
    """Aware instants in several zones, naive ones, before the first version, at
    and around each version's start, and at night (off-peak)."""
    start = card.effective_from
    zones = st.sampled_from(
        [UTC, timezone(timedelta(hours=5, minutes=30)), timezone(-timedelta(hours=8)),
         ZoneInfo("Europe/Berlin")]
    )  # fmt: skip
    naive_start, first, last = (
        start.replace(tzinfo=None),
        datetime(2020, 1, 1),
        datetime(2030, 1, 1),
    )
    return mostly(
        st.datetimes(naive_start + timedelta(days=1), last, timezones=zones),
        st.datetimes(first, last, timezones=zones),
        st.datetimes(first, last),
        st.sampled_from(
            [
                start,
                start - timedelta(microseconds=1),
                start + timedelta(days=400),
                start + timedelta(days=400, microseconds=-1),
                start + timedelta(days=3, hours=23),
                naive_start + timedelta(days=1),
                "2026-01-01T00:00:00Z",
            ]
        ),
    )


@st.composite
def usages(draw: st.DrawFn, card: RateCard) -> tuple[Any, ...]:
    operation = draw(mostly(st.sampled_from(list(card.operations)), st.sampled_from(["nope", 7])))
    quantities, dimensions = draw(usage_for(card, operation))
    offer = card.operations.get(operation) if isinstance(operation, str) else None
    steps = draw(steps_for(card, offer is not None and isinstance(offer.form, Pipeline)))
    return operation, quantities, dimensions, draw(moments(card)), steps


# -------------------------------------------------------- cards built in code

POOL = ("a", "b", "c")
PERS = [1, 2, 4, 5, 10, 1000, 1024, 10**6, 2**59, 5**25, 10**18]
INCREMENTS = [1, 3, 7, 10, 10_000, 250_000, CREDIT, 10**9]
BIGGEST = Decimal("999999999999999.999999999999999999")  # below 10^15, 18 decimals

credits = st.one_of(
    st.integers(min_value=0, max_value=1000).map(Decimal),
    st.decimals(min_value=0, max_value=1000, places=3),
    st.decimals(min_value=0, max_value=10**14, places=18),
    st.sampled_from([Decimal("1E-18"), BIGGEST, Decimal("1E+3"), Decimal("0.50"), Decimal(0)]),
)
factors = st.one_of(
    st.sampled_from([Decimal(0), Decimal("0.5"), Decimal(1), Decimal(2), Decimal("0.333")]),
    st.sampled_from([Decimal("1.000000000000000001"), Decimal("1E-18"), BIGGEST]),
    st.decimals(min_value=0, max_value=100, places=4),
)
roundings = st.builds(Rounding, st.sampled_from(list(RoundingMode)), st.sampled_from(INCREMENTS))


@st.composite
def simple_prices(draw: st.DrawFn) -> SimplePrice:
    kind = draw(st.sampled_from(["flat", "per_unit", "formula"]))
    if kind == "flat":
        return Flat(draw(credits))
    if kind == "per_unit":
        return PerUnit(draw(credits), draw(st.sampled_from(POOL)), draw(st.sampled_from(PERS)))
    terms = draw(
        st.lists(
            st.builds(
                Term,
                credits,
                st.lists(st.sampled_from(POOL), max_size=4).map(tuple),
                st.sampled_from(PERS),
            ),
            min_size=1,
            max_size=4,
        )
    )
    return Formula(tuple(terms))


@st.composite
def matrices(draw: st.DrawFn) -> Matrix:
    dimensions = draw(st.sampled_from([("d1",), ("d1", "d2"), ("d2", "d1")]))
    values = [
        draw(st.lists(st.sampled_from(["x", "y", "z"]), min_size=1, max_size=3, unique=True))
        for _ in dimensions
    ]
    cells = {key: draw(credits) for key in itertools.product(*values)}
    if draw(st.booleans()):
        return Matrix(dimensions, cells, draw(st.sampled_from(POOL)), draw(st.sampled_from(PERS)))
    return Matrix(dimensions, cells)


@st.composite
def supplier_prices(draw: st.DrawFn) -> SupplierPrices:
    names = draw(st.lists(st.sampled_from(["m1", "m2", "m3"]), min_size=1, unique=True))
    models = {name: ModelPrice("Supplier", draw(simple_prices())) for name in names}
    return SupplierPrices(models, draw(st.sampled_from(["model", "d1"])))


@st.composite
def multiplier_bands(draw: st.DrawFn) -> MultiplierBands:
    """1 to 4 ascending bands, with whole or fractional limits, the last maybe open."""
    limit = st.one_of(
        st.integers(min_value=0, max_value=300).map(Decimal),
        st.decimals(min_value=0, max_value=300, places=1),
    )
    cuts = sorted(set(draw(st.lists(limit, min_size=2, max_size=8))))
    if len(cuts) < 2:
        cuts.append(cuts[0] + 1)
    pairs = list(zip(cuts[::2], cuts[1::2], strict=False))
    bands = [Band(low, high, draw(factors)) for low, high in pairs]
    if draw(st.booleans()):
        bands[-1] = Band(bands[-1].low, None, bands[-1].multiplier)
    return MultiplierBands(draw(st.sampled_from(POOL)), tuple(bands))


NIGHT = OffPeak(time(22), time(6), Decimal("0.5"))


@st.composite
def operation_prices(draw: st.DrawFn) -> OperationPrice:
    form = draw(st.one_of(simple_prices(), matrices(), supplier_prices()))
    return OperationPrice(
        form,
        multipliers=tuple(draw(st.lists(multiplier_bands(), max_size=2))),
        rounding=draw(st.one_of(st.none(), roundings)),
        off_peak=draw(st.sampled_from([None, None, None, NIGHT])),
    )


@st.composite
def cards(draw: st.DrawFn) -> RateCard:
    operations = {"op": draw(operation_prices()), "other": draw(operation_prices())}
    allow = draw(st.sampled_from([(), ("op",), ("op", "other")]))
    operations["run"] = OperationPrice(Pipeline(allow))
    rounding = draw(st.one_of(st.just(Rounding()), roundings))
    off_peak = draw(st.sampled_from([None, None, None, NIGHT]))
    return RateCard("acme", "v1", T0, operations, rounding, off_peak)


def slip_per(card: RateCard, per: int) -> RateCard:
    """The card with every ``per`` set to ``per`` behind validation's back: a card that
    could not be built today (validation refuses a per with a factor but 2 and 5)."""
    parts: list[object] = []
    for offer in card.operations.values():
        form = offer.form
        prices = [m.price for m in form.models.values()] if isinstance(form, SupplierPrices) else []
        for part in [form, *prices]:
            parts += list(part.terms) if isinstance(part, Formula) else [part]
    for part in parts:
        if isinstance(part, PerUnit | Term | Matrix):
            object.__setattr__(part, "per", per)
    return card


# -------------------------------------------------------------------- properties


@settings(max_examples=400)
@given(st.data())
def test_charging_an_example_card_agrees_with_pricing_it(data: st.DataObject) -> None:
    history = HISTORIES[data.draw(st.sampled_from(PLATFORMS))]
    agree(history, *data.draw(usages(history.versions[0])))


@settings(max_examples=400)
@given(st.data())
def test_charging_a_card_built_in_code_agrees_with_pricing_it(data: st.DataObject) -> None:
    card = data.draw(cards())
    history = two_versions(card)
    agree(history, *data.draw(usages(card)))


@given(st.data(), st.sampled_from([3, 6, 7, 12, 3 * 2**40, 10**18 - 1]))
def test_a_per_that_does_not_divide_exactly_is_priced_in_full_and_agrees(
    data: st.DataObject, per: int
) -> None:
    card = slip_per(data.draw(cards()), per)
    history = RateCardHistory((card,))
    agree(history, *data.draw(usages(card)))


@given(
    st.sampled_from(PLATFORMS),
    st.integers(min_value=0, max_value=LIMIT - 1),
    st.sampled_from(list(RoundingMode)),
    st.sampled_from(INCREMENTS),
)
def test_every_example_operation_agrees_under_any_rounding(
    platform: str, amount: int, mode: RoundingMode, increment: int
) -> None:
    card = load(platform)
    rounding = Rounding(mode, increment)
    operations = {
        name: dataclasses.replace(offer, rounding=rounding)
        for name, offer in card.operations.items()
        if not isinstance(offer.form, Pipeline)
    }
    history = RateCardHistory((dataclasses.replace(card, operations=operations),))
    for name, offer in operations.items():
        quantities = dict.fromkeys(quantity_names(offer), amount)
        for key in itertools.product(*dimension_values(offer).values()):
            dimensions = dict(zip(dimension_values(offer), key, strict=True))
            agree(history, name, quantities, dimensions, card.effective_from)


# ---------------------------------------------------------------------- examples


@pytest.fixture(scope="module")
def aixplain() -> RateCardHistory:
    return RateCardHistory((load("aixplain"),))


@pytest.fixture(scope="module")
def otai() -> RateCardHistory:
    return RateCardHistory((load("otai"),))


AT = datetime(2026, 3, 1, 12, tzinfo=UTC)
TRANSLATE = ("translate", {"characters": 1_000_000}, {"model": "azure-translator"})


def test_a_charge_is_the_card_the_version_and_the_total_in_micro_credits(
    aixplain: RateCardHistory, otai: RateCardHistory
) -> None:
    assert aixplain.charge(*TRANSLATE, at=AT) == Charge("aixplain", "2023-10", 10 * CREDIT, ())
    train = otai.charge(
        "train", {"attributes": 3}, {"mode": "Business", "delivery": "Standard"}, at=AT
    )
    assert train == Charge("otai", "2026-01", 2 * CREDIT, ())  # 3 x 0.5 rounded up


def test_a_pipeline_charge_lists_each_steps_total(aixplain: RateCardHistory) -> None:
    steps = (
        Step("translate", {"characters": 1_000_000}, {"model": "azure-translator"}),
        Step("transcribe", {"minutes": 40}, {"model": "aws-transcribe"}),
    )
    charge = aixplain.charge("pipeline", at=AT, steps=steps)
    assert charge.components == (("translate", 10 * CREDIT), ("transcribe", 960_000))
    assert charge.total == 10_960_000


def test_a_charge_is_by_the_version_in_force_at_the_events_time() -> None:
    aixplain = HISTORIES["aixplain"]
    later = aixplain.versions[1].effective_from
    assert aixplain.charge(*TRANSLATE, at=later - timedelta(microseconds=1)).version == "2023-10"
    assert aixplain.charge(*TRANSLATE, at=later).version == "later"
    berlin = later.astimezone(ZoneInfo("Europe/Berlin"))
    assert aixplain.charge(*TRANSLATE, at=berlin).version == "later"


def test_a_charge_refuses_what_pricing_refuses_with_the_same_error(
    aixplain: RateCardHistory,
) -> None:
    with pytest.raises(InvalidTime):
        aixplain.charge(*TRANSLATE, at=datetime(2026, 3, 1))
    with pytest.raises(NoRateCardInForce):
        aixplain.charge(*TRANSLATE, at=datetime(2020, 1, 1, tzinfo=UTC))
    with pytest.raises(UnknownOperation):
        aixplain.charge("paint", {}, {}, at=AT)
    with pytest.raises(InvalidUsage, match=r"quantities\.characters: missing"):
        aixplain.charge("translate", {}, {"model": "azure-translator"}, at=AT)
    with pytest.raises(InvalidUsage, match="unknown value 'babelfish'"):
        aixplain.charge("translate", {"characters": 1}, {"model": "babelfish"}, at=AT)
    with pytest.raises(InvalidUsage, match="below 10\\^18"):
        aixplain.charge("translate", {"characters": LIMIT}, {"model": "azure-translator"}, at=AT)


def test_quantities_that_are_not_ints_are_charged_by_the_full_pricing(
    aixplain: RateCardHistory,
) -> None:
    for characters in ("1000000", Decimal(1_000_000), "999999.5"):
        usage = ("translate", {"characters": characters}, {"model": "azure-translator"})
        assert aixplain.charge(*usage, at=AT).total == aixplain.price(*usage, at=AT).total


BENCHMARK_RUN = Step("benchmark_model", {"model_params_b": 7, "dataset_samples": 5000})
COMMON_USAGE = {
    "aixplain": [
        (*TRANSLATE, AT),
        ("benchmark", None, None, AT, (BENCHMARK_RUN, BENCHMARK_RUN)),
    ],
    "otai": [
        ("train", {"attributes": n}, {"mode": "Maximum", "delivery": "Fast"}, AT)
        for n in (1, 5, 6, 200)
    ],
    "roboflow": [("training", {"gpu_hours": 3}, {"model_size": "large"}, AT)],
    "datarobot": [("create_project", {"training_data_mb": 95}, {}, AT)],
}


def charge(history: RateCardHistory, usage: tuple[Any, ...], method: str = "charge") -> Any:
    operation, quantities, dimensions, at = usage[:4]
    steps = usage[4] if len(usage) > 4 else ()
    return getattr(history, method)(operation, quantities, dimensions, at=at, steps=steps)


def test_common_usage_never_reaches_the_full_pricing(monkeypatch: pytest.MonkeyPatch) -> None:
    expected = {
        platform: [as_charge(charge(HISTORIES[platform], usage, "price")) for usage in events]
        for platform, events in COMMON_USAGE.items()
    }

    def refuse(*args: object, **kwargs: object) -> Quote:
        raise AssertionError("the full pricing was called")

    monkeypatch.setattr(RateCardHistory, "price", refuse)
    for platform, events in COMMON_USAGE.items():
        history = RateCardHistory(HISTORIES[platform].versions)  # nothing compiled yet
        assert [charge(history, usage) for usage in events] == expected[platform]
    assert expected["aixplain"][1].total == 2 * 170_000  # 0.17 credits a model


def test_an_off_peak_rate_is_always_charged_by_the_full_pricing() -> None:
    history = HISTORIES["ai-engine"]
    night, day = datetime(2026, 3, 1, 23, tzinfo=UTC), datetime(2026, 3, 1, 12, tzinfo=UTC)
    usage = ("inference", {"requests": 1000}, {})
    assert history.charge(*usage, at=night).total == CREDIT  # 2 credits, half price
    assert history.charge(*usage, at=day).total == 2 * CREDIT
    assert history._compiled[0]["inference"] is None


def test_a_price_whose_per_does_not_divide_exactly_is_not_compiled() -> None:
    assert _compile_price(PerUnit(Decimal(1), "characters", 3), 1) is None
    assert _compile_price(Formula((Term(Decimal(1)), Term(Decimal(1), ("a",), 7))), 1) is None
    assert _compile_price(PerUnit(Decimal(1), "characters", 1024), 1) is not None


def many_multipliers(count: int) -> RateCardHistory:
    """The widest numbers a card may hold: every factor 33 digits long."""
    term = Term(BIGGEST, ("a", "a", "a", "a"), 2**59)
    bands = MultiplierBands("a", (Band(Decimal(0), None, BIGGEST),))
    offer = OperationPrice(Formula((term,)), multipliers=(bands,) * count)
    return RateCardHistory((RateCard("acme", "v1", T0, {"op": offer}),))


def test_up_to_sixteen_multipliers_stay_exact_and_more_are_priced_in_full() -> None:
    # 16 of the widest factors still fit the exact context (the cost is then refused
    # as beyond the largest amount, not as inexact), so compiling them is safe.
    history = many_multipliers(16)
    outcome_16 = agree(history, "op", {"a": LIMIT - 1}, {}, AT)
    assert "beyond the largest amount" in outcome_16[2]
    assert history._compiled[0]["op"] is not None
    assert agree(history, "op", {"a": 0}, {}, AT) == ("charged", Charge("acme", "v1", 0, ()))
    # Many more do not fit, and price() refuses them as inexact; charge() agrees.
    history = many_multipliers(40)
    assert "too large to price exactly" in agree(history, "op", {"a": LIMIT - 1}, {}, AT)[2]
    assert history._compiled[0]["op"] is None


def test_a_quantity_at_the_limit_is_refused_even_when_it_would_cost_little() -> None:
    tiny = PerUnit(Decimal("1E-12"), "a")  # 10^18 units would cost 10^12 micro-credits
    history = RateCardHistory((RateCard("acme", "v1", T0, {"op": OperationPrice(tiny)}),))
    assert history.charge("op", {"a": LIMIT - 1}, at=AT).total == 10**12
    with pytest.raises(InvalidUsage, match=r"below 10\^18"):
        history.charge("op", {"a": LIMIT}, at=AT)
    with pytest.raises(InvalidUsage, match="must not be negative"):
        history.charge("op", {"a": -1}, at=AT)
    with pytest.raises(InvalidUsage, match="must be a number"):
        history.charge("op", {"a": True}, at=AT)


def test_band_limits_that_are_not_whole_hold_the_whole_quantities_between_them() -> None:
    bands = MultiplierBands(
        "a",
        (
            Band(Decimal("0.5"), Decimal("5.5"), Decimal("0.5")),
            Band(Decimal("5.7"), Decimal("9.9"), Decimal(3)),
        ),
    )
    offer = OperationPrice(Flat(Decimal(1)), multipliers=(bands,))
    history = RateCardHistory((RateCard("acme", "v1", T0, {"op": offer}),))
    charged = {a: history.charge("op", {"a": a}, at=AT).total for a in (1, 5, 6, 9)}
    assert charged == {1: CREDIT // 2, 5: CREDIT // 2, 6: 3 * CREDIT, 9: 3 * CREDIT}
    for outside in (0, 10):
        with pytest.raises(InvalidUsage, match="outside every band"):
            history.charge("op", {"a": outside}, at=AT)


def test_a_pipeline_whose_steps_add_up_beyond_the_largest_amount_is_refused() -> None:
    operations = {
        "op": OperationPrice(PerUnit(Decimal(1), "a")),
        "run": OperationPrice(Pipeline()),
    }
    history = RateCardHistory((RateCard("acme", "v1", T0, operations),))
    step = Step("op", {"a": 5 * 10**12})  # 5 * 10^18 micro-credits, below 2^63
    assert history.charge("run", at=AT, steps=[step]).total == 5 * 10**18
    with pytest.raises(InvalidUsage, match="beyond the largest amount"):
        history.charge("run", at=AT, steps=[step, step])
