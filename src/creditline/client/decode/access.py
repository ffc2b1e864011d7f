"""Access to the service: API keys and portal links."""

from __future__ import annotations

from creditline.client.decode._common import Doc, record
from creditline.domain.api_keys import ApiKey, IssuedKey
from creditline.domain.portal import PortalSession


def api_key(d: Doc) -> ApiKey:
    return record(ApiKey, d)


def issued_key(d: Doc) -> IssuedKey:
    return IssuedKey(api_key(d), d["key"])


def portal_session(d: Doc) -> PortalSession:
    """A portal link: ``url`` is the service's absolute link (the library's is a path)."""
    return record(PortalSession, d)
