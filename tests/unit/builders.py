"""Builders of domain objects for the unit tests: stored grants without a database."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

from creditline.domain.grants import Grant, GrantKind, GrantSource, SourceType

T0 = datetime(2026, 1, 1, tzinfo=UTC)
DAY = timedelta(days=1)

_ids = itertools.count(1)


def grant(
    amount: int = 1_000_000,
    kind: GrantKind = GrantKind.PREPAID,
    *,
    remaining: int | None = None,
    effective_at: datetime = T0,
    expires_at: datetime | None = None,
    created_at: datetime | None = None,
    org_id: str = "org_a",
    id: str | None = None,
) -> Grant:
    """A stored grant; ``remaining`` defaults to the whole amount, ids increase per call."""
    return Grant(
        id=id or f"grt_{next(_ids):06d}",
        org_id=org_id,
        kind=kind,
        amount=amount,
        remaining=amount if remaining is None else remaining,
        effective_at=effective_at,
        expires_at=expires_at,
        source=GrantSource(SourceType.OPERATOR, "test"),
        cost_basis=None,
        created_at=created_at or effective_at,
    )
