"""What the rules of one organization look at (a reading), and whether a rule's
condition holds on it."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from creditline.domain.alerts.kinds import AlertKind
from creditline.domain.alerts.rules import AlertRule

__all__ = ["GraceChange", "PaymentFailure", "Reading", "condition"]


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
class GraceChange:
    """A grace transition (:mod:`creditline.domain.grace`), numbered ``seq`` per database
    as a signal; ``data`` its record (from, to, cause_type, cause_ref, at)."""

    seq: int
    data: Mapping[str, object]


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
        grace_changes: grace transitions not yet seen by every ``grace`` rule, oldest
            first.
    """

    org_id: str
    at: datetime
    available: int
    read_only_policy: bool = False
    cycle_grant: int | None = None
    consumed: Mapping[int, int] = field(default_factory=dict)
    payment_failures: tuple[PaymentFailure, ...] = ()
    grace_changes: tuple[GraceChange, ...] = ()


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
