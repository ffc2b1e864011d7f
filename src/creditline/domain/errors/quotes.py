"""Binding quotes that cannot be used: unknown, expired, used already, or naming other
usage than the quote priced."""

from __future__ import annotations

from datetime import datetime

from creditline.domain.errors.base import Conflict, NotFound, ValidationError

__all__ = ["QuoteExpired", "QuoteMismatch", "QuoteNotFound", "QuoteUsed"]


class QuoteNotFound(NotFound):
    """No binding quote of that id (or not the organization's)."""

    kind = "quote"


class QuoteExpired(Conflict):
    """The quote's validity ended before the usage was charged; nothing was charged."""

    def __init__(self, quote_id: str, expires_at: datetime) -> None:
        self.quote_id = quote_id
        self.expires_at = expires_at
        super().__init__(
            f"quote {quote_id!r} expired at {expires_at.isoformat()}; "
            "ask for a new quote, or send the usage without one"
        )


class QuoteUsed(Conflict):
    """The quote was used already (a quote binds its price once); nothing was charged."""

    def __init__(self, quote_id: str, used_by: str) -> None:
        self.quote_id = quote_id
        self.used_by = used_by
        super().__init__(
            f"quote {quote_id!r} was already used by {used_by}; a quote binds its price once"
        )


class QuoteMismatch(ValidationError):
    """The usage or hold names a quote that priced something else."""

    def __init__(self, quote_id: str, reason: str) -> None:
        self.quote_id = quote_id
        self.reason = reason
        super().__init__(f"quote {quote_id!r} does not match: {reason}")
