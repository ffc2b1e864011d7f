"""Checks made before any lock is taken: a hold, a settlement or a debit that can never
be made is refused (or, a debit, rejected) without loading anything."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta
from typing import Any

from creditline.domain.amounts import MAX_MICROS, require_positive_micros
from creditline.domain.charging.commands import (
    MAX_KEY,
    MAX_TTL,
    Debit,
    DebitResult,
    DebitStatus,
    Extend,
    Increase,
    Reserve,
    Settle,
    Spend,
    fingerprint,
)
from creditline.domain.errors import CreditlineError, InvalidAmount, InvalidSetting
from creditline.domain.ledger import Cause, CauseType, EntryType

__all__ = [
    "check_extend",
    "check_increase",
    "check_reserve",
    "check_settle",
    "increase_fingerprint",
    "check_target",
    "prepare_debit",
    "reserve_fingerprint",
]


def check_reserve(cmd: Reserve) -> None:
    """Raise for a hold that can never be made (bad amount, time-to-live, metadata)."""
    require_positive_micros(cmd.amount)
    if not isinstance(cmd.ttl, timedelta) or not timedelta(0) < cmd.ttl <= MAX_TTL:
        raise InvalidSetting("time-to-live", cmd.ttl, f"must be above zero and at most {MAX_TTL}")
    if not isinstance(cmd.metadata, dict):
        raise InvalidSetting("metadata", cmd.metadata, "must be a mapping")
    check_target(cmd.operation, cmd.dimensions)


def check_target(operation: object, dimensions: object) -> None:
    """Raise for a hold's or a debit's ``operation`` and ``dimensions`` that are not names."""
    if operation is None:
        if dimensions is not None:
            raise InvalidSetting("dimensions", dimensions, "need an operation")
        return
    if not isinstance(operation, str) or not 0 < len(operation) <= 200 or operation.isspace():
        raise InvalidSetting("operation", operation, "must be an operation name")
    if dimensions is None:
        return
    if not isinstance(dimensions, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and len(k) <= 200 and len(v) <= 200
        for k, v in dimensions.items()
    ):
        raise InvalidSetting("dimensions", dimensions, "must map dimension names to values")


def _target(operation: str | None, dimensions: Mapping[str, str] | None) -> dict[str, Any]:
    """What a hold or a debit is for, in its fingerprint (nothing when it names nothing,
    so the fingerprints of requests made before scopes existed are unchanged)."""
    if operation is None:
        return {}
    return {"operation": operation, "dimensions": dict(sorted((dimensions or {}).items()))}


def reserve_fingerprint(cmd: Reserve) -> str:
    return fingerprint(
        {"op": "reserve", "amount": cmd.amount, "ttl": cmd.ttl.total_seconds(),
         "cause": str(cmd.cause) if cmd.cause else None,
         **_target(cmd.operation, cmd.dimensions)}
    )  # fmt: skip


def check_settle(cmd: Settle) -> None:
    if cmd.amount is not None and (
        isinstance(cmd.amount, bool) or not isinstance(cmd.amount, int) or cmd.amount < 0
    ):
        raise InvalidAmount(cmd.amount, "a committed cost is a whole number of micro-credits >= 0")
    if cmd.quote_id is not None:
        quote_id = cmd.quote_id
        if not isinstance(quote_id, str) or not quote_id or len(quote_id) > MAX_KEY:
            raise InvalidSetting("quote id", quote_id, f"must be 1 to {MAX_KEY} characters")
        if not cmd.final:
            raise InvalidSetting("final", cmd.final, "a commit at a quoted price is final")


def check_extend(cmd: Extend) -> None:
    """Raise for a heartbeat that can never be made (its time-to-live)."""
    if not isinstance(cmd.ttl, timedelta) or not timedelta(0) < cmd.ttl <= MAX_TTL:
        raise InvalidSetting("time-to-live", cmd.ttl, f"must be above zero and at most {MAX_TTL}")


def check_increase(cmd: Increase) -> None:
    """Raise for an increase that can never be made (its amount, its key)."""
    require_positive_micros(cmd.amount)
    key = cmd.idempotency_key
    if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
        raise InvalidSetting("idempotency key", key, f"must be 1 to {MAX_KEY} characters")


def increase_fingerprint(cmd: Increase) -> str:
    return fingerprint({"op": "increase", "reservation": cmd.reservation_id, "amount": cmd.amount})


def prepare_debit(
    org_id: str, debit: Debit, entry_type: EntryType, default: Cause
) -> Spend | DebitResult:
    """Check one debit before any lock is taken; a bad one becomes a rejection."""
    amount = debit.amount
    if (
        type(amount) is int
        and 0 < amount <= MAX_MICROS
        and debit.idempotency_key is None
        and debit.metadata is None
        and debit.operation is None
        and debit.dimensions is None
    ):  # the common case, checked without building anything
        return Spend(org_id, debit, debit.cause or default, None, entry_type)
    try:
        amount = require_positive_micros(debit.amount)
        key = debit.idempotency_key
        if key is not None and (not isinstance(key, str) or not key or len(key) > MAX_KEY):
            raise InvalidSetting("idempotency key", key, f"must be 1 to {MAX_KEY} characters")
        if debit.metadata is not None and not isinstance(debit.metadata, dict):
            raise InvalidSetting("metadata", debit.metadata, "must be a mapping")
        check_target(debit.operation, debit.dimensions)
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
                **_target(debit.operation, debit.dimensions),
            }
        )
    return Spend(org_id, debit, cause, request_hash, entry_type)
