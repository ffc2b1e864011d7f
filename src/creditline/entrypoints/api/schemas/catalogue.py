"""Rate cards, plans and subscriptions, and the catalogue of packs."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StrictBool, StrictStr, model_validator

from creditline.domain.plans import DepletionPolicy
from creditline.domain.usage import Metering
from creditline.entrypoints.api.schema_rules import Ruled, exactly_one
from creditline.entrypoints.api.schemas.common import _FORBID, Name, _iso, answer


class CardSource(Ruled, BaseModel):
    """A rate card document in a request: as JSON (``document``) or TOML text (``toml``)."""

    document: dict[str, Any] | None = Field(None, description="The card as a JSON document.")
    toml: Annotated[StrictStr, Field(max_length=1_000_000)] | None = Field(
        None, description="The card as a TOML document."
    )
    schema_rules: ClassVar[dict[str, Any]] = exactly_one("document", "toml")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.document is None) == (self.toml is None):
            raise ValueError("give exactly one of document (JSON) or toml")
        return self


class RateCardLoad(CardSource):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "document": {
                        "name": "default",
                        "version": "2026-01",
                        "effective_from": "2026-01-01T00:00:00Z",
                        "operations": {"chat": {"flat": "1"}},
                    }
                }
            ]
        },
    )


class RateCardVersionOut(BaseModel):
    name: str
    version: str
    effective_from: datetime
    operations: list[str]
    document: dict[str, Any] = Field(description="The version as loaded (exact decimal text).")


class RateCardHistoryOut(BaseModel):
    name: str
    versions: list[RateCardVersionOut]


class RateCardAssign(BaseModel):
    model_config = _FORBID
    rate_card: Name | None = Field(description="The card's name; null: the default card.")


class OrgRateCardOut(BaseModel):
    org_id: str
    rate_card: str


class PlanOut(BaseModel):
    name: str
    document: dict[str, Any]


class PlanAssign(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"plan": "pro", "subscribe": True}]}
    )
    plan: Name | None = Field(description="The plan's name; null: no plan.")
    depletion: DepletionPolicy | None = None
    flex_enabled: StrictBool | None = None
    subscribe: StrictBool = False
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = Field(
        None, description="The currency the plan's fee is billed in (default: the plan's)."
    )


class CycleOut(BaseModel):
    index: int
    start: datetime
    end: datetime


class SubscriptionOut(BaseModel):
    currency: str | None = Field(None, description="The currency its plan's fee is billed in.")
    plan: str
    interval: str
    anchor: str
    time_zone: str
    started_at: datetime
    anchored_at: datetime
    anchor_no: int
    last_cycle: int | None
    cycle: CycleOut | None
    next_renewal_at: datetime | None
    ended_at: datetime | None


class OrgPlanOut(BaseModel):
    org_id: str
    plan: str
    rate_card: str
    depletion: str
    flex_enabled: bool
    read_only: bool
    subscription: SubscriptionOut | None
    change: str | None = Field(None, description="What assigning did to the billing.")
    billing_hold: str | None = Field(
        None, description="The overdue invoice the organization is suspended for, if any."
    )

    @classmethod
    def of(cls, m: Metering, status: Any, read_only: bool, change: str | None = None) -> OrgPlanOut:
        sub = None
        if status is not None:
            s = status.subscription
            cycle = status.cycle
            sub = answer(
                SubscriptionOut,
                s,
                anchor=s.anchor_kind.value,
                cycle=None if cycle is None else answer(CycleOut, cycle),
                next_renewal_at=_iso(s.next_renewal_at),
                ended_at=_iso(s.ended_at),
            )
        return cls(
            org_id=m.org_id,
            plan=m.plan.name,
            rate_card=m.rate_card,
            depletion=m.depletion.value,
            flex_enabled=m.flex_enabled,
            read_only=read_only,
            subscription=sub,
            change=change,
            billing_hold=m.hold,
        )


class PacksLoad(BaseModel):
    model_config = _FORBID
    toml: Annotated[StrictStr, Field(min_length=1, max_length=1_000_000)] = Field(
        description="The catalogue as a TOML document (examples/PLATFORM/packs.toml)."
    )


class CatalogueOut(BaseModel):
    name: str
    document: dict[str, Any]
