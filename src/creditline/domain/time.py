"""Time rules: every instant is timezone-aware and compared in UTC.

The domain never reads the clock; callers pass ``now``. Periods are half-open
``[start, end)``: a grant that expires at 00:00 is no longer spendable at 00:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from creditline.domain.errors import InvalidTime

__all__ = ["Clock", "ManualClock", "require_aware", "to_utc"]


def require_aware(moment: datetime, what: str) -> datetime:
    """Return ``moment`` in UTC; refuse a naive datetime, whose zone is a guess."""
    if not isinstance(moment, datetime):
        raise InvalidTime(f"{what} must be a datetime, got {type(moment).__name__}")
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise InvalidTime(f"{what} must carry a time zone (got a naive datetime)")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00+01:00 is before the first instant in UTC
        raise InvalidTime(
            f"{what} {moment.isoformat()} is outside the years 1 to 9999 in UTC"
        ) from None


def to_utc(moment: datetime) -> datetime:
    """Normalize an aware datetime to UTC (naive ones are taken to be UTC already)."""
    if moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


class Clock:
    """Where services get ``now`` from. The domain never reads the system clock.

    Subclasses return a timezone-aware UTC instant; :class:`ManualClock` is the one
    tests use to travel through months without sleeping.
    """

    def now(self) -> datetime:  # pragma: no cover - interface
        raise NotImplementedError


class ManualClock(Clock):
    """A clock that only moves when told to."""

    def __init__(self, start: datetime) -> None:
        self._now = require_aware(start, "clock start")

    def now(self) -> datetime:
        return self._now

    def set(self, moment: datetime) -> None:
        self._now = require_aware(moment, "clock time")

    def advance(self, delta: timedelta) -> datetime:
        self._now = self._now + delta
        return self._now
