"""Alerts (E2): rules on an organization's credits that fire once per crossing.

An **alert rule** belongs to one organization and watches one condition:

===========================  ===========================================================
kind                         the condition is true when...
===========================  ===========================================================
``remaining_below``          available credits < ``threshold`` (micro-credits)
``remaining_below_percent``  available credits < ``percent`` % of the running cycle's
                             grant (what the subscription granted for this cycle):
                             strictly below, so at 50 it fires once *more* than half
                             is used
``used_percent``             used credits >= ``percent`` % of the running cycle's
                             grant, where used = grant - available: "alert at 50%
                             used" fires the moment half is used (remaining <= 50 %)
``depleted``                 available credits == 0
``read_only``                the depletion policy in force is ``read_only`` and the
                             available credits are 0 (the platform locks writes, A3)
``forecast_depletion``       at the recent burn rate the available credits last at most
                             ``days`` days: ``available * lookback_days <= days *
                             consumed``, where ``consumed`` is what the organization
                             consumed over the last ``lookback_days`` days (default 7)
``payment_failed``           a charge of the saved payment method was declined (each
                             decline is one signal; see below)
===========================  ===========================================================

"Available" is :attr:`creditline.domain.balances.Balance.general`: spendable now on
any operation, held credits excluded; scoped credits (B7: an onboarding guarantee that
pays only for training runs) are not counted, as they cannot pay for everything and
a cycle's grant, which the percent rules compare with, is general. "Consumed" is the
net of the ``consume``, ``reserve``, ``release`` and ``void`` ledger entries dated in the
window (a hold counts as burnt until it is released), never below zero. All of it is
integer arithmetic on micro-credits: no rate is ever rounded before it is compared.

**Crossings.** A rule is ``armed`` while its condition is false. When an evaluation
finds it true, the rule *fires* (one event) and becomes ``fired``; it fires again
only after an evaluation has found the condition false (it re-arms) and a later one
finds it true again. A new rule starts armed, so a condition that is already true
fires at the first evaluation.

**Hysteresis.** The threshold rules can re-arm at a higher level than they fire at,
so that a balance hovering around the threshold does not alert on every wobble:
``remaining_below`` re-arms when available >= ``rearm_above`` (default: the
threshold), ``remaining_below_percent`` when available >= ``rearm_percent`` % of the
grant (default: the percent), ``used_percent`` when used < ``rearm_percent`` % of
the grant (at most the percent; default: the percent), ``forecast_depletion`` when the
forecast is beyond ``rearm_days`` (default: the days). Between the two levels the
rule keeps its state. Evaluations also sample: a wobble shorter than the time between
two evaluations is never seen. A condition that cannot be judged (a percent rule without a running
cycle grant) keeps the rule's state too.

**Payment failures** are events, not levels: each declined charge is recorded as a
numbered signal, and a ``payment_failed`` rule fires once for every signal numbered
after the last one it saw (its cursor), then stays armed.

**Events** (:class:`AlertEvent`) follow the Standard Webhooks payload shape::

    {"type": "credits.below_threshold", "timestamp": "2026-03-01T00:00:00+00:00",
     "data": {"org_id": "org_...", "rule": {"id": "alr_...", "kind": ..., ...},
              "available_micros": 4000000, "available": "4", ...}}

Every credit amount appears as an integer of micro-credits (``..._micros``) and as
exact credit text.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from creditline.domain.amounts import MAX_MICROS, format_credits
from creditline.domain.errors import InvalidAlertRule

__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "EVENT_TYPES",
    "AlertEvent",
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

DEFAULT_LOOKBACK_DAYS = 7
_MAX_DAYS = 3650
_MAX_LOOKBACK_DAYS = 366
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class AlertKind(enum.StrEnum):
    REMAINING_BELOW = "remaining_below"
    REMAINING_BELOW_PERCENT = "remaining_below_percent"
    USED_PERCENT = "used_percent"
    DEPLETED = "depleted"
    READ_ONLY = "read_only"
    FORECAST_DEPLETION = "forecast_depletion"
    PAYMENT_FAILED = "payment_failed"


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
}
"""The event type each kind of rule fires (a webhook endpoint can subscribe to some)."""


def event_types() -> tuple[str, ...]:
    """Every event type an alert can fire, sorted."""
    return tuple(sorted(set(EVENT_TYPES.values())))


# -- rules --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AlertParams:
    """A rule's settings; which ones a kind takes is in the module docstring.

    Attributes:
        threshold: ``remaining_below``: fire below this many micro-credits.
        rearm_above: ``remaining_below``: re-arm at or above this (default: threshold).
        percent: ``remaining_below_percent``: fire below this percent of the cycle grant;
            ``used_percent``: fire when at least this percent of it is used.
        rearm_percent: ``remaining_below_percent``: re-arm at or above this percent;
            ``used_percent``: re-arm when less than this percent is used (default:
            percent).
        days: ``forecast_depletion``: fire when the credits last at most this many days.
        rearm_days: re-arm when they last longer than this (default: days).
        lookback_days: the burn rate's window, in days (default 7).
    """

    threshold: int | None = None
    rearm_above: int | None = None
    percent: int | None = None
    rearm_percent: int | None = None
    days: int | None = None
    rearm_days: int | None = None
    lookback_days: int | None = None

    def to_document(self) -> dict[str, int]:
        """The settings that are set, by name (how they are stored and shown)."""
        return {name: value for name in _PARAM_NAMES if (value := getattr(self, name)) is not None}

    @property
    def lookback(self) -> int:
        return self.lookback_days or DEFAULT_LOOKBACK_DAYS


_PARAM_NAMES = (
    "threshold", "rearm_above", "percent", "rearm_percent", "days", "rearm_days",
    "lookback_days",
)  # fmt: skip

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


def parse_params(raw: Mapping[str, Any]) -> AlertParams:
    """Settings from their stored form (:meth:`AlertParams.to_document`)."""
    return AlertParams(**{name: raw[name] for name in _PARAM_NAMES if name in raw})


@dataclass(frozen=True, slots=True)
class AlertState:
    """Where a rule stands.

    Attributes:
        rule_id: the rule.
        state: ``armed`` (will fire when its condition turns true) or ``fired``.
        last_fired_at: when it last fired.
        last_value: the available micro-credits seen when its state last changed.
        signal_cursor: ``payment_failed``: the last payment signal it fired for.
        fired_count: how many events it has fired.
        updated_at: when its state last changed.
    """

    rule_id: str
    state: RuleState = RuleState.ARMED
    last_fired_at: datetime | None = None
    last_value: int | None = None
    signal_cursor: int = 0
    fired_count: int = 0
    updated_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class AlertRule:
    """An alert rule of one organization (see the module docstring).

    Attributes:
        id: ``alr_...``.
        org_id: the organization watched.
        kind: what it watches.
        params: its settings.
        channels: where its events go.
        email: the address of the ``email`` channel.
        created_at: when it was added.
        disabled_at: when it was removed (it is kept for its deliveries' sake).
        state: where it stands (``None`` when not read with it).
    """

    id: str
    org_id: str
    kind: AlertKind
    params: AlertParams
    channels: tuple[Channel, ...]
    email: str | None
    created_at: datetime
    disabled_at: datetime | None = None
    state: AlertState | None = None

    @property
    def event_type(self) -> str:
        return EVENT_TYPES[self.kind]

    @property
    def active(self) -> bool:
        return self.disabled_at is None

    def describe(self) -> str:
        """The rule in words: ``remaining below 100 credits``."""
        p = self.params
        if self.kind is AlertKind.REMAINING_BELOW:
            return f"remaining below {format_credits(p.threshold or 0)} credits"
        if self.kind is AlertKind.REMAINING_BELOW_PERCENT:
            return f"remaining below {p.percent}% of the cycle's grant"
        if self.kind is AlertKind.USED_PERCENT:
            return f"used at least {p.percent}% of the cycle's grant"
        if self.kind is AlertKind.FORECAST_DEPLETION:
            return f"depleted within {p.days} days at the last {p.lookback} days' burn rate"
        return {
            AlertKind.DEPLETED: "no credits left",
            AlertKind.READ_ONLY: "the organization is read-only",
            AlertKind.PAYMENT_FAILED: "a payment failed",
        }[self.kind]


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


# -- readings and crossings -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PaymentFailure:
    """A declined charge of the saved payment method, numbered ``seq`` per database."""

    seq: int
    invoice_id: str
    amount_minor: int
    currency: str
    reason: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Reading:
    """What the rules of one organization look at, at one instant.

    Attributes:
        org_id: the organization.
        at: the instant.
        available: spendable micro-credits.
        read_only_policy: the depletion policy in force is ``read_only``.
        cycle_grant: micro-credits granted for the running cycle, or ``None`` without a
            subscription or before the cycle is renewed.
        consumed: per lookback window (days), micro-credits consumed from ``at - days``
            up to and including ``at``.
        payment_failures: payment signals not yet seen by every rule, oldest first.
    """

    org_id: str
    at: datetime
    available: int
    read_only_policy: bool = False
    cycle_grant: int | None = None
    consumed: Mapping[int, int] = field(default_factory=dict)
    payment_failures: tuple[PaymentFailure, ...] = ()


def _forecast(rule: AlertRule, reading: Reading) -> bool | None:
    p = rule.params
    burnt = reading.consumed.get(p.lookback)
    if burnt is None or p.days is None:
        return None
    if burnt <= 0:
        return False
    lasts = reading.available * p.lookback  # compared with days * burnt: no division
    if lasts <= p.days * burnt:
        return True
    rearm = p.rearm_days or p.days
    return False if lasts > rearm * burnt else None


def _used(rule: AlertRule, reading: Reading) -> bool | None:
    p, grant = rule.params, reading.cycle_grant
    if not grant or p.percent is None:
        return None
    used = grant - reading.available  # integers: compared without a division
    if used * 100 >= p.percent * grant:
        return True
    return False if used * 100 < (p.rearm_percent or p.percent) * grant else None


def condition(rule: AlertRule, reading: Reading) -> bool | None:
    """Whether the rule's condition holds (``None``: between its firing and re-arming
    levels, or it cannot be judged: the rule keeps its state). ``payment_failed`` has
    no level: always ``None``."""
    p, available = rule.params, reading.available
    if rule.kind is AlertKind.REMAINING_BELOW:
        assert p.threshold is not None
        if available < p.threshold:
            return True
        return False if available >= (p.rearm_above or p.threshold) else None
    if rule.kind is AlertKind.REMAINING_BELOW_PERCENT:
        grant = reading.cycle_grant
        if not grant or p.percent is None:
            return None
        if available * 100 < p.percent * grant:
            return True
        return False if available * 100 >= (p.rearm_percent or p.percent) * grant else None
    if rule.kind is AlertKind.USED_PERCENT:
        return _used(rule, reading)
    if rule.kind is AlertKind.DEPLETED:
        return available <= 0
    if rule.kind is AlertKind.READ_ONLY:
        return reading.read_only_policy and available <= 0
    if rule.kind is AlertKind.FORECAST_DEPLETION:
        return _forecast(rule, reading)
    return None


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
        return {"type": self.type, "timestamp": _iso(self.at), "data": dict(self.data)}


@dataclass(frozen=True, slots=True)
class Transition:
    """What one evaluation changed for one rule: its new state and the events fired."""

    rule: AlertRule
    state: AlertState
    events: tuple[AlertEvent, ...] = ()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat()


def _amount(name: str, micros: int) -> dict[str, Any]:
    return {f"{name}_micros": micros, name: format_credits(micros)}


def _details(rule: AlertRule, reading: Reading) -> dict[str, Any]:
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
            "depletes_at": _iso(reading.at + timedelta(seconds=seconds)),
        }
    return {}


def _event(rule: AlertRule, reading: Reading, extra: Mapping[str, Any]) -> AlertEvent:
    data = {
        "org_id": rule.org_id,
        "rule": {"id": rule.id, "kind": rule.kind.value, **rule.params.to_document()},
        **_amount("available", reading.available),
        "at": _iso(reading.at),
        **extra,
    }
    return AlertEvent(rule.event_type, rule.org_id, rule.id, reading.at, data)


def _payment_events(rule: AlertRule, state: AlertState, reading: Reading) -> Transition | None:
    new = [f for f in reading.payment_failures if f.seq > state.signal_cursor]
    if not new:
        return None
    events = tuple(
        _event(rule, reading, {
            "invoice_id": f.invoice_id, "amount_minor": f.amount_minor,
            "currency": f.currency, "reason": f.reason, "failed_at": _iso(f.at),
        })
        for f in new
    )  # fmt: skip
    moved = replace(
        state,
        signal_cursor=max(f.seq for f in new),
        last_fired_at=reading.at,
        fired_count=state.fired_count + len(events),
        updated_at=reading.at,
    )
    return Transition(rule, moved, events)


def evaluate(rule: AlertRule, state: AlertState, reading: Reading) -> Transition | None:
    """The rule's crossing at ``reading``: fire (armed, condition true), re-arm (fired,
    condition false), or ``None`` when nothing changes."""
    if rule.kind is AlertKind.PAYMENT_FAILED:
        return _payment_events(rule, state, reading)
    holds = condition(rule, reading)
    if holds is True and state.state is RuleState.ARMED:
        fired = replace(
            state,
            state=RuleState.FIRED,
            last_fired_at=reading.at,
            last_value=reading.available,
            fired_count=state.fired_count + 1,
            updated_at=reading.at,
        )
        return Transition(rule, fired, (_event(rule, reading, _details(rule, reading)),))
    if holds is False and state.state is RuleState.FIRED:
        armed = replace(
            state, state=RuleState.ARMED, last_value=reading.available, updated_at=reading.at
        )
        return Transition(rule, armed)
    return None


# -- e-mail ---------------------------------------------------------------------------------

_SUBJECTS = {
    "credits.below_threshold": "Credits are running low",
    "credits.depleted": "No credits left",
    "org.read_only": "Your organization is read-only",
    "credits.forecast_depletion": "Credits will run out soon",
    "payment.failed": "A payment failed",
}


def email_message(payload: Mapping[str, Any], org_name: str) -> tuple[str, str]:
    """The subject and plain text of an alert's e-mail, from its payload."""
    kind = str(payload.get("type", ""))
    data: Mapping[str, Any] = payload.get("data") or {}
    subject = f"{_SUBJECTS.get(kind, kind)}: {org_name}"
    lines = [f"{subject}.", "", f"Available: {data.get('available', '?')} credits."]
    if "threshold" in data:
        lines.append(f"Threshold: {data['threshold']} credits.")
    if "used" in data:
        lines.append(
            f"Used: {data['used']} of {data.get('cycle_grant')} credits "
            f"(the alert is at {data.get('percent')}% used)."
        )
    elif "percent" in data:
        lines.append(f"Threshold: {data['percent']}% of {data.get('cycle_grant')} credits.")
    if "depletes_at" in data:
        lines.append(
            f"At {data.get('burn_per_day')} credits a day they run out around "
            f"{data['depletes_at']}."
        )
    if "invoice_id" in data:
        lines.append(f"Invoice {data['invoice_id']}: {data.get('reason', '')}")
    lines += ["", f"Organization: {data.get('org_id', '')}", f"Event: {kind}"]
    return subject, "\n".join(lines) + "\n"
