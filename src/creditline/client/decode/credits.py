"""Credits: grants, balances, ledger entries and debits."""

from __future__ import annotations

from typing import Any

from creditline.client.decode._common import Doc, record
from creditline.domain.amounts import CostBasis
from creditline.domain.balances import Balance, ScopedCredits
from creditline.domain.grants import Grant, GrantSource
from creditline.domain.ledger import LedgerEntry
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.services.spending import DebitResult


def cost_basis(d: Doc | None) -> CostBasis | None:
    return None if d is None else record(CostBasis, d)


def grant_source(d: Doc) -> GrantSource:
    return record(GrantSource, d)


def grant(d: Doc) -> Grant:
    return record(Grant, d, scope=scope(d.get("scope")))


def scope(d: Any) -> GrantScope | None:
    """A grant's scope (``null``, or absent from an older server: a general grant)."""
    return None if not d else parse_scope(d)


def scoped_credits(d: Doc) -> ScopedCredits:
    return record(ScopedCredits, d)


def balance(d: Doc) -> Balance:
    return record(Balance, d)


def entry(d: Doc) -> LedgerEntry:
    return record(LedgerEntry, d)


def debit(d: Doc, replayed: bool = False) -> DebitResult:
    return record(DebitResult, d, replayed=bool(d["replayed"]) or replayed)
