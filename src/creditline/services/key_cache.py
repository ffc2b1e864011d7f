"""API keys checked in memory: a key's database check is reused for up to a second.

Every request of the HTTP API names its key; checking it against the database each time
costs a transaction per request. :class:`KeyCache` keeps each key that checked out,
with the moment (on this process's monotonic clock) its check *began*, and answers from
memory:

- younger than :data:`FRESH` (0.5 s): as it is;
- between :data:`FRESH` and :data:`MAX_AGE` (1 s): as it is, and the key is checked
  again in the background (one check per key at a time), so a busy key never waits;
- older than :data:`MAX_AGE`: not answered from memory; the caller checks it again
  (:meth:`KeyCache.authenticate`), which waits for the database.

So a key revoked or deleted in any process stops working in every process within
:data:`MAX_AGE`: each process's answer rests on a check that began less than a second
ago. A key revoked through this process (:meth:`KeyCache.forget`) stops at once. The
key's expiry is compared with the engine's clock on every use. Keys that do not check
out are never kept (a guessed key costs a database read each time: the HTTP API limits
how often an address may try).

The key's last use (``last_used_at``) is written in the background, at most once a
:data:`~creditline.services.api_keys.TOUCH_EVERY` per key and process, never on the
request's path. The texts of keys are held only in this process's memory.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace

from creditline.domain.api_keys import ApiKey
from creditline.domain.errors import AuthenticationFailed, CreditlineError
from creditline.domain.time import Clock
from creditline.services.api_keys import TOUCH_EVERY

__all__ = ["FRESH", "MAX_AGE", "KeyCache"]

FRESH = 0.5
"""Seconds a key's check is used as it is."""
MAX_AGE = 1.0
"""Seconds after which a key's check is no longer used at all: the revocation bound."""
MAX_KEYS = 10_000
"""Keys kept at most (past it, the cache starts again empty)."""

_log = logging.getLogger("creditline.keys")


@dataclass(slots=True)
class _Entry:
    key: ApiKey
    checked_at: float  # monotonic seconds when the check that found the key began
    refreshing: bool = False


class KeyCache:
    """API keys that checked out recently (see the module docstring).

    Args:
        load: checks a key's text against the database (raises
            :class:`AuthenticationFailed` when it does not check out).
        touch: writes a key's last use.
        clock: the engine's clock (expiry, last use).
        monotonic: seconds on a clock that never goes back (tests pass their own).
    """

    def __init__(
        self,
        load: Callable[[str], ApiKey],
        touch: Callable[[ApiKey], object],
        clock: Clock,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._load = load
        self._touch = touch
        self._clock = clock
        self._monotonic = monotonic
        self._entries: dict[str, _Entry] = {}
        self._lock = threading.Lock()
        self._background: ThreadPoolExecutor | None = None
        self._closed = False

    def get(self, text: str) -> ApiKey | None:
        """The key of ``text`` from memory, or ``None`` when it must be checked (never
        waits on the database).

        Raises:
            AuthenticationFailed: the key has expired (by the engine's clock).
        """
        entry = self._entries.get(text)
        if entry is None:
            return None
        age = self._monotonic() - entry.checked_at
        if age >= MAX_AGE:
            return None
        if age >= FRESH and not entry.refreshing:
            self._refresh(text, entry)
        return self._use(entry)

    def authenticate(self, text: str) -> ApiKey:
        """The key of ``text``: from memory, else checked against the database (waits).

        Raises:
            AuthenticationFailed: malformed, unknown, expired or revoked.
        """
        found = self.get(text)
        if found is not None:
            return found
        began = self._monotonic()
        key = self._load(text)
        entry = _Entry(key, began)
        with self._lock:
            if len(self._entries) >= MAX_KEYS:
                self._entries.clear()
            self._entries[text] = entry
        return self._use(entry)

    def forget(self, key_id: str) -> None:
        """Drop a key (revoked here): its next use is checked against the database."""
        with self._lock:
            for text in [t for t, e in self._entries.items() if e.key.id == key_id]:
                del self._entries[text]

    def close(self) -> None:
        """Stop the background checks (waits for the one running, if any)."""
        self._closed = True
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None

    def _use(self, entry: _Entry) -> ApiKey:
        key = entry.key
        now = self._clock.now()
        reason = key.usable_at(now)
        if reason is not None:
            raise AuthenticationFailed(reason)
        if key.last_used_at is None or now - key.last_used_at >= TOUCH_EVERY:
            # Noted here first, so that the requests that follow do not write it again.
            entry.key = replace(key, last_used_at=now)
            self._in_background(lambda: self._touch(key))
        return entry.key

    def _refresh(self, text: str, entry: _Entry) -> None:
        entry.refreshing = True

        def check() -> None:
            began = self._monotonic()
            try:
                key = self._load(text)
            except AuthenticationFailed:
                with self._lock:
                    if self._entries.get(text) is entry:
                        del self._entries[text]
                return
            except CreditlineError:  # the database: the entry ages out, callers wait
                entry.refreshing = False
                raise
            last = entry.key.last_used_at
            if last is not None and (key.last_used_at is None or key.last_used_at < last):
                key = replace(key, last_used_at=last)
            with self._lock:
                if self._entries.get(text) is entry:
                    self._entries[text] = _Entry(key, began)

        self._in_background(check)

    def _in_background(self, work: Callable[[], object]) -> None:
        if self._closed:
            return
        if self._background is None:
            with self._lock:
                if self._background is None:
                    self._background = ThreadPoolExecutor(1, thread_name_prefix="api-keys")
        try:
            self._background.submit(self._logged, work)
        except RuntimeError:  # shut down meanwhile
            return

    @staticmethod
    def _logged(work: Callable[[], object]) -> None:
        try:
            work()
        except Exception:
            _log.warning("an API key's background check or last use failed", exc_info=True)
