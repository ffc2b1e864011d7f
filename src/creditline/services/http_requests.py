"""Idempotent HTTP requests: a POST sent with an ``Idempotency-Key`` is answered once.

:func:`begin` claims the key for the request (one transaction, before the request runs):

- a new key: the request is stored as in progress and runs (``None``);
- the same key, the same request (method, path and body hash), answered: the stored
  answer is replayed (the :class:`IdempotentRequest`);
- the same key, another request: :class:`IdempotencyKeyReused`;
- the same key still in progress: :class:`IdempotencyKeyInUse`, unless it has been in
  progress longer than ``stale_after`` (its process died), when this request takes it
  over and runs.

:func:`finish` stores the answer; :func:`abandon` forgets a request that failed with no
answer worth keeping (a server error), so that a retry runs again.

The stored answer lives in its own transaction, after the effect's: a process that dies
between the two leaves the request in progress, and the retry runs it again. Operations
that carry their own idempotency key in the engine (grants, spends, reservations,
purchases; usage events by their event id) are then still exactly-once: the API passes
the HTTP key down to them.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from creditline.domain.api_keys import IdempotentRequest
from creditline.domain.errors import IdempotencyKeyInUse, IdempotencyKeyReused
from creditline.domain.time import Clock
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = ["KEEP_FOR", "STALE_AFTER", "abandon", "begin", "finish", "prune"]

STALE_AFTER = timedelta(minutes=2)
"""How long a request may stay in progress before a retry takes it over."""
KEEP_FOR = timedelta(hours=24)
"""How long answers are kept for replay (:func:`prune` forgets older ones)."""


def begin(
    request: IdempotentRequest,
    uow: UnitOfWork,
    clock: Clock,
    stale_after: timedelta = STALE_AFTER,
) -> IdempotentRequest | None:
    """Claim ``request``'s key: ``None`` to run it, or the stored answer to replay."""
    now = clock.now()
    claimed = replace(request, created_at=now)
    with uow:
        if uow.http_requests.claim(claimed):
            uow.commit()
            return None
        stored = uow.http_requests.get(request.key_id, request.idempotency_key)
        if stored is None:  # forgotten between the two statements: claim it again
            if not uow.http_requests.claim(claimed):
                raise IdempotencyKeyInUse(request.idempotency_key)
            uow.commit()
            return None
        if stored.request_hash != request.request_hash:
            raise IdempotencyKeyReused(request.idempotency_key)
        if stored.done:
            return stored
        if now - stored.created_at < stale_after or not uow.http_requests.take_over(stored, now):
            raise IdempotencyKeyInUse(request.idempotency_key)
        uow.commit()
        return None


def finish(answered: IdempotentRequest, uow: UnitOfWork, clock: Clock) -> None:
    """Store the answer (``status_code``, ``content_type``, ``body``) of a request
    :func:`begin` let run."""
    with uow:
        uow.http_requests.complete(answered, clock.now())
        uow.commit()


def abandon(request: IdempotentRequest, uow: UnitOfWork) -> None:
    """Forget a request that has no answer to keep, so that its retry runs."""
    with uow:
        uow.http_requests.forget(request.key_id, request.idempotency_key)
        uow.commit()


def prune(uow: UnitOfWork, clock: Clock, keep_for: timedelta = KEEP_FOR) -> int:
    """Forget the requests older than ``keep_for``; how many."""
    with uow:
        count = uow.http_requests.prune(clock.now() - keep_for)
        uow.commit()
    return count
