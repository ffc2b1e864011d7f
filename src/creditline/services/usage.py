"""Recording usage (C1, C5, C7, A3, A4, C4, D6): price, gate and charge events, exactly once.

A batch of events is one transaction. Its organizations are locked together, in the
order of their ids (so two batches never deadlock), then each event is decided in
order: a duplicate id answers with its first outcome; the plan's gates may refuse it;
the rate card version in force at the event's timestamp prices it; the spendable
grants pay for it in the consumption order, and what they cannot cover is settled
by the depletion policy (refused, or taken as flex or unlimited credits). Every
accepted and refused event is stored with its outcome under a unique (organization,
event id) key in the same transaction as its ledger entries, so a retry can never
charge twice. Each organization's and each grant's change is written once per batch.

Corrections: :func:`void_event` gives an event's credits back to the grants they came
from (``void`` entries; the grants keep their expiry); :func:`amend_event` re-prices it
with corrected quantities at its original timestamp and charges or gives back the
difference.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from hashlib import sha256
from typing import Any

from creditline.domain.errors import (
    CreditlineError,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidUsage,
    NotFound,
    OrganizationNotFound,
    PlanGateRefused,
    RateCardNotFound,
    UnknownOperation,
    UsageEventNotFound,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import DepletionPolicy, Gates, Plan, check_gates
from creditline.domain.pricing import Charge, RateCardHistory, Step
from creditline.domain.spending import Allocation, Pool
from creditline.domain.time import Clock
from creditline.domain.usage import EventResult, EventStatus, Metering, StoredUsage, UsageEvent
from creditline.services.flex import FlexAccount
from creditline.services.ids import new_id
from creditline.services.posting import Attribution, post
from creditline.services.unit_of_work import UnitOfWork

__all__ = ["AmendEvent", "RecordUsage", "amend_event", "record_usage", "void_event"]

_PRICING_ERRORS = (InvalidUsage, UnknownOperation, NotFound)


@dataclass(frozen=True, slots=True)
class RecordUsage:
    events: Sequence[UsageEvent]


@dataclass(frozen=True, slots=True)
class AmendEvent:
    org_id: str
    event_id: str
    quantities: dict[str, Any]
    dimensions: dict[str, str] | None = None


def _rejected(event: UsageEvent, exc: CreditlineError) -> EventResult:
    return EventResult(event.event_id, EventStatus.REJECTED, 0, str(exc), exc)


def _replayed(stored: StoredUsage) -> EventResult:
    reason = stored.reason
    if stored.status == "voided":
        reason = "the event was voided; its credits were given back"
    return EventResult(
        stored.event_id, EventStatus.DUPLICATE, stored.cost, reason, None,
        stored.rate_card, stored.components,
    )  # fmt: skip


def _again(result: EventResult) -> EventResult:
    """An event sent twice in one batch: the second answers with the first's outcome."""
    return result._replace(status=EventStatus.DUPLICATE, error=None)


