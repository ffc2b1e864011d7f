"""Credits: grants, balances, ledger entries and debits."""

from __future__ import annotations

from typing import Any

from creditline.client.decode._common import Doc, allocations, cause, maybe_cause, maybe_when, when
from creditline.domain.amounts import CostBasis
from creditline.domain.balances import Balance, ScopedCredits
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType
from creditline.domain.ledger import EntryType, LedgerEntry
from creditline.domain.scopes import GrantScope, parse_scope
from creditline.services.spending import DebitResult, DebitStatus


def cost_basis(d: Doc | None) -> CostBasis | None:
    return None if d is None else CostBasis(d["unit_price_minor"], d["currency"])


def grant_source(d: Doc) -> GrantSource:
    return GrantSource(SourceType(d["type"]), d["ref"])


def grant(d: Doc) -> Grant:
    return Grant(
        id=d["id"],
        org_id=d["org_id"],
        kind=GrantKind(d["kind"]),
        amount=d["amount_micros"],
        remaining=d["remaining_micros"],
        effective_at=when(d["effective_at"]),
        expires_at=maybe_when(d["expires_at"]),
        source=grant_source(d["source"]),
        cost_basis=cost_basis(d["cost_basis"]),
        created_at=when(d["created_at"]),
        metadata=dict(d["metadata"]),
        scope=scope(d.get("scope")),
    )


def scope(d: Any) -> GrantScope | None:
    """A grant's scope (``null``, or absent from an older server: a general grant)."""
    return None if not d else parse_scope(d)


def scoped_credits(d: Doc) -> ScopedCredits:
    return ScopedCredits(
        d["grant_id"], GrantKind(d["kind"]), d["remaining_micros"], parse_scope(d["scope"]),
        maybe_when(d["expires_at"]),
    )  # fmt: skip


def balance(d: Doc) -> Balance:
    return Balance(
        org_id=d["org_id"],
        as_of=when(d["as_of"]),
        total=d["total_micros"],
        available=d["available_micros"],
        pending=d["pending_micros"],
        expired_unswept=d["expired_unswept_micros"],
        by_kind={GrantKind(k): v for k, v in d["by_kind_micros"].items()},
        held=d["held_micros"],
        scoped=d.get("scoped_micros", 0),
        scoped_grants=tuple(scoped_credits(s) for s in d.get("scoped_grants", ())),
    )


def entry(d: Doc) -> LedgerEntry:
    return LedgerEntry(
        id=d["id"],
        org_id=d["org_id"],
        grant_id=d["grant_id"],
        type=EntryType(d["type"]),
        amount=d["amount_micros"],
        cause=cause(d["cause"]),
        occurred_at=when(d["occurred_at"]),
        recorded_at=when(d["recorded_at"]),
        project_id=d["project_id"],
        member_id=d["member_id"],
        metadata=dict(d["metadata"]),
    )


def debit(d: Doc, replayed: bool = False) -> DebitResult:
    return DebitResult(
        status=DebitStatus(d["status"]),
        amount=d["amount_micros"],
        cause=maybe_cause(d["cause"]),
        allocations=allocations(d["allocations"]),
        replayed=bool(d["replayed"]) or replayed,
    )
