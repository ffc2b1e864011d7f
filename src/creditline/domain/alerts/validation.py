"""Checking an alert rule's definition: every problem of its kind, settings, channels
and address, listed at once."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from creditline.domain.alerts.kinds import AlertKind, Channel
from creditline.domain.alerts.rules import AlertRule, parse_params
from creditline.domain.amounts import MAX_MICROS
from creditline.domain.errors import InvalidAlertRule

__all__ = ["make_rule", "rule_problems"]

_MAX_DAYS = 3650
_MAX_LOOKBACK_DAYS = 366
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


_REQUIRED: Mapping[AlertKind, frozenset[str]] = {
    AlertKind.REMAINING_BELOW: frozenset({"threshold"}),
    AlertKind.REMAINING_BELOW_PERCENT: frozenset({"percent"}),
    AlertKind.USED_PERCENT: frozenset({"percent"}),
    AlertKind.FORECAST_DEPLETION: frozenset({"days"}),
}
_OPTIONAL: Mapping[AlertKind, frozenset[str]] = {
    AlertKind.REMAINING_BELOW: frozenset({"rearm_above"}),
    AlertKind.REMAINING_BELOW_PERCENT: frozenset({"rearm_percent"}),
    AlertKind.USED_PERCENT: frozenset({"rearm_percent"}),
    AlertKind.FORECAST_DEPLETION: frozenset({"rearm_days", "lookback_days"}),
}
_RANGES: Mapping[str, tuple[int, int, str]] = {
    "threshold": (1, MAX_MICROS, "micro-credits above zero"),
    "rearm_above": (1, MAX_MICROS, "micro-credits above zero"),
    "percent": (1, 100, "a whole percent from 1 to 100"),
    "rearm_percent": (1, 100, "a whole percent from 1 to 100"),
    "days": (1, _MAX_DAYS, f"whole days from 1 to {_MAX_DAYS}"),
    "rearm_days": (1, _MAX_DAYS, f"whole days from 1 to {_MAX_DAYS}"),
    "lookback_days": (1, _MAX_LOOKBACK_DAYS, f"whole days from 1 to {_MAX_LOOKBACK_DAYS}"),
}
_REARM = (("rearm_above", "threshold"), ("rearm_percent", "percent"), ("rearm_days", "days"))
"""(re-arm level, firing level): the re-arm level is at least the firing level, except
for ``used_percent``, whose re-arm percent is at most its percent (used goes up)."""


def _range_problems(params: Mapping[str, object]) -> list[str]:
    problems = []
    for name, value in params.items():
        if name not in _RANGES:
            problems.append(f"{name}: not a setting of any alert rule")
            continue
        low, high, words = _RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            problems.append(f"{name}: must be {words}, got {value!r}")
    return problems


def _kind_problems(kind: AlertKind, given: Mapping[str, object]) -> list[str]:
    required = _REQUIRED.get(kind, frozenset())
    allowed = required | _OPTIONAL.get(kind, frozenset())
    problems = [f"{name}: required by a {kind} rule" for name in sorted(required - set(given))]
    problems += [
        f"{name}: not a setting of a {kind} rule"
        for name in sorted(set(given) - allowed)
        if name in _RANGES
    ]
    for rearm, level in _REARM:
        fire, back = given.get(level), given.get(rearm)
        if not (isinstance(fire, int) and isinstance(back, int)):
            continue
        if kind is AlertKind.USED_PERCENT and back > fire:
            problems.append(f"{rearm}: must be at most {level} ({back} > {fire})")
        elif kind is not AlertKind.USED_PERCENT and back < fire:
            problems.append(f"{rearm}: must be at least {level} ({back} < {fire})")
    return problems


def _channel_problems(channels: Sequence[str], email: str | None) -> list[str]:
    problems = []
    known = {c.value for c in Channel}
    if not channels:
        problems.append(f"channels: at least one of {sorted(known)}")
    problems += [
        f"channels: {c!r} is not one of {sorted(known)}" for c in channels if c not in known
    ]
    if Channel.EMAIL in channels and not email:
        problems.append("email: the email channel needs an address")
    if email is not None and (len(email) > 320 or not _EMAIL.match(email)):
        problems.append(f"email: {email!r} is not an e-mail address")
    if email is not None and Channel.EMAIL not in channels:
        problems.append("email: given, but the email channel is not chosen")
    return problems


def rule_problems(
    kind: str, params: Mapping[str, object], channels: Sequence[str], email: str | None
) -> list[str]:
    """Every problem of a rule's definition (an empty list: it is valid)."""
    problems = []
    try:
        chosen: AlertKind | None = AlertKind(kind)
    except ValueError:
        chosen = None
        problems.append(f"kind: {kind!r} is not one of {[k.value for k in AlertKind]}")
    given = {name: value for name, value in params.items() if value is not None}
    problems += _range_problems(given)
    if chosen is not None:
        problems += _kind_problems(chosen, given)
    problems += _channel_problems(channels, email)
    return problems


def make_rule(
    rule_id: str,
    org_id: str,
    kind: str,
    *,
    params: Mapping[str, object],
    channels: Sequence[str],
    email: str | None,
    created_at: datetime,
) -> AlertRule:
    """A new rule, checked whole.

    Raises:
        InvalidAlertRule: listing every problem.
    """
    problems = rule_problems(kind, params, channels, email)
    if problems:
        raise InvalidAlertRule(problems)
    given = {name: value for name, value in params.items() if value is not None}
    ordered = tuple(c for c in Channel if c in channels)
    return AlertRule(
        rule_id, org_id, AlertKind(kind), parse_params(given), ordered, email, created_at
    )
