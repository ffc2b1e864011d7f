"""The HTTP API's request and response bodies (pydantic), and how engine results become
response bodies.

**Amounts.** Credits are exact, never floats. Every credit amount is answered twice: as
a decimal string of credits (``"amount": "12.5"``) and as an integer of micro-credits
(``"amount_micros": 12500000``; 1 credit = 1,000,000 micro-credits). A request gives
either one, never both: ``"amount": "12.5"`` or ``"amount_micros": 12500000``. Money is
integer minor units with an ISO currency (``{"minor": 45000, "currency": "EUR"}``).
Quantities of usage are integers, JSON numbers read exactly (``0.5`` is the decimal
0.5, not a float), or decimal strings.

**Times** are ISO 8601 with a time zone (answers are in UTC).

**Request bodies refuse unknown fields** (422): ids, balances, an organization or any
other field a caller may not set cannot be smuggled in; the organization comes from
the path and the API key.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Annotated, Any, ClassVar, Literal, Self

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    Strict,
    StrictBool,
    StrictInt,
    StrictStr,
    model_validator,
)

from creditline.domain.alerts import AlertParams, AlertRule, AlertState
from creditline.domain.amounts import format_credits, parse_credits
from creditline.domain.api_keys import ApiKey, IssuedKey, Role
from creditline.domain.balances import Balance
from creditline.domain.charging import MAX_TTL
from creditline.domain.countries import COUNTRY_CODES
from creditline.domain.deliveries import Delivery, WebhookEndpoint, subscribable_event_types
from creditline.domain.grants import Grant, GrantKind
from creditline.domain.invoices import BillingEvent, BillingRecord, Invoice, InvoiceItem
from creditline.domain.ledger import CauseType, EntryType, LedgerEntry
from creditline.domain.money import Money
from creditline.domain.organizations import Member, Organization, Project
from creditline.domain.overview import Overview
from creditline.domain.plans import DepletionPolicy
from creditline.domain.portal import PortalSession
from creditline.domain.purchases import Purchase, Receipt
from creditline.domain.reports import UsageReport
from creditline.domain.reservations import Reservation
from creditline.domain.sales import EMAIL_PATTERN, MAX_MESSAGE, SalesRequest, SalesRequestSource
from creditline.domain.scopes import GrantScope
from creditline.domain.usage import EventResult, Metering, StoredUsage
from creditline.entrypoints.api.schema_rules import (
    NOT_BLANK,
    Ruled,
    at_most_one,
    at_most_one_of,
    exactly_one,
)
from creditline.entrypoints.usage_export import usage_rows
from creditline.services.sales import SelfServe

# -- shared pieces ----------------------------------------------------------------------

Name = Annotated[StrictStr, Field(min_length=1, max_length=200, pattern=NOT_BLANK)]
Ident = Annotated[StrictStr, Field(min_length=1, max_length=200)]
CreditsText = Annotated[
    StrictStr,
    Field(
        pattern=r"^[0-9]{1,13}(\.[0-9]{1,6})?$",
        max_length=21,
        description="Credits, an exact decimal string (at most 6 decimals).",
        examples=["12.5"],
    ),
]
_ABOVE_ZERO = (
    r"(?:[1-9][0-9]{0,11}(?:\.[0-9]{1,6})?"
    r"|0\.(?:[1-9][0-9]{0,5}|0[1-9][0-9]{0,4}|00[1-9][0-9]{0,3}|000[1-9][0-9]{0,2}"
    r"|0000[1-9][0-9]?|00000[1-9]))"
)
"""Credits above zero: up to 12 digits (no leading zero) and up to 6 decimals: below a
trillion credits, so that any amount it allows is one the engine takes (REQUEST_MAX_MICROS
below; 13 digits would allow 9.9e18 micro-credits, past the store's 2**63 - 1)."""

PositiveCreditsText = Annotated[
    StrictStr,
    Field(
        pattern=f"^{_ABOVE_ZERO}$",
        max_length=21,
        description="Credits above zero, an exact decimal string (at most 6 decimals).",
        examples=["12.5"],
    ),
]
SignedCreditsText = Annotated[
    StrictStr,
    Field(
        pattern=f"^-?{_ABOVE_ZERO}$",
        max_length=22,
        description="Credits, an exact decimal string, negative to take credits (not zero).",
        examples=["-2.5"],
    ),
]


def whole(value: Any) -> Any:
    """An integral decimal (``197.0``, which JSON Schema counts as an integer) as an int."""
    if isinstance(value, Decimal) and value.is_finite() and value == value.to_integral_value():
        return int(value)
    return value


REQUEST_MAX_MICROS = 10**18
"""The largest ``amount_micros`` a request takes (a trillion credits). The store holds up
to 2**63 - 1; the document states this bound instead because an OpenAPI number is read
as a double, which cannot hold 2**63 - 1 (it becomes 2**63) but holds 10**18 exactly."""

MicrosIn = Annotated[
    Annotated[
        StrictInt,
        Field(
            ge=1,
            le=REQUEST_MAX_MICROS,
            description="Micro-credits, an integer.",
            examples=[12_500_000],
        ),
    ],
    BeforeValidator(whole),
]


_ISO_TIME = re.compile(r"^[0-9]{4}-[0-9]{2}-[0-9]{2}")


def time_text(value: Any) -> Any:
    """A time in a request is ISO 8601 text: a number (or a numeral) is not read as a
    Unix time."""
    if isinstance(value, datetime):
        return value
    if not isinstance(value, str) or not _ISO_TIME.match(value):
        raise ValueError("must be an ISO 8601 time with a zone (2026-01-05T10:00:00Z)")
    return value


TimeIn = Annotated[AwareDatetime, BeforeValidator(time_text)]
TimeQuery = Annotated[datetime, BeforeValidator(time_text)]


def plain(value: Any) -> Any:
    """JSON as stored: exact decimal numbers as their text (JSON columns have no decimals)."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


Metadata = Annotated[
    dict[str, Any],
    AfterValidator(plain),
    Field(description="Free-form JSON, kept with the record.", examples=[{"ticket": "T-42"}]),
]
StrictDecimal = Annotated[Decimal, Strict()]
QuantityIn = StrictInt | StrictDecimal | Annotated[StrictStr, Field(max_length=100)]
Quantities = Annotated[
    dict[Annotated[str, Field(max_length=100)], QuantityIn],
    Field(max_length=100, examples=[{"attributes": 3}]),
]
Dimensions = Annotated[
    dict[Annotated[str, Field(max_length=100)], Annotated[StrictStr, Field(max_length=200)]],
    Field(max_length=100, examples=[{"mode": "Business", "delivery": "Standard"}]),
]
Currency = Annotated[StrictStr, Field(pattern=r"^[A-Za-z]{3}$", examples=["EUR"])]

_FORBID = ConfigDict(extra="forbid")


def _iso(moment: datetime | None) -> datetime | None:
    return None if moment is None else moment.astimezone(UTC)


def _credits(name: str, micros: int) -> dict[str, Any]:
    return {name: format_credits(micros), f"{name}_micros": micros}


class _Amount(Ruled, BaseModel):
    """A request amount: ``amount`` (decimal credits) or ``amount_micros``, exactly one."""

    model_config = _FORBID
    schema_rules: ClassVar[dict[str, Any]] = exactly_one("amount", "amount_micros")

    amount: PositiveCreditsText | None = None
    amount_micros: MicrosIn | None = None

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.amount is None) == (self.amount_micros is None):
            raise ValueError("give exactly one of amount (decimal credits) or amount_micros")
        return self

    @property
    def micros(self) -> int:
        if self.amount_micros is not None:
            return self.amount_micros
        assert self.amount is not None
        return parse_credits(self.amount)


class CauseIn(BaseModel):
    model_config = _FORBID
    type: CauseType
    ref: Annotated[StrictStr, Field(min_length=1, max_length=200)]


class CauseOut(BaseModel):
    type: str
    ref: str


class MoneyOut(BaseModel):
    minor: int = Field(description="Whole minor units (cents).")
    currency: str


def _money(money: Money) -> MoneyOut:
    return MoneyOut(minor=money.minor, currency=money.currency)


# -- organizations, projects, members ----------------------------------------------------


def _assigned_country(value: str) -> str:
    if value not in COUNTRY_CODES:
        raise ValueError("not an ISO 3166-1 alpha-2 country code (upper case: DE, US...)")
    return value


CountryCode = Annotated[
    StrictStr,
    Field(
        min_length=2,
        max_length=2,
        json_schema_extra={"enum": sorted(COUNTRY_CODES)},
        examples=["DE"],
    ),
    AfterValidator(_assigned_country),
]
"""An ISO 3166-1 alpha-2 code, upper case (the library also takes lower case)."""


class OrgCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Acme", "external_ref": "acme-42"}]},
    )
    name: Name
    external_ref: Name | None = None
    consumption_order: (
        Annotated[list[GrantKind], Field(max_length=6, json_schema_extra={"uniqueItems": True})]
        | None
    ) = Field(None, description="Grant kinds in spending order (the rest follow), each once.")
    metadata: Metadata | None = None
    country: CountryCode | None = Field(
        None, description="ISO 3166-1 alpha-2; decides whether it can buy self-serve."
    )


class OrgOut(BaseModel):
    id: str
    name: str
    external_ref: str | None
    consumption_order: list[str]
    metadata: dict[str, Any]
    created_at: datetime
    country: str | None

    @classmethod
    def of(cls, org: Organization) -> OrgOut:
        return cls(
            id=org.id,
            name=org.name,
            external_ref=org.external_ref,
            consumption_order=[k.value for k in org.consumption_order],
            metadata=dict(org.metadata),
            created_at=org.created_at,
            country=org.country,
        )


class ProjectCreate(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"name": "bot"}]})
    name: Name


class ProjectOut(BaseModel):
    id: str
    org_id: str
    name: str
    created_at: datetime

    @classmethod
    def of(cls, p: Project) -> ProjectOut:
        return cls(id=p.id, org_id=p.org_id, name=p.name, created_at=p.created_at)


class MemberCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"name": "Ada", "email": "ada@example.com"}]},
    )
    name: Name
    email: Annotated[StrictStr, Field(min_length=3, max_length=320, pattern="@")] | None = None


class MemberOut(BaseModel):
    id: str
    org_id: str
    name: str
    email: str | None
    created_at: datetime

    @classmethod
    def of(cls, m: Member) -> MemberOut:
        return cls(id=m.id, org_id=m.org_id, name=m.name, email=m.email, created_at=m.created_at)


# -- grants, balance, ledger, spending ---------------------------------------------------


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
        return cls(
            id=g.id,
            org_id=g.org_id,
            kind=g.kind.value,
            **_credits("amount", g.amount),
            **_credits("remaining", g.remaining),
            effective_at=g.effective_at,
            expires_at=_iso(g.expires_at),
            source=CauseOut(type=g.source.type.value, ref=g.source.ref),
            cost_basis=None
            if basis is None
            else CostBasisIn(unit_price_minor=basis.unit_price_minor, currency=basis.currency),
            metadata=dict(g.metadata),
            created_at=g.created_at,
            scope=_scope_out(g.scope),
        )


class AdjustmentCreate(Ruled, BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "-5", "reason": "double-charged run 42"}]},
    )
    schema_rules: ClassVar[dict[str, Any]] = exactly_one("amount", "amount_micros")
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

    @model_validator(mode="after")
    def _one_amount(self) -> Self:
        if (self.amount is None) == (self.amount_micros is None):
            raise ValueError("give exactly one of amount (decimal credits) or amount_micros")
        return self

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
        return cls(
            id=e.id,
            org_id=e.org_id,
            grant_id=e.grant_id,
            type=e.type.value,
            **_credits("amount", e.amount),
            cause=CauseOut(type=e.cause.type.value, ref=e.cause.ref),
            project_id=e.project_id,
            member_id=e.member_id,
            occurred_at=e.occurred_at,
            recorded_at=e.recorded_at,
            metadata=dict(e.metadata or {}),
        )


LedgerType = EntryType


_DIMENSIONS_NEED_OPERATION = {
    "not": {
        "required": ["dimensions"],
        "properties": {"dimensions": {"not": {"type": "null"}}, "operation": {"type": "null"}},
    }
}
"""Dimensions say more about an operation: given without one, the request is refused."""


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


class DebitOut(BaseModel):
    status: str
    amount: str
    amount_micros: int
    cause: CauseOut | None
    replayed: bool
    allocations: list[AllocationOut]

    @classmethod
    def of(cls, r: Any) -> DebitOut:
        return cls(
            status=r.status.value,
            **_credits("amount", r.amount),
            cause=None if r.cause is None else CauseOut(type=r.cause.type.value, ref=r.cause.ref),
            replayed=bool(r.replayed),
            allocations=[
                AllocationOut(grant_id=a.grant_id, **_credits("amount", a.amount))
                for a in r.allocations
            ],
        )


class AdjustmentOut(BaseModel):
    """A positive adjustment is a grant (``grant``); a negative one a debit (``debit``)."""

    grant: GrantOut | None = None
    debit: DebitOut | None = None


# -- usage events, quotes ------------------------------------------------------------------


class StepIn(BaseModel):
    model_config = _FORBID
    operation: Name
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None


class UsageEventIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "run-42",
                    "operation": "train",
                    "occurred_at": "2026-01-05T10:00:00Z",
                    "quantities": {"attributes": 3},
                    "dimensions": {"mode": "Business", "delivery": "Standard"},
                }
            ]
        },
    )
    event_id: Ident = Field(description="The producer's id: the same id is recorded once.")
    operation: Name
    occurred_at: TimeIn | None = Field(None, description="Default: now.")
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None
    project_id: Ident | None = None
    member_id: Ident | None = None
    parent_id: Ident | None = None
    steps: Annotated[list[StepIn], Field(max_length=100)] | None = None
    metadata: Metadata | None = None


class UsageBatchIn(BaseModel):
    model_config = _FORBID
    events: Annotated[list[UsageEventIn], Field(min_length=1)]


class ComponentOut(BaseModel):
    operation: str
    cost: str
    cost_micros: int


class EventResultOut(BaseModel):
    event_id: str
    status: Literal["accepted", "refused", "rejected", "duplicate"]
    cost: str
    cost_micros: int
    reason: str | None
    problem: str | None = Field(None, description="The problem type of a refusal or rejection.")
    rate_card: str | None
    components: list[ComponentOut]
    index: int | None = Field(None, description="Its position in the batch.")

    @classmethod
    def of(
        cls, r: EventResult, index: int | None = None, problem: str | None = None
    ) -> EventResultOut:
        return cls(
            event_id=r.event_id,
            status=r.status.value,
            **_credits("cost", r.cost),
            reason=r.reason,
            problem=problem,
            rate_card=r.rate_card,
            components=[
                ComponentOut(operation=op, **_credits("cost", cost)) for op, cost in r.components
            ],
            index=index,
        )


class BatchOut(BaseModel):
    """Per-event results, in the order sent; every accepted or refused event is durable."""

    results: list[EventResultOut]
    accepted: int
    refused: int
    rejected: int
    duplicate: int
    cost: str
    cost_micros: int


def _quantity_text(value: object) -> str:
    return str(value)


class StoredUsageOut(BaseModel):
    event_id: str
    org_id: str
    operation: str
    occurred_at: datetime
    quantities: dict[str, str]
    dimensions: dict[str, str]
    project_id: str | None
    member_id: str | None
    parent_id: str | None
    status: str
    cost: str
    cost_micros: int
    reason: str | None
    rate_card: str | None
    components: list[ComponentOut]
    allocations: list[AllocationOut]
    metadata: dict[str, Any]
    batch_id: str | None

    @classmethod
    def of(cls, s: StoredUsage) -> StoredUsageOut:
        e = s.event
        return cls(
            event_id=e.event_id,
            org_id=e.org_id,
            operation=e.operation,
            occurred_at=e.at,
            quantities={k: _quantity_text(v) for k, v in e.quantities.items()},
            dimensions=dict(e.dimensions),
            project_id=e.project_id,
            member_id=e.member_id,
            parent_id=e.parent_id,
            status=s.status,
            **_credits("cost", s.cost),
            reason=s.reason,
            rate_card=s.rate_card,
            components=[
                ComponentOut(operation=op, **_credits("cost", cost)) for op, cost in s.components
            ],
            allocations=[
                AllocationOut(grant_id=a.grant_id, **_credits("amount", a.amount))
                for a in s.allocations
            ],
            metadata=dict(e.metadata),
            batch_id=s.batch_id,
        )


class AmendIn(BaseModel):
    model_config = _FORBID
    quantities: Quantities
    dimensions: Dimensions | None = None


class CreditBackIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"reason": "acceptance criteria not met"}]},
    )
    reason: Annotated[StrictStr, Field(min_length=1, max_length=500, pattern=NOT_BLANK)] = (
        "acceptance criteria not met"
    )


class QuoteIn(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "operation": "train",
                    "quantities": {"attributes": 3},
                    "dimensions": {"mode": "Business", "delivery": "Standard"},
                }
            ]
        },
    )
    operation: Name
    quantities: Quantities | None = None
    dimensions: Dimensions | None = None
    steps: Annotated[list[StepIn], Field(max_length=100)] | None = None
    at: TimeIn | None = Field(None, description="Price at this time (default: now).")
    rate_card: Name | None = Field(None, description="Price by this card, not the org's.")


class QuoteOut(BaseModel):
    """What an operation costs and why (:meth:`creditline.Quote.to_dict`)."""

    operation: str
    card: str
    version: str
    total: str
    total_micros: int
    base: str
    multiplier: str
    multipliers: list[dict[str, Any]]
    exact: str
    rounding: dict[str, Any] | None
    adjustment: str
    components: list[dict[str, Any]]
    steps: list[dict[str, Any]]
    selection: dict[str, str]
    supplier: str | None


# -- reservations --------------------------------------------------------------------------


class ReservationCreate(_Amount):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"amount": "12", "ttl_seconds": 7200}]},
    )
    schema_rules: ClassVar[dict[str, Any]] = {
        **exactly_one("amount", "amount_micros"), **_DIMENSIONS_NEED_OPERATION,
    }  # fmt: skip
    ttl_seconds: Annotated[
        Annotated[StrictInt, Field(ge=1, le=int(MAX_TTL.total_seconds()))],
        BeforeValidator(whole),
    ] = 3600
    project_id: Ident | None = None
    member_id: Ident | None = None
    cause: CauseIn | None = None
    metadata: Metadata | None = None
    operation: Name | None = Field(
        None, description="What the hold is for: scoped grants covering it are held first."
    )
    dimensions: Dimensions | None = Field(None, description="Only with operation.")


class CommitIn(_Amount):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"amount": "10"}]})
    final: StrictBool = Field(True, description="false: commit one step, keep the rest held.")


class ReservationOut(BaseModel):
    id: str
    org_id: str
    status: str
    amount: str
    amount_micros: int
    held: str
    held_micros: int
    consumed: str
    consumed_micros: int
    shortfall: str
    shortfall_micros: int
    cause: CauseOut
    project_id: str | None
    member_id: str | None
    expires_at: datetime
    created_at: datetime
    settled_at: datetime | None
    metadata: dict[str, Any]
    operation: str | None = None
    dimensions: dict[str, str] = Field(default_factory=dict)

    @classmethod
    def of(cls, r: Reservation) -> ReservationOut:
        return cls(
            id=r.id,
            org_id=r.org_id,
            status=r.status.value,
            **_credits("amount", r.amount),
            **_credits("held", r.held),
            **_credits("consumed", r.consumed),
            **_credits("shortfall", r.shortfall),
            cause=CauseOut(type=r.cause.type.value, ref=r.cause.ref),
            project_id=r.project_id,
            member_id=r.member_id,
            expires_at=r.expires_at,
            created_at=r.created_at,
            settled_at=_iso(r.settled_at),
            metadata=dict(r.metadata),
            operation=r.operation,
            dimensions=dict(r.dimensions),
        )


class SettlementOut(BaseModel):
    reservation: ReservationOut
    consumed: str
    consumed_micros: int
    released: str
    released_micros: int
    shortfall: str
    shortfall_micros: int
    replayed: bool

    @classmethod
    def of(cls, s: Any) -> SettlementOut:
        return cls(
            reservation=ReservationOut.of(s.reservation),
            **_credits("consumed", s.consumed),
            **_credits("released", s.released),
            **_credits("shortfall", s.shortfall),
            replayed=bool(s.replayed),
        )


# -- rate cards, plans, packs ------------------------------------------------------------


class RateCardLoad(Ruled, BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "document": {
                        "name": "default",
                        "version": "2026-01",
                        "effective_from": "2026-01-01T00:00:00Z",
                        "operations": {"chat": {"flat": "1"}},
                    }
                }
            ]
        },
    )
    document: dict[str, Any] | None = Field(None, description="The card as a JSON document.")
    toml: Annotated[StrictStr, Field(max_length=1_000_000)] | None = Field(
        None, description="The card as a TOML document."
    )
    schema_rules: ClassVar[dict[str, Any]] = exactly_one("document", "toml")

    @model_validator(mode="after")
    def _one_source(self) -> Self:
        if (self.document is None) == (self.toml is None):
            raise ValueError("give exactly one of document (JSON) or toml")
        return self


class RateCardVersionOut(BaseModel):
    name: str
    version: str
    effective_from: datetime
    operations: list[str]
    document: dict[str, Any] = Field(description="The version as loaded (exact decimal text).")


class RateCardHistoryOut(BaseModel):
    name: str
    versions: list[RateCardVersionOut]


class RateCardAssign(BaseModel):
    model_config = _FORBID
    rate_card: Name | None = Field(description="The card's name; null: the default card.")


class OrgRateCardOut(BaseModel):
    org_id: str
    rate_card: str


class PlanOut(BaseModel):
    name: str
    document: dict[str, Any]


class PlanAssign(BaseModel):
    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"plan": "pro", "subscribe": True}]}
    )
    plan: Name | None = Field(description="The plan's name; null: no plan.")
    depletion: DepletionPolicy | None = None
    flex_enabled: StrictBool | None = None
    subscribe: StrictBool = False
    currency: Annotated[StrictStr, Field(pattern=r"^[A-Z]{3}$")] | None = Field(
        None, description="The currency the plan's fee is billed in (default: the plan's)."
    )


class CycleOut(BaseModel):
    index: int
    start: datetime
    end: datetime


class SubscriptionOut(BaseModel):
    currency: str | None = Field(None, description="The currency its plan's fee is billed in.")
    plan: str
    interval: str
    anchor: str
    time_zone: str
    started_at: datetime
    anchored_at: datetime
    anchor_no: int
    last_cycle: int | None
    cycle: CycleOut | None
    next_renewal_at: datetime | None
    ended_at: datetime | None


class OrgPlanOut(BaseModel):
    org_id: str
    plan: str
    rate_card: str
    depletion: str
    flex_enabled: bool
    read_only: bool
    subscription: SubscriptionOut | None
    change: str | None = Field(None, description="What assigning did to the billing.")
    billing_hold: str | None = Field(
        None, description="The overdue invoice the organization is suspended for, if any."
    )

    @classmethod
    def of(cls, m: Metering, status: Any, read_only: bool, change: str | None = None) -> OrgPlanOut:
        sub = None
        if status is not None:
            s = status.subscription
            cycle = status.cycle
            sub = SubscriptionOut(
                plan=s.plan,
                interval=s.interval.value,
                anchor=s.anchor_kind.value,
                time_zone=s.time_zone,
                started_at=s.started_at,
                anchored_at=s.anchored_at,
                anchor_no=s.anchor_no,
                last_cycle=s.last_cycle,
                cycle=None
                if cycle is None
                else CycleOut(index=cycle.index, start=cycle.start, end=cycle.end),
                next_renewal_at=_iso(s.next_renewal_at),
                ended_at=_iso(s.ended_at),
                currency=s.currency,
            )
        return cls(
            org_id=m.org_id,
            plan=m.plan.name,
            rate_card=m.rate_card,
            depletion=m.depletion.value,
            flex_enabled=m.flex_enabled,
            read_only=read_only,
            subscription=sub,
            change=change,
            billing_hold=m.hold,
        )


class PacksLoad(BaseModel):
    model_config = _FORBID
    toml: Annotated[StrictStr, Field(min_length=1, max_length=1_000_000)] = Field(
        description="The catalogue as a TOML document (examples/PLATFORM/packs.toml)."
    )


class CatalogueOut(BaseModel):
    name: str
    document: dict[str, Any]


# -- purchases, invoices, billing ----------------------------------------------------------


class PurchaseCreate(Ruled, BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"pack": "50-credits", "currency": "EUR"}]},
    )
    pack: Name | None = Field(None, description="A pack of the catalogue.")
    amount: PositiveCreditsText | None = Field(None, description="Any amount, at the fixed rate.")
    amount_micros: MicrosIn | None = None
    currency: Currency
    success_url: Annotated[StrictStr, Field(max_length=2000)] | None = None
    cancel_url: Annotated[StrictStr, Field(max_length=2000)] | None = None
    email: Annotated[StrictStr, Field(min_length=3, max_length=320)] | None = None

    schema_rules: ClassVar[dict[str, Any]] = at_most_one("amount", "amount_micros")

    @model_validator(mode="after")
    def _what(self) -> Self:
        if self.amount is not None and self.amount_micros is not None:
            raise ValueError("give at most one of amount or amount_micros")
        return self

    @property
    def micros(self) -> int | None:
        if self.amount_micros is not None:
            return self.amount_micros
        return None if self.amount is None else parse_credits(self.amount)


class PurchaseOut(BaseModel):
    id: str
    org_id: str
    pack: str
    credits: str
    credits_micros: int
    price: MoneyOut
    status: str
    provider: str
    refund_policy: str
    checkout_url: str | None
    grant_id: str | None
    email: str | None
    refunded_credits: str
    refunded_credits_micros: int
    refunded_minor: int
    failure: str | None
    created_at: datetime
    paid_at: datetime | None
    refunded_at: datetime | None
    trigger: str = Field(description="manual, automatic or recurring (a top-up).")

    @classmethod
    def of(cls, p: Purchase) -> PurchaseOut:
        return cls(
            id=p.id,
            org_id=p.org_id,
            pack=p.pack,
            **_credits("credits", p.credits),
            price=_money(p.price),
            status=p.status.value,
            provider=p.provider,
            refund_policy=p.refund_policy.value,
            checkout_url=p.checkout_url,
            grant_id=p.grant_id,
            email=p.email,
            **_credits("refunded_credits", p.refunded_credits),
            refunded_minor=p.refunded_minor,
            failure=p.failure,
            created_at=p.created_at,
            paid_at=_iso(p.paid_at),
            refunded_at=_iso(p.refunded_at),
            trigger=p.trigger.value,
        )


class ReceiptOut(BaseModel):
    id: str
    purchase_id: str
    org_id: str
    pack: str
    credits: str
    credits_micros: int
    amount: MoneyOut
    email: str | None
    issued_at: datetime
    emailed_at: datetime | None

    @classmethod
    def of(cls, r: Receipt) -> ReceiptOut:
        return cls(
            id=r.id,
            purchase_id=r.purchase_id,
            org_id=r.org_id,
            pack=r.pack,
            **_credits("credits", r.credits),
            amount=_money(r.amount),
            email=r.email,
            issued_at=r.issued_at,
            emailed_at=_iso(r.emailed_at),
        )


class InvoiceLineOut(BaseModel):
    kind: str = Field(description="fee, proration, flex, purchase or credit.")
    description: str
    credits: str
    credits_micros: int
    unit_price_minor: int
    amount_minor: int = Field(description="Minor units; negative for a credit.")


class InvoiceOut(BaseModel):
    id: str
    number: str
    org_id: str
    kind: str
    period: str
    status: str
    total: MoneyOut
    lines: list[InvoiceLineOut]
    issued_at: datetime
    paid_at: datetime | None
    voided_at: datetime | None
    payment_error: str | None
    payment_attempts: int = 0
    collection: str | None = Field(
        None, description="Dunning: retrying, overdue, or null (not in dunning)."
    )
    next_attempt_at: datetime | None = Field(None, description="When the charge is retried.")

    @classmethod
    def of(cls, i: Invoice) -> InvoiceOut:
        return cls(
            id=i.id,
            number=i.display_number,
            org_id=i.org_id,
            kind=i.kind,
            period=i.period,
            status=i.status.value,
            total=_money(i.total),
            lines=[
                InvoiceLineOut(
                    kind=line.kind.value,
                    description=line.description,
                    **_credits("credits", line.credits),
                    unit_price_minor=line.unit_price_minor,
                    amount_minor=line.amount_minor,
                )
                for line in i.lines
            ],
            issued_at=i.issued_at,
            paid_at=_iso(i.paid_at),
            voided_at=_iso(i.voided_at),
            payment_error=i.payment_error,
            payment_attempts=i.payment_attempts,
            collection=None if i.collection is None else i.collection.value,
            next_attempt_at=_iso(i.next_attempt_at),
        )


class InvoiceItemOut(BaseModel):
    """An amount waiting for the next invoice."""

    id: str
    kind: str
    ref: str
    description: str
    currency: str
    amount_minor: int = Field(description="Minor units; negative for a credit.")
    credits_micros: int
    due_at: datetime

    @classmethod
    def of(cls, i: InvoiceItem) -> InvoiceItemOut:
        return cls(
            id=i.id, kind=i.kind.value, ref=i.ref, description=i.description,
            currency=i.currency, amount_minor=i.amount_minor, credits_micros=i.credits,
            due_at=i.due_at,
        )  # fmt: skip


class BillingEventOut(BaseModel):
    """A step of an invoice's collection, with its cause."""

    id: int
    invoice_id: str | None
    type: str
    cause: str
    data: dict[str, Any]
    at: datetime

    @classmethod
    def of(cls, e: BillingEvent) -> BillingEventOut:
        return cls(id=e.id, invoice_id=e.invoice_id, type=e.type, cause=e.cause, data=e.data,
                   at=e.at)  # fmt: skip


class InvoiceMarkPaid(BaseModel):
    model_config = _FORBID
    reference: Annotated[StrictStr, Field(max_length=200)] | None = Field(
        None, description="How it was paid (a transfer's reference), recorded with it."
    )


class PaymentRetryOut(BaseModel):
    invoices: list[InvoiceOut]


class InvoiceRunIn(BaseModel):
    model_config = _FORBID
    month: Annotated[StrictStr, Field(pattern=r"^[1-9][0-9]{3}-(0[1-9]|1[0-2])$")] | None = Field(
        None, description="The month to invoice (default: the previous one)."
    )


class InvoiceRunOut(BaseModel):
    month: str
    issued: list[InvoiceOut]
    existing: int
    unpriced: list[str]
    failed_charges: list[str]


class BillingRecordOut(BaseModel):
    at: datetime
    kind: str
    ref: str
    description: str
    amount: MoneyOut
    status: str

    @classmethod
    def of(cls, r: BillingRecord) -> BillingRecordOut:
        return cls(
            at=r.at,
            kind=r.kind,
            ref=r.ref,
            description=r.description,
            amount=_money(r.amount),
            status=r.status,
        )


class WebhookOut(BaseModel):
    received: bool
    event_id: str
    outcome: str


# -- reports -------------------------------------------------------------------------------


class UsageRowOut(BaseModel):
    project_id: str | None = None
    project_name: str | None = None
    operation: str | None = None
    member_id: str | None = None
    member_name: str | None = None
    period: str | None = None
    events: int
    cost: str
    cost_micros: int


class UsageReportOut(BaseModel):
    org_id: str
    group_by: list[str]
    period: str | None
    since: datetime
    until: datetime
    rows: list[UsageRowOut]
    events: int
    cost: str
    cost_micros: int

    @classmethod
    def of(cls, r: UsageReport, period: str | None) -> UsageReportOut:
        rows = [UsageRowOut.model_validate(d) for d in usage_rows(r.columns, r.rows, r.names)]
        return cls(
            org_id=r.org_id,
            group_by=[c for c in r.columns if c != "period"],
            period=period,
            since=r.since,
            until=r.until,
            rows=rows,
            events=r.events,
            **_credits("cost", r.cost),
        )


class ExpiringOut(BaseModel):
    grant_id: str
    kind: str
    remaining: str
    remaining_micros: int
    expires_at: datetime


class CycleProgressOut(BaseModel):
    plan: str
    index: int
    start: datetime
    end: datetime
    next_renewal_at: datetime | None
    elapsed_seconds: int
    total_seconds: int


class BurnDayOut(BaseModel):
    day: date
    closing: str
    closing_micros: int
    burnt: str
    burnt_micros: int


class OverviewOut(BaseModel):
    """An organization's dashboard data: the counter by kind, what will expire, the
    read-only, paused and flex flags, the billing cycle, the burn-down (the balance at
    each day's end and what usage burnt), the burn rate (a day, over the last 7 days)
    and the forecast depletion date."""

    org_id: str
    as_of: datetime
    balance: BalanceOut
    by_kind: dict[str, str]
    by_kind_micros: dict[str, int]
    expiring: list[ExpiringOut]
    depletion: str
    read_only: bool
    paused: bool
    on_flex: bool
    flex_used: str
    flex_used_micros: int
    flex_limit: str | None
    flex_limit_micros: int | None
    cycle: CycleProgressOut | None
    burn_down: list[BurnDayOut]
    burn_rate: str
    burn_rate_micros: int
    depletes_on: date | None

    @classmethod
    def of(cls, o: Overview) -> OverviewOut:
        c = o.cycle
        limit = o.flex_limit
        return cls(
            org_id=o.org_id,
            as_of=o.as_of,
            balance=BalanceOut.of(o.balance),
            by_kind={k.value: format_credits(v) for k, v in o.by_kind},
            by_kind_micros={k.value: v for k, v in o.by_kind},
            expiring=[
                ExpiringOut(
                    grant_id=e.grant_id,
                    kind=e.kind.value,
                    **_credits("remaining", e.remaining),
                    expires_at=e.expires_at,
                )
                for e in o.expiring
            ],
            depletion=o.depletion.value,
            read_only=o.read_only,
            paused=o.paused,
            on_flex=o.on_flex,
            **_credits("flex_used", o.flex_used),
            flex_limit=None if limit is None else format_credits(limit),
            flex_limit_micros=limit,
            cycle=None
            if c is None
            else CycleProgressOut(
                plan=c.plan,
                index=c.index,
                start=c.start,
                end=c.end,
                next_renewal_at=_iso(c.next_renewal_at),
                elapsed_seconds=c.elapsed_seconds,
                total_seconds=c.total_seconds,
            ),
            burn_down=[
                BurnDayOut(
                    day=d.day, **_credits("closing", d.closing), **_credits("burnt", d.burnt)
                )
                for d in o.burn_down
            ],
            **_credits("burn_rate", o.burn_rate),
            depletes_on=o.depletes_on,
        )


# -- alerts and outgoing webhooks (E2) -----------------------------------------------------


Word = Annotated[StrictStr, Field(max_length=100)]
EventTypeName = Annotated[
    StrictStr,
    Field(max_length=100, json_schema_extra={"enum": list(subscribable_event_types())}),
]
"""An event type a webhook endpoint can subscribe to (every one an alert fires, and the
operator's ``sales.contact_requested``). The
document lists them; the engine checks them, so that the library, the client and the API
refuse an unknown type with the same error (422 ``invalid-setting``)."""


class AlertRuleCreate(BaseModel):
    """An alert rule: its kind and the settings that kind takes. The types are checked
    here; what each kind needs and the ranges are the engine's (422
    ``invalid-alert-rule``, listing every problem at once)."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"kind": "remaining_below", "threshold": "100", "rearm_above": "150"},
                {"kind": "forecast_depletion", "days": 3, "email": "ops@acme.example"},
            ]
        },
    )
    kind: StrictStr = Field(
        max_length=100,
        description="remaining_below, remaining_below_percent, used_percent, depleted, "
        "read_only, forecast_depletion or payment_failed.",
        examples=["remaining_below"],
    )
    threshold: CreditsText | None = Field(None, description="remaining_below: fire below this.")
    threshold_micros: StrictInt | None = Field(None, description="Or in micro-credits.")
    rearm_above: CreditsText | None = Field(
        None, description="remaining_below: re-arm at or above this (default: the threshold)."
    )
    rearm_above_micros: StrictInt | None = Field(None, description="Or in micro-credits.")
    percent: StrictInt | None = Field(
        None,
        description="A whole percent (1-100) of the cycle's grant: remaining_below_percent "
        "fires when the credits left are strictly below it; used_percent when at least it "
        "is used.",
    )
    rearm_percent: StrictInt | None = Field(
        None,
        description="remaining_below_percent: re-arm at or above this percent left; "
        "used_percent: re-arm when less than this percent is used (default: percent).",
    )
    days: StrictInt | None = Field(
        None, description="forecast_depletion: fire when the credits last at most this many days."
    )
    rearm_days: StrictInt | None = None
    lookback_days: StrictInt | None = Field(
        None, description="forecast_depletion: the burn rate's window in days (default 7)."
    )
    channels: Annotated[list[Word], Field(max_length=10)] | None = Field(
        None, description="webhook and/or email (default: webhook, and email with an email)."
    )
    email: Annotated[StrictStr, Field(max_length=320)] | None = None

    @model_validator(mode="after")
    def _one_form(self) -> Self:
        for name in ("threshold", "rearm_above"):
            if getattr(self, name) is not None and getattr(self, f"{name}_micros") is not None:
                raise ValueError(f"give at most one of {name} or {name}_micros")
        return self

    def micros(self, name: str) -> int | None:
        """``threshold`` or ``rearm_above`` in micro-credits, from either form."""
        given: int | None = getattr(self, f"{name}_micros")
        text: str | None = getattr(self, name)
        return parse_credits(text) if text is not None else given


class AlertParamsOut(BaseModel):
    """The rule's settings (``null``: not set); credit amounts in both forms."""

    threshold: str | None = None
    threshold_micros: int | None = None
    rearm_above: str | None = None
    rearm_above_micros: int | None = None
    percent: int | None = None
    rearm_percent: int | None = None
    days: int | None = None
    rearm_days: int | None = None
    lookback_days: int | None = None

    @classmethod
    def of(cls, p: AlertParams) -> AlertParamsOut:
        amounts = {
            **({} if p.threshold is None else _credits("threshold", p.threshold)),
            **({} if p.rearm_above is None else _credits("rearm_above", p.rearm_above)),
        }
        return cls(
            **amounts,
            percent=p.percent,
            rearm_percent=p.rearm_percent,
            days=p.days,
            rearm_days=p.rearm_days,
            lookback_days=p.lookback_days,
        )


class AlertStateOut(BaseModel):
    state: str = Field(description="armed (fires when its condition turns true) or fired.")
    last_fired_at: datetime | None
    last_value: str | None = Field(description="Available credits when the state last changed.")
    last_value_micros: int | None
    signal_cursor: int = Field(description="payment_failed: the last payment signal seen.")
    fired_count: int
    updated_at: datetime | None

    @classmethod
    def of(cls, s: AlertState) -> AlertStateOut:
        return cls(
            state=s.state.value,
            last_fired_at=_iso(s.last_fired_at),
            last_value=None if s.last_value is None else format_credits(s.last_value),
            last_value_micros=s.last_value,
            signal_cursor=s.signal_cursor,
            fired_count=s.fired_count,
            updated_at=_iso(s.updated_at),
        )


class AlertRuleOut(BaseModel):
    id: str
    org_id: str
    kind: str
    event_type: str = Field(description="The event type it fires (credits.depleted...).")
    description: str = Field(description="The rule in words.")
    params: AlertParamsOut
    channels: list[str]
    email: str | None
    created_at: datetime
    disabled_at: datetime | None
    state: AlertStateOut | None

    @classmethod
    def of(cls, r: AlertRule) -> AlertRuleOut:
        return cls(
            id=r.id,
            org_id=r.org_id,
            kind=r.kind.value,
            event_type=r.event_type,
            description=r.describe(),
            params=AlertParamsOut.of(r.params),
            channels=[c.value for c in r.channels],
            email=r.email,
            created_at=r.created_at,
            disabled_at=_iso(r.disabled_at),
            state=None if r.state is None else AlertStateOut.of(r.state),
        )


class AlertEventOut(BaseModel):
    """One firing of a rule: its Standard Webhooks ``type`` and ``data``."""

    type: str
    org_id: str
    rule_id: str
    at: datetime
    data: dict[str, Any]


class AlertFailureOut(BaseModel):
    org_id: str
    problem: ProblemOut = Field(description="Why its evaluation failed (retried next run).")


class AlertRunOut(BaseModel):
    organizations: int = Field(description="Organizations whose rules were evaluated.")
    events: list[AlertEventOut]
    rearmed: int
    deliveries: int = Field(description="Deliveries enqueued (webhooks and e-mails).")
    failed: list[AlertFailureOut]


class WebhookEndpointCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "url": "https://platform.example/hooks/credits",
                    "event_types": ["credits.depleted", "credits.below_threshold"],
                    "description": "ops channel",
                }
            ]
        },
    )
    url: Annotated[StrictStr, Field(min_length=1, max_length=2000)] = Field(
        description="An http(s) URL the events are POSTed to, signed (Standard Webhooks)."
    )
    event_types: Annotated[list[EventTypeName], Field(max_length=20)] = Field(
        default_factory=list,
        description="The event types it receives (none: all): credits.below_threshold, "
        "credits.depleted, credits.forecast_depletion, org.read_only, payment.failed.",
    )
    description: Name | None = None


