"""Alert rules, their states and runs."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, when
from creditline.client.errors import error_from_problem
from creditline.domain.alerts import (
    AlertEvent,
    AlertKind,
    AlertParams,
    AlertRule,
    AlertState,
    Channel,
    RuleState,
)
from creditline.services.alerts import AlertRun


def alert_params(d: Doc) -> AlertParams:
    return AlertParams(
        threshold=d["threshold_micros"],
        rearm_above=d["rearm_above_micros"],
        percent=d["percent"],
        rearm_percent=d["rearm_percent"],
        days=d["days"],
        rearm_days=d["rearm_days"],
        lookback_days=d["lookback_days"],
    )


def alert_state(rule_id: str, d: Doc | None) -> AlertState | None:
    if d is None:
        return None
    return AlertState(
        rule_id=rule_id,
        state=RuleState(d["state"]),
        last_fired_at=maybe_when(d["last_fired_at"]),
        last_value=d["last_value_micros"],
        signal_cursor=d["signal_cursor"],
        fired_count=d["fired_count"],
        updated_at=maybe_when(d["updated_at"]),
    )


def alert_rule(d: Doc) -> AlertRule:
    return AlertRule(
        id=d["id"],
        org_id=d["org_id"],
        kind=AlertKind(d["kind"]),
        params=alert_params(d["params"]),
        channels=tuple(Channel(c) for c in d["channels"]),
        email=d["email"],
        created_at=when(d["created_at"]),
        disabled_at=maybe_when(d["disabled_at"]),
        state=alert_state(d["id"], d["state"]),
    )


def alert_event(d: Doc) -> AlertEvent:
    return AlertEvent(d["type"], d["org_id"], d["rule_id"], when(d["at"]), dict(d["data"]))


def alert_run(d: Doc) -> AlertRun:
    return AlertRun(
        organizations=d["organizations"],
        events=tuple(alert_event(e) for e in d["events"]),
        rearmed=d["rearmed"],
        deliveries=d["deliveries"],
        failed=tuple(
            (f["org_id"], error_from_problem(f["problem"], None, f["org_id"])) for f in d["failed"]
        ),
    )
