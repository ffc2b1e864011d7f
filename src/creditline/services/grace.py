"""Grace between depletion and lock (see :mod:`creditline.domain.grace`): recording
transitions, ending grace when credits arrive, applying deadlines, and reading where
an organization stands.

- :func:`record` stores transitions and standings (the charging group's writer calls
  it in its transaction) and, for each transition, a numbered ``grace`` alert signal
  that the organization's ``grace`` alert rules fire for (one alert per step, through
  the alert machinery's outbox: :mod:`creditline.services.alerts`).
- :func:`restore` is called, in their transaction and under the organization's lock,
  by the services that add general credits (a purchase, an operator's grant, a cycle's
  grant): an organization in grace, read-only or paused is active again at once, the
  grant or purchase its cause.
- :func:`elapse_due` is the scheduler's ``grace`` job: the organizations in grace or
  read-only whose hours have passed move on (each under its lock); a charge applies the
  same deadlines lazily (:mod:`creditline.domain.charging.grace`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from creditline.domain.errors import CreditlineError, OrganizationNotFound
from creditline.domain.grace import (
    GraceState,
    GraceTerms,
    GraceTransition,
    Standing,
    deadline,
    elapse,
    room,
)
from creditline.domain.grace import (
    restore as restored,
)
from creditline.domain.plans import DepletionPolicy
from creditline.domain.time import Clock
from creditline.services.ports.payments import Transactions
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "GRACE_SIGNAL",
    "GraceRun",
    "GraceStatus",
    "elapse_due",
    "record",
    "restore",
    "status",
]

GRACE_SIGNAL = "grace"
"""The alert signals' kind of a grace transition (its ref: the transition's number)."""

_POLICIES = (DepletionPolicy.PAUSE, DepletionPolicy.READ_ONLY)


@dataclass(frozen=True, slots=True)
class GraceStatus:
    """Where an organization stands in its plan's grace.

    Attributes:
        org_id: the organization.
        standing: its state, since when, and the grace used in the current grace.
        terms: its plan's grace terms, or ``None``: its plan has none (or the policy in
            force takes no grace).
        left: grace micro-credits left while in grace (``None``: no amount limit, or
            not in grace).
        until: when the current state's hours run out, or ``None``.
        transitions: its last transitions, oldest first.
    """

    org_id: str
    standing: Standing
    terms: GraceTerms | None
    left: int | None
    until: datetime | None
    transitions: tuple[GraceTransition, ...]


@dataclass(frozen=True, slots=True)
class GraceRun:
    """What one :func:`elapse_due` run did: the transitions, and the failures."""

    transitions: tuple[GraceTransition, ...] = ()
    failed: tuple[tuple[str, CreditlineError], ...] = ()


def record(
    uow: UnitOfWork,
    transitions: Sequence[GraceTransition],
    standings: Mapping[str, Standing],
    now: datetime,
) -> list[GraceTransition]:
    """Store transitions and standings, with an alert signal per transition."""
    stored = uow.grace.record(transitions, standings, now)
    for moved in stored:
        uow.alerts.add_signal(moved.org_id, GRACE_SIGNAL, str(moved.seq), moved.to_dict(), now)
    return stored


def restore(uow: UnitOfWork, org_id: str, cause: tuple[str, str | None], now: datetime) -> None:
    """General credits arrived (``cause``): end grace, read-only or paused at once."""
    standing = uow.grace.standing(org_id)
    if standing is None:
        return
    moved = restored(org_id, standing, cause, now)
    if moved is not None:
        record(uow, [moved[1]], {org_id: moved[0]}, now)


def _terms(uow: UnitOfWork, org_id: str) -> GraceTerms | None:
    metering = uow.usage.metering([org_id]).get(org_id)
    if metering is None:
        raise OrganizationNotFound(org_id)
    if metering.hold is not None or metering.depletion not in _POLICIES:
        return None
    return metering.plan.grace


def status(org_id: str, uow: UnitOfWork, now: datetime, limit: int = 100) -> GraceStatus:
    """Where ``org_id`` stands, with its last ``limit`` transitions (deadlines passed
    but not yet applied are shown applied: what the next charge would see)."""
    with uow:
        terms = _terms(uow, org_id)
        standing = uow.grace.standing(org_id)
        assert standing is not None
        history = uow.grace.history(org_id, limit) if limit else []
    pending: list[GraceTransition] = []
    if terms is not None:
        standing, pending = elapse(terms, org_id, standing, now)
    return GraceStatus(
        org_id,
        standing,
        terms,
        None if terms is None or standing.state is not GraceState.GRACE else room(terms, standing),
        None if terms is None else deadline(terms, standing),
        (*history, *pending)[-limit:] if limit else (),
    )


def _elapse(org_id: str, clock: Clock) -> Callable[[UnitOfWork], list[GraceTransition]]:
    def work(uow: UnitOfWork) -> list[GraceTransition]:
        if uow.balances.lock(org_id) is None:
            return []
        now = clock.now()  # under the lock
        terms = _terms(uow, org_id)
        standing = uow.grace.standing(org_id)
        if terms is None or standing is None:
            return []
        later, moved = elapse(terms, org_id, standing, now)
        if not moved:
            return []
        stored = record(uow, moved, {org_id: later}, now)
        uow.commit()
        return stored

    return work


def _waiting(limit: int, after: str | None) -> Callable[[UnitOfWork], list[str]]:
    return lambda uow: uow.grace.waiting(limit, after)


def elapse_due(tx: Transactions, clock: Clock, *, page: int = 500) -> GraceRun:
    """Apply the deadlines passed of every organization in grace or read-only."""
    done: list[GraceTransition] = []
    failed: list[tuple[str, CreditlineError]] = []
    after: str | None = None
    while True:
        orgs = tx(_waiting(page, after), read_only=True)
        for org_id in orgs:
            try:
                done += tx(_elapse(org_id, clock))
            except CreditlineError as exc:
                failed.append((org_id, exc))
        if len(orgs) < page:
            return GraceRun(tuple(done), tuple(failed))
        after = orgs[-1]
