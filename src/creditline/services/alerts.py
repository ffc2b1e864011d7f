"""Alerts (E2): adding and removing rules, and evaluating them (see
:mod:`creditline.domain.alerts` for the rules, crossings and hysteresis).

:func:`evaluate_alerts` is the scheduler's ``alerts`` job. For every organization
with active rules it reads what the rules look at (the available credits, the depletion
policy, the running cycle's grant, the consumption of each lookback window, the new
payment signals) in a read-only transaction and asks the domain which rules cross.
Only an organization where some rule crosses gets a write transaction, which:

1. locks the organization (``uow.balances.lock``: a row lock on PostgreSQL, the
   database write lock on SQLite),
2. reads the rules, their states and the reading again, under the lock,
3. for each crossing, stores the rule's new state and enqueues the event's
   deliveries: one per webhook endpoint subscribed to its type (the organization's and
   the operator's) when the rule has the ``webhook`` channel, and one e-mail when it
   has the ``email`` channel and the engine has a mail server,
4. commits.

**Exactly once per crossing**: a second worker evaluating the same organization waits
for the lock, then finds the state already moved and does nothing; the state and the
deliveries commit together or not at all. Sending is :mod:`creditline.services.
deliveries`' work, after the commit (an outbox): a crash never loses an alert, and
sending is at-least-once.

**Latency**: alerts are tick-driven, not evaluated on the usage path (recording usage
stays as fast as it was); an alert fires within one worker interval of its crossing.

:func:`record_payment_failed` is called by the invoice service in the transaction that
records a declined charge: it writes a numbered signal that ``payment_failed`` rules
fire for.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from creditline.domain.alerts import (
    AlertEvent,
    AlertKind,
    AlertRule,
    AlertState,
    Channel,
    Reading,
    Transition,
    evaluate,
    make_rule,
)
from creditline.domain.balances import summarize
from creditline.domain.deliveries import Delivery, DeliveryStatus
from creditline.domain.errors import AlertRuleNotFound, CreditlineError, OrganizationNotFound
from creditline.domain.money import Money
from creditline.domain.plans import DepletionPolicy
from creditline.domain.time import Clock
from creditline.services.ids import new_id
from creditline.services.ports.payments import Transactions
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "AddAlertRule",
    "AlertRun",
    "add_rule",
    "evaluate_alerts",
    "list_rules",
    "record_payment_failed",
    "remove_rule",
]

PAYMENT_FAILED_SIGNAL = "payment_failed"


@dataclass(frozen=True, slots=True)
class AddAlertRule:
    """Add an alert rule of ``kind`` to ``org_id`` (settings in ``params``, credit amounts
    in micro-credits; see :class:`creditline.domain.alerts.AlertParams`)."""

    org_id: str
    kind: str
    params: Mapping[str, object]
    channels: Sequence[str]
    email: str | None = None


@dataclass(frozen=True, slots=True)
class AlertRun:
    """What one :func:`evaluate_alerts` run did.

    Attributes:
        organizations: organizations whose rules were evaluated.
        events: the events fired, in order.
        rearmed: rules that re-armed.
        deliveries: deliveries enqueued (webhooks and e-mails).
        failed: organizations whose evaluation failed, with the error (retried next run).
    """

    organizations: int = 0
    events: tuple[AlertEvent, ...] = ()
    rearmed: int = 0
    deliveries: int = 0
    failed: tuple[tuple[str, CreditlineError], ...] = field(default=())


# -- rules -----------------------------------------------------------------------------------


def add_rule(cmd: AddAlertRule, uow: UnitOfWork, clock: Clock) -> AlertRule:
    """Add a rule; it starts armed (a ``payment_failed`` rule from the next decline).

    Raises:
        InvalidAlertRule: listing every problem; OrganizationNotFound.
    """
    with uow:
        if uow.balances.lock(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        rule = make_rule(
            new_id("alr"), cmd.org_id, cmd.kind, params=cmd.params, channels=cmd.channels,
            email=cmd.email, created_at=now,
        )  # fmt: skip
        state = AlertState(
            rule.id, updated_at=now, signal_cursor=uow.alerts.last_signal(cmd.org_id)
        )
        uow.alerts.add_rule(rule, state)
        uow.commit()
    return replace(rule, state=state)


def list_rules(org_id: str, uow: UnitOfWork, include_disabled: bool = False) -> list[AlertRule]:
    with uow:
        if uow.balances.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.alerts.rules(org_id, include_disabled)


def remove_rule(rule_id: str, org_id: str | None, uow: UnitOfWork, clock: Clock) -> AlertRule:
    """Disable a rule (it is kept, with its deliveries); removing it again is a no-op.

    Raises:
        AlertRuleNotFound: no such rule (or not ``org_id``'s).
    """
    with uow:
        rule = uow.alerts.rule(rule_id)
        if rule is None or (org_id is not None and rule.org_id != org_id):
            raise AlertRuleNotFound(rule_id)
        uow.alerts.disable_rule(rule_id, clock.now())
        found = uow.alerts.rule(rule_id)
        uow.commit()
    assert found is not None
    return found


# -- signals ---------------------------------------------------------------------------------


def record_payment_failed(
    uow: UnitOfWork,
    org_id: str,
    invoice_id: str,
    *,
    attempt: int,
    amount: Money,
    reason: str,
    now: datetime,
) -> bool:
    """Record a declined charge of an invoice (its ``attempt``-th), once; in the caller's
    transaction. Whether it is new."""
    data = {"invoice_id": invoice_id, "attempt": attempt, "amount_minor": amount.minor,
            "currency": amount.currency, "reason": reason}  # fmt: skip
    return uow.alerts.add_signal(
        org_id, PAYMENT_FAILED_SIGNAL, f"{invoice_id}:{attempt}", data, now
    )


# -- evaluation ------------------------------------------------------------------------------


def _reading(uow: UnitOfWork, org_id: str, rules: Sequence[AlertRule], now: datetime) -> Reading:
    cached = uow.balances.get(org_id)
    if cached is None:
        raise OrganizationNotFound(org_id)
    total, _, held = cached
    # General credits: scoped ones (B7) pay only for some operations, and a cycle's
    # grant, which the percent rules compare with, is general.
    available = summarize(org_id, total, uow.grants.active(org_id), now, held).general
    metering = uow.usage.metering([org_id])[org_id]
    kinds = {r.kind for r in rules}
    percent_kinds = {AlertKind.REMAINING_BELOW_PERCENT, AlertKind.USED_PERCENT}
    grant = _cycle_grant(uow, org_id, now) if kinds & percent_kinds else None
    windows = {r.params.lookback for r in rules if r.kind is AlertKind.FORECAST_DEPLETION}
    consumed = {d: uow.alerts.consumed(org_id, now - timedelta(days=d), now) for d in windows}
    paid = _cursor(rules, AlertKind.PAYMENT_FAILED)
    failures = uow.alerts.payment_failures(org_id, paid) if paid is not None else []
    graced = _cursor(rules, AlertKind.GRACE)
    changes = uow.alerts.grace_changes(org_id, graced) if graced is not None else []
    return Reading(
        org_id, now, available, metering.depletion is DepletionPolicy.READ_ONLY, grant,
        consumed, tuple(failures), tuple(changes),
    )  # fmt: skip


def _cursor(rules: Sequence[AlertRule], kind: AlertKind) -> int | None:
    """The lowest cursor of the rules of a signal ``kind`` (``None``: no such rule)."""
    cursors = [r.state.signal_cursor for r in rules if r.kind is kind and r.state is not None]
    return min(cursors) if cursors else None


def _cycle_grant(uow: UnitOfWork, org_id: str, now: datetime) -> int | None:
    """What the subscription granted for the cycle running at ``now`` (``None``: no
    subscription, or the cycle is not renewed yet)."""
    sub = uow.subscriptions.get(org_id)
    if sub is None or not sub.active or now < sub.anchored_at:
        return None
    cycle = sub.cycle_at(now)
    latest = uow.subscriptions.renewals(org_id, 1, sub.anchor_no)
    if not latest or latest[0].cycle.index != cycle.index:
        return None
    return latest[0].amount


def _transitions(uow: UnitOfWork, org_id: str, now: datetime) -> list[Transition]:
    rules = uow.alerts.rules(org_id)
    if not rules:
        return []
    reading = _reading(uow, org_id, rules, now)
    found = []
    for rule in rules:
        assert rule.state is not None
        moved = evaluate(rule, rule.state, reading)
        if moved is not None:
            found.append(moved)
    return found


def _body(event: AlertEvent) -> str:
    """The exact JSON text sent and signed."""
    return json.dumps(event.payload(), separators=(",", ":"), ensure_ascii=False)


def _deliveries(uow: UnitOfWork, moved: Transition, now: datetime, email: bool) -> list[Delivery]:
    rule = moved.rule
    endpoints = uow.webhooks.subscribers(rule.org_id) if Channel.WEBHOOK in rule.channels else []
    out = []
    for event in moved.events:
        body = _body(event)
        targets: list[tuple[Channel, str | None, str | None]] = [
            (Channel.WEBHOOK, e.id, None) for e in endpoints if e.wants(rule.org_id, event.type)
        ]
        if email and Channel.EMAIL in rule.channels and rule.email:
            targets.append((Channel.EMAIL, None, rule.email))
        out += [
            Delivery(new_id("msg"), channel, endpoint, recipient, rule.org_id, rule.id,
                     event.type, body, DeliveryStatus.PENDING, 0, now, now)
            for channel, endpoint, recipient in targets
        ]  # fmt: skip
    return out


def _apply(
    org_id: str, clock: Clock, email: bool
) -> Callable[[UnitOfWork], tuple[list[Transition], int]]:
    def work(uow: UnitOfWork) -> tuple[list[Transition], int]:
        if uow.balances.lock(org_id) is None:
            return [], 0
        now = clock.now()  # under the lock
        moves = _transitions(uow, org_id, now)
        deliveries: list[Delivery] = []
        for moved in moves:
            uow.alerts.save_state(moved.state)
            deliveries += _deliveries(uow, moved, now, email)
        uow.webhooks.add_deliveries(deliveries, now)
        uow.commit()
        return moves, len(deliveries)

    return work


def _page(limit: int, after: str | None) -> Callable[[UnitOfWork], list[str]]:
    return lambda uow: uow.alerts.orgs_with_rules(limit, after)


def _look(org_id: str, now: datetime) -> Callable[[UnitOfWork], list[Transition]]:
    return lambda uow: _transitions(uow, org_id, now)


def evaluate_alerts(
    tx: Transactions, clock: Clock, *, email: bool = False, page: int = 500
) -> AlertRun:
    """Evaluate every active rule once (see the module docstring); ``email`` says
    whether e-mails are enqueued (the engine has a mail server)."""
    checked, rearmed, enqueued = 0, 0, 0
    events: list[AlertEvent] = []
    failed: list[tuple[str, CreditlineError]] = []
    after: str | None = None
    while True:
        orgs = tx(_page(page, after), read_only=True)
        for org_id in orgs:
            checked += 1
            try:
                if not tx(_look(org_id, clock.now()), read_only=True):
                    continue
                moves, count = tx(_apply(org_id, clock, email))
            except CreditlineError as exc:
                failed.append((org_id, exc))
                continue
            events += [e for m in moves for e in m.events]
            rearmed += sum(1 for m in moves if not m.events)
            enqueued += count
        if len(orgs) < page:
            return AlertRun(checked, tuple(events), rearmed, enqueued, tuple(failed))
        after = orgs[-1]
