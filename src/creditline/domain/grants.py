"""Grants: the lots that credits come from (requirement B1).

A grant adds ``amount`` micro-credits to one organization. ``remaining`` is what is
left of it after consumption and expiry; it is a cache of the grant's ledger
entries (``verify`` recomputes it) and always satisfies ``0 <= remaining <= amount``.

A grant is *spendable* at ``now`` when ``effective_at <= now < expires_at`` (no
expiry means forever) and something remains. Expiry is enforced at spending time,
so a grant past its expiry is never drawn from even before ``expire_due`` has
written its expire entry.

A grant may be *scoped* (``scope``): it then pays only for the operations its
:class:`~creditline.domain.scopes.GrantScope` covers, and is drawn first by the charges
it covers (:mod:`creditline.domain.scopes`). A grant without a scope is *general*.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from creditline.domain.amounts import MAX_MICROS, CostBasis
from creditline.domain.errors import InvalidGrant, InvalidSetting, InvalidTime
from creditline.domain.scopes import GrantScope
from creditline.domain.time import require_aware

__all__ = [
    "DEFAULT_CONSUMPTION_ORDER",
    "Grant",
    "GrantKind",
    "GrantSource",
    "NewGrant",
    "SourceType",
    "parse_kind",
]


class GrantKind(enum.StrEnum):
    """Where a grant's credits come from, which decides when they are spent (B2)."""

    INCLUDED = "included"
    PREPAID = "prepaid"
    PROMOTIONAL = "promotional"
    REFUND = "refund"
    ADJUSTMENT = "adjustment"
    FLEX = "flex"

    @classmethod
    def names(cls) -> str:
        return ", ".join(k.value for k in cls)


DEFAULT_CONSUMPTION_ORDER: tuple[GrantKind, ...] = (
    GrantKind.INCLUDED,
    GrantKind.PREPAID,
    GrantKind.PROMOTIONAL,
    GrantKind.REFUND,
    GrantKind.ADJUSTMENT,
    GrantKind.FLEX,
)
"""Included first, then prepaid, then promotional, then flex (B2). Refund and
adjustment credits, which the seeds do not place, are spent after promotional and
before flex, since flex is the overage of last resort."""


def parse_kind(value: GrantKind | str) -> GrantKind:
    """A grant kind from its name (``"prepaid"``).

    Raises:
        InvalidSetting: not a grant kind.
    """
    try:
        return GrantKind(value)
    except ValueError:
        raise InvalidSetting("grant kind", value, f"one of {GrantKind.names()}") from None


class SourceType(enum.StrEnum):
    """What made a grant."""

    PLAN = "plan"
    PURCHASE = "purchase"
    OPERATOR = "operator"
    REFUND = "refund"
    SYSTEM = "system"


@dataclass(frozen=True, slots=True)
class GrantSource:
    """The cause of a grant: e.g. ``GrantSource(SourceType.PURCHASE, "pur_123")``."""

    type: SourceType
    ref: str


@dataclass(frozen=True, slots=True)
class NewGrant:
    """A grant as requested, before it is stored. ``validate`` lists every problem."""

    org_id: str
    kind: GrantKind
    amount: int
    effective_at: datetime
    expires_at: datetime | None
    source: GrantSource
    cost_basis: CostBasis | None = None
    metadata: dict[str, Any] = field(default_factory=dict)
    scope: GrantScope | None = None
    """What the grant pays for; ``None``: anything (a general grant)."""

    def validate(self) -> NewGrant:
        """Return a normalized copy (times in UTC) or raise :class:`InvalidGrant`."""
        problems = _amount_problems(self.amount)
        if not isinstance(self.kind, GrantKind):
            problems.append(f"kind must be one of {GrantKind.names()}")
        effective_at = _time_or_problem(self.effective_at, "effective time", problems)
        expires_at = None
        if self.expires_at is not None:
            expires_at = _time_or_problem(self.expires_at, "expiry time", problems)
        if effective_at and expires_at and expires_at <= effective_at:
            problems.append("expiry time must be after the effective time")
        if not self.source.ref or not self.source.ref.strip():
            problems.append("source reference must not be empty")
        if not isinstance(self.metadata, dict):
            problems.append("metadata must be a mapping")
        if self.scope is not None and (
            not isinstance(self.scope, GrantScope) or not self.scope.rules
        ):
            problems.append("scope must list at least one operation (None for a general grant)")
        if problems or effective_at is None:
            raise InvalidGrant(problems)
        return NewGrant(
            org_id=self.org_id,
            kind=self.kind,
            amount=self.amount,
            effective_at=effective_at,
            expires_at=expires_at,
            source=self.source,
            cost_basis=self.cost_basis,
            metadata=dict(self.metadata),
            scope=self.scope,
        )


def _amount_problems(amount: object) -> list[str]:
    if isinstance(amount, bool) or not isinstance(amount, int):
        return ["amount must be an integer number of micro-credits"]
    if amount <= 0:
        return ["amount must be greater than zero"]
    if amount > MAX_MICROS:
        return ["amount is too large"]
    return []


def _time_or_problem(moment: datetime, what: str, problems: list[str]) -> datetime | None:
    try:
        return require_aware(moment, what)
    except InvalidTime as exc:
        problems.append(str(exc))
        return None


@dataclass(frozen=True, slots=True)
class Grant:
    """A stored grant.

    Attributes:
        id: ``grt_...``.
        org_id: the organization it belongs to (for ever: credits never move, A2).
        kind: see :class:`GrantKind`.
        amount: micro-credits granted.
        remaining: micro-credits left (amount - consumed - expired - ...).
        effective_at: first instant it can be spent (UTC).
        expires_at: first instant it can no longer be spent, or ``None``.
        source: what made it.
        cost_basis: what each credit cost, when bought.
        created_at: when it was recorded.
        metadata: free-form data.
        seq: the organization's ledger entry count when the grant was made; orders
            grants created at the same instant (oldest first, exactly).
        scope: what it pays for, or ``None`` for anything (a general grant).
    """

    id: str
    org_id: str
    kind: GrantKind
    amount: int
    remaining: int
    effective_at: datetime
    expires_at: datetime | None
    source: GrantSource
    cost_basis: CostBasis | None
    created_at: datetime
    metadata: dict[str, Any] = field(default_factory=dict)
    seq: int = 0
    scope: GrantScope | None = None

    @property
    def scoped(self) -> bool:
        return self.scope is not None

    def is_spendable(self, now: datetime) -> bool:
        return self.remaining > 0 and self.effective_at <= now and not self.is_expired(now)

    def is_expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now
