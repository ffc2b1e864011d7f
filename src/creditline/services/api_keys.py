"""API keys: making them (the secret shown once), checking them, revoking them, listing
them (see :mod:`creditline.domain.api_keys`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from creditline.domain.api_keys import (
    ApiKey,
    IssuedKey,
    Role,
    hash_secret,
    new_key_text,
    parse_key_text,
    secret_matches,
)
from creditline.domain.errors import (
    ApiKeyNotFound,
    AuthenticationFailed,
    InvalidSetting,
    InvalidTime,
    OrganizationNotFound,
)
from creditline.domain.organizations import require_name
from creditline.domain.time import Clock, require_aware
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "TOUCH_EVERY",
    "CreateApiKey",
    "authenticate",
    "create_api_key",
    "list_api_keys",
    "revoke_api_key",
    "touch_api_key",
]

TOUCH_EVERY = timedelta(minutes=1)
"""How stale a key's ``last_used_at`` may be before a request writes it again."""


@dataclass(frozen=True, slots=True)
class CreateApiKey:
    """Make a key of ``role``: an operator key has no ``org_id``; the others need one."""

    role: Role | str
    org_id: str | None
    name: str
    expires_at: datetime | None = None


def _role(value: Role | str) -> Role:
    try:
        return Role(value)
    except ValueError:
        names = ", ".join(r.value for r in Role)
        raise InvalidSetting("role", value, f"one of {names}") from None


def create_api_key(cmd: CreateApiKey, uow: UnitOfWork, clock: Clock) -> IssuedKey:
    role = _role(cmd.role)
    name = require_name(cmd.name, "key name")
    now = clock.now()
    if role is Role.OPERATOR and cmd.org_id is not None:
        raise InvalidSetting("org_id", cmd.org_id, "an operator key belongs to no organization")
    if role is not Role.OPERATOR and cmd.org_id is None:
        raise InvalidSetting("org_id", None, f"a {role.value} key needs its organization")
    expires_at = None if cmd.expires_at is None else require_aware(cmd.expires_at, "expires_at")
    if expires_at is not None and expires_at <= now:
        raise InvalidTime("expires_at must be in the future")
    prefix, text = new_key_text()
    key = ApiKey(f"key_{prefix}", cmd.org_id, role, name, prefix, now, expires_at)
    with uow:
        if cmd.org_id is not None and uow.orgs.get(cmd.org_id) is None:
            raise OrganizationNotFound(cmd.org_id)
        parsed = parse_key_text(text)
        assert parsed is not None
        uow.api_keys.add(key, hash_secret(parsed[1]))
        uow.commit()
    return IssuedKey(key, text)


def authenticate(text: str, uow: UnitOfWork, clock: Clock) -> ApiKey:
    """The key whose text is ``text``, if it can be used now.

    Raises:
        AuthenticationFailed: not a key's text, unknown, wrong secret, expired or revoked
            (the reason never repeats the text).
    """
    parsed = parse_key_text(text.strip())
    if parsed is None:
        raise AuthenticationFailed("the API key is malformed")
    prefix, secret = parsed
    with uow:
        found = uow.api_keys.by_prefix(prefix)
    if found is None or not secret_matches(secret, found[1]):
        raise AuthenticationFailed("the API key is not valid")
    key = found[0]
    reason = key.usable_at(clock.now())
    if reason is not None:
        raise AuthenticationFailed(reason)
    return key


def touch_api_key(key: ApiKey, uow: UnitOfWork, clock: Clock) -> bool:
    """Write the key's ``last_used_at`` when it is older than :data:`TOUCH_EVERY`
    (so that busy keys do not write on every request); whether it wrote."""
    now = clock.now()
    if key.last_used_at is not None and now - key.last_used_at < TOUCH_EVERY:
        return False
    with uow:
        uow.api_keys.touch(key.id, now)
        uow.commit()
    return True


def revoke_api_key(key_id: str, uow: UnitOfWork, clock: Clock) -> ApiKey:
    """Revoke a key (again: nothing changes); it stops working at once."""
    with uow:
        key = uow.api_keys.get(key_id)
        if key is None:
            raise ApiKeyNotFound(key_id)
        uow.api_keys.revoke(key_id, clock.now())
        revoked = uow.api_keys.get(key_id)
        uow.commit()
    assert revoked is not None
    return revoked


def list_api_keys(
    org_id: str | None, uow: UnitOfWork, include_revoked: bool = True
) -> list[ApiKey]:
    """Keys (never their secrets), oldest first: of an organization, or all."""
    with uow:
        if org_id is not None and uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return uow.api_keys.of(org_id, include_revoked)
