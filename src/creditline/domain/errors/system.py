"""The engine cannot start as configured, or its database fails for good."""

from __future__ import annotations

from creditline.domain.errors.base import CreditlineError

__all__ = ["ConfigurationError", "InvalidDatabaseUrl", "SchemaOutOfDate", "StorageError"]


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
