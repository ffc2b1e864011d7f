"""Repositories of the HTTP API: API keys and idempotent requests (tables ``api_keys``
and ``http_idempotency``), in SQLAlchemy Core, on the unit of work's connection.

:meth:`HttpRequestRepository.claim` inserts with ``ON CONFLICT DO NOTHING`` (both
PostgreSQL and SQLite have it), so a second claim of the same key is an answer, not an
error that would abort the transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Connection, delete, select, update
from sqlalchemy.dialects import postgresql, sqlite

from creditline.domain.api_keys import ApiKey, IdempotentRequest

from . import tables as t
from .records import Codec

__all__ = ["ApiKeyRepository", "HttpRequestRepository"]

_K = t.api_keys.c
_H = t.http_idempotency.c


_KEY = Codec(ApiKey, skip=("used_micros",))

_KEY_COLUMNS = (
    _K.id, _K.org_id, _K.role, _K.name, _K.prefix, _K.created_at, _K.expires_at,
    _K.revoked_at, _K.last_used_at, _K.cap_micros, _K.cap_window, _K.operations,
)  # fmt: skip


class ApiKeyRepository:
    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def add(self, key: ApiKey, secret_hash: str) -> None:
        self._conn.execute(t.api_keys.insert().values(secret_hash=secret_hash, **_KEY.encode(key)))

    def by_prefix(self, prefix: str) -> tuple[ApiKey, str] | None:
        """The key of ``prefix`` and its secret's stored hash."""
        row = self._conn.execute(
            select(*_KEY_COLUMNS, _K.secret_hash).where(_K.prefix == prefix)
        ).first()
        return None if row is None else (_KEY.decode(row), row.secret_hash)

    def get(self, key_id: str) -> ApiKey | None:
        row = self._conn.execute(select(*_KEY_COLUMNS).where(_K.id == key_id)).first()
        return None if row is None else _KEY.decode(row)

    def many(self, key_ids: Sequence[str]) -> dict[str, ApiKey]:
        """The keys of ``key_ids`` that exist, by id."""
        if not key_ids:
            return {}
        query = select(*_KEY_COLUMNS).where(_K.id.in_(list(key_ids)))
        return {row.id: _KEY.decode(row) for row in self._conn.execute(query)}

    def of(self, org_id: str | None = None, include_revoked: bool = True) -> list[ApiKey]:
        """Keys, oldest first: of one organization, or all (``org_id`` ``None``)."""
        query = select(*_KEY_COLUMNS).order_by(_K.created_at, _K.id)
        if org_id is not None:
            query = query.where(_K.org_id == org_id)
        if not include_revoked:
            query = query.where(_K.revoked_at.is_(None))
        return [_KEY.decode(row) for row in self._conn.execute(query)]

    def revoke(self, key_id: str, now: datetime) -> None:
        self._conn.execute(
            update(t.api_keys)
            .where(_K.id == key_id, _K.revoked_at.is_(None))
            .values(revoked_at=now)
        )

    def touch(self, key_id: str, now: datetime) -> None:
        self._conn.execute(update(t.api_keys).where(_K.id == key_id).values(last_used_at=now))


_REQUEST = Codec(IdempotentRequest, columns={"body": "response_body"})
_CLAIMED = ("key_id", "idempotency_key", "request", "request_hash", "created_at")
"""The fields of a request stored when it is claimed (the others come with its answer)."""


class HttpRequestRepository:
    """POST requests stored under their Idempotency-Key, per API key."""

    def __init__(self, conn: Connection) -> None:
        self._conn = conn

    def claim(self, request: IdempotentRequest) -> bool:
        """Store ``request`` as in progress; ``False`` when its key is stored already."""
        values = _REQUEST.encode(request, *_CLAIMED)
        dialect = postgresql if self._conn.dialect.name == "postgresql" else sqlite
        statement = (
            dialect.insert(t.http_idempotency)
            .values(**values)
            .on_conflict_do_nothing()
            .returning(_H.key_id)
        )
        # RETURNING, not rowcount: the row comes back only when it was inserted.
        return self._conn.execute(statement).first() is not None

    def get(self, key_id: str, idempotency_key: str) -> IdempotentRequest | None:
        row = self._conn.execute(
            select(t.http_idempotency).where(
                _H.key_id == key_id, _H.idempotency_key == idempotency_key
            )
        ).first()
        return None if row is None else _REQUEST.decode(row)

    def take_over(self, stale: IdempotentRequest, now: datetime) -> bool:
        """Restart a request left in progress (its process died); ``False`` when another
        request took it over first, or it has an answer now."""
        changed = self._conn.execute(
            update(t.http_idempotency)
            .where(
                _H.key_id == stale.key_id,
                _H.idempotency_key == stale.idempotency_key,
                _H.created_at == stale.created_at,
                _H.status_code.is_(None),
            )
            .values(created_at=now)
        ).rowcount
        return bool(changed)

    def complete(self, answered: IdempotentRequest, now: datetime) -> None:
        """Store the answer (``status_code``, ``content_type``, ``body``) of a request."""
        self._conn.execute(
            update(t.http_idempotency)
            .where(_H.key_id == answered.key_id, _H.idempotency_key == answered.idempotency_key)
            .values(
                completed_at=now,
                **_REQUEST.encode(answered, "status_code", "content_type", "body"),
            )
        )

    def forget(self, key_id: str, idempotency_key: str) -> None:
        """Drop a request that has no answer to keep (a failure, so a retry runs)."""
        self._conn.execute(
            delete(t.http_idempotency).where(
                _H.key_id == key_id,
                _H.idempotency_key == idempotency_key,
                _H.status_code.is_(None),
            )
        )

    def prune(self, before: datetime) -> int:
        """Forget every request received before ``before``; how many."""
        return int(
            self._conn.execute(delete(t.http_idempotency).where(_H.created_at < before)).rowcount
        )
