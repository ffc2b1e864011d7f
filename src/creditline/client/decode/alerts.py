"""Alert rules, their states and runs."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.client.errors import error_from_problem
from creditline.domain.alerts import AlertEvent, AlertParams, AlertRule, AlertState
from creditline.services.alerts import AlertRun


def alert_params(d: Doc) -> AlertParams:
    return record(AlertParams, d)


def alert_state(rule_id: str, d: Doc | None) -> AlertState | None:
    return None if d is None else record(AlertState, d, rule_id=rule_id)


def alert_rule(d: Doc) -> AlertRule:
    return record(AlertRule, d, state=alert_state(d["id"], d["state"]))


def alert_event(d: Doc) -> AlertEvent:
    return record(AlertEvent, d)


def alert_run(d: Doc) -> AlertRun:
    failed = tuple(
        (f["org_id"], error_from_problem(f["problem"], None, f["org_id"])) for f in d["failed"]
    )
    return record(AlertRun, d, failed=failed)
