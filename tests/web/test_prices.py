"""The portal's price list: each operation's price in words, one line per model where
the price depends on the model."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from creditline.domain.pricing import (
    Flat,
    Formula,
    ModelPrice,
    OperationPrice,
    PerUnit,
    Pipeline,
    RateCard,
    SupplierPrices,
    Term,
)
from creditline.entrypoints.web.prices import price_list


def test_each_operation_and_model_is_priced_in_words() -> None:
    models = {
        "gpt-4o": ModelPrice("OpenAI", PerUnit(Decimal(30), "tokens", 1_000_000)),
        "whisper": ModelPrice("OpenAI", PerUnit(Decimal("0.06"), "minutes")),
    }
    card = RateCard(
        "demo",
        "1",
        datetime(2026, 1, 1, tzinfo=UTC),
        {
            "ping": OperationPrice(Flat(Decimal(1)), description="A ping"),
            "chat": OperationPrice(SupplierPrices(models, "model")),
            "bench": OperationPrice(
                Formula((Term(Decimal("0.5")), Term(Decimal("0.8"), ("samples",), 1000)))
            ),
            "pipeline": OperationPrice(Pipeline(("chat",))),
        },
    )
    lines = [(x.operation, x.variant, x.price) for x in price_list(card)]
    assert lines == [
        ("bench", "", "0.5 credits a call + 0.8 credits per 1,000 samples"),
        ("chat", "gpt-4o", "30 credits per 1,000,000 tokens"),
        ("chat", "whisper", "0.06 credits per minute"),
        ("ping", "", "1 credit a call"),
        ("pipeline", "", "the sum of its steps' prices"),
    ]
    assert price_list(card)[3].description == "A ping"
