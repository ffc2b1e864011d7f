"""Reservations: holding credits, extending and increasing the hold, committing and
releasing it."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictBool,
    StrictInt,
    model_validator,
)

from creditline.domain.charging import MAX_TTL
from creditline.domain.reservations import Reservation
from creditline.entrypoints.api.schema_rules import (
    Ruled,
    at_least_one_of,
    at_most_one,
    exactly_one,
)
from creditline.entrypoints.api.schemas.common import (
    _DIMENSIONS_NEED_OPERATION,
    CauseIn,
    CauseOut,
    Dimensions,
    Ident,
    Metadata,
    MicrosIn,
    Name,
    PositiveCreditsText,
    _Amount,
    _credits,
    _iso,
    answer,
    at_most_one_given,
    micros_of,
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


class CommitIn(Ruled, BaseModel):
    """The actual cost: ``amount`` (decimal credits) or ``amount_micros``, or a binding
    quote's price (``quote_id``; an amount given with it must be that price)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"amount": "10"}, {"quote_id": "qt_01jf3m4x9e8k2t7c5v6b1n0p"}]
        },
    )
    schema_rules: ClassVar[dict[str, Any]] = {
        "allOf": [
            at_most_one("amount", "amount_micros"),
            at_least_one_of("amount", "amount_micros", "quote_id"),
            {  # a commit at a quote's price is final
                "not": {
                    "required": ["quote_id", "final"],
                    "properties": {
                        "quote_id": {"not": {"type": "null"}},
                        "final": {"const": False},
                    },
                }
            },
        ]
    }
    amount: PositiveCreditsText | None = None
    amount_micros: MicrosIn | None = None
    final: StrictBool = Field(True, description="false: commit one step, keep the rest held.")
    quote_id: Ident | None = Field(
        None,
        description="Commit at a binding quote's price (POST /v1/orgs/{org_id}/quotes), "
        "finally; the hold must be for the quoted operation (and dimensions).",
    )

    @model_validator(mode="after")
    def _cost(self) -> Self:
        at_most_one_given(self, "amount", "amount_micros")
        if self.quote_id is None and self.amount is None and self.amount_micros is None:
            raise ValueError("give amount, amount_micros or quote_id")
        if self.quote_id is not None and not self.final:
            raise ValueError("a commit at a quote's price is final: leave final out")
        return self

    @property
    def micros(self) -> int | None:
        return micros_of(self.amount, self.amount_micros)


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
