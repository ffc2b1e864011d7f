"""The engine cannot start as configured, or its database fails for good."""

from __future__ import annotations

from creditline.domain.errors.base import CreditlineError

__all__ = [
    "CommitOutcomeUnknown",
    "ConfigurationError",
    "InvalidDatabaseUrl",
    "SchemaOutOfDate",
    "StorageError",
]


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


class CommitOutcomeUnknown(StorageError):
    """The connection to the database was lost while a commit was on its way, so nobody
    can tell whether it was stored. The engine does not retry it (a command without an
    idempotency key would apply twice): sent again with the same idempotency key or
    event id, it is stored once whichever way the commit went."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(
            f"the connection to the database was lost during the commit ({reason}): the "
            "writes may or may not be stored; send them again with the same idempotency "
            "key or event id, which stores them once either way"
        )