class _Org:
    """One organization's part of a batch, while its events are decided in order.

    What the events take from each grant is netted per (grant, project, member) and
    written as one consume entry each when the batch ends (:meth:`entries`).
    """

    def __init__(
        self, uow: UnitOfWork, metering: Metering, pool: Pool, now: datetime, batch_id: str
    ) -> None:
        self.uow = uow
        self.m = metering
        self.pool = pool
        self.now = now
        self.batch_id = batch_id
        self.gated = metering.plan.gates != _NO_GATES
        self.flex = FlexAccount(uow, metering, pool, now)
        self.consumed: dict[tuple[str, str | None, str | None], list[Any]] = {}
        self.rows: list[StoredUsage] = []
        self.seen: dict[str, tuple[str, EventResult]] = {}
        self._attribution: Attribution | None = None

    def decide(self, event: UsageEvent, history: RateCardHistory | None) -> EventResult:
        request_hash = sha256(event.request_key().encode()).hexdigest()
        prior = self.seen.get(event.event_id)
        if prior is not None:
            if prior[0] != request_hash:
                return _rejected(event, IdempotencyKeyReused(event.event_id))
            return _again(prior[1])
        charge = None
        try:
            if event.project_id is not None or event.member_id is not None:
                if self._attribution is None:
                    self._attribution = Attribution(self.uow, self.m.org_id)
                self._attribution.check(event.project_id, event.member_id)
            # Priced before gated: bad input (an unknown mode) is rejected, not refused.
            charge = _charge(history, self.m.rate_card, event)
            if self.gated:
                _check_gates(self.m.plan, event)
        except PlanGateRefused as exc:
            return self._store(event, request_hash, EventStatus.REFUSED, charge, error=exc)
        except _PRICING_ERRORS as exc:
            return _rejected(event, exc)
        return self._charge(event, request_hash, charge)

    def _charge(self, event: UsageEvent, request_hash: str, charge: Charge) -> EventResult:
        """Take a priced event's cost from the grants (netted per grant, project, member)."""
        cost, pool = charge.total, self.pool
        try:
            allocations = pool.take(cost) if 0 < cost <= pool.available else self.flex.take(cost)
        except InsufficientCredits as exc:
            reason = str(exc)
            if self.m.depletion is DepletionPolicy.READ_ONLY:
                reason += "; the organization is read-only until credits are bought"
            return self._store(
                event, request_hash, EventStatus.REFUSED, charge, error=exc, reason=reason
            )
        consumed = self.consumed
        for grant_id, amount in allocations:
            key = (grant_id, event.project_id, event.member_id)
            taken = consumed.get(key)
            if taken is None:
                consumed[key] = [amount, event.event_id]
            else:
                taken[0] += amount
                taken[1] = None  # several events: the entry names the batch
        return self._store(event, request_hash, EventStatus.ACCEPTED, charge, allocations)

    def _store(
        self,
        event: UsageEvent,
        request_hash: str,
        status: EventStatus,
        charge: Charge | None,
        allocations: tuple[Allocation, ...] = (),
        *,
        error: CreditlineError | None = None,
        reason: str | None = None,
    ) -> EventResult:
        """Keep the event's row and result; a refusal's reason defaults to its error's."""
        if reason is None and error is not None:
            reason = str(error)
        cost, card, components = 0, None, _NO_COMPONENTS
        if charge is not None:
            cost = charge.total if status is EventStatus.ACCEPTED else 0
            card, components = f"{charge.card}@{charge.version}", charge.components
        self.rows.append(
            StoredUsage(event, request_hash, status.value, cost, reason, card, components,
                        allocations, self.batch_id)
        )  # fmt: skip
        result = EventResult(event.event_id, status, cost, reason, error, card, components)
        self.seen[event.event_id] = (request_hash, result)
        return result

    def entries(self) -> list[NewEntry]:
        """One consume entry per (grant, project, member) the batch's events drew from.

        Its cause is the event when one event made it, else the batch.
        """
        org_id, now = self.m.org_id, self.now
        batch = Cause(CauseType.USAGE_BATCH, self.batch_id)
        return [
            NewEntry(org_id, grant_id, EntryType.CONSUME, -amount,
                     batch if event_id is None else Cause(CauseType.USAGE_EVENT, event_id),
                     now, project_id, member_id)
            for (grant_id, project_id, member_id), (amount, event_id) in self.consumed.items()
        ]  # fmt: skip


_NO_GATES = Gates()
_NO_COMPONENTS: tuple[tuple[str, int], ...] = ()


def _check_gates(plan: Plan, event: UsageEvent) -> None:
    """The plan's gates on the event and on each step of a pipeline run."""
    check_gates(plan, event.operation, event.quantities, event.dimensions)
    for step in event.steps:
        check_gates(plan, step.operation, step.quantities, step.dimensions)


def _charge(history: RateCardHistory | None, name: str, event: UsageEvent) -> Charge:
    if history is None:
        raise RateCardNotFound(name)
    if not event.steps:
        return history.charge(
            event.operation, event.quantities, event.dimensions, at=event.occurred_at
        )
    steps = tuple(Step(s.operation, s.quantities, s.dimensions) for s in event.steps)
    return history.charge(
        event.operation, event.quantities, event.dimensions, at=event.occurred_at, steps=steps
    )


class _Histories:
    def __init__(self, uow: UnitOfWork) -> None:
        self.uow = uow
        self.cache: dict[str, RateCardHistory | None] = {}

    def get(self, name: str) -> RateCardHistory | None:
        if name not in self.cache:
            self.cache[name] = self.uow.rate_cards.history(name)
        return self.cache[name]


def record_usage(cmd: RecordUsage, uow: UnitOfWork, clock: Clock) -> list[EventResult]:
    """Record a batch of events; one result per event, in order."""
    events = cmd.events
    results: list[EventResult | None] = [None] * len(events)
    by_org: dict[str, list[int]] = {}
    checked_at = clock.now()
    for i, event in enumerate(events):
        problems = event.problems(checked_at)
        if problems:
            results[i] = _rejected(event, InvalidUsage(str(event.operation), problems))
        else:
            by_org.setdefault(event.org_id, []).append(i)
    if not by_org:
        return [r for r in results if r is not None]
    with uow:
        orgs = sorted(by_org)
        metering = uow.usage.metering(orgs, lock=True)
        now = clock.now()
        found = [o for o in orgs if o in metering]
        active = uow.grants.active_many(found)
        stored = uow.usage.existing_many(
            [(o, events[i].event_id) for o in found for i in by_org[o]]
        )
        histories = _Histories(uow)
        batch_id = new_id("ub")
        parts: list[_Org] = []
        for org_id in orgs:
            indexes = by_org[org_id]
            m = metering.get(org_id)
            if m is None:
                for i in indexes:
                    results[i] = _rejected(events[i], OrganizationNotFound(org_id))
                continue
            part = _Org(uow, m, Pool(org_id, active.get(org_id, []), now, m.order), now, batch_id)
            for i in indexes:
                prior = stored.get((org_id, events[i].event_id))
                if prior is not None:
                    part.seen[prior.event_id] = (prior.request_hash, _replayed(prior))
            history = histories.get(m.rate_card)
            decide = part.decide
            for i in indexes:
                results[i] = decide(events[i], history)
            parts.append(part)
        _write(uow, parts, now)
        uow.commit()
    return [r for r in results if r is not None]


