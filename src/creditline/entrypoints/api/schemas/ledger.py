"""Grants, adjustments, the balance, the ledger's entries and spending."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Annotated, Any, ClassVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StrictInt,
    StrictStr,
)

from creditline.domain.amounts import format_credits, parse_credits
from creditline.domain.balances import Balance
from creditline.domain.grants import Grant, GrantKind
from creditline.domain.ledger import EntryType, LedgerEntry
from creditline.domain.scopes import GrantScope
from creditline.domain.spending import Allocation
from creditline.entrypoints.api.schema_rules import exactly_one
from creditline.entrypoints.api.schemas.common import (
    _DIMENSIONS_NEED_OPERATION,
    _FORBID,
    REQUEST_MAX_MICROS,
    CauseIn,
    CauseOut,
    Currency,
    Dimensions,
    Ident,
    Metadata,
    Name,
    SignedCreditsText,
    TimeIn,
    _Amount,
    _credits,
    _iso,
    answer,
    whole,
)


class CostBasisIn(BaseModel):
    model_config = _FORBID
    unit_price_minor: Annotated[StrictInt, Field(ge=0, le=10**12)]
    currency: Currency


ScopeValue = Annotated[StrictStr, Field(min_length=1, max_length=200)]
ScopeValues = ScopeValue | Annotated[list[ScopeValue], Field(min_length=1, max_length=100)]


class ScopeRuleIn(BaseModel):
    """One use a scoped grant pays for: an operation, and the values some of its
    dimensions may take (``"any"``, a value, or a list of values)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"operation": "train", "dimensions": {"mode": "any"}}]},
    )
    operation: Name
    dimensions: (
        Annotated[
            dict[Annotated[str, Field(min_length=1, max_length=100)], ScopeValues],
            Field(max_length=100),
        ]
        | None
    ) = None

    def document(self) -> dict[str, Any]:
        rule: dict[str, Any] = {"operation": self.operation}
        if self.dimensions:
            rule["dimensions"] = dict(self.dimensions)
        return rule


ScopeIn = Annotated[
    list[ScopeRuleIn],
    Field(
        min_length=1,
        max_length=50,
        description="A scoped grant: it pays only for these operations (and dimension "
        "values), before any general grant; without it the grant pays for anything.",
    ),
]


class ScopeRuleOut(BaseModel):
    operation: str
    dimensions: dict[str, str | list[str]] = Field(
        default_factory=dict, description='Each limited dimension: "any" or its values.'
    )


def _scope_out(scope: GrantScope | None) -> list[ScopeRuleOut] | None:
    if scope is None:
        return None
    return [
        ScopeRuleOut(operation=rule["operation"], dimensions=rule.get("dimensions", {}))
        for rule in scope.to_document()
    ]


class GrantCreate(_Amount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"amount": "100", "kind": "prepaid", "expires_at": "2099-01-01T00:00:00Z"},
                {"amount": "4", "kind": "promotional",
                 "scope": [{"operation": "train", "dimensions": {"mode": "any"}}]},
            ]
        },
    )  # fmt: skip
    kind: GrantKind = GrantKind.PREPAID
    effective_at: TimeIn | None = None
    expires_at: TimeIn | None = None
    cost_basis: CostBasisIn | None = None
    reason: Name | None = Field(None, description="Why: the grant's source reference.")
    metadata: Metadata | None = None
    scope: ScopeIn | None = None

    def scope_document(self) -> list[dict[str, Any]] | None:
        return None if self.scope is None else [rule.document() for rule in self.scope]


class GrantOut(BaseModel):
    id: str
    org_id: str
    kind: str
    amount: str
    amount_micros: int
    remaining: str
    remaining_micros: int
    effective_at: datetime
    expires_at: datetime | None
    source: CauseOut
    cost_basis: CostBasisIn | None
    metadata: dict[str, Any]
    created_at: datetime
    scope: list[ScopeRuleOut] | None = Field(
        None, description="What a scoped grant pays for; null: anything (a general grant)."
    )

    @classmethod
    def of(cls, g: Grant) -> GrantOut:
        basis = g.cost_basis
        return answer(
            cls,
            g,
            **_credits("amount", g.amount),
            **_credits("remaining", g.remaining),
            expires_at=_iso(g.expires_at),
            source=answer(CauseOut, g.source),
            cost_basis=None if basis is None else answer(CostBasisIn, basis),
            scope=_scope_out(g.scope),
        )


