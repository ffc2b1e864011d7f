"""Alert rules (E2): what a rule watches, its settings and where it stands.

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
                             decline is one signal; see :mod:`~creditline.domain.alerts.evaluation`)
===========================  ===========================================================

"Available" is :attr:`creditline.domain.balances.Balance.general`: spendable now on
any operation, held credits excluded; scoped credits (B7: an onboarding guarantee that
pays only for training runs) are not counted, as they cannot pay for everything and
a cycle's grant, which the percent rules compare with, is general. "Consumed" is the
net of the ``consume``, ``reserve``, ``release`` and ``void`` ledger entries dated in the
window (a hold counts as burnt until it is released), never below zero. All of it is
integer arithmetic on micro-credits: no rate is ever rounded before it is compared.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditline.domain.alerts.kinds import EVENT_TYPES, AlertKind, Channel, RuleState
from creditline.domain.amounts import format_credits

__all__ = [
    "DEFAULT_LOOKBACK_DAYS",
    "AlertParams",
    "AlertRule",
    "AlertState",
    "parse_params",
]

DEFAULT_LOOKBACK_DAYS = 7


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
            AlertKind.GRACE: "the organization's grace state changed",
        }[self.kind]
