"""Alert rules, outgoing webhook endpoints and their deliveries (E2)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Self

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, model_validator

from creditline.domain.alerts import AlertParams, AlertRule, AlertState
from creditline.domain.amounts import format_credits
from creditline.domain.deliveries import Delivery, WebhookEndpoint, subscribable_event_types
from creditline.entrypoints.api.schemas.common import (
    CreditsText,
    Name,
    ProblemOut,
    _credits,
    _iso,
    answer,
    at_most_one_given,
    micros_of,
)

Word = Annotated[StrictStr, Field(max_length=100)]
EventTypeName = Annotated[
    StrictStr,
    Field(max_length=100, json_schema_extra={"enum": list(subscribable_event_types())}),
]
"""An event type a webhook endpoint can subscribe to (every one an alert fires, and the
operator's ``sales.contact_requested``). The
document lists them; the engine checks them, so that the library, the client and the API
refuse an unknown type with the same error (422 ``invalid-setting``)."""


class AlertRuleCreate(BaseModel):
    """An alert rule: its kind and the settings that kind takes. The types are checked
    here; what each kind needs and the ranges are the engine's (422
    ``invalid-alert-rule``, listing every problem at once)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "remaining_below", "threshold": "100", "rearm_above": "150"},
                {"kind": "forecast_depletion", "days": 3, "email": "ops@acme.example"},
            ]
        },
    )
    kind: StrictStr = Field(
        max_length=100,
        description="remaining_below, remaining_below_percent, used_percent, depleted, "
        "read_only, forecast_depletion, payment_failed or grace (each grace transition).",
        examples=["remaining_below"],
    )
    threshold: CreditsText | None = Field(None, description="remaining_below: fire below this.")
    threshold_micros: StrictInt | None = Field(None, description="Or in micro-credits.")
    rearm_above: CreditsText | None = Field(
        None, description="remaining_below: re-arm at or above this (default: the threshold)."
    )
    rearm_above_micros: StrictInt | None = Field(None, description="Or in micro-credits.")
    percent: StrictInt | None = Field(
        None,
        description="A whole percent (1-100) of the cycle's grant: remaining_below_percent "
        "fires when the credits left are strictly below it; used_percent when at least it "
        "is used.",
    )
    rearm_percent: StrictInt | None = Field(
        None,
        description="remaining_below_percent: re-arm at or above this percent left; "
        "used_percent: re-arm when less than this percent is used (default: percent).",
    )
    days: StrictInt | None = Field(
        None, description="forecast_depletion: fire when the credits last at most this many days."
    )
    rearm_days: StrictInt | None = None
    lookback_days: StrictInt | None = Field(
        None, description="forecast_depletion: the burn rate's window in days (default 7)."
    )
    channels: Annotated[list[Word], Field(max_length=10)] | None = Field(
        None, description="webhook and/or email (default: webhook, and email with an email)."
    )
    email: Annotated[StrictStr, Field(max_length=320)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        for name in ("threshold", "rearm_above"):
            at_most_one_given(self, name, f"{name}_micros")
        return self

    def micros(self, name: str) -> int | None:
        """``threshold`` or ``rearm_above`` in micro-credits, from either form."""
        return micros_of(getattr(self, name), getattr(self, f"{name}_micros"))


class AlertParamsOut(BaseModel):
    """The rule's settings (``null``: not set); credit amounts in both forms."""

    threshold: str | None = None
    threshold_micros: int | None = None
    rearm_above: str | None = None
    rearm_above_micros: int | None = None
    percent: int | None = None
    rearm_percent: int | None = None
    days: int | None = None
    rearm_days: int | None = None
    lookback_days: int | None = None

    @classmethod
    def of(cls, p: AlertParams) -> AlertParamsOut:
        amounts = {
            **({} if p.threshold is None else _credits("threshold", p.threshold)),
            **({} if p.rearm_above is None else _credits("rearm_above", p.rearm_above)),
        }
        return cls(
            **amounts,
            percent=p.percent,
            rearm_percent=p.rearm_percent,
            days=p.days,
            rearm_days=p.rearm_days,
            lookback_days=p.lookback_days,
        )


class AlertStateOut(BaseModel):
    state: str = Field(description="armed (fires when its condition turns true) or fired.")
    last_fired_at: datetime | None
    last_value: str | None = Field(description="Available credits when the state last changed.")
    last_value_micros: int | None
    signal_cursor: int = Field(description="payment_failed, grace: the last signal seen.")
    fired_count: int
    updated_at: datetime | None

    @classmethod
    def of(cls, s: AlertState) -> AlertStateOut:
        return answer(
            cls,
            s,
            last_fired_at=_iso(s.last_fired_at),
            last_value=None if s.last_value is None else format_credits(s.last_value),
            last_value_micros=s.last_value,
            updated_at=_iso(s.updated_at),
        )


class AlertRuleOut(BaseModel):
    id: str
    org_id: str
    kind: str
    event_type: str = Field(description="The event type it fires (credits.depleted...).")
    description: str = Field(description="The rule in words.")
    params: AlertParamsOut
    channels: list[str]
    email: str | None
    created_at: datetime
    disabled_at: datetime | None
    state: AlertStateOut | None

    @classmethod
    def of(cls, r: AlertRule) -> AlertRuleOut:
        return answer(
            cls,
            r,
            description=r.describe(),
            params=AlertParamsOut.of(r.params),
            disabled_at=_iso(r.disabled_at),
            state=None if r.state is None else AlertStateOut.of(r.state),
        )


class AlertEventOut(BaseModel):
    """One firing of a rule: its Standard Webhooks ``type`` and ``data``."""

    type: str
    org_id: str
    rule_id: str
    at: datetime
    data: dict[str, Any]


class AlertFailureOut(BaseModel):
    org_id: str
    problem: ProblemOut = Field(description="Why its evaluation failed (retried next run).")


class AlertRunOut(BaseModel):
    organizations: int = Field(description="Organizations whose rules were evaluated.")
    events: list[AlertEventOut]
    rearmed: int
    deliveries: int = Field(description="Deliveries enqueued (webhooks and e-mails).")
    failed: list[AlertFailureOut]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://platform.example/hooks/credits",
                    "event_types": ["credits.depleted", "credits.below_threshold"],
                    "description": "ops channel",
                }
            ]
        },
    )
    url: Annotated[StrictStr, Field(min_length=1, max_length=2000)] = Field(
        description="An http(s) URL the events are POSTed to, signed (Standard Webhooks)."
    )
    event_types: Annotated[list[EventTypeName], Field(max_length=20)] = Field(
        default_factory=list,
        description="The event types it receives (none: all): credits.below_threshold, "
        "credits.depleted, credits.forecast_depletion, org.read_only, payment.failed.",
    )
    description: Name | None = None


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    org_id: str | None = Field(description="null: it receives every organization's events.")
    event_types: list[str] = Field(description="Empty: every event type.")
    description: str | None
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, e: WebhookEndpoint) -> WebhookEndpointOut:
        return answer(cls, e, disabled_at=_iso(e.disabled_at))


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="The signing secret (whsec_...): shown this once, never again.")

    @classmethod
    def created(cls, e: WebhookEndpoint) -> WebhookEndpointCreated:
        assert e.secret is not None
        return cls(**WebhookEndpointOut.of(e).model_dump(), secret=e.secret)


class DeliveryAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int | None


class DeliveryOut(BaseModel):
    id: str = Field(description="The message id (the webhook-id header), the same each try.")
    channel: str
    endpoint_id: str | None
    recipient: str | None
    org_id: str | None
    rule_id: str | None
    event_type: str
    payload: str = Field(description="The exact JSON text sent and signed.")
    status: str = Field(description="pending, delivered or failed.")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[DeliveryAttemptOut] = Field(
        description="Every attempt, oldest first (read one delivery for it; empty in lists)."
    )

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return answer(
            cls,
            d,
            next_attempt_at=_iso(d.next_attempt_at),
            delivered_at=_iso(d.delivered_at),
            attempt_log=[DeliveryAttemptOut.model_validate(a) for a in d.attempt_log],
        )


class DeliveryRunOut(BaseModel):
    attempted: int
    delivered: int
    retrying: int = Field(description="Failed, to be tried again on the back-off schedule.")
    failed: int = Field(description="Failed for good (no attempt left, or no endpoint).")
