"""Binding quotes: a price promised for one use of an operation, for a while."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from creditline.domain.quotes import MAX_VALIDITY, MIN_VALIDITY, BindingQuote
from creditline.entrypoints.api.schemas.common import Dimensions, Name, Quantities, _iso, whole
from creditline.entrypoints.api.schemas.events import StepIn
from creditline.entrypoints.api.schemas.usage import QuoteOut

__all__ = ["BindingQuoteIn", "BindingQuoteOut"]


def _quantities(quantities: Mapping[str, Any]) -> dict[str, int | str]:
    return {k: v if type(v) is int else str(v) for k, v in quantities.items()}


class BindingQuoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"operation": "ping", "valid_for_seconds": 900},
                {
                    "operation": "train",
                    "quantities": {"attributes": 3},
                    "dimensions": {"mode": "Business", "delivery": "Standard"},
                    "valid_for_seconds": 600,
                },
            ]
        },
    )
    operation: Name
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None
    steps: Annotated[list[StepIn], Field(max_length=100)] | None = None
    valid_for_seconds: Annotated[
        Annotated[
            StrictInt,
            Field(ge=int(MIN_VALIDITY.total_seconds()), le=int(MAX_VALIDITY.total_seconds())),
        ],
        BeforeValidator(whole),
    ] = Field(
        900,
        description="How long the price binds, in seconds (1 to 86400; default 15 minutes).",
    )


class BindingQuoteOut(BaseModel):
    """A binding quote: usage recorded (or a hold committed) with its ``id`` as
    ``quote_id`` before ``expires_at`` is charged ``total``, once."""

    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "id": "qt_01jf3m4x9e8k2t7c5v6b1n0p",
                    "org_id": "org_01jf3m4x9e8k2t7c5v6b1n0q",
                    "operation": "ping",
                    "quantities": {},
                    "dimensions": {},
                    "steps": [],
                    "total": "10",
                    "total_micros": 10000000,
                    "card": "default",
                    "version": "v1",
                    "state": "issued",
                    "created_at": "2026-01-05T10:00:00Z",
                    "expires_at": "2026-01-05T10:15:00Z",
                    "used_at": None,
                    "used_by": None,
                }
            ]
        }
    )

    id: str
    org_id: str
    operation: str
    quantities: dict[str, int | str] = Field(description="Whole numbers, or exact text.")
    dimensions: dict[str, str]
    steps: list[dict[str, Any]] = Field(description="A pipeline's steps, as quoted.")
    total: str
    total_micros: int
    card: str
    version: str
    state: str = Field(description="issued, used or expired.")
    created_at: datetime
    expires_at: datetime = Field(description="Valid until this instant (exclusive).")
    used_at: datetime | None
    used_by: str | None = Field(description="What used it: usage_event:ID or reservation:ID.")
    breakdown: QuoteOut | None = None

    @classmethod
    def of(cls, quote: BindingQuote, now: datetime) -> BindingQuoteOut:
        breakdown: dict[str, Any] = dict(quote.breakdown)
        return cls(
            id=quote.id,
            org_id=quote.org_id,
            operation=quote.operation,
            quantities=_quantities(quote.quantities),
            dimensions=dict(quote.dimensions),
            steps=[
                {
                    "operation": s.operation,
                    "quantities": _quantities(s.quantities),
                    "dimensions": dict(s.dimensions),
                }
                for s in quote.steps
            ],
            total=breakdown.get("total", ""),
            total_micros=quote.total,
            card=quote.card,
            version=quote.version,
            state=quote.state(now).value,
            created_at=quote.created_at.astimezone(UTC),
            expires_at=quote.expires_at.astimezone(UTC),
            used_at=_iso(quote.used_at),
            used_by=quote.used_by,
            breakdown=QuoteOut(**breakdown) if breakdown else None,
        )
