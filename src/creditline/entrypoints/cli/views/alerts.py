"""How alert rules, webhook endpoints and deliveries look (see
:mod:`creditline.entrypoints.cli.views.base` for the conventions: ``data`` for JSON, ``parts``
for a terminal, credit amounts as decimal credits and as micro-credits, times ISO 8601
in UTC). These views only present what the engine returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rich.table import Table
from rich.text import Text

from creditline.domain.alerts import AlertRule
from creditline.domain.deliveries import Delivery, WebhookEndpoint
from creditline.entrypoints.cli.views.base import View, Whole, credit_fields, iso, new_table, when

__all__ = [
    "delivery_view",
    "deliveries_view",
    "endpoint_view",
    "endpoints_view",
    "rule_view",
    "rules_view",
]

_CREDIT_PARAMS = ("threshold", "rearm_above")


# -- rules ---------------------------------------------------------------------------------


def _params(rule: AlertRule) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, value in rule.params.to_document().items():
        if name in _CREDIT_PARAMS:
            out.update(credit_fields(name, value))
        else:
            out[name] = value
    return out


def _rule_data(rule: AlertRule) -> dict[str, Any]:
    state = rule.state
    return {
        "id": rule.id,
        "org_id": rule.org_id,
        "kind": rule.kind.value,
        "event_type": rule.event_type,
        "params": _params(rule),
        "description": rule.describe(),
        "channels": [c.value for c in rule.channels],
        "email": rule.email,
        "state": None if state is None else state.state.value,
        "last_fired_at": None if state is None else iso(state.last_fired_at),
        "fired_count": 0 if state is None else state.fired_count,
        "created_at": iso(rule.created_at),
        "disabled_at": iso(rule.disabled_at),
    }


def _rules_table(rules: Sequence[AlertRule], title: str) -> Table:
    table = new_table(title, "id", "rule", "channels", "state", "fired", "last fired (UTC)")
    for rule in rules:
        state = rule.state
        channels = ", ".join(c.value for c in rule.channels)
        if rule.email:
            channels += f" ({rule.email})"
        table.add_row(
            rule.id,
            rule.describe(),
            channels,
            "removed" if not rule.active else ("" if state is None else state.state.value),
            str(0 if state is None else state.fired_count),
            "" if state is None else when(state.last_fired_at),
        )
    return table


def rule_view(rule: AlertRule) -> View:
    return View(_rule_data(rule), (_rules_table([rule], "Alert rule"),))


def rules_view(rules: Sequence[AlertRule]) -> View:
    if not rules:
        return View([], (Text("no alert rules (creditline alert add ORG KIND ...)"),))
    return View([_rule_data(r) for r in rules], (_rules_table(rules, "Alert rules"),))


# -- endpoints -----------------------------------------------------------------------------


def _endpoint_data(endpoint: WebhookEndpoint) -> dict[str, Any]:
    data = {
        "id": endpoint.id,
        "url": endpoint.url,
        "org_id": endpoint.org_id,
        "event_types": list(endpoint.event_types),
        "description": endpoint.description,
        "created_at": iso(endpoint.created_at),
        "disabled_at": iso(endpoint.disabled_at),
    }
    if endpoint.secret is not None:
        data["secret"] = endpoint.secret
    return data


def _endpoints_table(endpoints: Sequence[WebhookEndpoint], title: str) -> Table:
    table = new_table(title, "id", "url", "org", "event types", "status")
    for e in endpoints:
        table.add_row(
            e.id,
            e.url,
            e.org_id or "(every organization)",
            ", ".join(e.event_types) or "(all)",
            "active" if e.active else "removed",
        )
    return table


def endpoint_view(endpoint: WebhookEndpoint) -> View:
    parts: list[Any] = [_endpoints_table([endpoint], "Webhook endpoint")]
    if endpoint.secret is not None:
        parts.append(Whole(f"signing secret (shown once, keep it): {endpoint.secret}"))
    return View(_endpoint_data(endpoint), tuple(parts))


def endpoints_view(endpoints: Sequence[WebhookEndpoint]) -> View:
    if not endpoints:
        return View([], (Text("no webhook endpoints (creditline webhook add URL)"),))
    return View(
        [_endpoint_data(e) for e in endpoints], (_endpoints_table(endpoints, "Webhook endpoints"),)
    )


# -- deliveries ----------------------------------------------------------------------------


def _delivery_data(d: Delivery) -> dict[str, Any]:
    return {
        "id": d.id,
        "channel": d.channel.value,
        "endpoint_id": d.endpoint_id,
        "recipient": d.recipient,
        "org_id": d.org_id,
        "rule_id": d.rule_id,
        "event_type": d.event_type,
        "status": d.status.value,
        "attempts": d.attempts,
        "next_attempt_at": iso(d.next_attempt_at),
        "last_status_code": d.last_status_code,
        "last_error": d.last_error,
        "created_at": iso(d.created_at),
        "delivered_at": iso(d.delivered_at),
        "payload": d.payload,
        "attempt_log": [
            {
                "number": a.number,
                "at": iso(a.at),
                "ok": a.ok,
                "status_code": a.status_code,
                "error": a.error,
                "duration_ms": a.duration_ms,
            }
            for a in d.attempt_log
        ],
    }


def _deliveries_table(found: Sequence[Delivery], title: str) -> Table:
    table = new_table(
        title, "id", "event", "to", "status", "attempts", "last answer", "next try (UTC)"
    )
    for d in found:
        answer = d.last_error or ("" if d.last_status_code is None else str(d.last_status_code))
        table.add_row(
            d.id,
            d.event_type,
            d.endpoint_id or d.recipient or "",
            d.status.value,
            str(d.attempts),
            answer,
            when(d.next_attempt_at),
        )
    return table


def delivery_view(delivery: Delivery) -> View:
    return View(_delivery_data(delivery), (_deliveries_table([delivery], "Delivery"),))


def deliveries_view(found: Sequence[Delivery]) -> View:
    if not found:
        return View([], (Text("no deliveries"),))
    return View([_delivery_data(d) for d in found], (_deliveries_table(found, "Deliveries"),))
