"""Contact-sales requests (:mod:`creditline.domain.sales`) in SQL."""

from __future__ import annotations

from sqlalchemy import Connection, insert, select

from creditline.domain.sales import SalesRequest

from . import tables as t
from .records import Codec

__all__ = ["SalesRequestRepository"]


_REQUEST = Codec(SalesRequest, columns={"credits": "credits_micros"})


class SalesRequestRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, request: SalesRequest) -> None:
        self._conn.execute(insert(t.sales_requests).values(**_REQUEST.encode(request)))

    def get(self, request_id: str) -> SalesRequest | None:
        s = t.sales_requests
        row = self._conn.execute(select(s).where(s.c.id == request_id)).first()
        return None if row is None else _REQUEST.decode(row)

    def recent(self, org_id: str | None = None, limit: int = 100) -> list[SalesRequest]:
        """Requests, newest first: an organization's, or (``None``) every one."""
        s = t.sales_requests
        query = select(s).order_by(s.c.created_at.desc(), s.c.id.desc()).limit(limit)
        if org_id is not None:
            query = query.where(s.c.org_id == org_id)
        return [_REQUEST.decode(row) for row in self._conn.execute(query)]
