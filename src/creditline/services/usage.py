"""Recording usage (C1, C5, C7, A3, A4, C4, D6): price, gate and charge events, exactly once.

A batch of events is one transaction (shared with other callers' commands when it
goes through the group commit writer, see :mod:`creditline.services.charging`). Its
organizations are locked together, in the order of their ids (so two batches never
deadlock), then each event is decided in order by
:func:`creditline.domain.charging.decide`: a duplicate id answers with its first
outcome; the plan's gates may refuse it; the rate card version in force at the
event's timestamp (or, for an event sent without one, at the time it was first
received) prices it; the spendable grants pay for it in the consumption order, and
what they cannot cover is settled by the depletion policy (refused, or taken as flex
or unlimited credits). Every accepted and refused event is stored with its outcome
under a unique (organization, event id) key in the same transaction as its ledger
entries, so a retry can never charge twice. Each organization's and each grant's
change is written once per batch.

Corrections: :func:`void_event` gives an event's credits back to the grants they came
from (``void`` entries; the grants keep their expiry); :func:`amend_event` re-prices it
with corrected quantities at its original timestamp and charges or gives back the
difference (what scoped grants paid is given back first when the amended event is one
they do not cover).

Credit-back (seed 003: "If the agreed acceptance criteria are not met after the
improvement iteration, the training fee is credited"): :func:`credit_back_event` grants
an accepted event's cost as a new general ``refund`` grant whose ``grant`` entry names
the event as its cause (``usage_event:<id>``; the grant's source is ``refund`` with the
event id). Unlike a void, the event stays accepted: the work was done and is reported
as usage; the organization gets its credits back. At most once per event: a second
call answers the grant the first one made.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS
from creditline.domain.charging import Account, Decision, Ledger, check_event_gates, price_event
from creditline.domain.charging import flex_ref as _flex_ref
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidSetting,
    InvalidUsage,
    OrganizationNotFound,
    UsageEventNotFound,
)
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.spending import Allocation
from creditline.domain.time import Clock
from creditline.domain.usage import EventResult, EventStatus, StoredUsage, UsageEvent
from creditline.services import grace
from creditline.services.charging import RecordUsage, apply_group
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.posting import post

__all__ = [
    "AmendEvent",
    "CreditBack",
    "RecordUsage",
    "amend_event",
    "credit_back_event",
    "record_usage",
    "void_event",
]


@dataclass(frozen=True, slots=True)
class AmendEvent:
    org_id: str
    event_id: str
    quantities: dict[str, Any]
    dimensions: dict[str, str] | None = None


def record_usage(cmd: RecordUsage, uow: UnitOfWork, clock: Clock) -> list[EventResult]:
    """Record a batch of events; one result per event, in order."""
    (answer,) = apply_group([cmd], uow, clock)
    results: list[EventResult] = answer.unwrap()
    return results


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
        amended.check(event.at)
        charge = price_event(uow.rate_cards.history(m.rate_card), m.rate_card, amended)
        check_event_gates(m.plan, amended)
        ref = _flex_ref(m, now)
        used = uow.charging.flex_used([(cmd.org_id, ref)]) if ref is not None else {}
        account = Account(m, uow.grants.active(cmd.org_id), used.get(cmd.org_id, 0))
        made = Decision()
        book = Ledger(account, now, new_id, made)
        # Credits of scoped grants that no longer cover the amended event go back first.
        stale, base = _uncovered(uow, stored, amended, now)
        entries, allocations = _difference(book, base, charge.total, now, amended)
        for grant in made.grants:  # flex granted for the extra cost
            uow.grants.add(grant.grant_id, grant.grant, now, seq=grant.seq)
        post(
            uow, cmd.org_id, stale + made.entries + entries, now,
            made={g.grant_id for g in made.grants},
        )  # fmt: skip
        changed = stored._replace(
            event=amended, cost=charge.total, allocations=allocations,
            components=charge.components,
        )  # fmt: skip
        uow.usage.update(cmd.org_id, changed, now)
        uow.commit()
    return changed


def _uncovered(
    uow: UnitOfWork, stored: StoredUsage, amended: UsageEvent, now: datetime
) -> tuple[list[NewEntry], StoredUsage]:
    """Void entries giving back what scoped grants paid for an event whose amended
    dimensions they no longer cover, and the event as if they had never paid."""
    if not stored.allocations:
        return [], stored
    named = {g for g, _ in stored.allocations}
    scoped = {g.id: g.scope for g in uow.charging.grants(sorted(named)) if g.scope is not None}
    stale = [
        a
        for a in stored.allocations
        if a.grant_id in scoped and not scoped[a.grant_id].covers(amended.operation,
                                                                  amended.dimensions)
    ]  # fmt: skip
    if not stale:
        return [], stored
    event, cause = stored.event, Cause(CauseType.USAGE_EVENT, stored.event_id)
    entries = [
        NewEntry(event.org_id, g, EntryType.VOID, a, cause, now, event.project_id, event.member_id)
        for g, a in stale
    ]
    kept = tuple(a for a in stored.allocations if a not in stale)
    return entries, stored._replace(cost=sum(a for _, a in kept), allocations=kept)


def _difference(
    book: Ledger, stored: StoredUsage, cost: int, now: datetime, target: UsageEvent | None = None
) -> tuple[list[NewEntry], tuple[Allocation, ...]]:
    """Entries that move an event from its stored cost to ``cost``, and its new allocations
    (an extra cost is taken for ``target``, the amended event: its scoped grants first)."""
    event = stored.event
    cause = Cause(CauseType.USAGE_EVENT, event.event_id)
    diff = cost - stored.cost
    if diff > 0:
        what = target or event
        extra = book.take(diff, what.operation, what.dimensions)
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


@dataclass(frozen=True, slots=True)
class CreditBack:
    """Credit back an accepted event's cost (see the module docstring)."""

    org_id: str
    event_id: str
    reason: str = "acceptance criteria not met"


