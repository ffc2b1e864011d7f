"""The seed platforms' price lists, read from examples/*/ratecard.toml, price exactly.

Every number asserted here is from the seed pages (003 OTAI, 004 aiXplain) unless a
comment says it is illustrative.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from creditline.domain.amounts import parse_credits
from creditline.domain.errors import InvalidUsage
from creditline.domain.pricing import RateCard, RoundingMode, Step, price
from creditline.domain.pricing.ratecard_format import parse_ratecard

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def load(platform: str) -> RateCard:
    return parse_ratecard((EXAMPLES / platform / "ratecard.toml").read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def otai() -> RateCard:
    return load("otai")


@pytest.fixture(scope="module")
def aixplain() -> RateCard:
    return load("aixplain")


@pytest.mark.parametrize("platform", ["otai", "aixplain", "datarobot", "ai-engine", "roboflow"])
def test_every_example_card_reads_and_writes_back_unchanged(platform: str) -> None:
    card = load(platform)
    assert parse_ratecard(card.to_dict()) == card


# ------------------------------------------------------------------------ OTAI

# Credits per training run after the complexity multiplier and rounding up to whole
# credits, for 1-5, 6-20, 21-50 and 51-200 attributes (x0.5, x1, x2, x4). The seed's
# own example column is Business/Standard: 2, 3, 6, 12.
OTAI_TABLE = {
    ("Basic", "Standard"): (1, 1, 2, 4),  # 0.5 rounds up to 1
    ("Basic", "Fast"): (1, 2, 4, 8),
    ("Business", "Standard"): (2, 3, 6, 12),  # 1.5 rounds up to 2
    ("Business", "Fast"): (3, 5, 10, 20),  # 2.5 rounds up to 3
    ("Maximum", "Standard"): (6, 12, 24, 48),
    ("Maximum", "Fast"): (9, 18, 36, 72),
}
BAND_EDGES = ((1, 5), (6, 20), (21, 50), (51, 200))


@pytest.mark.parametrize(
    ("mode", "delivery", "attributes", "credits"),
    [
        (mode, delivery, attributes, row[band])
        for (mode, delivery), row in OTAI_TABLE.items()
        for band, edges in enumerate(BAND_EDGES)
        for attributes in edges
    ],
)
def test_otai_training_costs_every_cell_times_every_band_rounded_up(
    otai: RateCard, mode: str, delivery: str, attributes: int, credits: int
) -> None:
    quote = price(otai, "train", {"attributes": attributes}, {"mode": mode, "delivery": delivery})
    assert quote.total == parse_credits(credits)


@pytest.mark.parametrize(
    ("mode", "delivery", "attributes", "credits"),
    [
        ("Business", "Standard", 3, 2),
        ("Business", "Standard", 30, 6),
        ("Maximum", "Fast", 60, 72),
        ("Basic", "Standard", 6, 1),
        ("Maximum", "Standard", 20, 12),
    ],
)
def test_otai_seed_examples(
    otai: RateCard, mode: str, delivery: str, attributes: int, credits: int
) -> None:
    quote = otai.price("train", {"attributes": attributes}, {"mode": mode, "delivery": delivery})
    assert quote.total == parse_credits(credits)


def test_otai_quote_shows_base_multiplier_and_rounding(otai: RateCard) -> None:
    quote = price(otai, "train", {"attributes": 3}, {"mode": "Business", "delivery": "Standard"})
    assert quote.base == parse_credits(3)
    assert quote.multiplier == Decimal("0.5")
    assert quote.exact == parse_credits("1.5")
    assert quote.rounding is not None
    assert (quote.rounding.mode, quote.rounding.increment) == (RoundingMode.UP, 1_000_000)
    assert quote.adjustment == parse_credits("0.5")
    assert quote.total == parse_credits(2)


@pytest.mark.parametrize("attributes", [0, 201, 1000])
def test_otai_attributes_outside_1_to_200_are_invalid_usage(
    otai: RateCard, attributes: int
) -> None:
    with pytest.raises(InvalidUsage) as caught:
        price(otai, "train", {"attributes": attributes}, {"mode": "Basic", "delivery": "Fast"})
    assert caught.value.problems == [
        f"quantities.attributes: {attributes} is outside every band (1..5, 6..20, 21..50, 51..200)"
    ]


def test_otai_unknown_mode_and_missing_attributes_are_named(otai: RateCard) -> None:
    with pytest.raises(InvalidUsage) as caught:
        price(otai, "train", {}, {"mode": "Ultra", "delivery": "Fast"})
    assert caught.value.problems == [
        "dimensions.mode: unknown value 'Ultra' (one of Basic, Business, Maximum)",
        "quantities.attributes: missing",
    ]


# -------------------------------------------------------------------- aiXplain


MODELS = {
    "translate": ("azure-translator", "Azure"),
    "transcribe": ("aws-transcribe", "AWS"),
    "generate_text": ("gpt-4", "OpenAI"),
    "text_to_speech": ("google-tts", "Google"),
}


@pytest.mark.parametrize(
    ("operation", "quantities", "credits"),
    [
        ("translate", {"characters": 1_000_000}, "10"),
        ("translate", {"characters": 100_000}, "1"),  # "up to 50 pages" for one credit
        ("transcribe", {"minutes": 40}, "0.96"),
        ("transcribe", {"minutes": "41.6"}, "0.9984"),
        ("generate_text", {"tokens": 16_000}, "0.96"),
        ("generate_text", {"tokens": 1_000_000}, "60"),
        ("text_to_speech", {"characters": 1_000_000}, "16"),
        ("text_to_speech", {"characters": 62_500}, "1"),
    ],
)
def test_aixplain_prices_are_the_suppliers_with_nothing_added(
    aixplain: RateCard, operation: str, quantities: dict[str, int | str], credits: str
) -> None:
    model, supplier = MODELS[operation]
    quote = price(aixplain, operation, quantities, {"model": model})
    assert quote.total == parse_credits(credits)
    assert quote.exact == quote.total  # no fee, no rounding: exactly the supplier's price
    assert quote.supplier == supplier


def test_aixplain_rounds_up_to_the_micro_credit(aixplain: RateCard) -> None:
    one_second = "0.0166667"  # minutes: 0.024 x 0.0166667 = 0.0004000008 credits
    quote = price(aixplain, "transcribe", {"minutes": one_second}, {"model": "aws-transcribe"})
    assert quote.exact == Decimal("400.0008")
    assert quote.total == 401


def test_aixplain_models_are_chosen_by_the_model_dimension(aixplain: RateCard) -> None:
    with pytest.raises(InvalidUsage) as caught:
        price(aixplain, "translate", {"characters": 10}, {"model": "deepl"})
    assert caught.value.problems == [
        "dimensions.model: unknown value 'deepl' (one of azure-translator, google-translate)"
    ]


def test_aixplain_pipeline_costs_the_sum_of_its_steps(aixplain: RateCard) -> None:
    steps = [
        Step("transcribe", {"minutes": 40}, {"model": "aws-transcribe"}),
        Step("translate", {"characters": 100_000}, {"model": "azure-translator"}),
        Step("text_to_speech", {"characters": 62_500}, {"model": "google-tts"}),
    ]
    quote = price(aixplain, "pipeline", steps=steps)
    assert [step.total for step in quote.steps] == [960_000, 1_000_000, 1_000_000]
    assert [step.supplier for step in quote.steps] == ["AWS", "Azure", "Google"]
    assert quote.total == parse_credits("2.96")
    two = price(aixplain, "pipeline", steps=steps[:2])
    assert two.total == parse_credits("1.96")


def test_aixplain_pipeline_allows_only_model_operations(aixplain: RateCard) -> None:
    with pytest.raises(InvalidUsage) as caught:
        price(aixplain, "pipeline", steps=[Step("benchmark_model", {})])
    assert [p.split(":")[0] for p in caught.value.problems] == ["steps[0].operation"]


def test_aixplain_benchmark_job_lists_the_cost_of_each_model(aixplain: RateCard) -> None:
    # ILLUSTRATIVE rates: 0.05 per run + 0.002 x params(B) x samples / 1000
    # + 0.01 x samples / 1000
    steps = [
        Step("benchmark_model", {"model_params_b": 7, "dataset_samples": 5000}),
        Step("benchmark_model", {"model_params_b": "0.35", "dataset_samples": 5000}),
    ]
    quote = price(aixplain, "benchmark", steps=steps)
    assert [step.total for step in quote.steps] == [170_000, 103_500]
    assert quote.total == 273_500
    labels = [c.label.split(":")[0] for c in quote.steps[0].components]
    assert labels == ["setup", "inference", "scoring"]


# ------------------------------------------------------- illustrative examples


def test_ai_engine_prices_off_peak_batch_work_lower() -> None:
    # ILLUSTRATIVE: GPU training 1 credit a minute, half price 22:00-06:00 UTC.
    card = load("ai-engine")
    night = datetime(2026, 1, 5, 23, tzinfo=UTC)
    noon = datetime(2026, 1, 5, 12, tzinfo=UTC)
    usage = ({"minutes": 30}, {"compute": "gpu"})
    assert price(card, "train_model", *usage, at=night).total == parse_credits(15)
    assert price(card, "train_model", *usage, at=noon).total == parse_credits(30)
    batch = [Step("inference", {"requests": 1000}), Step("train_model", *usage)]
    assert price(card, "batch", steps=batch, at=night).total == parse_credits(16)
