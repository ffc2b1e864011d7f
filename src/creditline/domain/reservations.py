"""Reservations: two-phase holds for operations that take time (requirement C6).

A reservation holds the estimated cost of a running operation. Reserving draws the
hold from the organization's grants at once, in the consumption order, with one
``reserve`` entry per grant, so concurrent spends cannot take those credits: a hold
counts as spent for every balance check. Each reservation has a time-to-live.

It is then settled exactly once:

- **commit** the actual cost: the cost is taken from the hold first (one ``release``
  and one ``consume`` entry per grant: the hold becomes a consumption, even if the
  grant expired or the organization ran dry meanwhile, since a held operation is
  honoured). A cost above the hold draws the excess from the spendable grants; what
  they cannot cover is recorded as the reservation's ``shortfall``, never taken as
  an overdraft. The rest of the hold is released. A commit with ``final=False``
  (a step of a multi-step job) keeps the rest of the hold open.
- **release** everything (the operation failed through a system error): one
  ``release`` entry per grant gives the hold back to the grants it came from, with
  their expiry unchanged.
- **expire**: a hold still open at its ``expires_at`` is released by ``expire_due``.

Settling an already settled reservation changes nothing and returns the first
outcome.
"""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, NamedTuple

from creditline.domain.ledger import Cause
from creditline.domain.spending import Allocation

__all__ = [
    "CommitPlan",
    "Reservation",
    "ReservationStatus",
    "plan_commit",
]


class ReservationStatus(enum.StrEnum):
    OPEN = "open"
    COMMITTED = "committed"
    RELEASED = "released"
    EXPIRED = "expired"


@dataclass(frozen=True, slots=True)
class Reservation:
    """A hold and what became of it. Amounts in micro-credits.

    Attributes:
        id: ``res_...``.
        org_id: the organization.
        status: open until committed (finally), released or expired.
        amount: what was reserved.
        held: what is still held (0 once settled).
        consumed: what commits have consumed so far (from the hold and beyond it).
        shortfall: cost committed that no credits could cover.
        holds: what each grant still holds, in the order they were drawn.
        cause: what the credits are for; the consume entries name it.
        project_id, member_id: attribution (A1).
        expires_at: when an open hold is released by ``expire_due``.
        created_at, settled_at: when it was made and settled.
        metadata: free-form data.
        operation, dimensions: what the hold is for (``None``: no operation): the
            scoped grants covering it may pay for it, and for a commit's excess
            (:mod:`creditline.domain.scopes`).
        key_id: the capped API key the hold counts against, in the window it was made
            in (``None``: none; :mod:`creditline.domain.charging.caps`).
    """

    id: str
    org_id: str
    status: ReservationStatus
    amount: int
    held: int
    consumed: int
    shortfall: int
    holds: tuple[Allocation, ...]
    cause: Cause
    project_id: str | None
    member_id: str | None
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    operation: str | None = None
    dimensions: dict[str, str] = field(default_factory=dict)
    key_id: str | None = None

    @property
    def is_open(self) -> bool:
        return self.status is ReservationStatus.OPEN


class CommitPlan(NamedTuple):
    """How a commit of ``amount`` splits over a hold.

    Attributes:
        from_hold: per grant, what the hold pays.
        kept: per grant, what stays held (a non-final commit) or is released (final).
        excess: cost beyond the hold, to draw from the spendable grants.
    """

    from_hold: tuple[Allocation, ...]
    kept: tuple[Allocation, ...]
    excess: int


def plan_commit(holds: Sequence[Allocation], amount: int) -> CommitPlan:
    """Take ``amount`` from ``holds`` in their order; the rest of the cost is the excess."""
    left = amount
    from_hold: list[Allocation] = []
    kept: list[Allocation] = []
    for grant_id, held in holds:
        part = min(left, held)
        if part:
            from_hold.append(Allocation(grant_id, part))
            left -= part
        if held - part:
            kept.append(Allocation(grant_id, held - part))
    return CommitPlan(tuple(from_hold), tuple(kept), left)
