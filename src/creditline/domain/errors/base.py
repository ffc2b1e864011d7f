"""The roots of the error tree: every error the engine raises on purpose, and the three
families most others belong to (bad input, a missing thing, a contradiction)."""

from __future__ import annotations

__all__ = ["Conflict", "CreditlineError", "NotFound", "ValidationError"]


class CreditlineError(Exception):
    """The root of every error creditline raises on purpose."""


class ValidationError(CreditlineError):
    """The input is malformed or breaks a rule; nothing was changed."""


class NotFound(CreditlineError):
    """The thing does not exist, or does not belong to the organization asked about."""

    kind = "resource"

    def __init__(self, ident: str) -> None:
        self.ident = ident
        super().__init__(f"{self.kind} {ident!r} not found")


class Conflict(CreditlineError):
    """The request contradicts what is stored."""
