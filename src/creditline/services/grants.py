"""Granting credits (B1): one grant, one ``grant`` entry, one balance change.

A scoped grant (B7, :mod:`creditline.domain.scopes`) is checked against the
organization's rate card when it is made: every operation it names must be priced by
the card (any version), every dimension it limits used by that operation's price, and
every value known to it; otherwise :class:`InvalidGrant` names each problem.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS, CostBasis
from creditline.domain.errors import (
    IdempotencyKeyReused,
    InvalidAmount,
    InvalidGrant,
    InvalidSetting,
    OrganizationNotFound,
)
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.plans import Plan
from creditline.domain.scopes import GrantScope, card_operations, scope_problems
from creditline.domain.time import Clock
from creditline.services import grace
from creditline.services.idempotency import fingerprint
from creditline.services.ids import new_id
from creditline.services.ports.unit_of_work import UnitOfWork
from creditline.services.ratecards import DEFAULT_RATE_CARD

__all__ = ["GrantCredits", "check_plan_scopes", "check_scope", "grant_credits"]

_CAUSE_OF_SOURCE = {
    SourceType.PLAN: CauseType.PLAN_CYCLE,
    SourceType.PURCHASE: CauseType.PURCHASE,
    SourceType.OPERATOR: CauseType.OPERATOR,
    SourceType.REFUND: CauseType.REFUND,
    SourceType.SYSTEM: CauseType.SYSTEM,
}


@dataclass(frozen=True, slots=True)
class GrantCredits:
    """Give an organization ``amount`` micro-credits as a new grant.

    ``effective_at`` defaults to now. ``idempotency_key`` makes a retried grant
    return the grant the first call made.
    """

    org_id: str
    amount: int
    kind: GrantKind = GrantKind.PREPAID
    source: GrantSource = field(default_factory=lambda: GrantSource(SourceType.OPERATOR, "manual"))
    effective_at: datetime | None = None
    expires_at: datetime | None = None
    cost_basis: CostBasis | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    idempotency_key: str | None = None
    scope: GrantScope | None = None


def grant_credits(cmd: GrantCredits, uow: UnitOfWork, clock: Clock) -> Grant:
    new = NewGrant(
        org_id=cmd.org_id,
        kind=cmd.kind,
        amount=cmd.amount,
        effective_at=cmd.effective_at or clock.now(),
        expires_at=cmd.expires_at,
        source=cmd.source,
        cost_basis=cmd.cost_basis,
        metadata=cmd.metadata,
        scope=cmd.scope,
    ).validate()
    request = {
        "op": "grant",
        "amount": new.amount,
        "kind": new.kind,
        "source": str(new.source),
        "effective_at": new.effective_at if cmd.effective_at else None,
        "expires_at": new.expires_at,
    }
    if new.scope is not None:  # only then: the fingerprints of general grants are unchanged
        request["scope"] = new.scope.to_document()
    with uow:
        held = uow.balances.lock(cmd.org_id)
        if held is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()  # under the lock, so entry times follow entry ids
        if cmd.idempotency_key is not None:
            replay = _replay(uow, cmd.org_id, cmd.idempotency_key, fingerprint(request))
            if replay is not None:
                return replay
        if new.scope is not None:
            check_scope(uow, cmd.org_id, new.scope)
        balance, entry_count = held
        if balance + new.amount > MAX_MICROS:
            # The balance column is a signed 64-bit integer: SQLite would silently turn an
            # overflowing sum into a float, PostgreSQL would fail the whole transaction.
            raise InvalidAmount(
                new.amount, f"the organization's balance would exceed {MAX_MICROS} micro-credits"
            )
        grant = uow.grants.add(new_id("grt"), new, now, seq=entry_count)
        cause = Cause(_CAUSE_OF_SOURCE[new.source.type], new.source.ref)
        uow.ledger.append(
            [NewEntry(cmd.org_id, grant.id, EntryType.GRANT, new.amount, cause, now)], now
        )
        uow.balances.apply(cmd.org_id, new.amount, 1, now)
        if new.scope is None:  # general credits end grace (domain/grace.py)
            grace.restore(uow, cmd.org_id, ("grant", grant.id), now)
        if cmd.idempotency_key is not None:
            uow.idempotency.put_many(
                cmd.org_id,
                [(cmd.idempotency_key, fingerprint(request), {"grant_id": grant.id})],
                now,
            )
        uow.commit()
    return grant


def _replay(uow: UnitOfWork, org_id: str, key: str, request_hash: str) -> Grant | None:
    stored = uow.idempotency.get(org_id, key)
    if stored is None:
        return None
    stored_hash, outcome = stored
    if stored_hash != request_hash or "grant_id" not in outcome:
        raise IdempotencyKeyReused(key)
    return uow.grants.get(org_id, outcome["grant_id"])


def check_scope(uow: UnitOfWork, org_id: str, scope: GrantScope) -> None:
    """Refuse a scope the organization's rate card does not know (see the module
    docstring); the caller holds the unit of work open.

    Raises:
        InvalidGrant: every problem, or that the organization has no rate card loaded.
    """
    card = uow.rate_cards.org_card(org_id) or DEFAULT_RATE_CARD
    history = uow.rate_cards.history(card)
    if history is None:
        raise InvalidGrant(
            [f"scope: the organization's rate card {card!r} is not loaded, so its "
             "operations are unknown; load it before granting scoped credits"]
        )  # fmt: skip
    problems = scope_problems(scope, f"rate card {card!r}", card_operations(history.versions))
    if problems:
        raise InvalidGrant(problems)


def check_plan_scopes(uow: UnitOfWork, plans: Sequence[Plan]) -> None:
    """Refuse plans whose scoped grants name what no loaded rate card prices (a plan is
    not tied to one card: an organization on it may be given its card later). With no
    rate card loaded yet there is nothing to check against, and nothing is refused.

    Raises:
        InvalidSetting: naming every problem of every plan.
    """
    scoped = [(plan, _plan_scopes(plan)) for plan in plans]
    if not any(found for _, found in scoped):
        return
    cards = [card for history in uow.rate_cards.histories() for card in history.versions]
    if not cards:
        return
    known = card_operations(cards)
    label = "any loaded rate card"
    for plan, found in scoped:
        problems = [p for where, scope in found for p in scope_problems(scope, label, known, where)]
        if problems:
            raise InvalidSetting("plan", plan.name, "; ".join(problems))


def _plan_scopes(plan: Plan) -> list[tuple[str, GrantScope]]:
    """Each scoped grant of a plan, located as in its document."""
    found = []
    for key, grant in (("signup_grant", plan.signup_grant), ("cycle_grant", plan.cycle_grant)):
        if grant is not None and grant.scope is not None:
            found.append((f"{key}.scope", grant.scope))
    for i, grant in enumerate(plan.extra_signup_grants):
        if grant.scope is not None:
            found.append((f"extra_signup_grants[{i}].scope", grant.scope))
    return found
