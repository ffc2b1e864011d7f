"""The operator's revenue report: a month's deferred revenue and breakage at cost basis,
per currency (:mod:`creditline.domain.revenue`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from creditline.domain.amounts import format_credits
from creditline.domain.money import format_money
from creditline.domain.revenue import CurrencyLine, Flow, FreeLine, RevenueReport
from creditline.entrypoints.revenue_export import FLOWS, FREE_FLOWS, free_flows

__all__ = ["CreditsOut", "FlowOut", "FreeLineOut", "RevenueLineOut", "RevenueOut"]


def _flow(micros: int, minor: int, currency: str) -> dict[str, Any]:
    return {"credits": format_credits(micros), "credits_micros": micros, "minor": minor,
            "money": format_money(minor, currency)}  # fmt: skip


_EUR: dict[str, Any] = {
    "currency": "EUR",
    "opening": _flow(2_000_000, 667, "EUR"),
    "sold": _flow(10_000_000, 9000, "EUR"),
    "consumed": _flow(8_000_000, 6634, "EUR"),
    "expired": _flow(1_000_000, 333, "EUR"),
    "refunded": _flow(0, 0, "EUR"),
    "adjusted": _flow(0, 0, "EUR"),
    "closing": _flow(3_000_000, 2700, "EUR"),
    "recognised_minor": 6634,
    "breakage_minor": 333,
    "reconciles": True,
}
_GIFTS: dict[str, Any] = {
    "kind": "promotional",
    **{f: {"credits": "0", "credits_micros": 0} for f in FREE_FLOWS},
    "granted": {"credits": "5", "credits_micros": 5_000_000},
    "closing": {"credits": "5", "credits_micros": 5_000_000},
}
_EXAMPLE: dict[str, Any] = {
    "month": "2026-11",
    "since": "2026-11-01T00:00:00Z",
    "until": "2026-12-01T00:00:00Z",
    "currencies": [_EUR],
    "no_cash": [_GIFTS],
    "flex": None,
}


class CreditsOut(BaseModel):
    credits: str = Field(description="Exact decimal credits.")
    credits_micros: int


class FlowOut(CreditsOut):
    minor: int = Field(description="What the credits are worth at cost basis, in minor units.")
    money: str = Field(description="The same, written: EUR 6.67.")

    @classmethod
    def of(cls, flow: Flow, currency: str) -> FlowOut:
        return cls(**_flow(flow.credits, flow.minor, currency))


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

    @classmethod
    def of(cls, line: CurrencyLine) -> RevenueLineOut:
        flows = {f: FlowOut.of(getattr(line, f), line.currency) for f in FLOWS}
        return cls(currency=line.currency, **flows, recognised_minor=line.recognised_minor,
                   breakage_minor=line.breakage_minor, reconciles=line.reconciles())  # fmt: skip


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

    @classmethod
    def of(cls, line: FreeLine) -> FreeLineOut:
        flows = {
            f: CreditsOut(credits=format_credits(m), credits_micros=m)
            for f, m in zip(FREE_FLOWS, free_flows(line), strict=True)
        }
        return cls(kind=line.kind.value, **flows)


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
        return cls(
            month=report.month,
            since=report.since.astimezone(UTC),
            until=report.until.astimezone(UTC),
            currencies=[RevenueLineOut.of(line) for line in report.lines],
            no_cash=[FreeLineOut.of(line) for line in report.free],
            flex=None if report.flex is None else FreeLineOut.of(report.flex),
        )
