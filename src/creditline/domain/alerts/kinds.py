"""What alerts are about: the kinds of rule, their channels and states, and the event
type each kind fires."""

from __future__ import annotations

import enum
from collections.abc import Mapping

__all__ = ["EVENT_TYPES", "AlertKind", "Channel", "RuleState", "event_types"]


class AlertKind(enum.StrEnum):
    REMAINING_BELOW = "remaining_below"
    REMAINING_BELOW_PERCENT = "remaining_below_percent"
    USED_PERCENT = "used_percent"
    DEPLETED = "depleted"
    READ_ONLY = "read_only"
    FORECAST_DEPLETION = "forecast_depletion"
    PAYMENT_FAILED = "payment_failed"
    GRACE = "grace"


class Channel(enum.StrEnum):
    """Where a rule's events go: the webhook endpoints subscribed to the event's type,
    and an e-mail to the rule's address (when the engine has a mail server)."""

    WEBHOOK = "webhook"
    EMAIL = "email"


class RuleState(enum.StrEnum):
    ARMED = "armed"
    FIRED = "fired"


EVENT_TYPES: Mapping[AlertKind, str] = {
    AlertKind.REMAINING_BELOW: "credits.below_threshold",
    AlertKind.REMAINING_BELOW_PERCENT: "credits.below_threshold",
    AlertKind.USED_PERCENT: "credits.below_threshold",
    AlertKind.DEPLETED: "credits.depleted",
    AlertKind.READ_ONLY: "org.read_only",
    AlertKind.FORECAST_DEPLETION: "credits.forecast_depletion",
    AlertKind.PAYMENT_FAILED: "payment.failed",
    AlertKind.GRACE: "org.grace",
}
"""The event type each kind of rule fires (a webhook endpoint can subscribe to some)."""


def event_types() -> tuple[str, ...]:
    """Every event type an alert can fire, sorted."""
    return tuple(sorted(set(EVENT_TYPES.values())))
