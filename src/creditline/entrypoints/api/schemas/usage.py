"""Stored usage events, their corrections, quotes, usage reports and the overview."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from creditline.domain.amounts import format_credits
from creditline.domain.overview import Overview
from creditline.domain.reports import UsageReport
from creditline.domain.usage import StoredUsage
from creditline.entrypoints.api.schema_rules import NOT_BLANK
from creditline.entrypoints.api.schemas.common import (
    _FORBID,
    Dimensions,
    Name,
    Quantities,
    TimeIn,
    _credits,
    _iso,
)
from creditline.entrypoints.api.schemas.events import ComponentOut, StepIn, components_out
from creditline.entrypoints.api.schemas.ledger import AllocationOut, BalanceOut, allocations_out
from creditline.entrypoints.usage_export import usage_rows


def _quantity_text(value: object) -> str:
    return str(value)


class StoredUsageOut(BaseModel):
    event_id: str
    org_id: str
    operation: str
    occurred_at: datetime
    quantities: dict[str, str]
    dimensions: dict[str, str]
    project_id: str | None
    member_id: str | None
    parent_id: str | None
    status: str
    cost: str
    cost_micros: int
    reason: str | None
    rate_card: str | None
    components: list[ComponentOut]
    allocations: list[AllocationOut]
    metadata: dict[str, Any]
    batch_id: str | None

    @classmethod
    def of(cls, s: StoredUsage) -> StoredUsageOut:
        e = s.event
        return cls(
            event_id=e.event_id,
            org_id=e.org_id,
            operation=e.operation,
            occurred_at=e.at,
            quantities={k: _quantity_text(v) for k, v in e.quantities.items()},
            dimensions=dict(e.dimensions),
            project_id=e.project_id,
            member_id=e.member_id,
            parent_id=e.parent_id,
            status=s.status,
            **_credits("cost", s.cost),
            reason=s.reason,
            rate_card=s.rate_card,
            components=components_out(s.components),
            allocations=allocations_out(s.allocations),
            metadata=dict(e.metadata),
            batch_id=s.batch_id,
        )


class AmendIn(BaseModel):
    model_config = _FORBID
    quantities: Quantities
    dimensions: Dimensions | None = None


class CreditBackIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "acceptance criteria not met"}]},
    )
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=NOT_BLANK)] = (
        "acceptance criteria not met"
    )


class QuoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operation": "train",
                    "quantities": {"attributes": 3},
                    "dimensions": {"mode": "Business", "delivery": "Standard"},
                }
            ]
        },
    )
    operation: Name
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None
    steps: Annotated[list[StepIn], Field(max_length=100)] | None = None
    at: TimeIn | None = Field(None, description="Price at this time (default: now).")
    rate_card: Name | None = Field(None, description="Price by this card, not the org's.")


class QuoteOut(BaseModel):
    """What an operation costs and why (:meth:`creditline.Quote.to_dict`)."""

    operation: str
    card: str
    version: str
    total: str
    total_micros: int
    base: str
    multiplier: str
    multipliers: list[dict[str, Any]]
    exact: str
    rounding: dict[str, Any] | None
    adjustment: str
    components: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    selection: dict[str, str]
    supplier: str | None


# -- reports -------------------------------------------------------------------------------


class UsageRowOut(BaseModel):
    project_id: str | None = None
    project_name: str | None = None
    operation: str | None = None
    member_id: str | None = None
    member_name: str | None = None
    period: str | None = None
    events: int
    cost: str
    cost_micros: int


class UsageReportOut(BaseModel):
    org_id: str
    group_by: list[str]
    period: str | None
    since: datetime
    until: datetime
    rows: list[UsageRowOut]
    events: int
    cost: str
    cost_micros: int

    @classmethod
    def of(cls, r: UsageReport, period: str | None) -> UsageReportOut:
        rows = [UsageRowOut.model_validate(d) for d in usage_rows(r.columns, r.rows, r.names)]
        return cls(
            org_id=r.org_id,
            group_by=[c for c in r.columns if c != "period"],
            period=period,
            since=r.since,
            until=r.until,
            rows=rows,
            events=r.events,
            **_credits("cost", r.cost),
        )


class ExpiringOut(BaseModel):
    grant_id: str
    kind: str
    remaining: str
    remaining_micros: int
    expires_at: datetime


class CycleProgressOut(BaseModel):
    plan: str
    index: int
    start: datetime
    end: datetime
    next_renewal_at: datetime | None
    elapsed_seconds: int
    total_seconds: int


class BurnDayOut(BaseModel):
    day: date
    closing: str
    closing_micros: int
    burnt: str
    burnt_micros: int


class OverviewOut(BaseModel):
    """An organization's dashboard data: the counter by kind, what will expire, the
    read-only, paused and flex flags, the billing cycle, the burn-down (the balance at
    each day's end and what usage burnt), the burn rate (a day, over the last 7 days)
    and the forecast depletion date."""

    org_id: str
    as_of: datetime
    balance: BalanceOut
    by_kind: dict[str, str]
    by_kind_micros: dict[str, int]
    expiring: list[ExpiringOut]
    depletion: str
    read_only: bool
    paused: bool
    on_flex: bool
    flex_used: str
    flex_used_micros: int
    flex_limit: str | None
    flex_limit_micros: int | None
    cycle: CycleProgressOut | None
    burn_down: list[BurnDayOut]
    burn_rate: str
    burn_rate_micros: int
    depletes_on: date | None

    @classmethod
    def of(cls, o: Overview) -> OverviewOut:
        c = o.cycle
        limit = o.flex_limit
        return cls(
            org_id=o.org_id,
            as_of=o.as_of,
            balance=BalanceOut.of(o.balance),
            by_kind={k.value: format_credits(v) for k, v in o.by_kind},
            by_kind_micros={k.value: v for k, v in o.by_kind},
            expiring=[
                ExpiringOut(
                    grant_id=e.grant_id,
                    kind=e.kind.value,
                    **_credits("remaining", e.remaining),
                    expires_at=e.expires_at,
                )
                for e in o.expiring
            ],
            depletion=o.depletion.value,
            read_only=o.read_only,
            paused=o.paused,
            on_flex=o.on_flex,
            **_credits("flex_used", o.flex_used),
            flex_limit=None if limit is None else format_credits(limit),
            flex_limit_micros=limit,
            cycle=None
            if c is None
            else CycleProgressOut(
                plan=c.plan,
                index=c.index,
                start=c.start,
                end=c.end,
                next_renewal_at=_iso(c.next_renewal_at),
                elapsed_seconds=c.elapsed_seconds,
                total_seconds=c.total_seconds,
            ),
            burn_down=[
                BurnDayOut(
                    day=d.day, **_credits("closing", d.closing), **_credits("burnt", d.burnt)
                )
                for d in o.burn_down
            ],
            **_credits("burn_rate", o.burn_rate),
            depletes_on=o.depletes_on,
        )
