"""Debits: a spend or a negative adjustment taken from the grants, and its outcome as
stored under an idempotency key (and replayed from there)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditline.domain.api_keys import ApiKey
from creditline.domain.charging.caps import check_operation, check_room, count, slot_of
from creditline.domain.charging.commands import DebitResult, DebitStatus, Spend
from creditline.domain.charging.ledger import Ledger, key_replay
from creditline.domain.charging.outcome import Decision
from creditline.domain.errors import (
    BudgetExceeded,
    CreditlineError,
    InsufficientCredits,
    KeyCapExceeded,
)
from creditline.domain.ledger import Cause, CauseType, EntryType, NewEntry
from creditline.domain.spending import Allocation

__all__ = ["debit_from_outcome", "debit_outcome", "spend"]


_ACCEPTED = DebitStatus.ACCEPTED


def debit_outcome(result: DebitResult) -> dict[str, Any]:
    """A debit's outcome as stored under its idempotency key."""
    assert result.cause is not None
    stored: dict[str, Any] = {
        "status": result.status.value,
        "amount": result.amount,
        "cause": [result.cause.type.value, result.cause.ref],
        "allocations": [[a.grant_id, a.amount] for a in result.allocations],
    }
    error = result.error
    if isinstance(error, KeyCapExceeded):
        stored["key_cap"] = [error.key_id, error.cap, error.used, error.needed, error.window]
    if isinstance(error, InsufficientCredits):
        stored["needed"] = error.needed
        stored["available"] = error.available
        if error.flex_limit is not None:
            stored["flex_limit"] = error.flex_limit
            stored["flex_used"] = error.flex_used
        if error.overdue_invoice is not None:
            stored["overdue_invoice"] = error.overdue_invoice
        if error.grace_state is not None:
            stored["grace_state"] = error.grace_state
            stored["grace_since"] = error.grace_since
    elif isinstance(error, BudgetExceeded):
        stored["budget"] = [error.budget_id, error.scope, error.amount, error.used, error.needed]
    return stored


def debit_from_outcome(org_id: str, stored: Mapping[str, Any]) -> DebitResult:
    """A debit's stored outcome, replayed."""
    status = DebitStatus(stored["status"])
    error: CreditlineError | None = None
    capped = stored.get("key_cap")
    if status is DebitStatus.REFUSED and capped is not None:
        error = KeyCapExceeded(*capped)
    elif status is DebitStatus.REFUSED and "budget" in stored:
        error = BudgetExceeded(*stored["budget"])
    elif status is DebitStatus.REFUSED:
        error = InsufficientCredits(
            org_id, stored["needed"], stored["available"],
            flex_limit=stored.get("flex_limit"), flex_used=stored.get("flex_used"),
            overdue_invoice=stored.get("overdue_invoice"),
            grace_state=stored.get("grace_state"), grace_since=stored.get("grace_since"),
        )  # fmt: skip
    return DebitResult(
        status=status,
        amount=stored["amount"],
        cause=Cause(CauseType(stored["cause"][0]), stored["cause"][1]),
        allocations=tuple(Allocation(g, a) for g, a in stored["allocations"]),
        replayed=True,
        error=error,
    )


def _take(book: Ledger, cmd: Spend) -> tuple[Allocation, ...]:
    """Take a debit from the grants, checked first against the budgets covering it (an
    operator's adjustment corrects the grants: no budget counts it)."""
    debit, consuming = cmd.debit, cmd.entry_type is EntryType.CONSUME
    budgets = book.budgets if consuming else None
    if budgets is not None:
        budgets.check(debit.project_id, debit.member_id, debit.amount)
    cause = (cmd.cause.type.value, cmd.cause.ref) if consuming else None
    taken = book.take(debit.amount, debit.operation, debit.dimensions, flex=consuming, cause=cause)
    if budgets is not None:
        budgets.consume(debit.project_id, debit.member_id, debit.amount)
    return taken


def _checked(book: Ledger, cmd: Spend, api_key: ApiKey | None) -> DebitResult | None:
    """A debit's replayed outcome, or its rejection (attribution, the key's operations);
    ``None`` when it goes on."""
    debit, key = cmd.debit, cmd.debit.idempotency_key
    try:
        if key is not None and cmd.request_hash is not None:
            seen = key_replay(book, key, cmd.request_hash)
            if seen is not None:
                first = seen if isinstance(seen, DebitResult) else None
                if first is None:
                    first = debit_from_outcome(book.org_id, seen)
                return first._replace(replayed=True)
        book.check_attribution(debit.project_id, debit.member_id)
        if api_key is not None:
            check_operation(api_key, debit.operation)
    except CreditlineError as exc:
        return DebitResult(DebitStatus.REJECTED, 0, cmd.cause, error=exc)
    return None


def spend(book: Ledger, cmd: Spend, out: Decision, api_key: ApiKey | None = None) -> DebitResult:
    debit, key, cause = cmd.debit, cmd.debit.idempotency_key, cmd.cause
    if (
        key is not None
        or debit.project_id is not None
        or api_key is not None
        or (debit.member_id is not None)
    ):
        done = _checked(book, cmd, api_key)
        if done is not None:
            return done
    slot = None if api_key is None else slot_of(api_key, book.now)
    try:
        if slot is not None and api_key is not None:
            check_room(book.books, out, api_key, slot, debit.amount)
        allocations = _take(book, cmd)
    except (InsufficientCredits, KeyCapExceeded, BudgetExceeded) as exc:
        result = DebitResult(DebitStatus.REFUSED, debit.amount, cause, error=exc)
    else:
        count(out, slot, debit.amount)
        # tuple.__new__ skips the named tuples' generated __new__: this runs per debit.
        append, org_id, kind, now = out.entries.append, book.org_id, cmd.entry_type, book.now
        project, member, meta = debit.project_id, debit.member_id, debit.metadata
        for grant_id, amount in allocations:
            append(
                tuple.__new__(
                    NewEntry, (org_id, grant_id, kind, -amount, cause, now, project, member, meta)
                )
            )
        result = tuple.__new__(
            DebitResult, (_ACCEPTED, debit.amount, cause, allocations, False, None)
        )
    if key is not None and cmd.request_hash is not None:
        book.keys[key] = (cmd.request_hash, result)
        out.keys.append((book.org_id, key, cmd.request_hash, debit_outcome(result)))
    return result
