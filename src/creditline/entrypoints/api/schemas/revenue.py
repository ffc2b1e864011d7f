"""The operator's revenue report: a month's deferred revenue and breakage at cost basis,
per currency (:mod:`creditline.domain.revenue`)."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.grants import GrantKind
from creditline.domain.revenue import CurrencyLine, Flow, FreeLine, RevenueReport
from creditline.entrypoints.revenue_export import revenue_document

__all__ = ["CreditsOut", "FlowOut", "FreeLineOut", "RevenueLineOut", "RevenueOut"]


_EXAMPLE = revenue_document(
    RevenueReport(
        "2026-11",
        datetime(2026, 11, 1, tzinfo=UTC),
        datetime(2026, 12, 1, tzinfo=UTC),
        lines=(
            CurrencyLine(
                "EUR", opening=Flow(2_000_000, 667), sold=Flow(10_000_000, 9000),
                consumed=Flow(8_000_000, 6634), expired=Flow(1_000_000, 333),
                refunded=Flow(), adjusted=Flow(), closing=Flow(3_000_000, 2700),
            ),
        ),
        free=(FreeLine(GrantKind.PROMOTIONAL, 0, 5_000_000, 0, 0, 0, 0, 5_000_000),),
    )
)  # fmt: skip


class CreditsOut(BaseModel):
    credits: str = Field(description="Exact decimal credits.")
    credits_micros: int


class FlowOut(CreditsOut):
    minor: int = Field(description="What the credits are worth at cost basis, in minor units.")
    money: str = Field(description="The same, written: EUR 6.67.")


class RevenueLineOut(BaseModel):
    """One currency's month: opening + sold - consumed - expired - refunded - adjusted =
    closing, in credits and in minor units."""

    currency: str
    opening: FlowOut = Field(description="The liability at the month's start.")
    sold: FlowOut = Field(description="Credits sold and their cash.")
    consumed: FlowOut = Field(description="Credits consumed: revenue recognised.")
    expired: FlowOut = Field(description="Credits expired unused: breakage.")
    refunded: FlowOut
    adjusted: FlowOut = Field(description="Paid credits an operator's adjustment took.")
    closing: FlowOut = Field(description="The liability at the month's end (holds included).")
    recognised_minor: int
    breakage_minor: int
    reconciles: bool


class FreeLineOut(BaseModel):
    """Credits of one kind with no cash: opening + granted - consumed - expired -
    refunded - adjusted = closing."""

    kind: str
    opening: CreditsOut
    granted: CreditsOut
    consumed: CreditsOut
    expired: CreditsOut
    refunded: CreditsOut
    adjusted: CreditsOut
    closing: CreditsOut


class RevenueOut(BaseModel):
    model_config = ConfigDict(json_schema_extra={"examples": [_EXAMPLE]})

    month: str
    since: datetime
    until: datetime
    currencies: list[RevenueLineOut] = Field(description="One line per currency, by currency.")
    no_cash: list[FreeLineOut] = Field(
        description="Included, promotional, refund and adjustment credits: no cash."
    )
    flex: FreeLineOut | None = Field(
        description="Usage past zero, billed monthly in arrears: not deferred revenue."
    )

    @classmethod
    def of(cls, report: RevenueReport) -> RevenueOut:
        return cls.model_validate(revenue_document(report))
