"""Access to the service: API keys and portal links."""

from __future__ import annotations

from creditline.client.decode._common import Doc, maybe_when, when
from creditline.domain.api_keys import ApiKey, IssuedKey, Role
from creditline.domain.portal import PortalSession


def api_key(d: Doc) -> ApiKey:
    return ApiKey(
        id=d["id"],
        org_id=d["org_id"],
        role=Role(d["role"]),
        name=d["name"],
        prefix=d["prefix"],
        created_at=when(d["created_at"]),
        expires_at=maybe_when(d["expires_at"]),
        revoked_at=maybe_when(d["revoked_at"]),
        last_used_at=maybe_when(d["last_used_at"]),
    )


def issued_key(d: Doc) -> IssuedKey:
    return IssuedKey(api_key(d), d["key"])


def portal_session(d: Doc) -> PortalSession:
    """A portal link: ``url`` is the service's absolute link (the library's is a path)."""
    return PortalSession(
        url=d["url"],
        token=d["token"],
        expires_at=when(d["expires_at"]),
        org_id=d["org_id"],
        member_id=d["member_id"],
        read_only=d["read_only"],
    )
