"""The HTTP API: API keys, their roles, idempotent requests."""

from __future__ import annotations

from creditline.domain.errors.base import Conflict, CreditlineError, NotFound

__all__ = ["ApiKeyNotFound", "AuthenticationFailed", "IdempotencyKeyInUse", "PermissionDenied"]


class ApiKeyNotFound(NotFound):
    kind = "API key"


class AuthenticationFailed(CreditlineError):
    """A request without a usable API key: none, malformed, unknown, expired or revoked.

    The reason never repeats the key's secret.

    Attributes:
        reason: why, in words ("the API key has expired").
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PermissionDenied(CreditlineError):
    """The API key is valid but its role does not allow the request: a read-only key
    that writes, an organization's key on an operator's route.

    Attributes:
        role: the key's role (``org_read``).
        needed: what the request needs (``operator``, ``write``).
    """

    def __init__(self, role: str, needed: str) -> None:
        self.role = role
        self.needed = needed
        super().__init__(f"a key with role {role!r} cannot do this: it needs {needed}")


class IdempotencyKeyInUse(Conflict):
    """A request with this idempotency key is still being answered; retry it later."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"a request with idempotency key {key!r} is still in progress")
