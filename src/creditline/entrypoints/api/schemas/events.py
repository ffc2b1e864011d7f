"""Usage events as they come in, one by one or in batches, and the result of each."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.pricing import Step
from creditline.domain.usage import EventResult
from creditline.entrypoints.api.schemas.common import (
    _FORBID,
    Dimensions,
    Ident,
    Metadata,
    Name,
    Quantities,
    TimeIn,
    _credits,
)


class StepIn(BaseModel):
    model_config = _FORBID
    operation: Name
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None


def pricing_steps(steps: list[StepIn] | None) -> list[Step]:
    """A request's pipeline steps, as pricing takes them."""
    return [
        Step(s.operation, dict(s.quantities or {}), dict(s.dimensions or {})) for s in steps or ()
    ]


class UsageEventIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "run-42",
                    "operation": "train",
                    "occurred_at": "2026-01-05T10:00:00Z",
                    "quantities": {"attributes": 3},
                    "dimensions": {"mode": "Business", "delivery": "Standard"},
                }
            ]
        },
    )
    event_id: Ident = Field(description="The producer's id: the same id is recorded once.")
    operation: Name
    occurred_at: TimeIn | None = Field(None, description="Default: now.")
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None
    project_id: Ident | None = None
    member_id: Ident | None = None
    parent_id: Ident | None = None
    steps: Annotated[list[StepIn], Field(max_length=100)] | None = None
    metadata: Metadata | None = None
    quote_id: Ident | None = Field(
        None,
        description="A binding quote (POST /v1/orgs/{org_id}/quotes): the event is charged "
        "its price, once, before it expires; the event must be the usage it priced.",
    )


class UsageBatchIn(BaseModel):
    model_config = _FORBID
    events: Annotated[list[UsageEventIn], Field(min_length=1)]


class ComponentOut(BaseModel):
    operation: str
    cost: str
    cost_micros: int


def components_out(components: Iterable[tuple[str, int]]) -> list[ComponentOut]:
    """What each operation of an event cost."""
    return [ComponentOut(operation=op, **_credits("cost", cost)) for op, cost in components]


class EventResultOut(BaseModel):
    event_id: str
    status: Literal["accepted", "refused", "rejected", "duplicate"]
    cost: str
    cost_micros: int
    reason: str | None
    problem: str | None = Field(None, description="The problem type of a refusal or rejection.")
    rate_card: str | None
    components: list[ComponentOut]
    index: int | None = Field(None, description="Its position in the batch.")

    @classmethod
    def of(
        cls, r: EventResult, index: int | None = None, problem: str | None = None
    ) -> EventResultOut:
        return cls(
            event_id=r.event_id,
            status=r.status.value,
            **_credits("cost", r.cost),
            reason=r.reason,
            problem=problem,
            rate_card=r.rate_card,
            components=components_out(r.components),
            index=index,
        )


class BatchOut(BaseModel):
    """Per-event results, in the order sent; every accepted or refused event is durable."""

    results: list[EventResultOut]
    accepted: int
    refused: int
    rejected: int
    duplicate: int
    cost: str
    cost_micros: int


def batch_out(results: Sequence[EventResultOut]) -> BatchOut:
    counts = {"accepted": 0, "refused": 0, "rejected": 0, "duplicate": 0}
    cost = 0
    for r in results:
        counts[r.status] += 1
        if r.status == "accepted":
            cost += r.cost_micros
    return BatchOut.model_validate({"results": list(results), **counts, **_credits("cost", cost)})
