"""Contact-sales requests (:mod:`creditline.domain.sales`) in SQL."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, insert, select

from creditline.domain.sales import SalesRequest, SalesRequestSource

from . import tables as t

__all__ = ["SalesRequestRepository"]


def _request(row: Row[Any]) -> SalesRequest:
    return SalesRequest(
        id=row.id,
        org_id=row.org_id,
        country=row.country,
        member_id=row.member_id,
        email=row.email,
        pack=row.pack,
        credits=None if row.credits_micros is None else int(row.credits_micros),
        message=row.message,
        source=SalesRequestSource(row.source),
        created_at=row.created_at,
    )


class SalesRequestRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, request: SalesRequest) -> None:
        self._conn.execute(
            insert(t.sales_requests).values(
                id=request.id, org_id=request.org_id, country=request.country,
                member_id=request.member_id, email=request.email, pack=request.pack,
                credits_micros=request.credits, message=request.message,
                source=request.source.value, created_at=request.created_at,
            )
        )  # fmt: skip

    def get(self, request_id: str) -> SalesRequest | None:
        s = t.sales_requests
        row = self._conn.execute(select(s).where(s.c.id == request_id)).first()
        return None if row is None else _request(row)

    def recent(self, org_id: str | None = None, limit: int = 100) -> list[SalesRequest]:
        """Requests, newest first: an organization's, or (``None``) every one."""
        s = t.sales_requests
        query = select(s).order_by(s.c.created_at.desc(), s.c.id.desc()).limit(limit)
        if org_id is not None:
            query = query.where(s.c.org_id == org_id)
        return [_request(row) for row in self._conn.execute(query)]
