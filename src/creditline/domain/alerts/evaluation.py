"""Evaluating alert rules: a rule fires once per crossing of its condition.

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
after the last one it saw (its cursor), then stays armed. So do **grace transitions**
(:mod:`creditline.domain.grace`): a ``grace`` rule fires once per step (grace,
read-only, paused, active again), its event carrying the transition.

"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from creditline.domain.alerts.events import AlertEvent, details, event, iso
from creditline.domain.alerts.kinds import AlertKind, RuleState
from creditline.domain.alerts.readings import Reading, condition
from creditline.domain.alerts.rules import AlertRule, AlertState

__all__ = ["Transition", "evaluate"]

_SIGNAL_KINDS = (AlertKind.PAYMENT_FAILED, AlertKind.GRACE)


@dataclass(frozen=True, slots=True)
class Transition:
    """What one evaluation changed for one rule: its new state and the events fired."""

    rule: AlertRule
    state: AlertState
    events: tuple[AlertEvent, ...] = ()


def _signals(rule: AlertRule, reading: Reading) -> list[tuple[int, dict[str, Any]]]:
    """The signals a signal rule reads, numbered, with what each event carries."""
    if rule.kind is AlertKind.GRACE:
        return [(c.seq, {"transition": dict(c.data)}) for c in reading.grace_changes]
    return [
        (f.seq, {
            "invoice_id": f.invoice_id, "amount_minor": f.amount_minor,
            "currency": f.currency, "reason": f.reason, "failed_at": iso(f.at),
        })
        for f in reading.payment_failures
    ]  # fmt: skip


def _signal_events(rule: AlertRule, state: AlertState, reading: Reading) -> Transition | None:
    new = [(seq, data) for seq, data in _signals(rule, reading) if seq > state.signal_cursor]
    if not new:
        return None
    events = tuple(event(rule, reading, data) for _, data in new)
    moved = replace(
        state,
        signal_cursor=max(seq for seq, _ in new),
        last_fired_at=reading.at,
        fired_count=state.fired_count + len(events),
        updated_at=reading.at,
    )
    return Transition(rule, moved, events)


def evaluate(rule: AlertRule, state: AlertState, reading: Reading) -> Transition | None:
    """The rule's crossing at ``reading``: fire (armed, condition true), re-arm (fired,
    condition false), or ``None`` when nothing changes."""
    if rule.kind in _SIGNAL_KINDS:
        return _signal_events(rule, state, reading)
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
        return Transition(rule, fired, (event(rule, reading, details(rule, reading)),))
    if holds is False and state.state is RuleState.FIRED:
        armed = replace(
            state, state=RuleState.ARMED, last_value=reading.available, updated_at=reading.at
        )
        return Transition(rule, armed)
    return None
