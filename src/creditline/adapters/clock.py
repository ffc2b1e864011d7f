"""The real clock, the only place creditline reads the system time."""

from __future__ import annotations

from datetime import UTC, datetime

from creditline.domain.time import Clock

__all__ = ["SystemClock"]


class SystemClock(Clock):
    def now(self) -> datetime:
        return datetime.now(UTC)
