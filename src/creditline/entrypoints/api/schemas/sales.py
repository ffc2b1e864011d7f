"""Country gating and contact sales (D8): an organization's country, whether it can buy
self-serve, and requests to sales."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, StrictStr

from creditline.domain.amounts import format_credits
from creditline.domain.sales import EMAIL_PATTERN, MAX_MESSAGE, SalesRequest, SalesRequestSource
from creditline.entrypoints.api.schema_rules import NOT_BLANK, at_most_one_of
from creditline.entrypoints.api.schemas.common import (
    Ident,
    Name,
    PositiveCreditsText,
    _PackOrAmount,
    answer,
)
from creditline.entrypoints.api.schemas.orgs import CountryCode
from creditline.services.sales import SelfServe


class OrgUpdate(BaseModel):
    """Change an organization's name or country; a field left out is unchanged, a
    ``country`` of ``null`` removes it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"country": "DE"}, {"country": None}]}
    )
    name: Name | None = None
    country: CountryCode | None = Field(
        None, description="ISO 3166-1 alpha-2; null: no country any more."
    )


class SelfServeOut(BaseModel):
    org_id: str
    country: str | None
    available: bool = Field(description="It can buy through the checkout; else contact sales.")
    countries: list[str] | None = Field(description="The platform's list; null: everywhere.")
    contact_sales: str = Field(description="Where to ask sales (POST).")

    @classmethod
    def of(cls, state: SelfServe) -> SelfServeOut:
        return cls(
            org_id=state.org_id,
            country=state.country,
            available=state.available,
            countries=None if state.countries is None else list(state.countries),
            contact_sales=f"/v1/orgs/{state.org_id}/sales-requests",
        )


SalesEmail = Annotated[StrictStr, Field(min_length=5, max_length=320, pattern=EMAIL_PATTERN)]


class SalesRequestCreate(_PackOrAmount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"pack": "explorer", "message": "We would like to buy credits."}]
        },
    )
    pack: Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=NOT_BLANK)] | None = (
        Field(None, description="A pack of the catalogue.")
    )
    amount: PositiveCreditsText | None = Field(None, description="Or an amount of credits.")
    # amount_micros: the base's, after amount
    message: Annotated[StrictStr, Field(max_length=MAX_MESSAGE)] | None = None
    member_id: Ident | None = Field(None, description="The member asking, if any.")
    email: SalesEmail | None = Field(None, description="Where to answer (default: the member's).")
    source: SalesRequestSource = Field(
        SalesRequestSource.API, description="Where it was asked: api (default) or portal."
    )

    exclusive: ClassVar[tuple[str, ...]] = ("pack", "amount", "amount_micros")
    schema_rules: ClassVar[dict[str, Any]] = at_most_one_of(*exclusive)


class SalesRequestOut(BaseModel):
    id: str
    org_id: str
    country: str | None
    member_id: str | None
    email: str | None
    pack: str | None
    credits: str | None
    credits_micros: int | None
    message: str
    source: str
    created_at: datetime

    @classmethod
    def of(cls, r: SalesRequest) -> SalesRequestOut:
        return answer(
            cls,
            r,
            credits=None if r.credits is None else format_credits(r.credits),
            credits_micros=r.credits,
        )
