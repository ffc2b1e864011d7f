"""Reading the credits: the balance, the grants, the ledger, verification."""

from __future__ import annotations

from collections.abc import Sequence

from creditline.client import decode
from creditline.client._wire import Flow, get, op
from creditline.domain.balances import Balance
from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import Grant
from creditline.domain.ledger import Cause, EntryType, LedgerEntry
from creditline.services.queries import VerifyReport

from ._requests import fetch, fetch_each, org_get, query_params

HISTORY_PAGE = 500
"""The most ledger entries the service answers in one page."""


class ReadingOperations:
    """Reading the credits: the balance, the grants, the ledger, verification."""

    @op
    def balance(self, org_id: str) -> Flow[Balance]:
        """The organization's balance now."""
        return (yield from fetch(decode.balance, org_get(org_id, "/balance")))

    @op
    def grants(self, org_id: str, include_spent: bool = True) -> Flow[list[Grant]]:
        query = query_params(include_spent=include_spent)
        return (yield from fetch_each(decode.grant, org_get(org_id, "/grants", query)))

    @op
    def history(
        self,
        org_id: str,
        limit: int = 50,
        *,
        before_id: int | None = None,
        types: Sequence[EntryType | str] = (),
        grant_id: str | None = None,
        cause: Cause | None = None,
    ) -> Flow[list[LedgerEntry]]:
        """Ledger entries, newest first (read in pages of at most 500)."""
        if not 1 <= limit <= 10_000:
            raise InvalidSetting("limit", limit, "must be between 1 and 10000")
        try:
            kinds = [EntryType(t).value for t in types]
        except ValueError as exc:
            raise InvalidSetting("entry type", types, str(exc)) from None
        found: list[LedgerEntry] = []
        cursor = None if before_id is None else str(before_id)
        while len(found) < limit:
            size = min(limit - len(found), HISTORY_PAGE)
            query = query_params(
                limit=size,
                cursor=cursor,
                type=kinds,
                grant_id=grant_id,
                cause_type=None if cause is None else cause.type,
                cause_ref=None if cause is None else cause.ref,
            )
            reply = yield org_get(org_id, "/ledger", query)
            page = reply.json()
            found.extend(decode.entry(e) for e in page["items"])
            cursor = page["next_cursor"]
            if cursor is None or len(page["items"]) < size:
                break
        return found

    @op
    def verify(self) -> Flow[VerifyReport]:
        """Recompute every grant's remaining and every balance from the ledger (operator)."""
        return (yield from fetch(decode.verify_report, get("/v1/verify")))
