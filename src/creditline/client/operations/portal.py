"""The web dashboard: links into the customer portal."""

from __future__ import annotations

from creditline.client import decode
from creditline.client._wire import Flow, op
from creditline.domain.portal import DEFAULT_TTL_SECONDS, PortalSession, check_ttl

from ._requests import compact, fetch, org_post


class PortalOperations:
    """The web dashboard: links into the customer portal."""

    @op
    def create_portal_session(
        self,
        org_id: str,
        *,
        member_id: str | None = None,
        read_only: bool = False,
        ttl_seconds: int = DEFAULT_TTL_SECONDS,
    ) -> Flow[PortalSession]:
        """A short-lived link into the organization's customer portal; its ``url`` is
        absolute, on the service's address (the library's is the path).

        Raises:
            InvalidSetting: a lifetime out of range (30 to 3600 seconds).
            OrganizationNotFound, MemberNotFound: no such organization, or member of it.
        """
        body = compact(member_id=member_id, read_only=read_only, ttl_seconds=check_ttl(ttl_seconds))
        return (yield from fetch(decode.portal_session, org_post(org_id, "/portal_sessions", body)))
