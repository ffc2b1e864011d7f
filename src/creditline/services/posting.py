"""Helpers every money-moving service shares, inside a transaction that holds the lock.

:func:`post` writes entries and applies them: each grant's remaining and the
organization's balance move by exactly the entries' amounts, so the caches always
equal the fold of the ledger. :class:`Attribution` checks that the projects and members
a movement names belong to its organization (A1), asking the store once per id.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime

from creditline.domain.errors import MemberNotFound, ProjectNotFound
from creditline.domain.ledger import EntryType, NewEntry
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["Attribution", "post"]


def post(
    uow: UnitOfWork,
    org_id: str,
    entries: Sequence[NewEntry],
    now: datetime,
    held: int = 0,
    *,
    made: Collection[str] = (),
) -> None:
    """Append ``entries`` of one organization and move its grants and balance by them;
    ``held`` changes what its open reservations hold. ``made`` names grants added in
    this transaction with their amount: their grant entries move the balance only."""
    if not entries:
        return
    deltas: dict[str, int] = {}
    total = 0
    for e in entries:
        total += e.amount
        if e.type is EntryType.GRANT and e.grant_id in made:
            continue
        deltas[e.grant_id] = deltas.get(e.grant_id, 0) + e.amount
    uow.ledger.append(entries, now)
    uow.grants.apply(deltas)
    uow.balances.apply(org_id, total, len(entries), now, held=held)


class Attribution:
    """Whether projects and members belong to one organization, each id asked once."""

    def __init__(self, uow: UnitOfWork, org_id: str) -> None:
        self._uow = uow
        self._org_id = org_id
        self._projects: dict[str, bool] = {}
        self._members: dict[str, bool] = {}

    def check(self, project_id: str | None, member_id: str | None) -> None:
        """Raise ProjectNotFound or MemberNotFound for an id of another organization."""
        if project_id is not None:
            if project_id not in self._projects:
                found = self._uow.orgs.project(self._org_id, project_id)
                self._projects[project_id] = found is not None
            if not self._projects[project_id]:
                raise ProjectNotFound(project_id)
        if member_id is not None:
            if member_id not in self._members:
                found_member = self._uow.orgs.member(self._org_id, member_id)
                self._members[member_id] = found_member is not None
            if not self._members[member_id]:
                raise MemberNotFound(member_id)
