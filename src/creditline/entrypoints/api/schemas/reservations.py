"""Reservations: holding credits, extending and increasing the hold, committing and
releasing it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, StrictInt

from creditline.domain.charging import MAX_TTL
from creditline.domain.reservations import Reservation
from creditline.entrypoints.api.schema_rules import exactly_one
from creditline.entrypoints.api.schemas.common import (
    _DIMENSIONS_NEED_OPERATION,
    CauseIn,
    CauseOut,
    Dimensions,
    Ident,
    Metadata,
    Name,
    _Amount,
    _credits,
    _iso,
    answer,
    whole,
)


class ReservationCreate(_Amount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "12", "ttl_seconds": 7200}]},
    )
    schema_rules: ClassVar[dict[str, Any]] = {
        **exactly_one("amount", "amount_micros"), **_DIMENSIONS_NEED_OPERATION,
    }  # fmt: skip
    ttl_seconds: Annotated[
        Annotated[StrictInt, Field(ge=1, le=int(MAX_TTL.total_seconds()))],
        BeforeValidator(whole),
    ] = 3600
    project_id: Ident | None = None
    member_id: Ident | None = None
    cause: CauseIn | None = None
    metadata: Metadata | None = None
    operation: Name | None = Field(
        None, description="What the hold is for: scoped grants covering it are held first."
    )
    dimensions: Dimensions | None = Field(None, description="Only with operation.")


class CommitIn(_Amount):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "10"}]})
    final: StrictBool = Field(True, description="false: commit one step, keep the rest held.")


class ExtendIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"ttl_seconds": 21600}]}
    )
    ttl_seconds: Annotated[
        Annotated[StrictInt, Field(ge=1, le=int(MAX_TTL.total_seconds()))],
        BeforeValidator(whole),
    ] = Field(
        description="The hold now expires this many seconds from now (never earlier than "
        "it did), at most its creation plus its plan's max_hold_hours (default 30 days)."
    )


class IncreaseIn(_Amount):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "5"}]})


class ReservationOut(BaseModel):
    id: str
    org_id: str
    status: str
    amount: str
    amount_micros: int
    held: str
    held_micros: int
    consumed: str
    consumed_micros: int
    shortfall: str
    shortfall_micros: int
    cause: CauseOut
    project_id: str | None
    member_id: str | None
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    metadata: dict[str, Any]
    operation: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)
    key_id: str | None = Field(None, description="The capped API key the hold counts against.")

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return answer(
            cls,
            r,
            **_credits("amount", r.amount),
            **_credits("held", r.held),
            **_credits("consumed", r.consumed),
            **_credits("shortfall", r.shortfall),
            cause=answer(CauseOut, r.cause),
            settled_at=_iso(r.settled_at),
        )


class SettlementOut(BaseModel):
    reservation: ReservationOut
    consumed: str
    consumed_micros: int
    released: str
    released_micros: int
    shortfall: str
    shortfall_micros: int
    replayed: bool

    @classmethod
    def of(cls, s: Any) -> SettlementOut:
        return cls(
            reservation=ReservationOut.of(s.reservation),
            **_credits("consumed", s.consumed),
            **_credits("released", s.released),
            **_credits("shortfall", s.shortfall),
            replayed=bool(s.replayed),
        )
