"""The one exception tree of creditline.

Every error the engine raises on purpose derives from :class:`CreditlineError` and
carries the objects involved, never a transport status (the HTTP API and the CLI
map classes to statuses and exit codes in one table each)::

    CreditlineError
    ├── ValidationError            bad input; nothing was changed
    │   ├── InvalidAmount
    │   ├── InvalidTime
    │   ├── InvalidSetting
    │   └── InvalidGrant
    ├── NotFound                   no such thing (or not in this organization)
    │   ├── OrganizationNotFound
    │   ├── ProjectNotFound
    │   ├── MemberNotFound
    │   └── GrantNotFound
    ├── Conflict                   the request contradicts the stored state
    │   ├── AlreadyExists
    │   └── IdempotencyKeyReused
    ├── InsufficientCredits        a debit that cannot be covered; refused whole
    ├── ConfigurationError         the engine cannot start as configured
    │   ├── InvalidDatabaseUrl
    │   └── SchemaOutOfDate
    └── StorageError               the database failed in a way retries did not cure
"""

from __future__ import annotations

__all__ = [
    "AlreadyExists",
    "ConfigurationError",
    "Conflict",
    "CreditlineError",
    "GrantNotFound",
    "IdempotencyKeyReused",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidDatabaseUrl",
    "InvalidGrant",
    "InvalidSetting",
    "InvalidTime",
    "MemberNotFound",
    "NotFound",
    "OrganizationNotFound",
    "ProjectNotFound",
    "SchemaOutOfDate",
    "StorageError",
    "ValidationError",
]


class CreditlineError(Exception):
    """The root of every error creditline raises on purpose."""


class ValidationError(CreditlineError):
    """The input is malformed or breaks a rule; nothing was changed."""


class InvalidAmount(ValidationError):
    """An amount is not an exact, positive (where required), representable number."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid amount {value!r}: {reason}")


class InvalidTime(ValidationError):
    """A time is naive (no time zone) or out of order (expiry before effective time)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidSetting(ValidationError):
    """A setting (consumption order, kind, name) has a value the engine does not accept."""

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {name} {value!r}: {reason}")


class InvalidGrant(ValidationError):
    """A grant breaks one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid grant: " + "; ".join(problems))


class NotFound(CreditlineError):
    """The thing does not exist, or does not belong to the organization asked about."""

    kind = "resource"

    def __init__(self, ident: str) -> None:
        self.ident = ident
        super().__init__(f"{self.kind} {ident!r} not found")


class OrganizationNotFound(NotFound):
    kind = "organization"


class ProjectNotFound(NotFound):
    kind = "project"


class MemberNotFound(NotFound):
    kind = "member"


class GrantNotFound(NotFound):
    kind = "grant"


class Conflict(CreditlineError):
    """The request contradicts what is stored."""


class AlreadyExists(Conflict):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} already exists")


class IdempotencyKeyReused(Conflict):
    """The same idempotency key was sent with a different request."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different request")


class InsufficientCredits(CreditlineError):
    """A debit needs more than the organization can spend; nothing was written.

    Attributes:
        org_id: the organization.
        needed: micro-credits the debit needed.
        available: micro-credits that were spendable at that moment.
    """

    def __init__(self, org_id: str, needed: int, available: int) -> None:
        self.org_id = org_id
        self.needed = needed
        self.available = available
        super().__init__(
            f"insufficient credits in {org_id}: needed {needed} micro-credits, "
            f"{available} available"
        )


class ConfigurationError(CreditlineError):
    """The engine cannot start as configured."""


class InvalidDatabaseUrl(ConfigurationError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"invalid database URL {url!r}: {reason}")


class SchemaOutOfDate(ConfigurationError):
    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `creditline init`"
        )


class StorageError(CreditlineError):
    """The database failed and retrying did not help."""
