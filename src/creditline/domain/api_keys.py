"""API keys: who may call the HTTP API, and on which organization.

A key has a **role**:

- ``operator``: everything, on every organization (the platform's own back office);
- ``org``: everything an organization may do to itself (spend, record usage, reserve,
  buy), on that organization only;
- ``org_read``: the same organization, reading only.

A key's text is ``cl_live_<prefix>_<secret>``: ``prefix`` (10 characters, shown in key
lists, the key's lookup) and ``secret`` (32 random bytes, URL-safe base64). Only a
SHA-256 hash of the secret is stored: the secret is random and long, so a fast hash is
as strong as a slow one, and the key is shown once, when it is made. A key may expire
and can be revoked; either way it stops working at once.

Tenancy comes from the key, never from the request: an ``org`` key names its
organization, and anything of another organization is, for it, not found.

**Caps.** An organization's key may carry a spend cap (``cap_micros`` micro-credits a
``cap_window``: a UTC ``day`` or ``month``) and a list of the operations it may charge
(``operations``), so a platform can hand a key to an agent, a CI job or a customer's
integration without risking the organization's pool. The charging decision enforces
both (:mod:`creditline.domain.charging.caps`): a charge past the cap is refused
(:class:`~creditline.domain.errors.KeyCapExceeded`), one of another operation too
(:class:`~creditline.domain.errors.OperationNotAllowed`). A key's limits are set when
it is made and never change; an operator key has none (it spans organizations).
"""

from __future__ import annotations

import base64
import enum
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = [
    "KEY_PREFIX",
    "ApiKey",
    "CapWindow",
    "IdempotentRequest",
    "IssuedKey",
    "Principal",
    "Role",
    "hash_secret",
    "new_key_text",
    "parse_key_text",
    "secret_matches",
    "window_bounds",
]

KEY_PREFIX = "cl_live_"
_PREFIX_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
_KEY_TEXT = re.compile(r"^cl_live_([a-z2-7]{10})_([A-Za-z0-9_-]{43})$")


class Role(enum.StrEnum):
    OPERATOR = "operator"
    ORG = "org"
    ORG_READ = "org_read"

    @property
    def writes(self) -> bool:
        return self is not Role.ORG_READ


class CapWindow(enum.StrEnum):
    """The window a key's cap counts in: a UTC calendar day or month, half-open."""

    DAY = "day"
    MONTH = "month"


def window_bounds(window: CapWindow, at: datetime) -> tuple[datetime, datetime]:
    """The ``[start, end)`` of the ``window`` holding ``at`` (UTC)."""
    at = at.astimezone(UTC)
    if window is CapWindow.DAY:
        start = at.replace(hour=0, minute=0, second=0, microsecond=0)
        return start, datetime.fromordinal(start.toordinal() + 1).replace(tzinfo=UTC)
    start = at.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    year, month = divmod(start.month, 12)
    return start, start.replace(year=start.year + year, month=month + 1)


@dataclass(frozen=True, slots=True)
class ApiKey:
    """A stored key, without its secret.

    Attributes:
        id: ``key_<prefix>``.
        org_id: its organization; ``None`` for an operator key.
        role: what it may do.
        name: what it is for, in words.
        prefix: the public part of its text, shown in lists.
        created_at, expires_at, revoked_at, last_used_at: its life (UTC).
        cap_micros, cap_window: its spend cap, micro-credits a window (``None``: none).
        operations: the operations it may charge (``None``: any).
        used_micros: with a cap, what it spent (or holds) in its current window, as
            read with a listing of keys (``None``: not read; never stored on the key).
    """

    id: str
    org_id: str | None
    role: Role
    name: str
    prefix: str
    created_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    last_used_at: datetime | None = None
    cap_micros: int | None = None
    cap_window: CapWindow | None = None
    operations: tuple[str, ...] | None = None
    used_micros: int | None = None

    @property
    def room_micros(self) -> int | None:
        """With a cap and its use read: what it may still spend in this window."""
        if self.cap_micros is None or self.used_micros is None:
            return None
        return max(0, self.cap_micros - self.used_micros)

    @property
    def limited(self) -> bool:
        """Whether the key has a cap or a list of operations (its charges are checked)."""
        return self.cap_micros is not None or self.operations is not None

    def usable_at(self, now: datetime) -> str | None:
        """Why the key cannot be used at ``now``, or ``None`` when it can."""
        if self.revoked_at is not None:
            return "the API key has been revoked"
        if self.expires_at is not None and now >= self.expires_at:
            return "the API key has expired"
        return None

    @property
    def principal(self) -> Principal:
        return Principal(self.role, self.org_id, self.id, self.limited)


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A key just made: the only time its full text (``secret``) exists outside the caller."""

    key: ApiKey
    secret: str

    def __repr__(self) -> str:  # never print the secret by accident
        return f"IssuedKey(key={self.key!r}, secret='***')"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts as: the key's role, its organization and its id; ``limited``
    when the key has a cap or a list of operations (its charges name it)."""

    role: Role
    org_id: str | None
    key_id: str
    limited: bool = False

    @property
    def charging_key(self) -> str | None:
        """The key id a charge carries: only a limited key's (others cost nothing)."""
        return self.key_id if self.limited else None

    @property
    def is_operator(self) -> bool:
        return self.role is Role.OPERATOR

    def can_see(self, org_id: str) -> bool:
        """Whether the organization ``org_id`` exists for this principal at all."""
        return self.is_operator or self.org_id == org_id


def new_key_text() -> tuple[str, str]:
    """A new key's ``(prefix, full text)``."""
    prefix = "".join(secrets.choice(_PREFIX_ALPHABET) for _ in range(10))
    secret = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode("ascii").rstrip("=")
    return prefix, f"{KEY_PREFIX}{prefix}_{secret}"


def parse_key_text(text: str) -> tuple[str, str] | None:
    """A key's ``(prefix, secret)``, or ``None`` when the text is not a key's."""
    match = _KEY_TEXT.match(text)
    return None if match is None else (match.group(1), match.group(2))


def hash_secret(secret: str) -> str:
    """The stored form of a secret: SHA-256, hex."""
    return hashlib.sha256(secret.encode("ascii")).hexdigest()


def secret_matches(secret: str, stored_hash: str) -> bool:
    """Constant-time comparison of a presented secret with a stored hash."""
    return hmac.compare_digest(hash_secret(secret), stored_hash)


@dataclass(frozen=True, slots=True)
class IdempotentRequest:
    """A POST request stored under its ``Idempotency-Key``, and its answer once it has one.

    Attributes:
        key_id: the API key that sent it (keys are scoped to their sender).
        idempotency_key: the header's value, prefixed by the organization the request's
            path names (``org_.../order-42``; keys are scoped to it too).
        request: its method and path (``POST /v1/orgs/org_.../grants``).
        request_hash: SHA-256 of the method, path, query and body.
        created_at: when it was first received (or taken over after a crash).
        status_code, content_type, body: its answer; ``None`` while in progress.
    """

    key_id: str
    idempotency_key: str
    request: str
    request_hash: str
    created_at: datetime
    status_code: int | None = None
    content_type: str | None = None
    body: str | None = None

    @property
    def done(self) -> bool:
        return self.status_code is not None
