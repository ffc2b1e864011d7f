"""Reading the ledger: balances, grants, history, verification."""

from __future__ import annotations

from collections.abc import Sequence

from creditline.domain.balances import Balance
from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import Grant
from creditline.domain.ledger import Cause, EntryType, LedgerEntry
from creditline.domain.paging import check_limit
from creditline.facade.core import Core
from creditline.services import queries
from creditline.services.ports.unit_of_work import HistoryFilter
from creditline.services.queries import VerifyReport

__all__ = ["Reading"]


class Reading(Core):
    """Balances, grants and ledger entries, read."""

    def balance(self, org_id: str) -> Balance:
        """The organization's balance now, in O(1) of its history."""
        return self._run(lambda: queries.balance(org_id, self._uow(read_only=True), self.clock))

    def grants(self, org_id: str, include_spent: bool = True) -> list[Grant]:
        return self._run(lambda: queries.grants(org_id, self._uow(read_only=True), include_spent))

    def history(
        self,
        org_id: str,
        limit: int = 50,
        *,
        before_id: int | None = None,
        types: Sequence[EntryType | str] = (),
        grant_id: str | None = None,
        cause: Cause | None = None,
    ) -> list[LedgerEntry]:
        """Ledger entries, newest first; pass the last id seen as ``before_id`` to page on."""
        check_limit(limit)
        try:
            where = HistoryFilter(tuple(EntryType(t) for t in types), grant_id, cause)
        except ValueError as exc:
            raise InvalidSetting("entry type", types, str(exc)) from None
        return self._run(
            lambda: queries.history(org_id, self._uow(read_only=True), limit, before_id, where)
        )

    def verify(self) -> VerifyReport:
        """Recompute every grant's remaining and every balance from the ledger entries."""
        return self._run(lambda: queries.verify(self._uow(read_only=True)))
