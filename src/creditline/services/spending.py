"""Spending credits (B2): debits drawn from grants in order, refused whole when short.

One call spends a batch of debits for one organization in one transaction. The
transaction first locks the organization (its balance row), then checks each
debit's idempotency key, then draws the debit from the spendable grants. Each debit
is accepted (entries written), refused (not enough credits: nothing written for it)
or rejected (bad input: nothing written for it); one debit's refusal does not sink
the others. A key is stored with its outcome, a refusal included, so a retry gets
the first answer and never a different one.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, NamedTuple

from creditline.domain.amounts import MAX_MICROS, require_positive_micros
from creditline.domain.errors import (
    CreditlineError,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidSetting,
    OrganizationNotFound,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.spending import Allocation, Pool
from creditline.domain.time import Clock
from creditline.services.idempotency import fingerprint
from creditline.services.ids import new_id
from creditline.services.posting import Attribution
from creditline.services.unit_of_work import UnitOfWork

__all__ = ["Debit", "DebitResult", "DebitStatus", "SpendCredits", "spend_credits"]

MAX_KEY = 200


@dataclass(frozen=True, slots=True)
class Debit:
    """One debit of ``amount`` micro-credits.

    Attributes:
        amount: micro-credits to take (> 0).
        cause: what spent them; defaults to a ``debit`` cause named by the idempotency
            key, or else by the call (all key-less debits of one ``spend_many`` share it).
        project_id, member_id: attribution inside the organization (A1).
        idempotency_key: makes a retried debit return its first outcome.
        metadata: free-form data kept on the entries.
    """

    amount: int
    cause: Cause | None = None
    project_id: str | None = None
    member_id: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class SpendCredits:
    org_id: str
    debits: Sequence[Debit]
    entry_type: EntryType = EntryType.CONSUME


class DebitStatus(enum.StrEnum):
    ACCEPTED = "accepted"
    REFUSED = "refused"
    REJECTED = "rejected"


class DebitResult(NamedTuple):
    """What became of one debit. ``error`` is set unless it was accepted.

    Attributes:
        status: accepted, refused (not enough credits) or rejected (bad input).
        amount: micro-credits debited (0 when rejected).
        cause: the cause written on the entries.
        allocations: which grant paid how much.
        replayed: True when an idempotency key returned a stored outcome.
        error: why it was refused or rejected.
    """

    status: DebitStatus
    amount: int
    cause: Cause | None
    allocations: tuple[Allocation, ...] = ()
    replayed: bool = False
    error: CreditlineError | None = None

    @property
    def accepted(self) -> bool:
        return self.status is DebitStatus.ACCEPTED


_ACCEPTED = DebitStatus.ACCEPTED


@dataclass(slots=True)
class _Prepared:
    debit: Debit
    cause: Cause
    request_hash: str | None


def _prepare(debit: Debit, entry_type: EntryType, default: Cause) -> _Prepared | DebitResult:
    """Validate one debit before any lock is taken; a bad one becomes a rejection."""
    amount = debit.amount
    if (
        type(amount) is int
        and 0 < amount <= MAX_MICROS
        and debit.idempotency_key is None
        and debit.metadata is None
    ):  # the common case, checked without building anything
        return _Prepared(debit, debit.cause or default, None)
    try:
        amount = require_positive_micros(debit.amount)
        key = debit.idempotency_key
        if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
            raise InvalidSetting("idempotency key", key, f"must be 1 to {MAX_KEY} characters")
        if debit.metadata is not None and not isinstance(debit.metadata, dict):
            raise InvalidSetting("metadata", debit.metadata, "must be a mapping")
        cause = debit.cause or (Cause(CauseType.DEBIT, key) if key else default)
    except CreditlineError as exc:
        return DebitResult(DebitStatus.REJECTED, 0, debit.cause, error=exc)
    request_hash = None
    if key is not None:
        request_hash = fingerprint(
            {
                "type": entry_type.value,
                "amount": amount,
                "cause": str(debit.cause) if debit.cause else None,
                "project": debit.project_id,
                "member": debit.member_id,
            }
        )
    return _Prepared(debit, cause, request_hash)


def _outcome(result: DebitResult) -> dict[str, Any]:
    assert result.cause is not None
    stored: dict[str, Any] = {
        "status": result.status.value,
        "amount": result.amount,
        "cause": [result.cause.type.value, result.cause.ref],
        "allocations": [[a.grant_id, a.amount] for a in result.allocations],
    }
    if isinstance(result.error, InsufficientCredits):
        stored["needed"] = result.error.needed
        stored["available"] = result.error.available
    return stored


def _from_outcome(org_id: str, stored: dict[str, Any]) -> DebitResult:
    status = DebitStatus(stored["status"])
    error = None
    if status is DebitStatus.REFUSED:
        error = InsufficientCredits(org_id, stored["needed"], stored["available"])
    return DebitResult(
        status=status,
        amount=stored["amount"],
        cause=Cause(CauseType(stored["cause"][0]), stored["cause"][1]),
        allocations=tuple(Allocation(g, a) for g, a in stored["allocations"]),
        replayed=True,
        error=error,
    )


class _Batch:
    """The state of one spend transaction while its debits are decided in order."""

    def __init__(self, cmd: SpendCredits, uow: UnitOfWork, pool: Pool) -> None:
        self.cmd = cmd
        self.uow = uow
        self.pool = pool
        self.entries: list[NewEntry] = []
        self.keys: list[tuple[str, str, dict[str, Any]]] = []
        self.in_batch: dict[str, tuple[str, DebitResult]] = {}
        self.attribution = Attribution(uow, cmd.org_id)
        self.kind = cmd.entry_type

    def _replay(self, key: str, request_hash: str) -> DebitResult | None:
        if key in self.in_batch:
            seen_hash, seen = self.in_batch[key]
        else:
            stored = self.uow.idempotency.get(self.cmd.org_id, key)
            if stored is None:
                return None
            seen_hash, seen = stored[0], _from_outcome(self.cmd.org_id, stored[1])
        if seen_hash != request_hash:
            raise IdempotencyKeyReused(key)
        return DebitResult(seen.status, seen.amount, seen.cause, seen.allocations, True, seen.error)

    def decide(self, p: _Prepared, now: Any) -> DebitResult:
        debit, key = p.debit, p.debit.idempotency_key
        if key is not None or debit.project_id is not None or debit.member_id is not None:
            try:
                if key is not None and p.request_hash is not None:
                    replay = self._replay(key, p.request_hash)
                    if replay is not None:
                        return replay
                self.attribution.check(debit.project_id, debit.member_id)
            except CreditlineError as exc:
                return DebitResult(DebitStatus.REJECTED, 0, p.cause, error=exc)
        try:
            allocations = self.pool.take(debit.amount)
        except InsufficientCredits as exc:
            result = DebitResult(DebitStatus.REFUSED, debit.amount, p.cause, error=exc)
        else:
            # tuple.__new__ skips the named tuples' generated __new__: this runs per debit.
            append, org_id, kind, cause = self.entries.append, self.cmd.org_id, self.kind, p.cause
            project, member, meta = debit.project_id, debit.member_id, debit.metadata
            for grant_id, amount in allocations:
                append(
                    tuple.__new__(
                        NewEntry,
                        (org_id, grant_id, kind, -amount, cause, now, project, member, meta),
                    )
                )
            result = tuple.__new__(
                DebitResult, (_ACCEPTED, debit.amount, cause, allocations, False, None)
            )
        if key is not None and p.request_hash is not None:
            self.in_batch[key] = (p.request_hash, result)
            self.keys.append((key, p.request_hash, _outcome(result)))
        return result


def spend_credits(cmd: SpendCredits, uow: UnitOfWork, clock: Clock) -> list[DebitResult]:
    """Spend a batch of debits for one organization; one result per debit, in order."""
    if cmd.entry_type not in (EntryType.CONSUME, EntryType.ADJUSTMENT):
        raise InvalidSetting("entry type", cmd.entry_type, "a debit consumes or adjusts")
    # Debits given neither a cause nor a key share one cause: this call.
    default = Cause(CauseType.DEBIT, new_id("dbt"))
    prepared = [_prepare(d, cmd.entry_type, default) for d in cmd.debits]
    with uow:
        if uow.balances.lock(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        # Read the clock once the lock is held: entries' times then follow their ids.
        now = clock.now()
        org = uow.orgs.get(cmd.org_id)
        assert org is not None
        batch = _Batch(
            cmd, uow, Pool(org.id, uow.grants.active(org.id), now, org.consumption_order)
        )
        results = [p if isinstance(p, DebitResult) else batch.decide(p, now) for p in prepared]
        if batch.entries:
            deltas = batch.pool.changes()
            uow.ledger.append(batch.entries, now)
            uow.grants.apply(deltas)
            uow.balances.apply(org.id, sum(deltas.values()), len(batch.entries), now)
        uow.idempotency.put_many(org.id, batch.keys, now)
        if batch.entries or batch.keys:
            uow.commit()
    return results
