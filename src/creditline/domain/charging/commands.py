"""The commands charging decides (a hold, its settlement, a debit) and what each one
became: the bounds and fingerprint of a request, a settlement, a debit's result."""

from __future__ import annotations

import enum
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, NamedTuple

from creditline.domain.errors import CreditlineError
from creditline.domain.ledger import Cause, EntryType
from creditline.domain.reservations import Reservation
from creditline.domain.spending import Allocation
from creditline.domain.usage import UsageEvent

__all__ = [
    "MAX_KEY",
    "MAX_TTL",
    "Command",
    "Debit",
    "DebitResult",
    "DebitStatus",
    "Extend",
    "Increase",
    "Reserve",
    "Settle",
    "Settlement",
    "Spend",
    "fingerprint",
]


MAX_TTL = timedelta(days=30)
"""The longest a hold may live: every hold has a time-to-live, and a bounded one."""


MAX_KEY = 200
"""The longest idempotency key of a debit."""


def fingerprint(request: Mapping[str, Any]) -> str:
    """A request's hash, to tell a retry (same hash) from a reused key (another)."""
    canonical = json.dumps(request, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Reserve:
    """Hold ``amount`` micro-credits for ``ttl`` (at most :data:`MAX_TTL`)."""

    org_id: str
    amount: int
    ttl: timedelta = timedelta(hours=1)
    cause: Cause | None = None
    project_id: str | None = None
    member_id: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    """What the hold is for: scoped grants covering it may pay (none: general only)."""
    dimensions: dict[str, str] | None = None
    key_id: str | None = None
    """The limited API key the hold is made with (its operations and cap apply)."""


@dataclass(frozen=True, slots=True)
class Settle:
    """Commit ``amount`` (``None``: release everything). ``final=False`` keeps the rest held.

    With a binding quote (``quote_id``), commit the quoted price (``amount``, if given,
    must be it), finally: the hold is settled at the price the quote binds.
    """

    org_id: str
    reservation_id: str
    amount: int | None
    final: bool = True
    quote_id: str | None = None


@dataclass(frozen=True, slots=True)
class Extend:
    """Push an open hold's expiry to now + ``ttl`` (a heartbeat); never shortens it."""

    org_id: str
    reservation_id: str
    ttl: timedelta


@dataclass(frozen=True, slots=True)
class Increase:
    """Draw ``amount`` more micro-credits from the grants into an open hold; with an
    ``idempotency_key``, a retry returns the hold without drawing again."""

    org_id: str
    reservation_id: str
    amount: int
    idempotency_key: str | None = None


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
        operation, dimensions: what the credits pay for: the scoped grants that cover
            it pay first; without an operation only general grants pay.
    """

    amount: int
    cause: Cause | None = None
    project_id: str | None = None
    member_id: str | None = None
    idempotency_key: str | None = None
    metadata: dict[str, Any] | None = None
    operation: str | None = None
    dimensions: dict[str, str] | None = None


class Spend(NamedTuple):
    """One checked debit of an organization (:func:`prepare_debit`)."""

    org_id: str
    debit: Debit
    cause: Cause
    request_hash: str | None
    entry_type: EntryType


Command = UsageEvent | Reserve | Settle | Extend | Increase | Spend
"""What :func:`decide` decides: a usage event, a hold, its settlement, extension or
increase, or a debit."""


class Settlement(NamedTuple):
    """What one commit or release did, in micro-credits."""

    reservation: Reservation
    consumed: int
    released: int
    shortfall: int
    replayed: bool = False


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
