"""Grace while a group is decided: one organization's standing, the charges grace pays
for, and the transitions they make (the rules are in :mod:`creditline.domain.grace`).

A :class:`GraceBook` exists only for an organization whose plan has grace terms and
whose depletion policy in force is ``pause`` or ``read_only`` (not suspended for an
overdue invoice): for every other organization charging is what it was. On creation
it applies the deadlines passed (lazily: a charge after grace's hours sees read-only
even if the scheduler has not run). Then, for a charge (usage or a consuming debit)
the grants cannot cover:

- ``active``: the organization enters grace (cause: the charge);
- ``grace``: the shortfall is granted on the spot (a ``flex`` grant under the terms'
  ref, billed or written off), as long as the grace left covers it whole; a charge it
  cannot cover uses grace up (to read-only, the charge refused), and a charge that
  takes the last of it moves to read-only once it is paid.

In ``read_only`` and ``paused`` every charge is refused (holds and increases too),
naming the state and since when; an operator's adjustment is not a charge.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from typing import Protocol

from creditline.domain.charging.outcome import Decision
from creditline.domain.errors import InsufficientCredits
from creditline.domain.grace import (
    GraceState,
    GraceTerms,
    GraceTransition,
    Standing,
    elapse,
    enter,
    exhaust,
    room,
)

__all__ = ["ChargeCause", "GraceBook"]

ChargeCause = tuple[str, str | None]
"""What a charge is, for a transition's cause: (``usage_event``, ``evt_1``)."""

_LOCKED = (GraceState.READ_ONLY, GraceState.PAUSED)


class _Book(Protocol):
    """What grace needs of an organization's ledger (:class:`~creditline.domain.
    charging.ledger.Ledger`)."""

    org_id: str
    now: datetime

    def system_grant(self, amount: int, ref: str) -> None: ...


class GraceBook:
    """One organization's grace while a group is decided (see the module docstring)."""

    def __init__(self, book: _Book, out: Decision, terms: GraceTerms, standing: Standing) -> None:
        self.book = book
        self.out = out
        self.terms = terms
        self.standing = standing
        later, moved = elapse(terms, book.org_id, standing, book.now)
        self._record(later, moved)

    def _record(self, standing: Standing, moved: Iterable[GraceTransition]) -> None:
        out = self.out
        found = list(moved)
        if found or standing != self.standing:
            out.transitions.extend(found)
            out.standings[self.book.org_id] = standing
        self.standing = standing

    @property
    def locked(self) -> bool:
        """Read-only or paused: every charge is refused."""
        return self.standing.state in _LOCKED

    def refusal(self, cost: int, available: int) -> InsufficientCredits:
        since = self.standing.since
        return InsufficientCredits(
            self.book.org_id, cost, available, grace_state=self.standing.state.value,
            grace_since=None if since is None else since.isoformat(),
        )  # fmt: skip

    def cover(self, cost: int, available: int, cause: ChargeCause) -> None:
        """Pay what the grants cannot of ``cost`` with grace, or raise the refusal that
        uses grace up (see the module docstring)."""
        book, terms, now = self.book, self.terms, self.book.now
        short = cost - available
        standing = self.standing
        if standing.state is GraceState.ACTIVE:
            entered, moved = enter(book.org_id, standing, cause, now)
            self._record(entered, [moved])
            standing = entered
        left = room(terms, standing)
        if left is not None and short > left:
            done, found = exhaust(terms, book.org_id, standing, cause, now)
            self._record(done, found)
            raise self.refusal(cost, available)
        book.system_grant(short, terms.ref(now))
        used = replace(standing, used=standing.used + short)
        if terms.credits is not None and used.used >= terms.credits:
            done, found = exhaust(terms, book.org_id, used, cause, now)
            self._record(done, found)
        else:
            self._record(used, ())
