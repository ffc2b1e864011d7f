"""No such thing, or not in the organization asked about: the engine's own records."""

from __future__ import annotations

from datetime import datetime

from creditline.domain.errors.base import CreditlineError, NotFound

__all__ = [
    "GrantNotFound",
    "MemberNotFound",
    "NoRateCardInForce",
    "OrganizationNotFound",
    "PlanNotFound",
    "ProjectNotFound",
    "RateCardNotFound",
    "ReservationNotFound",
    "UsageEventNotFound",
]


class OrganizationNotFound(NotFound):
    kind = "organization"


class ProjectNotFound(NotFound):
    kind = "project"


class MemberNotFound(NotFound):
    kind = "member"


class GrantNotFound(NotFound):
    kind = "grant"


class ReservationNotFound(NotFound):
    kind = "reservation"


class UsageEventNotFound(NotFound):
    kind = "usage event"


class PlanNotFound(NotFound):
    kind = "plan"


class NoRateCardInForce(NotFound):
    """No version of the rate card was in force at that time (it is before the first)."""

    kind = "rate card"

    def __init__(self, name: str, at: datetime) -> None:
        self.name = name
        self.at = at
        CreditlineError.__init__(
            self, f"no version of rate card {name!r} is in force at {at.isoformat()}"
        )
        self.ident = name


class RateCardNotFound(NotFound):
    """No version of a rate card of that name has been loaded."""

    kind = "rate card"
