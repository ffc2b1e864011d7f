"""``Idempotency-Key`` on every POST: the first answer is the only answer.

A POST that carries ``Idempotency-Key`` (1 to 100 printable ASCII characters) is
claimed under the API key that sent it and the organization its path names
(:func:`scoped_key`: ``/v1/orgs/org_A/spend`` and ``/v1/orgs/org_B/spend`` with the same
key are two requests, never a replay or a conflict), before the route runs (and after
the key is checked: a request without a valid key is answered 401 whatever its header)
(:meth:`creditline.Creditline.begin_request`):

- a new key: the request runs; its answer (any status below 500 but 429) is stored,
  then sent. A server error is not stored, so a retry runs again;
- the same key again with the same method, path, query and body: the stored answer is
  sent again, byte for byte, with ``Idempotent-Replayed: true``;
- the same key with anything else: ``409`` (problem ``idempotency-key-reused``);
- the same key while its first request is still running: ``409``
  (``idempotency-key-in-use``); a request left running by a process that died is
  taken over after two minutes.

Answers are kept 24 hours: each process prunes older ones about once an hour.

**Exactly once.** The stored answer is written after the effect, in its own
transaction. Where the engine itself takes an idempotency key (a grant, a spend, an
adjustment, a reservation, a purchase) the route passes it :func:`engine_key`, derived
from the header, so that a retry after a crash between the two is still answered by the
first effect. Usage events are exactly-once by their own event ids; commits and releases
by the reservation's state. Creating an organization, a project, a member or a key, and
loading catalogues are not: a retry after such a crash may answer 409 (a unique name)
or, without one, make a second record.
"""

from __future__ import annotations

import hashlib
import logging
import re
import time

from starlette.concurrency import run_in_threadpool

from creditline.bootstrap import Creditline
from creditline.domain.api_keys import IdempotentRequest, Principal
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.api.asgi import (
    ASGIApp,
    Message,
    Receive,
    Scope,
    Send,
    header,
    send_json,
    state,
)
from creditline.entrypoints.api.problems import http_problem, problem

__all__ = ["HEADER", "IdempotencyMiddleware", "engine_key", "scoped_key"]

HEADER = "Idempotency-Key"
UNKEYED = "/webhooks/"
"""Paths that take no key: a provider's webhooks are deduplicated by their event id."""
PRUNE_EVERY = 3600.0
"""Seconds between two prunings of old answers, in each process."""
_VALID = re.compile(r"^[\x21-\x7e]+$")
_log = logging.getLogger("creditline.api")


def engine_key(request_state: object, raw: str | None) -> str | None:
    """The engine's idempotency key for a request's ``Idempotency-Key`` (scoped to the
    API key that sent it; the engine keeps keys per organization), or ``None`` without
    one."""
    who = getattr(request_state, "principal", None)
    if raw is None or not isinstance(who, Principal):
        return None
    return f"http:{who.key_id}:{raw}"


_ORG_PATH = re.compile(r"^/v1/orgs/([^/]+)(?:/|$)")
_LONGEST_ORG = 64
"""A longer organization segment (no organization has one: the route answers 404) is
stored by its digest, so that the stored key stays within its column."""


def scoped_key(path: str, raw: str) -> str:
    """The key a request is stored under: the header's value within the organization the
    path names (``org_.../order-42``), or the value alone for a path without one
    (``POST /v1/orgs``, ``/v1/events``). The API key that sent it is the other half of
    the scope (:class:`IdempotentRequest.key_id`)."""
    found = _ORG_PATH.match(path)
    if found is None:
        return raw
    org = found.group(1)
    if len(org) > _LONGEST_ORG:
        org = "sha256:" + hashlib.sha256(org.encode()).hexdigest()[:32]
    return f"{org}/{raw}"


def _fingerprint(scope: Scope, body: bytes) -> str:
    digest = hashlib.sha256()
    digest.update(f"{scope['method']} {scope['path']}?".encode())
    digest.update(scope.get("query_string", b""))
    digest.update(b"\n")
    digest.update(body)
    return digest.hexdigest()


