"""The ledger: append-only entries that explain every change of balance (E3).

Each entry moves ``amount`` micro-credits on exactly one grant of one organization,
signed from the organization's point of view: positive adds to its balance,
negative takes from it. The organization's balance is the sum of its entries; a
grant's ``remaining`` is the sum of the entries on that grant. Entries are never
updated or deleted: a correction is a new entry (a ``void`` that gives back a
consumption, an ``adjustment`` by an operator).

Every entry names its cause: the usage event, purchase, plan cycle, reservation or
operator action that made it, so "where did my credits go" always has an answer.

=========== ====== ====================================================
type        sign   meaning
=========== ====== ====================================================
grant       \\+     a grant was created with this amount
consume     \\-     credits were spent
expire      \\-     what was left of a grant at its expiry
reserve     \\-     credits put on hold for a running operation
release     \\+     a hold given back
refund      ±      credits refunded to the organization, or a refunded
                   purchase's unspent credits taken back
void        \\+     a consumption cancelled; credits go back to their grant
adjustment  ±      an operator's correction, with a reason
=========== ====== ====================================================
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from creditline.domain.errors import InvalidSetting

__all__ = ["Cause", "CauseType", "EntryType", "LedgerEntry", "NewEntry", "check_sign"]


class EntryType(enum.StrEnum):
    GRANT = "grant"
    CONSUME = "consume"
    EXPIRE = "expire"
    RESERVE = "reserve"
    RELEASE = "release"
    REFUND = "refund"
    VOID = "void"
    ADJUSTMENT = "adjustment"


_POSITIVE = {EntryType.GRANT, EntryType.RELEASE, EntryType.VOID}
_NEGATIVE = {EntryType.CONSUME, EntryType.EXPIRE, EntryType.RESERVE}


def check_sign(entry_type: EntryType, amount: int) -> None:
    """Refuse an entry whose sign contradicts its type, or a zero entry."""
    if amount == 0:
        raise InvalidSetting("entry amount", amount, "a ledger entry never moves zero")
    if entry_type in _POSITIVE and amount < 0:
        raise InvalidSetting("entry amount", amount, f"a {entry_type} entry adds credits")
    if entry_type in _NEGATIVE and amount > 0:
        raise InvalidSetting("entry amount", amount, f"a {entry_type} entry takes credits")


class CauseType(enum.StrEnum):
    """What made an entry."""

    USAGE_EVENT = "usage_event"
    USAGE_BATCH = "usage_batch"
    """Several usage events of one batch, netted into one entry per grant (their own
    rows say which event took how much)."""
    DEBIT = "debit"
    PURCHASE = "purchase"
    PLAN_CYCLE = "plan_cycle"
    OPERATOR = "operator"
    EXPIRY = "expiry"
    RESERVATION = "reservation"
    REFUND = "refund"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class Cause:
    """The reason for an entry: ``Cause(CauseType.USAGE_EVENT, "evt_42")``."""

    type: CauseType
    ref: str

    def __post_init__(self) -> None:
        if not isinstance(self.type, CauseType):
            raise InvalidSetting("cause type", self.type, "unknown cause type")
        if not isinstance(self.ref, str) or not self.ref.strip() or len(self.ref) > 200:
            raise InvalidSetting("cause reference", self.ref, "must be 1 to 200 characters")

    def __str__(self) -> str:
        return f"{self.type}:{self.ref}"


class NewEntry(NamedTuple):
    """An entry about to be appended (the store gives it an id).

    A named tuple rather than a dataclass: batches build thousands of these, and a
    tuple is immutable and several times cheaper to construct.
    """

    org_id: str
    grant_id: str
    type: EntryType
    amount: int
    cause: Cause
    occurred_at: datetime
    project_id: str | None = None
    member_id: str | None = None
    metadata: dict[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class LedgerEntry:
    """A stored entry. ``id`` increases with every append, across the whole ledger."""

    id: int
    org_id: str
    grant_id: str
    type: EntryType
    amount: int
    cause: Cause
    occurred_at: datetime
    recorded_at: datetime
    project_id: str | None = None
    member_id: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