class WebhookEndpointOut(BaseModel):
    id: str
    url: str
    org_id: str | None = Field(description="null: it receives every organization's events.")
    event_types: list[str] = Field(description="Empty: every event type.")
    description: str | None
    created_at: datetime
    disabled_at: datetime | None

    @classmethod
    def of(cls, e: WebhookEndpoint) -> WebhookEndpointOut:
        return cls(
            id=e.id,
            url=e.url,
            org_id=e.org_id,
            event_types=list(e.event_types),
            description=e.description,
            created_at=e.created_at,
            disabled_at=_iso(e.disabled_at),
        )


class WebhookEndpointCreated(WebhookEndpointOut):
    secret: str = Field(description="The signing secret (whsec_...): shown this once, never again.")

    @classmethod
    def created(cls, e: WebhookEndpoint) -> WebhookEndpointCreated:
        assert e.secret is not None
        return cls(**WebhookEndpointOut.of(e).model_dump(), secret=e.secret)


class DeliveryAttemptOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    number: int
    at: datetime
    ok: bool
    status_code: int | None
    error: str | None
    duration_ms: int | None


class DeliveryOut(BaseModel):
    id: str = Field(description="The message id (the webhook-id header), the same each try.")
    channel: str
    endpoint_id: str | None
    recipient: str | None
    org_id: str | None
    rule_id: str | None
    event_type: str
    payload: str = Field(description="The exact JSON text sent and signed.")
    status: str = Field(description="pending, delivered or failed.")
    attempts: int
    next_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    delivered_at: datetime | None
    attempt_log: list[DeliveryAttemptOut] = Field(
        description="Every attempt, oldest first (read one delivery for it; empty in lists)."
    )

    @classmethod
    def of(cls, d: Delivery) -> DeliveryOut:
        return cls(
            id=d.id,
            channel=d.channel.value,
            endpoint_id=d.endpoint_id,
            recipient=d.recipient,
            org_id=d.org_id,
            rule_id=d.rule_id,
            event_type=d.event_type,
            payload=d.payload,
            status=d.status.value,
            attempts=d.attempts,
            next_attempt_at=_iso(d.next_attempt_at),
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            created_at=d.created_at,
            delivered_at=_iso(d.delivered_at),
            attempt_log=[DeliveryAttemptOut.model_validate(a) for a in d.attempt_log],
        )


