"""Reading: balances, grants, history, and verification of the whole ledger."""

from __future__ import annotations

from dataclasses import dataclass

from creditline.domain.balances import Balance, summarize
from creditline.domain.errors import OrganizationNotFound
from creditline.domain.grants import Grant
from creditline.domain.ledger import LedgerEntry
from creditline.domain.time import Clock
from creditline.domain.verification import Problem, find_problems, hold_problems, scope_problems
from creditline.services.ports.unit_of_work import HistoryFilter, UnitOfWork

__all__ = ["VerifyReport", "balance", "grants", "history", "verify"]


def balance(org_id: str, uow: UnitOfWork, clock: Clock) -> Balance:
    """O(1) in the length of history: the cached total plus the grants with credits left."""
    now = clock.now()
    with uow:
        cached = uow.balances.get(org_id)
        if cached is None:
            raise OrganizationNotFound(org_id)
        total, _, held = cached
        return summarize(org_id, total, uow.grants.active(org_id), now, held)


def grants(org_id: str, uow: UnitOfWork, include_spent: bool = True) -> list[Grant]:
    with uow:
        if uow.balances.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.grants.of_org(org_id, include_spent)


def history(
    org_id: str,
    uow: UnitOfWork,
    limit: int = 50,
    before_id: int | None = None,
    where: HistoryFilter | None = None,
) -> list[LedgerEntry]:
    with uow:
        if uow.balances.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.ledger.history(org_id, limit, before_id, where)


@dataclass(frozen=True, slots=True)
class VerifyReport:
    """The outcome of :func:`verify`: ``ok`` when no problem was found."""

    organizations: int
    grants: int
    problems: tuple[Problem, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(uow: UnitOfWork) -> VerifyReport:
    """Recompute every grant and balance from the entries, in one consistent snapshot,
    and check that scoped grants paid (and hold) only for what they cover."""
    with uow:
        facts = uow.grants.facts()
        cached = uow.balances.all()
        folded = uow.ledger.sums_by_org()
        orphans = uow.ledger.misattributed()
        holds = uow.reservations.facts()
        held = uow.balances.all_held()
        scopes, uses = uow.grants.scoped_uses()
    problems = find_problems(facts, cached, folded, orphans) + hold_problems(holds, held)
    problems += scope_problems(scopes, uses)
    return VerifyReport(len(cached), len(facts), tuple(problems))
