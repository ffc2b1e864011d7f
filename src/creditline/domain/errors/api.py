"""The HTTP API: API keys, their roles, idempotent requests."""

from __future__ import annotations

from creditline.domain.errors.base import Conflict, CreditlineError, NotFound

__all__ = [
    "ApiKeyNotFound",
    "AuthenticationFailed",
    "IdempotencyKeyInUse",
    "OperationNotAllowed",
    "PermissionDenied",
]


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


class OperationNotAllowed(PermissionDenied):
    """The API key may charge only some operations, and this charge names another (or
    none); nothing was charged.

    Attributes:
        key_id: the key.
        operation: the operation the charge named (``None``: none).
        allowed: the operations the key may charge.
    """

    def __init__(self, key_id: str, operation: str | None, allowed: tuple[str, ...]) -> None:
        self.key_id = key_id
        self.operation = operation
        self.allowed = tuple(allowed)
        names = ", ".join(self.allowed)
        CreditlineError.__init__(
            self,
            f"API key {key_id} may charge only {names}: "
            + ("the charge names no operation" if operation is None else f"not {operation!r}"),
        )
        self.role = "org"
        self.needed = f"a key allowed to charge {operation!r}"


class IdempotencyKeyInUse(Conflict):
    """A request with this idempotency key is still being answered; retry it later."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"a request with idempotency key {key!r} is still in progress")
