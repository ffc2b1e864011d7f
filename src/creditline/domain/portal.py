"""Portal sessions: a short-lived, signed link into an organization's customer portal.

The platform that embeds creditline does not hand its users another password. Its
backend, which already knows who the user is, asks for a **portal session** for an
organization (and optionally one member), gets back a URL, and redirects the user
there: the convention of Stripe's billing portal.

- The link carries its **claims**: the organization, the member (or none), whether the
  session is **read-only**, and when the link **expires** (30 seconds to an hour after
  it was made; 5 minutes by default). They are signed with a key every server process
  shares (stored in the database), so any process can check a link another made.
- A link that does not verify is *invalid*; a link past its expiry is *expired*. A
  valid link opens a browser session (a signed cookie, an hour by default) scoped to
  that organization: every page takes the organization from the session, never from
  the URL, and anything of another organization is not found.
- A read-only session sees everything and changes nothing.

Links are not single-use: within its few minutes a link opens as many sessions as it
is visited (as a Stripe portal link does). Keep them short-lived.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from creditline.domain.errors import AuthenticationFailed, InvalidSetting
from creditline.domain.plans import DepletionPolicy

__all__ = [
    "AccountState",
    "DEFAULT_TTL_SECONDS",
    "MAX_TTL_SECONDS",
    "MIN_TTL_SECONDS",
    "PORTAL_PATH",
    "PortalClaims",
    "PortalLinkExpired",
    "PortalLinkInvalid",
    "PortalSession",
    "account_state",
    "check_ttl",
]

MIN_TTL_SECONDS = 30
MAX_TTL_SECONDS = 3600
DEFAULT_TTL_SECONDS = 300
PORTAL_PATH = "/portal/session/"
"""The path of a portal link, before its token."""


class PortalLinkInvalid(AuthenticationFailed):
    """A portal link whose signature does not verify (tampered with, or made with
    another key); nothing is opened."""

    def __init__(self, reason: str = "this link is not valid") -> None:
        super().__init__(reason)


class PortalLinkExpired(PortalLinkInvalid):
    """A portal link past its expiry: the platform must ask for a new one.

    Attributes:
        expired_at: when it expired.
    """

    def __init__(self, expired_at: datetime) -> None:
        self.expired_at = expired_at
        super().__init__("this link has expired, ask for a new one")


def check_ttl(seconds: object) -> int:
    """A link's lifetime in seconds, checked: an integer from 30 to 3600.

    Raises:
        InvalidSetting: anything else.
    """
    if isinstance(seconds, bool) or not isinstance(seconds, int):
        raise InvalidSetting("ttl_seconds", seconds, "a whole number of seconds")
    if not MIN_TTL_SECONDS <= seconds <= MAX_TTL_SECONDS:
        raise InvalidSetting(
            "ttl_seconds", seconds, f"between {MIN_TTL_SECONDS} and {MAX_TTL_SECONDS}"
        )
    return seconds


def _epoch(moment: datetime) -> int:
    return int(moment.astimezone(UTC).timestamp())


@dataclass(frozen=True, slots=True)
class PortalClaims:
    """What a portal link (or a portal browser session) grants.

    Attributes:
        org_id: the only organization it sees.
        member_id: the member it acts as, or ``None`` (the organization as a whole).
        read_only: it may read, never change anything.
        expires_at: the first instant it no longer opens (whole seconds, UTC).
        nonce: random text that makes two links of the same claims differ.
    """

    org_id: str
    member_id: str | None
    read_only: bool
    expires_at: datetime
    nonce: str = ""

    def to_dict(self) -> dict[str, Any]:
        """The compact form that is signed (times as Unix seconds)."""
        return {
            "o": self.org_id,
            "m": self.member_id,
            "r": 1 if self.read_only else 0,
            "e": _epoch(self.expires_at),
            "n": self.nonce,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PortalClaims:
        """The claims of a verified token.

        Raises:
            PortalLinkInvalid: a token of another shape (signed, but not a portal link).
        """
        org, member, read_only = data.get("o"), data.get("m"), data.get("r")
        expires, nonce = data.get("e"), data.get("n", "")
        if (
            not isinstance(org, str)
            or not org
            or not (member is None or isinstance(member, str))
            or read_only not in (0, 1)
            or isinstance(expires, bool)
            or not isinstance(expires, int)
            or not isinstance(nonce, str)
        ):
            raise PortalLinkInvalid()
        return cls(org, member, read_only == 1, datetime.fromtimestamp(expires, UTC), nonce)

    def expired(self, now: datetime) -> bool:
        """Whether the claims have run out at ``now`` (the expiry itself is too late)."""
        return now >= self.expires_at

    def check(self, now: datetime) -> PortalClaims:
        """The claims, if still valid at ``now``.

        Raises:
            PortalLinkExpired: past their expiry.
        """
        if self.expired(now):
            raise PortalLinkExpired(self.expires_at)
        return self

    @staticmethod
    def expiry(now: datetime, ttl_seconds: int) -> datetime:
        """``now`` plus ``ttl_seconds``, in whole seconds (what a token can carry)."""
        return datetime.fromtimestamp(_epoch(now) + ttl_seconds, UTC)


@dataclass(frozen=True, slots=True)
class PortalSession:
    """A portal link, made for a platform's backend to redirect its user to.

    Attributes:
        url: the link's path, ``/portal/session/<token>`` (the HTTP API answers it
            absolute, on the server's own address).
        token: the signed token in the link.
        expires_at: when the link stops opening (UTC, whole seconds).
        org_id: the organization it opens.
        member_id: the member it acts as, or ``None``.
        read_only: whether the session it opens may change anything.
    """

    url: str
    token: str
    expires_at: datetime
    org_id: str
    member_id: str | None
    read_only: bool

    @classmethod
    def of(cls, token: str, claims: PortalClaims) -> PortalSession:
        return cls(
            PORTAL_PATH + token,
            token,
            claims.expires_at,
            claims.org_id,
            claims.member_id,
            claims.read_only,
        )


class AccountState(enum.StrEnum):
    """Where an organization stands with its credits, as its users feel it (A3, A4).

    ``active``: it has credits to spend. ``read_only``, ``paused``, ``flex``: it has
    none left and its depletion policy applies (locked until credits are bought; new
    operations refused until a top-up or the next cycle; usage going on as flex
    credits). ``unlimited``: it needs no credits.
    """

    ACTIVE = "active"
    READ_ONLY = "read_only"
    PAUSED = "paused"
    FLEX = "flex"
    UNLIMITED = "unlimited"


def account_state(depletion: DepletionPolicy, flex_enabled: bool, available: int) -> AccountState:
    """The state of an organization with ``available`` micro-credits spendable now under
    ``depletion`` (flex switched off pauses like the ``pause`` policy)."""
    if depletion is DepletionPolicy.UNLIMITED:
        return AccountState.UNLIMITED
    if available > 0:
        return AccountState.ACTIVE
    if depletion is DepletionPolicy.READ_ONLY:
        return AccountState.READ_ONLY
    if depletion is DepletionPolicy.FLEX and flex_enabled:
        return AccountState.FLEX
    return AccountState.PAUSED