class DeliveryRunOut(BaseModel):
    attempted: int
    delivered: int
    retrying: int = Field(description="Failed, to be tried again on the back-off schedule.")
    failed: int = Field(description="Failed for good (no attempt left, or no endpoint).")


# -- API keys, operations ------------------------------------------------------------------


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"role": "org", "org_id": "org_...", "name": "backend"}]},
    )
    role: Role
    org_id: Ident | None = None
    name: Name
    expires_at: TimeIn | None = None


class ApiKeyOut(BaseModel):
    id: str
    org_id: str | None
    role: str
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None

    @classmethod
    def of(cls, k: ApiKey) -> ApiKeyOut:
        return cls(
            id=k.id,
            org_id=k.org_id,
            role=k.role.value,
            name=k.name,
            prefix=k.prefix,
            created_at=k.created_at,
            expires_at=_iso(k.expires_at),
            revoked_at=_iso(k.revoked_at),
            last_used_at=_iso(k.last_used_at),
        )


class IssuedKeyOut(ApiKeyOut):
    key: str = Field(description="The key's full text: shown this once, never again.")

    @classmethod
    def issued(cls, issued: IssuedKey) -> IssuedKeyOut:
        return cls(**ApiKeyOut.of(issued.key).model_dump(), key=issued.secret)