class AdjustmentCreate(_Amount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "-5", "reason": "double-charged run 42"}]},
    )
    amount: SignedCreditsText | None = None
    amount_micros: (
        Annotated[
            Annotated[
                StrictInt,
                Field(
                    ge=-REQUEST_MAX_MICROS,
                    le=REQUEST_MAX_MICROS,
                    json_schema_extra={"not": {"const": 0}},
                ),
            ],
            BeforeValidator(whole),
        ]
        | None
    ) = None
    reason: Name

    @property
    def micros(self) -> int:
        if self.amount_micros is not None:
            return self.amount_micros
        assert self.amount is not None
        negative = self.amount.startswith("-")
        micros = parse_credits(self.amount.removeprefix("-"))
        return -micros if negative else micros


class ScopedCreditsOut(BaseModel):
    grant_id: str
    kind: str
    remaining: str
    remaining_micros: int
    scope: list[ScopeRuleOut]
    expires_at: datetime | None


class BalanceOut(BaseModel):
    """``available`` is everything spendable now: ``general`` (on anything) plus
    ``scoped`` (only on what each of ``scoped_grants`` covers); ``by_kind`` splits
    ``general``. What one operation may take is ``general`` plus the scoped grants
    that cover it."""

    org_id: str
    as_of: datetime
    total: str
    total_micros: int
    available: str
    available_micros: int
    pending: str
    pending_micros: int
    expired_unswept: str
    expired_unswept_micros: int
    held: str
    held_micros: int
    by_kind: dict[str, str]
    by_kind_micros: dict[str, int]
    general: str = Field(description="Of available: what any charge may spend.")
    general_micros: int
    scoped: str = Field(description="Of available: what only some operations may spend.")
    scoped_micros: int
    scoped_grants: list[ScopedCreditsOut]

    @classmethod
    def of(cls, b: Balance) -> BalanceOut:
        return cls(
            org_id=b.org_id,
            as_of=b.as_of,
            **_credits("total", b.total),
            **_credits("available", b.available),
            **_credits("pending", b.pending),
            **_credits("expired_unswept", b.expired_unswept),
            **_credits("held", b.held),
            by_kind={k.value: format_credits(v) for k, v in b.by_kind.items()},
            by_kind_micros={k.value: v for k, v in b.by_kind.items()},
            **_credits("general", b.general),
            **_credits("scoped", b.scoped),
            scoped_grants=[
                ScopedCreditsOut(
                    grant_id=s.grant_id,
                    kind=s.kind.value,
                    **_credits("remaining", s.remaining),
                    scope=_scope_out(s.scope) or [],
                    expires_at=_iso(s.expires_at),
                )
                for s in b.scoped_grants
            ],
        )


class EntryOut(BaseModel):
    id: int
    org_id: str
    grant_id: str
    type: str
    amount: str
    amount_micros: int
    cause: CauseOut
    project_id: str | None
    member_id: str | None
    occurred_at: datetime
    recorded_at: datetime
    metadata: dict[str, Any]

    @classmethod
    def of(cls, e: LedgerEntry) -> EntryOut:
        return answer(
            cls,
            e,
            **_credits("amount", e.amount),
            cause=answer(CauseOut, e.cause),
            metadata=dict(e.metadata or {}),
        )


LedgerType = EntryType


class SpendCreate(_Amount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "2.5", "project_id": "prj_..."}]},
    )
    schema_rules: ClassVar[dict[str, Any]] = {
        **exactly_one("amount", "amount_micros"), **_DIMENSIONS_NEED_OPERATION,
    }  # fmt: skip
    project_id: Ident | None = None
    member_id: Ident | None = None
    cause: CauseIn | None = None
    metadata: Metadata | None = None
    operation: Name | None = Field(
        None, description="What the credits pay for: scoped grants covering it pay first."
    )
    dimensions: Dimensions | None = Field(None, description="Only with operation.")


class AllocationOut(BaseModel):
    grant_id: str
    amount: str
    amount_micros: int


def allocations_out(allocations: Iterable[Allocation]) -> list[AllocationOut]:
    """What each grant paid."""
    return [answer(AllocationOut, a, **_credits("amount", a.amount)) for a in allocations]


class DebitOut(BaseModel):
    status: str
    amount: str
    amount_micros: int
    cause: CauseOut | None
    replayed: bool
    allocations: list[AllocationOut]

    @classmethod
    def of(cls, r: Any) -> DebitOut:
        return answer(
            cls,
            r,
            **_credits("amount", r.amount),
            cause=None if r.cause is None else answer(CauseOut, r.cause),
            replayed=bool(r.replayed),
            allocations=allocations_out(r.allocations),
        )


class AdjustmentOut(BaseModel):
    """A positive adjustment is a grant (``grant``); a negative one a debit (``debit``)."""

    grant: GrantOut | None = None
    debit: DebitOut | None = None