class IdempotencyMiddleware:
    def __init__(self, app: ASGIApp, creditline: Creditline, max_length: int = 100) -> None:
        self.app = app
        self.creditline = creditline
        self.max_length = max_length
        self._pruned_at = -PRUNE_EVERY

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = header(scope, b"idempotency-key") if scope["type"] == "http" else None
        if raw is None or scope["method"] != "POST" or scope["path"].startswith(UNKEYED):
            await self.app(scope, receive, send)
            return
        request_state = state(scope)
        request_id = request_state.get("request_id")
        who = request_state.get("principal")
        if not isinstance(who, Principal):  # checked after the key: the route answers 401
            await self.app(scope, receive, send)
            return
        if not (1 <= len(raw) <= self.max_length and _VALID.match(raw)):
            detail = f"{HEADER} must be 1 to {self.max_length} printable ASCII characters"
            errors = [{"field": f"header.{HEADER}", "message": detail}]
            await send_json(
                send, http_problem("invalid-request", detail, request_id, errors=errors)
            )
            return
        body = request_state.get("body", b"")
        claim = IdempotentRequest(
            key_id=who.key_id,
            idempotency_key=scoped_key(scope["path"], raw),
            request=f"POST {scope['path']}"[:500],
            request_hash=_fingerprint(scope, body),
            created_at=self.creditline.clock.now(),
        )
        try:
            stored = await run_in_threadpool(self.creditline.begin_request, claim)
        except CreditlineError as exc:
            await send_json(send, problem(exc, request_id))
            return
        if stored is not None:
            await self._replay(stored, send)
            return
        await self._run(claim, scope, receive, send)
        await self._prune_now_and_then()

    async def _prune_now_and_then(self) -> None:
        now = time.monotonic()
        if now - self._pruned_at < PRUNE_EVERY:
            return
        self._pruned_at = now
        try:
            await run_in_threadpool(self.creditline.prune_requests)
        except CreditlineError:
            _log.warning("old idempotent requests were not pruned", exc_info=True)

    async def _replay(self, stored: IdempotentRequest, send: Send) -> None:
        data = (stored.body or "").encode()
        await send(
            {
                "type": "http.response.start",
                "status": stored.status_code,
                "headers": [
                    (b"content-type", (stored.content_type or "application/json").encode()),
                    (b"content-length", str(len(data)).encode()),
                    (b"idempotent-replayed", b"true"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": data})

    async def _run(
        self, claim: IdempotentRequest, scope: Scope, receive: Receive, send: Send
    ) -> None:
        held: list[Message] = []
        try:
            await self.app(scope, receive, self._hold(held))
        except BaseException:
            await self._abandon(claim)
            raise
        start = next((m for m in held if m["type"] == "http.response.start"), None)
        status = int(start["status"]) if start else 500
        body = b"".join(m.get("body", b"") for m in held if m["type"] == "http.response.body")
        content_type = next(
            (bytes(v).decode("latin-1") for k, v in (start or {}).get("headers", ())
             if k.lower() == b"content-type"),
            None,
        )  # fmt: skip
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = None
        if status >= 500 or status == 429 or text is None:
            await self._abandon(claim)
        else:
            try:
                await run_in_threadpool(
                    self.creditline.finish_request, claim, status, content_type, text
                )
            except CreditlineError:
                _log.warning("the answer of an idempotent request was not stored", exc_info=True)
        for message in held:
            await send(message)

    @staticmethod
    def _hold(held: list[Message]) -> Send:
        async def hold(message: Message) -> None:
            held.append(message)

        return hold

    async def _abandon(self, claim: IdempotentRequest) -> None:
        try:
            await run_in_threadpool(self.creditline.abandon_request, claim)
        except CreditlineError:
            _log.warning("an abandoned idempotent request was not forgotten", exc_info=True)
