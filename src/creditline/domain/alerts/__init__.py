"""Alerts (E2): rules on an organization's credits that fire once per crossing.

Where each part lives:

- :mod:`~creditline.domain.alerts.kinds`: the kinds of rule, channels, rule states and
  the event type each kind fires.
- :mod:`~creditline.domain.alerts.rules`: a rule, its settings and where it stands; the
  table of what each kind watches.
- :mod:`~creditline.domain.alerts.validation`: every problem of a rule's definition;
  making a new rule.
- :mod:`~creditline.domain.alerts.readings`: what the rules look at, and whether a
  rule's condition holds.
- :mod:`~creditline.domain.alerts.evaluation`: crossings, hysteresis and payment
  failures: when a rule fires and re-arms.
- :mod:`~creditline.domain.alerts.events`: the events fired, in the Standard Webhooks
  payload shape.
- :mod:`~creditline.domain.alerts.emails`: the e-mail an event sends.
"""

from __future__ import annotations

from creditline.domain.alerts.emails import email_message
from creditline.domain.alerts.evaluation import Transition, evaluate
from creditline.domain.alerts.events import AlertEvent
from creditline.domain.alerts.kinds import EVENT_TYPES, AlertKind, Channel, RuleState, event_types
from creditline.domain.alerts.readings import GraceChange, PaymentFailure, Reading, condition
from creditline.domain.alerts.rules import (
    DEFAULT_LOOKBACK_DAYS,
    AlertParams,
    AlertRule,
    AlertState,
    parse_params,
)
from creditline.domain.alerts.validation import make_rule, rule_problems

__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "EVENT_TYPES",
    "AlertEvent",
    "GraceChange",
    "AlertKind",
    "AlertParams",
    "AlertRule",
    "AlertState",
    "Channel",
    "PaymentFailure",
    "Reading",
    "RuleState",
    "Transition",
    "condition",
    "email_message",
    "evaluate",
    "event_types",
    "make_rule",
    "parse_params",
    "rule_problems",
]
