"""Automatic and recurring top-ups (D9): an organization's settings. The top-ups
themselves are purchases (``trigger``: ``automatic`` or ``recurring``) in the purchase
history."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, model_validator

from creditline.domain.amounts import format_credits
from creditline.domain.topups import AutoTopup, RecurringTopup
from creditline.entrypoints.api.routes.common import Engine, make_router
from creditline.entrypoints.api.schema_rules import Ruled
from creditline.entrypoints.api.schemas.common import (
    Currency,
    MicrosIn,
    MoneyOut,
    Name,
    TimeIn,
)
from creditline.entrypoints.api.security import OrgReader, OrgWriter

router = make_router("billing")

__all__ = ["AutoTopupIn", "AutoTopupOut", "RecurringTopupIn", "RecurringTopupOut", "router"]


def _credits(name: str, micros: int | None) -> dict[str, Any]:
    text = None if micros is None else format_credits(micros)
    return {name: text, f"{name}_micros": micros}


def _iso(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


_SET: dict[str, Any] = {"not": {"type": "null"}}
_NULL: dict[str, Any] = {"type": "null"}
_WHAT = ("pack", "credits_micros", "target_micros")


class AutoTopupIn(Ruled, BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"threshold_micros": 50_000_000, "pack": "refill", "currency": "EUR",
                 "monthly_cap_minor": 5000}
            ]
        },
    )  # fmt: skip
    threshold_micros: MicrosIn = Field(description="Buy when the available credits fall below.")
    pack: Name | None = Field(None, description="Buy this pack of the catalogue...")
    credits_micros: MicrosIn | None = Field(None, description="...or this many micro-credits...")
    target_micros: MicrosIn | None = Field(None, description="...or enough to reach this.")
    currency: Currency
    monthly_cap_minor: Annotated[StrictInt, Field(ge=0, le=10**15)] | None = Field(
        None, description="The most automatic top-ups may spend a month (minor units)."
    )
    max_failures: Annotated[StrictInt, Field(ge=1, le=100)] = 3

    schema_rules: ClassVar[dict[str, Any]] = {
        "oneOf": [
            {"required": [w], "properties": {o: _SET if o == w else _NULL for o in _WHAT}}
            for w in _WHAT
        ]
    }

    @model_validator(mode="after")
    def _one(self) -> Self:
        given = [v for v in (self.pack, self.credits_micros, self.target_micros) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of pack, credits_micros or target_micros")
        return self


class AutoTopupOut(BaseModel):
    org_id: str
    enabled: bool
    threshold: str
    threshold_micros: int
    buy: str = Field(description="pack, amount or target")
    pack: str | None
    credits: str | None
    credits_micros: int | None
    currency: str
    monthly_cap: MoneyOut | None
    max_failures: int
    armed: bool
    crossings: int
    pending_id: str | None
    failures: int
    retry_at: datetime | None
    last_skip: str | None
    disabled_reason: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, s: AutoTopup) -> AutoTopupOut:
        cap = s.monthly_cap
        return cls(
            org_id=s.org_id, enabled=s.enabled, **_credits("threshold", s.threshold),
            buy=s.buy.value, pack=s.pack, **_credits("credits", s.credits), currency=s.currency,
            monthly_cap=None if cap is None else MoneyOut(minor=cap.minor, currency=cap.currency),
            max_failures=s.max_failures, armed=s.armed, crossings=s.crossings,
            pending_id=s.pending_id, failures=s.failures, retry_at=_iso(s.retry_at),
            last_skip=s.last_skip, disabled_reason=s.disabled_reason,
            updated_at=_iso(s.updated_at),
        )  # fmt: skip


class RecurringTopupIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pack": "refill", "currency": "EUR", "day": 1}]},
    )
    pack: Name
    currency: Currency
    day: Annotated[StrictInt, Field(ge=1, le=28, description="Day of the month (UTC).")]
    starts_at: TimeIn | None = None


class RecurringTopupOut(BaseModel):
    org_id: str
    pack: str
    currency: str
    day: int
    starts_at: datetime
    active: bool
    last_period: str | None
    updated_at: datetime | None

    @classmethod
    def of(cls, r: RecurringTopup) -> RecurringTopupOut:
        return cls(
            org_id=r.org_id, pack=r.pack, currency=r.currency, day=r.day,
            starts_at=r.starts_at.astimezone(UTC), active=r.active, last_period=r.last_period,
            updated_at=_iso(r.updated_at),
        )  # fmt: skip


@router.get("/v1/orgs/{org_id}/topups/auto", summary="The automatic top-up setting, or null")
def get_auto(*, scope: OrgReader, cl: Engine) -> AutoTopupOut | None:
    found = cl.auto_topup(scope.org_id)
    return None if found is None else AutoTopupOut.of(found)


@router.put("/v1/orgs/{org_id}/topups/auto", summary="Set automatic top-ups (armed)")
def set_auto(*, body: AutoTopupIn, scope: OrgWriter, cl: Engine) -> AutoTopupOut:
    setting = cl.set_auto_topup(
        scope.org_id, threshold=body.threshold_micros, currency=body.currency.upper(),
        pack=body.pack, credits=body.credits_micros, target=body.target_micros,
        monthly_cap=body.monthly_cap_minor, max_failures=body.max_failures,
    )  # fmt: skip
    return AutoTopupOut.of(setting)


@router.post("/v1/orgs/{org_id}/topups/auto/disable", summary="Turn automatic top-ups off")
def disable_auto(*, scope: OrgWriter, cl: Engine) -> AutoTopupOut:
    return AutoTopupOut.of(cl.disable_auto_topup(scope.org_id))


@router.get("/v1/orgs/{org_id}/topups/recurring", summary="The recurring top-up, or null")
def get_recurring(*, scope: OrgReader, cl: Engine) -> RecurringTopupOut | None:
    found = cl.recurring_topup(scope.org_id)
    return None if found is None else RecurringTopupOut.of(found)


@router.put("/v1/orgs/{org_id}/topups/recurring", summary="Buy a pack every month on a day")
def set_recurring(*, body: RecurringTopupIn, scope: OrgWriter, cl: Engine) -> RecurringTopupOut:
    schedule = cl.set_recurring_topup(
        scope.org_id, body.pack, currency=body.currency.upper(), day=body.day,
        starts_at=body.starts_at,
    )  # fmt: skip
    return RecurringTopupOut.of(schedule)


@router.post("/v1/orgs/{org_id}/topups/recurring/cancel", summary="Stop the recurring top-up")
def cancel_recurring(*, scope: OrgWriter, cl: Engine) -> RecurringTopupOut:
    return RecurringTopupOut.of(cl.cancel_recurring_topup(scope.org_id))
