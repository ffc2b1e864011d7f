"""Money movements: granting, spending and an operator's adjustments (B2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from creditline.client import decode
from creditline.client._wire import Flow, op
from creditline.domain.amounts import CostBasis
from creditline.domain.errors import InvalidSetting
from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType
from creditline.domain.ledger import Cause
from creditline.domain.scopes import GrantScope
from creditline.services.spending import DebitResult

from ._requests import cause_doc, compact, fetch, grant_kind, org_post, scope_doc


class MoneyOperations:
    """Money movements: granting, spending and an operator's adjustments (B2)."""

    @op
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
    ) -> Flow[Grant]:
        """Grant ``amount`` micro-credits as a new lot (operator). The service grants
        operator credits only: ``source`` is ``GrantSource(SourceType.OPERATOR, reason)``
        (default reason ``manual``, as the library's). ``scope``: a scoped grant (B7)."""
        chosen = grant_kind(kind)
        if source is not None and source.type is not SourceType.OPERATOR:
            raise InvalidSetting(
                "grant source", source.type.value, "the service grants operator credits only"
            )
        basis = None
        if cost_basis is not None:
            basis = {
                "unit_price_minor": cost_basis.unit_price_minor,
                "currency": cost_basis.currency,
            }
        body = compact(
            amount_micros=amount,
            kind=chosen.value,
            effective_at=effective_at,
            expires_at=expires_at,
            cost_basis=basis,
            reason="manual" if source is None else source.ref,
            metadata=metadata,
            scope=scope_doc(scope),
        )
        return (
            yield from fetch(decode.grant, org_post(org_id, "/grants", body, key=idempotency_key))
        )

    @op
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
    ) -> Flow[DebitResult]:
        """Spend ``amount`` micro-credits in the consumption order (B2); for
        ``operation``, the scoped grants covering it first (B7).
        ``key_id`` is the library's way to name a limited key: the service applies the
        limits of the key this client calls with, and the argument is not sent.

        Raises:
            InsufficientCredits: the spendable grants cannot cover it; nothing was written.
        """
        body = compact(
            amount_micros=amount,
            project_id=project_id,
            member_id=member_id,
            cause=cause_doc(cause),
            metadata=metadata,
            operation=operation,
            dimensions=None if dimensions is None else dict(dimensions),
        )
        reply = yield org_post(org_id, "/spend", body, key=idempotency_key)
        return decode.debit(reply.json(), reply.replayed and idempotency_key is not None)

    @op
    def adjust(
        self, org_id: str, amount: int, reason: str, *, idempotency_key: str | None = None
    ) -> Flow[Grant | DebitResult]:
        """An operator's correction: > 0 grants an ``adjustment`` lot, < 0 takes credits."""
        body = {"amount_micros": amount, "reason": reason}
        reply = yield org_post(org_id, "/adjustments", body, key=idempotency_key)
        answer = reply.json()
        if answer.get("grant") is not None:
            return decode.grant(answer["grant"])
        return decode.debit(answer["debit"], reply.replayed and idempotency_key is not None)