def _write(uow: UnitOfWork, parts: list[_Org], now: datetime) -> None:
    entries: list[NewEntry] = []
    deltas: dict[str, int] = {}
    moves: list[tuple[str, int, int]] = []
    for p in parts:
        made = p.entries()
        entries += made
        changes = p.pool.changes()
        deltas.update(changes)
        if made:
            moves.append((p.m.org_id, sum(changes.values()), len(made)))
    uow.usage.add_many([r for p in parts for r in p.rows], now)
    uow.ledger.append(entries, now)
    uow.grants.apply(deltas)
    uow.balances.apply_many(moves, now)


def void_event(org_id: str, event_id: str, uow: UnitOfWork, clock: Clock) -> StoredUsage:
    """Give an accepted event's credits back to the grants that paid for it."""
    with uow:
        if uow.balances.lock(org_id) is None:
            raise OrganizationNotFound(org_id)
        now = clock.now()
        stored = uow.usage.get(org_id, event_id)
        if stored is None:
            raise UsageEventNotFound(event_id)
        if stored.status != EventStatus.ACCEPTED.value:
            return stored  # voided already, or refused: nothing was charged
        cause = Cause(CauseType.USAGE_EVENT, event_id)
        event = stored.event
        entries = [
            NewEntry(org_id, g, EntryType.VOID, a, cause, now, event.project_id, event.member_id)
            for g, a in stored.allocations
        ]
        post(uow, org_id, entries, now)
        voided = stored._replace(status="voided", cost=0, allocations=())
        uow.usage.update(org_id, voided, now)
        uow.commit()
    return voided


def amend_event(cmd: AmendEvent, uow: UnitOfWork, clock: Clock) -> StoredUsage:
    """Re-price an accepted event with corrected usage at its own timestamp."""
    with uow:
        m = uow.usage.metering([cmd.org_id], lock=True).get(cmd.org_id)
        if m is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        stored = uow.usage.get(cmd.org_id, cmd.event_id)
        if stored is None:
            raise UsageEventNotFound(cmd.event_id)
        if stored.status != EventStatus.ACCEPTED.value:
            raise InvalidUsage(stored.event.operation, [f"status: a {stored.status} event"])
        event = stored.event
        amended = UsageEvent(
            event.event_id, event.org_id, event.operation, event.occurred_at, cmd.quantities,
            event.dimensions if cmd.dimensions is None else cmd.dimensions, event.project_id,
            event.member_id, event.parent_id, event.steps, event.metadata,
        )  # fmt: skip
        amended.check(event.occurred_at)
        charge = _charge(uow.rate_cards.history(m.rate_card), m.rate_card, amended)
        _check_gates(m.plan, amended)
        pool = Pool(cmd.org_id, uow.grants.active(cmd.org_id), now, m.order)
        account = FlexAccount(uow, m, pool, now)
        entries, allocations = _difference(account, stored, charge.total, now)
        post(uow, cmd.org_id, entries, now)
        changed = stored._replace(
            event=amended, cost=charge.total, allocations=allocations,
            components=charge.components,
        )  # fmt: skip
        uow.usage.update(cmd.org_id, changed, now)
        uow.commit()
    return changed


def _difference(
    account: FlexAccount, stored: StoredUsage, cost: int, now: datetime
) -> tuple[list[NewEntry], tuple[Allocation, ...]]:
    """Entries that move an event from its stored cost to ``cost``, and its new allocations."""
    event = stored.event
    cause = Cause(CauseType.USAGE_EVENT, event.event_id)
    diff = cost - stored.cost
    if diff > 0:
        extra = account.take(diff)
        entries = [
            NewEntry(event.org_id, g, EntryType.CONSUME, -a, cause, now, event.project_id,
                     event.member_id)
            for g, a in extra
        ]  # fmt: skip
        return entries, stored.allocations + extra
    kept = list(stored.allocations)
    back: list[NewEntry] = []
    give = -diff
    while give:  # give back from the grants drawn last
        grant_id, amount = kept.pop()
        part_back = min(amount, give)
        back.append(
            NewEntry(event.org_id, grant_id, EntryType.VOID, part_back, cause, now,
                     event.project_id, event.member_id)
        )  # fmt: skip
        if amount > part_back:
            kept.append(Allocation(grant_id, amount - part_back))
        give -= part_back
    return back, tuple(kept)
