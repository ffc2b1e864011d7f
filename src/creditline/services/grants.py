"""Granting credits (B1): one grant, one ``grant`` entry, one balance change."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS, CostBasis
from creditline.domain.errors import IdempotencyKeyReused, InvalidAmount, OrganizationNotFound
from creditline.domain.grants import Grant, GrantKind, GrantSource, NewGrant, SourceType
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.time import Clock
from creditline.services.idempotency import fingerprint
from creditline.services.ids import new_id
from creditline.services.unit_of_work import UnitOfWork

__all__ = ["GrantCredits", "grant_credits"]

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
    ).validate()
    request = {
        "op": "grant",
        "amount": new.amount,
        "kind": new.kind,
        "source": str(new.source),
        "effective_at": new.effective_at if cmd.effective_at else None,
        "expires_at": new.expires_at,
    }
    with uow:
        held = uow.balances.lock(cmd.org_id)
        if held is None:
            raise OrganizationNotFound(cmd.org_id)
        now = clock.now()  # under the lock, so entry times follow entry ids
        if cmd.idempotency_key is not None:
            replay = _replay(uow, cmd.org_id, cmd.idempotency_key, fingerprint(request))
            if replay is not None:
                return replay
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