class TickOut(BaseModel):
    at: datetime
    ok: bool
    jobs: list[dict[str, Any]]


class VerifyOut(BaseModel):
    ok: bool
    organizations: int
    grants: int
    problems: list[str]


class HealthOut(BaseModel):
    status: str


class ProblemOut(BaseModel):
    """RFC 9457 problem details; extension members (``errors``, ``needed``, ``rule``...)
    depend on the type."""

    model_config = ConfigDict(extra="allow")
    type: str
    title: str
    status: int
    detail: str
    instance: str | None = None


def batch_out(results: Sequence[EventResultOut]) -> BatchOut:
    counts = {"accepted": 0, "refused": 0, "rejected": 0, "duplicate": 0}
    cost = 0
    for r in results:
        counts[r.status] += 1
        if r.status == "accepted":
            cost += r.cost_micros
    return BatchOut.model_validate({"results": list(results), **counts, **_credits("cost", cost)})


# -- the web dashboard: portal sessions ------------------------------------------------


class PortalSessionCreate(BaseModel):
    """A link into the organization's customer portal (Stripe's billing-portal
    convention): the platform's backend makes one for its signed-in user and redirects
    the user to ``url``."""

    model_config = _FORBID
    member_id: Ident | None = Field(
        default=None, description="The member the session acts as (none: the organization)."
    )
    read_only: StrictBool = Field(default=False, description="A session that changes nothing.")
    ttl_seconds: Annotated[Annotated[StrictInt, Field(ge=30, le=3600)], BeforeValidator(whole)] = (
        Field(default=300, description="How long the link opens, in seconds (30 to 3600).")
    )


