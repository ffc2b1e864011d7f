"""Budgets inside an organization's pool: what a project or member may consume per
period, and each budget's consumption in its running period."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt

from creditline.domain.budgets import BudgetStanding
from creditline.entrypoints.api.schema_rules import exactly_one
from creditline.entrypoints.api.schemas.common import Ident, _Amount, _credits, whole


class BudgetCreate(_Amount):
    """A budget: whose consumption it caps (``scope``, ``scope_id``), how much per period
    (``amount`` or ``amount_micros``), and whether it refuses (``hard``) or only alerts
    (``soft``). The ranges are the engine's (422 ``invalid-budget``, listing every
    problem at once); a project or member of another organization answers 404."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"scope": "project", "scope_id": "prj_0123456789abcdef", "amount": "100",
                 "period": "day", "mode": "hard", "alerts": [80, 100]},
                {"scope": "member", "scope_id": "mbr_0123456789abcdef",
                 "amount_micros": 50_000_000, "mode": "soft", "alerts": [50]},
            ]
        },
    )  # fmt: skip
    schema_rules: ClassVar[dict[str, Any]] = exactly_one("amount", "amount_micros")
    scope: Literal["project", "member"] = Field(description="What the budget caps.")
    scope_id: Ident = Field(description="The project's or member's id.")
    period: Literal["day", "month", "cycle"] = Field(
        "month",
        description="day or month (UTC), or cycle: the organization's billing cycle (a "
        "month without a subscription).",
    )
    mode: Literal["hard", "soft"] = Field(
        "hard",
        description="hard: a charge that would pass the budget is refused (402 "
        "budget-exceeded), costing nothing; soft: it only alerts.",
    )
    alerts: Annotated[
        list[Annotated[Annotated[StrictInt, Field(ge=1, le=100)], BeforeValidator(whole)]],
        Field(max_length=10, json_schema_extra={"uniqueItems": True}),
    ] = Field(
        default_factory=list,
        description="Percents of the amount (1-100) that fire a budget.threshold_reached "
        "event to the webhook endpoints, once per period each.",
        examples=[[80, 100]],
    )


class BudgetOut(BaseModel):
    """A budget and its consumption in the running period (holds included)."""

    id: str = Field(examples=["bgt_0123456789abcdef"])
    org_id: str
    scope: str = Field(description="project or member.")
    scope_id: str
    amount: str = Field(description="Credits per period.")
    amount_micros: int
    period: str
    mode: str
    alerts: list[int]
    created_at: datetime
    period_start: datetime
    period_end: datetime
    consumed: str = Field(description="Credits consumed in the running period.")
    consumed_micros: int
    held: str = Field(description="Credits the scope's open holds hold.")
    held_micros: int
    used: str = Field(description="consumed + held: what counts against the budget.")
    used_micros: int
    room: str = Field(description="What the budget still allows this period.")
    room_micros: int
    percent: int = Field(description="Whole percent of the budget used (rounded down).")

    @classmethod
    def of(cls, s: BudgetStanding) -> BudgetOut:
        b = s.budget
        return cls(
            id=b.id, org_id=b.org_id, scope=b.scope.value, scope_id=b.scope_id,
            **_credits("amount", b.amount), period=b.period.value, mode=b.mode.value,
            alerts=list(b.alerts), created_at=b.created_at.astimezone(UTC),
            period_start=s.start.astimezone(UTC), period_end=s.end.astimezone(UTC),
            **_credits("consumed", s.consumed), **_credits("held", s.held),
            **_credits("used", s.used), **_credits("room", s.room), percent=s.percent,
        )  # fmt: skip
