"""What-if pricing: a draft rate card and a period in, the re-priced usage out
(:mod:`creditline.domain.whatif`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.whatif import OperationImpact, RunOut, WhatIf
from creditline.entrypoints.api.schemas.catalogue import CardSource
from creditline.entrypoints.api.schemas.common import Ident, TimeIn, _credits, _iso

_DRAFT: dict[str, Any] = {
    "name": "default",
    "version": "2026-12-draft",
    "effective_from": "2027-01-01T00:00:00Z",
    "operations": {"chat": {"flat": "1.5"}},
}


class WhatIfRequest(CardSource):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"document": _DRAFT, "since": "2026-11-01T00:00:00Z"}],
        },
    )
    since: TimeIn = Field(description="From (inclusive): events that happened then or later.")
    until: TimeIn | None = Field(None, description="To (exclusive); default now.")
    org_id: Ident | None = Field(
        None, description="Only this organization; default: every one priced by the card."
    )


class OperationImpactOut(BaseModel):
    org_id: str
    operation: str
    events: int
    charged: str
    charged_micros: int
    repriced: str
    repriced_micros: int
    difference: str
    difference_micros: int
    unpriced: int = Field(description="Events the draft cannot price (ingest would reject).")
    unpriced_reason: str | None

    @classmethod
    def of(cls, i: OperationImpact) -> OperationImpactOut:
        return cls(
            org_id=i.org_id,
            operation=i.operation,
            events=i.events,
            **_credits("charged", i.charged),
            **_credits("repriced", i.repriced),
            **_credits("difference", i.difference),
            unpriced=i.unpriced,
            unpriced_reason=i.unpriced_reason,
        )


class RunOutOut(BaseModel):
    org_id: str
    at: datetime = Field(description="When its balance would first have gone below zero.")
    short: str
    short_micros: int
    ran_out_at: datetime | None = Field(description="When it really ran out; null: it did not.")

    @classmethod
    def of(cls, r: RunOut) -> RunOutOut:
        return cls(
            org_id=r.org_id, at=r.at.astimezone(UTC), **_credits("short", r.short),
            ran_out_at=_iso(r.ran_out_at),
        )  # fmt: skip


class WhatIfOut(BaseModel):
    card: str
    version: str
    since: datetime
    until: datetime
    events: int
    charged: str
    charged_micros: int
    repriced: str
    repriced_micros: int
    difference: str
    difference_micros: int
    unpriced: int
    operations: list[OperationImpactOut] = Field(
        description="Per organization and operation, by organization id then operation."
    )
    run_outs: list[RunOutOut] = Field(
        description="The organizations that would have run out of credits earlier."
    )

    @classmethod
    def of(cls, r: WhatIf) -> WhatIfOut:
        return cls(
            card=r.card,
            version=r.version,
            since=r.start.astimezone(UTC),
            until=r.end.astimezone(UTC),
            events=r.events,
            **_credits("charged", r.charged),
            **_credits("repriced", r.repriced),
            **_credits("difference", r.difference),
            unpriced=r.unpriced,
            operations=[OperationImpactOut.of(i) for i in r.impacts],
            run_outs=[RunOutOut.of(o) for o in r.run_outs],
        )