_CREDIT_BACK = "credit-back"


def _credit_back_key(event_id: str) -> str:
    """The idempotency record that makes a credit-back happen at most once per event
    (event ids are up to 200 characters, as long as a key may be: hashed)."""
    return f"creditline:{_CREDIT_BACK}:{hashlib.sha256(event_id.encode()).hexdigest()[:40]}"


def credit_back_event(cmd: CreditBack, uow: UnitOfWork, clock: Clock) -> Grant:
    """Grant an accepted event's cost back as a ``refund`` grant caused by the event.

    Raises:
        OrganizationNotFound, UsageEventNotFound: no such organization or event.
        InvalidUsage: the event is not accepted (refused, voided) or cost nothing.
        InvalidSetting: an empty reason, or one over 500 characters.
    """
    reason = cmd.reason.strip() if isinstance(cmd.reason, str) else ""
    if not reason or len(reason) > 500:
        raise InvalidSetting("reason", cmd.reason, "must be 1 to 500 characters")
    key = _credit_back_key(cmd.event_id)
    with uow:
        held = uow.balances.lock(cmd.org_id)
        if held is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()
        stored = uow.usage.get(cmd.org_id, cmd.event_id)
        if stored is None:
            raise UsageEventNotFound(cmd.event_id)
        done = uow.idempotency.get(cmd.org_id, key)
        if done is not None:
            if done[0] != _CREDIT_BACK or "grant_id" not in done[1]:
                raise IdempotencyKeyReused(key)
            grant = uow.grants.get(cmd.org_id, done[1]["grant_id"])
            assert grant is not None, "a credit-back's grant is never deleted"
            return grant
        if stored.status != EventStatus.ACCEPTED.value or stored.cost <= 0:
            what = stored.status if stored.status != EventStatus.ACCEPTED.value else "free"
            raise InvalidUsage(
                stored.event.operation,
                [f"status: a {what} event has no fee to credit back"],
            )
        balance, entry_count = held
        if balance + stored.cost > MAX_MICROS:
            raise InvalidAmount(
                stored.cost, f"the organization's balance would exceed {MAX_MICROS} micro-credits"
            )
        event = stored.event
        new = NewGrant(
            org_id=cmd.org_id,
            kind=GrantKind.REFUND,
            amount=stored.cost,
            effective_at=now,
            expires_at=None,
            source=GrantSource(SourceType.REFUND, cmd.event_id),
            metadata={
                "credit_back": {
                    "event_id": cmd.event_id,
                    "operation": event.operation,
                    "dimensions": dict(event.dimensions),
                    "reason": reason,
                }
            },
        ).validate()
        grant = uow.grants.add(new_id("grt"), new, now, seq=entry_count)
        cause = Cause(CauseType.USAGE_EVENT, cmd.event_id)
        entry = NewEntry(cmd.org_id, grant.id, EntryType.GRANT, stored.cost, cause, now,
                         metadata={"reason": reason})  # fmt: skip
        uow.ledger.append([entry], now)
        uow.balances.apply(cmd.org_id, stored.cost, 1, now)
        grace.restore(uow, cmd.org_id, ("grant", grant.id), now)  # general credits: grace ends
        uow.idempotency.put_many(cmd.org_id, [(key, _CREDIT_BACK, {"grant_id": grant.id})], now)
        uow.commit()
    return grant
