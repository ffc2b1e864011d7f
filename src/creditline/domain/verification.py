"""Verification: the cached balances against the fold of the ledger.

The grants' ``remaining`` and the organizations' balances are caches kept for O(1)
reads; the ledger entries are the truth. :func:`find_problems` compares the two and
also checks the floors that sums alone would miss: no grant below zero or above its
amount, no organization below zero. :func:`scope_problems` checks that scoped grants
only ever paid for what they cover (B7).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from creditline.domain.scopes import GrantScope

__all__ = [
    "GrantFacts",
    "Problem",
    "ReservationFacts",
    "ScopedUse",
    "find_problems",
    "hold_problems",
    "scope_problems",
]


@dataclass(frozen=True, slots=True)
class GrantFacts:
    """What the store says of one grant, and what its entries add up to."""

    grant_id: str
    org_id: str
    amount: int
    remaining: int
    entries_sum: int
    granted_sum: int


@dataclass(frozen=True, slots=True)
class Problem:
    """One mismatch found by verification."""

    subject: str
    message: str

    def __str__(self) -> str:
        return f"{self.subject}: {self.message}"


def _grant_problems(g: GrantFacts) -> list[Problem]:
    subject = f"grant {g.grant_id}"
    found: list[Problem] = []
    if g.granted_sum != g.amount:
        found.append(
            Problem(subject, f"grant entries sum to {g.granted_sum}, amount is {g.amount}")
        )
    if g.entries_sum != g.remaining:
        found.append(
            Problem(subject, f"entries sum to {g.entries_sum}, remaining is {g.remaining}")
        )
    if g.remaining < 0:
        found.append(Problem(subject, f"remaining {g.remaining} is below zero"))
    if g.remaining > g.amount:
        found.append(Problem(subject, f"remaining {g.remaining} is above the amount {g.amount}"))
    return found


def find_problems(
    grants: list[GrantFacts],
    balances: Mapping[str, int],
    entries_by_org: Mapping[str, int],
    orphan_entries: int = 0,
) -> list[Problem]:
    """Every mismatch between caches and entries (an empty list means the ledger is sound).

    Args:
        grants: facts of every grant.
        balances: each organization's cached balance.
        entries_by_org: each organization's sum of entries.
        orphan_entries: entries whose grant belongs to another organization or to none.
    """
    found: list[Problem] = []
    remaining_by_org: dict[str, int] = {}
    for g in grants:
        found.extend(_grant_problems(g))
        remaining_by_org[g.org_id] = remaining_by_org.get(g.org_id, 0) + g.remaining
    for org_id in sorted(set(balances) | set(entries_by_org) | set(remaining_by_org)):
        subject = f"organization {org_id}"
        cached = balances.get(org_id)
        folded = entries_by_org.get(org_id, 0)
        if cached is None:
            found.append(Problem(subject, "has entries or grants but no balance row"))
            continue
        if cached != folded:
            found.append(Problem(subject, f"balance {cached}, entries sum to {folded}"))
        if cached != remaining_by_org.get(org_id, 0):
            found.append(
                Problem(subject, f"balance {cached}, grants hold {remaining_by_org.get(org_id, 0)}")
            )
        if cached < 0:
            found.append(Problem(subject, f"balance {cached} is below zero"))
    if orphan_entries:
        found.append(
            Problem(
                "ledger",
                f"{orphan_entries} entries name a grant, project or member "
                "that is missing or of another organization",
            )
        )
    return found


@dataclass(frozen=True, slots=True)
class ReservationFacts:
    """What the store says of one reservation, and what its hold entries add up to.

    ``hold_entries`` is minus the sum of its reserve and release entries: what the
    ledger says is still held.
    """

    reservation_id: str
    org_id: str
    status: str
    held: int
    holds_sum: int
    hold_entries: int


def hold_problems(
    reservations: list[ReservationFacts], held_by_org: Mapping[str, int]
) -> list[Problem]:
    """Mismatches between reservations, their entries and each organization's held total."""
    found: list[Problem] = []
    open_by_org: dict[str, int] = {}
    for r in reservations:
        subject = f"reservation {r.reservation_id}"
        if r.held != r.holds_sum:
            found.append(Problem(subject, f"holds {r.held}, its grants hold {r.holds_sum}"))
        if r.held != r.hold_entries:
            found.append(Problem(subject, f"holds {r.held}, its entries hold {r.hold_entries}"))
        if r.held < 0:
            found.append(Problem(subject, f"holds {r.held}, below zero"))
        if r.status != "open" and r.held:
            found.append(Problem(subject, f"is {r.status} but still holds {r.held}"))
        open_by_org[r.org_id] = open_by_org.get(r.org_id, 0) + r.held
    for org_id in sorted(set(held_by_org) | set(open_by_org)):
        cached, actual = held_by_org.get(org_id, 0), open_by_org.get(org_id, 0)
        if cached != actual:
            found.append(
                Problem(f"organization {org_id}", f"held {cached}, reservations hold {actual}")
            )
    return found


@dataclass(frozen=True, slots=True)
class ScopedUse:
    """Credits a scoped grant paid (or holds) for one use: an accepted usage event's
    allocation on it, or a hold's reserve entry on it."""

    grant_id: str
    what: str
    operation: str | None
    dimensions: Mapping[str, str] = field(default_factory=dict)


def scope_problems(scopes: Mapping[str, GrantScope], uses: Iterable[ScopedUse]) -> list[Problem]:
    """Every use of a scoped grant (by id in ``scopes``) its scope does not cover."""
    found: list[Problem] = []
    for use in uses:
        scope = scopes.get(use.grant_id)
        if scope is None or scope.covers(use.operation, use.dimensions):
            continue
        target = "no operation" if use.operation is None else repr(use.operation)
        if use.dimensions:
            target += " " + ", ".join(f"{k}={v}" for k, v in sorted(use.dimensions.items()))
        found.append(
            Problem(
                f"grant {use.grant_id}",
                f"is scoped to {scope.describe()} but paid for {use.what} ({target})",
            )
        )
    return found
