"""Alert events: one firing of a rule, as the payload webhooks and e-mails carry.

**Events** (:class:`AlertEvent`) follow the Standard Webhooks payload shape::

    {"type": "credits.below_threshold", "timestamp": "2026-03-01T00:00:00+00:00",
     "data": {"org_id": "org_...", "rule": {"id": "alr_...", "kind": ..., ...},
              "available_micros": 4000000, "available": "4", ...}}

Every credit amount appears as an integer of micro-credits (``..._micros``) and as
exact credit text.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from creditline.domain.alerts.kinds import AlertKind
from creditline.domain.alerts.readings import Reading
from creditline.domain.alerts.rules import AlertRule
from creditline.domain.amounts import format_credits

__all__ = ["AlertEvent", "details", "event", "iso"]


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """One firing of a rule: its event type and payload (see the module docstring)."""

    type: str
    org_id: str
    rule_id: str
    at: datetime
    data: Mapping[str, Any]

    def payload(self) -> dict[str, Any]:
        """The Standard Webhooks payload: ``type``, ``timestamp`` and ``data``."""
        return {"type": self.type, "timestamp": iso(self.at), "data": dict(self.data)}


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _amount(name: str, micros: int) -> dict[str, Any]:
    return {f"{name}_micros": micros, name: format_credits(micros)}


def details(rule: AlertRule, reading: Reading) -> dict[str, Any]:
    p = rule.params
    if rule.kind is AlertKind.REMAINING_BELOW:
        return _amount("threshold", p.threshold or 0)
    if rule.kind is AlertKind.REMAINING_BELOW_PERCENT:
        grant = reading.cycle_grant or 0
        return {"percent": p.percent, **_amount("cycle_grant", grant)}
    if rule.kind is AlertKind.USED_PERCENT:
        grant = reading.cycle_grant or 0
        used = grant - reading.available
        return {"percent": p.percent, **_amount("cycle_grant", grant), **_amount("used", used)}
    if rule.kind is AlertKind.READ_ONLY:
        return {"depletion": "read_only"}
    if rule.kind is AlertKind.FORECAST_DEPLETION:
        burnt = reading.consumed.get(p.lookback, 0)
        seconds = reading.available * p.lookback * 86_400 // burnt if burnt > 0 else 0
        return {
            "days": p.days,
            "lookback_days": p.lookback,
            **_amount("consumed", burnt),
            **_amount("burn_per_day", burnt // p.lookback),
            "depletes_at": iso(reading.at + timedelta(seconds=seconds)),
        }
    return {}


def event(rule: AlertRule, reading: Reading, extra: Mapping[str, Any]) -> AlertEvent:
    data = {
        "org_id": rule.org_id,
        "rule": {"id": rule.id, "kind": rule.kind.value, **rule.params.to_document()},
        **_amount("available", reading.available),
        "at": iso(reading.at),
        **extra,
    }
    return AlertEvent(rule.event_type, rule.org_id, rule.id, reading.at, data)
