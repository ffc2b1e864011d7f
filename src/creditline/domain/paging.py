"""Pages of a listing: how many items one read may ask for (1 to :data:`MAX_LIMIT`)."""

from __future__ import annotations

from creditline.domain.errors import InvalidSetting

__all__ = ["MAX_LIMIT", "check_limit"]

MAX_LIMIT = 10_000
"""The most items one page of a listing holds."""


def check_limit(limit: int) -> None:
    """Check a page's size.

    Raises:
        InvalidSetting: ``limit`` outside 1 to :data:`MAX_LIMIT`.
    """
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidSetting("limit", limit, "must be between 1 and 10000")
