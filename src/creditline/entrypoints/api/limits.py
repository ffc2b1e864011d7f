"""Request limits: the size of a body, and each API key's request rate.

**Body size.** :class:`BodyLimitMiddleware` reads a request's body before the route does
and answers ``413`` (problem ``request-too-large``) past ``max_body_bytes``, whether the
client announced a ``Content-Length`` or streamed it in chunks. The body it read is
replayed to the application.

**Rate.** :class:`RateLimitMiddleware` keeps a token bucket per API key (per client
address for requests without a key): ``burst`` requests at once, refilled at
``rate_per_second``. A request that finds the bucket empty is answered ``429`` (problem
``rate-limited``) with ``Retry-After`` (whole seconds). Requests whose key does not
check out are limited too, per client address, before their key is even looked up
(:class:`~.security.AuthMiddleware`, ``bad_key_rate_per_second``): keys cannot be
guessed at the server's full speed. In one process the buckets live
in its memory (:class:`TokenBuckets`); ``creditline serve --workers N`` gives its workers
one shared table instead (:class:`SharedTokenBuckets`, a memory-mapped file taken under a
file lock), so a key's rate is the same however many processes serve it. Health,
readiness and metrics are never limited.
"""

from __future__ import annotations

import fcntl
import hashlib
import math
import mmap
import os
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from creditline.domain.api_keys import Principal
from creditline.entrypoints.api.asgi import ASGIApp, Receive, Scope, Send, replay, send_json, state
from creditline.entrypoints.api.problems import http_problem

__all__ = [
    "BodyLimitMiddleware",
    "Buckets",
    "RateLimitMiddleware",
    "SharedTokenBuckets",
    "TokenBuckets",
]

_BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}
UNLIMITED_PATHS = ("/healthz", "/readyz", "/metrics")


class _TooLarge(Exception):
    pass


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, max_body_bytes: int) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in _BODY_METHODS:
            await self.app(scope, receive, send)
            return
        request_id = state(scope).get("request_id")
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body_bytes:
            await self._refuse(send, request_id)
            return
        try:
            body = await self._read(receive)
        except _TooLarge:
            await self._refuse(send, request_id)
            return
        state(scope)["body"] = body
        await self.app(scope, replay(body, receive), send)

    async def _read(self, receive: Receive) -> bytes:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body_bytes:
                raise _TooLarge
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)

    async def _refuse(self, send: Send, request_id: str | None) -> None:
        detail = f"the request body is over the limit of {self.max_body_bytes} bytes"
        body = http_problem("request-too-large", detail, request_id, limit=self.max_body_bytes)
        await send_json(send, body, headers=[(b"connection", b"close")])


def _content_length(scope: Scope) -> int | None:
    for key, value in scope.get("headers", ()):
        if key.lower() == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """One token bucket per key: ``take(key)`` is 0 when a request may go, else the
    seconds until it may."""

    def __init__(
        self, rate: float, burst: int, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[str, _Bucket] = {}

    def take(self, key: str) -> float:
        now = self._clock()
        bucket = self._buckets.get(key)
        if bucket is None:
            if len(self._buckets) > 100_000:  # forget idle keys rather than grow forever
                self._buckets.clear()
            bucket = self._buckets[key] = _Bucket(float(self.burst), now)
        bucket.tokens = min(float(self.burst), bucket.tokens + (now - bucket.at) * self.rate)
        bucket.at = now
        if bucket.tokens >= 1:
            bucket.tokens -= 1
            return 0.0
        return (1 - bucket.tokens) / self.rate

    def peek(self, key: str) -> float:
        """What :meth:`take` would answer, without taking anything."""
        bucket = self._buckets.get(key)
        if bucket is None:
            return 0.0
        tokens = min(float(self.burst), bucket.tokens + (self._clock() - bucket.at) * self.rate)
        return 0.0 if tokens >= 1 else (1 - tokens) / self.rate


_SLOT = struct.Struct("<QQq")  # key hash (0: free), micro-tokens, last refill (ns)
_PROBES = 16
_MICRO = 1_000_000


class SharedTokenBuckets:
    """:class:`TokenBuckets` shared by every process that opens the same ``path``: a
    fixed table of slots (key hash, tokens, last refill) in a memory-mapped file, each
    take made under an exclusive ``flock``. Tokens are counted in millionths, time in
    ``CLOCK_MONOTONIC`` nanoseconds (one clock for the whole machine). A key whose slot
    and its next :data:`_PROBES` neighbours are all taken by other keys takes the
    stalest of them (its owner starts again with a full bucket)."""

    SLOTS = 65_536

    def __init__(self, path: str | Path, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        size = self.SLOTS * _SLOT.size
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        if os.fstat(self._fd).st_size < size:
            os.ftruncate(self._fd, size)
        self._map = mmap.mmap(self._fd, size)
        self._lock = threading.Lock()  # flock does not tell this process's threads apart

    @staticmethod
    def create(path: str | Path) -> None:
        """Make (or empty) the table's file, before the processes that share it start."""
        Path(path).write_bytes(b"")

    def _slot(self, digest: int) -> int:
        """The slot of ``digest``: its own, a free one, or the stalest on its probe path."""
        first = digest % self.SLOTS
        stalest, stalest_at = first, None
        for step in range(_PROBES):
            slot = (first + step) % self.SLOTS
            owner, _, at = _SLOT.unpack_from(self._map, slot * _SLOT.size)
            if owner in (digest, 0):
                return slot
            if stalest_at is None or at < stalest_at:
                stalest, stalest_at = slot, at
        return stalest

    def take(self, key: str) -> float:
        return self._take(key, 1)

    def peek(self, key: str) -> float:
        """What :meth:`take` would answer, without taking anything."""
        return self._take(key, 0)

    def _take(self, key: str, count: int) -> float:
        digest = int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest()) or 1
        full = self.burst * _MICRO
        with self._lock:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
            try:
                now = time.monotonic_ns()
                slot = self._slot(digest)
                owner, tokens, at = _SLOT.unpack_from(self._map, slot * _SLOT.size)
                if owner != digest:
                    tokens, at = full, now
                refill = (now - at) * self.rate * _MICRO / 1e9
                tokens = min(full, tokens + int(refill))
                wait = 0.0
                if tokens >= _MICRO:
                    tokens -= count * _MICRO
                else:
                    wait = (_MICRO - tokens) / _MICRO / self.rate
                _SLOT.pack_into(self._map, slot * _SLOT.size, digest, tokens, now)
            finally:
                fcntl.flock(self._fd, fcntl.LOCK_UN)
        return wait


Buckets = TokenBuckets | SharedTokenBuckets


class RateLimitMiddleware:
    def __init__(self, app: ASGIApp, buckets: Buckets | None) -> None:
        self.app = app
        self.buckets = buckets

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            self.buckets is None
            or scope["type"] != "http"
            or scope["path"].startswith(UNLIMITED_PATHS)
        ):
            await self.app(scope, receive, send)
            return
        who = state(scope).get("principal")
        client = scope.get("client") or ("unknown", 0)
        key = who.key_id if isinstance(who, Principal) else f"ip:{client[0]}"
        wait = self.buckets.take(key)
        if wait <= 0:
            await self.app(scope, receive, send)
            return
        retry_after = max(1, math.ceil(wait))
        body = http_problem(
            "rate-limited",
            f"over {self.buckets.rate:g} requests a second (burst {self.buckets.burst}) for "
            "this API key in this process",
            state(scope).get("request_id"),
            retry_after=retry_after,
        )
        await send_json(send, body, headers=[(b"retry-after", str(retry_after).encode())])