class PortalSessionOut(BaseModel):
    url: str = Field(description="The link to redirect the user to, on this server.")
    path: str = Field(description="The link's path (/portal/session/<token>).")
    token: str = Field(description="The signed token in the link.")
    expires_at: datetime = Field(description="When the link stops opening.")
    org_id: str
    member_id: str | None
    read_only: bool

    @classmethod
    def of(cls, session: PortalSession, base_url: str) -> PortalSessionOut:
        return cls(
            url=base_url.rstrip("/") + session.url,
            path=session.url,
            token=session.token,
            expires_at=session.expires_at,
            org_id=session.org_id,
            member_id=session.member_id,
            read_only=session.read_only,
        )


# -- country gating and contact sales (D8) ---------------------------------------------------


class OrgUpdate(BaseModel):
    """Change an organization's name or country; a field left out is unchanged, a
    ``country`` of ``null`` removes it."""

    model_config = ConfigDict(
        extra="forbid", json_schema_extra={"examples": [{"country": "DE"}, {"country": None}]}
    )
    name: Name | None = None
    country: CountryCode | None = Field(
        None, description="ISO 3166-1 alpha-2; null: no country any more."
    )


class SelfServeOut(BaseModel):
    org_id: str
    country: str | None
    available: bool = Field(description="It can buy through the checkout; else contact sales.")
    countries: list[str] | None = Field(description="The platform's list; null: everywhere.")
    contact_sales: str = Field(description="Where to ask sales (POST).")

    @classmethod
    def of(cls, state: SelfServe) -> SelfServeOut:
        return cls(
            org_id=state.org_id,
            country=state.country,
            available=state.available,
            countries=None if state.countries is None else list(state.countries),
            contact_sales=f"/v1/orgs/{state.org_id}/sales-requests",
        )


