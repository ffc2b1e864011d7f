"""Moving credits by hand: grants, spends, an operator's adjustments, and expiry (B1, B2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from creditline.domain.amounts import CostBasis
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType, parse_kind
from creditline.domain.ledger import Cause
from creditline.domain.scopes import GrantScope, grant_scope
from creditline.facade.core import Core
from creditline.services import adjustments, expiry
from creditline.services.grants import GrantCredits, grant_credits
from creditline.services.spending import Debit, DebitResult, SpendCredits

__all__ = ["ExpiryReport", "Money"]


@dataclass(frozen=True, slots=True)
class ExpiryReport:
    """What one ``expire_due`` run expired: per organization, in micro-credits."""

    organizations: tuple[expiry.Expired, ...]

    @property
    def grants(self) -> int:
        return sum(e.grants for e in self.organizations)

    @property
    def reservations(self) -> int:
        return sum(e.reservations for e in self.organizations)

    @property
    def amount(self) -> int:
        return sum(e.amount for e in self.organizations)


class Money(Core):
    """Money movements: grants, spends, adjustments and expiry."""

    def grant(
        self,
        org_id: str,
        amount: int,
        kind: GrantKind | str = GrantKind.PREPAID,
        *,
        expires_at: datetime | None = None,
        effective_at: datetime | None = None,
        source: GrantSource | None = None,
        cost_basis: CostBasis | None = None,
        metadata: dict[str, Any] | None = None,
        idempotency_key: str | None = None,
        scope: GrantScope | Sequence[Mapping[str, Any]] | Mapping[str, Any] | None = None,
    ) -> Grant:
        """Grant ``amount`` micro-credits to an organization as a new lot (B1).

        ``scope`` makes it a scoped grant (B7): it pays only for what the scope covers,
        given as a :class:`~creditline.domain.scopes.GrantScope` or in document form
        (``[{"operation": "train", "dimensions": {"mode": "any"}}]``), checked against
        the organization's rate card (an unknown operation raises :class:`InvalidGrant`).
        """
        cmd = GrantCredits(
            org_id=org_id,
            amount=amount,
            kind=parse_kind(kind),
            source=source or GrantSource(SourceType.OPERATOR, "manual"),
            effective_at=effective_at,
            expires_at=expires_at,
            cost_basis=cost_basis,
            metadata=metadata or {},
            idempotency_key=idempotency_key,
            scope=grant_scope(scope),
        )
        return self._run(lambda: grant_credits(cmd, self._uow(), self.clock))

    def spend(
        self,
        org_id: str,
        amount: int,
        *,
        cause: Cause | None = None,
        project_id: str | None = None,
        member_id: str | None = None,
        idempotency_key: str | None = None,
        metadata: dict[str, Any] | None = None,
        operation: str | None = None,
        dimensions: Mapping[str, str] | None = None,
        key_id: str | None = None,
    ) -> DebitResult:
        """Spend ``amount`` micro-credits, drawn from grants in the consumption order (B2).
        With ``key_id``, a limited API key's operations and cap apply.

        ``operation`` (and ``dimensions``) say what the credits pay for: the scoped
        grants covering it pay first (B7); without one only general grants pay.

        Raises:
            InsufficientCredits: the spendable grants cannot cover it; nothing was written.
            KeyCapExceeded: past the key's cap; OperationNotAllowed: not its operation.
            ValidationError, NotFound, IdempotencyKeyReused: bad input; nothing was written.
        """
        debit = Debit(
            amount, cause, project_id, member_id, idempotency_key, metadata, operation,
            None if dimensions is None else dict(dimensions),
        )  # fmt: skip
        (result,) = self.spend_many(org_id, [debit], key_id=key_id)
        if result.error is not None:
            raise result.error
        return result

    def spend_many(
        self, org_id: str, debits: Sequence[Debit], *, key_id: str | None = None
    ) -> list[DebitResult]:
        """Spend many debits in one transaction; each gets its own result, in order
        (with ``key_id``, a limited API key's operations and cap apply)."""
        return self._write(  # type: ignore[no-any-return]
            SpendCredits(org_id, list(debits), key_id=key_id)
        )

    def adjust(
        self, org_id: str, amount: int, reason: str, *, idempotency_key: str | None = None
    ) -> Grant | DebitResult:
        """An operator's correction: ``amount`` > 0 grants an ``adjustment`` lot,
        ``amount`` < 0 takes credits with ``adjustment`` entries. ``reason`` is the cause."""
        cmd = adjustments.adjustment(org_id, amount, reason, idempotency_key)
        if isinstance(cmd, GrantCredits):
            grant = cmd
            return self._run(lambda: grant_credits(grant, self._uow(), self.clock))
        result: DebitResult = self._write(cmd)[0]
        if result.error is not None:
            raise result.error
        return result

    def expire_due(self, limit: int = 1000) -> ExpiryReport:
        """Write an expire entry for every grant past its expiry with credits left.

        Idempotent: a second run, or a run in another process at the same time,
        expires nothing twice.
        """
        now = self.clock.now()
        done: list[expiry.Expired] = []
        while True:
            due = self._run(lambda: expiry.due_organizations(self._uow(read_only=True), now, limit))
            batch = [self._expire_org(org_id) for org_id in due]
            done.extend(e for e in batch if e.changed)
            if len(due) < limit or not any(e.changed for e in batch):
                return ExpiryReport(tuple(done))

    def _expire_org(self, org_id: str) -> expiry.Expired:
        return self._run(lambda: expiry.expire_organization(org_id, self._uow(), self.clock))