SalesEmail = Annotated[StrictStr, Field(min_length=5, max_length=320, pattern=EMAIL_PATTERN)]


class SalesRequestCreate(Ruled, BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [{"pack": "explorer", "message": "We would like to buy credits."}]
        },
    )
    pack: Annotated[StrictStr, Field(min_length=1, max_length=100, pattern=NOT_BLANK)] | None = (
        Field(None, description="A pack of the catalogue.")
    )
    amount: PositiveCreditsText | None = Field(None, description="Or an amount of credits.")
    amount_micros: MicrosIn | None = None
    message: Annotated[StrictStr, Field(max_length=MAX_MESSAGE)] | None = None
    member_id: Ident | None = Field(None, description="The member asking, if any.")
    email: SalesEmail | None = Field(None, description="Where to answer (default: the member's).")
    source: SalesRequestSource = Field(
        SalesRequestSource.API, description="Where it was asked: api (default) or portal."
    )

    schema_rules: ClassVar[dict[str, Any]] = at_most_one_of("pack", "amount", "amount_micros")

    @model_validator(mode="after")
    def _what(self) -> Self:
        given = [n for n in ("pack", "amount", "amount_micros") if getattr(self, n) is not None]
        if len(given) > 1:
            raise ValueError("give at most one of pack, amount or amount_micros")
        return self

    @property
    def micros(self) -> int | None:
        if self.amount_micros is not None:
            return self.amount_micros
        return None if self.amount is None else parse_credits(self.amount)


class SalesRequestOut(BaseModel):
    id: str
    org_id: str
    country: str | None
    member_id: str | None
    email: str | None
    pack: str | None
    credits: str | None
    credits_micros: int | None
    message: str
    source: str
    created_at: datetime

    @classmethod
    def of(cls, r: SalesRequest) -> SalesRequestOut:
        return cls(
            id=r.id,
            org_id=r.org_id,
            country=r.country,
            member_id=r.member_id,
            email=r.email,
            pack=r.pack,
            credits=None if r.credits is None else format_credits(r.credits),
            credits_micros=r.credits,
            message=r.message,
            source=r.source.value,
            created_at=r.created_at,
        )
