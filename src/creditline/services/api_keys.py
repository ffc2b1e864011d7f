"""API keys: making them (the secret shown once), checking them, revoking them, listing
them (see :mod:`creditline.domain.api_keys`)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from creditline.domain.api_keys import (
    ApiKey,
    CapWindow,
    IssuedKey,
    Role,
    hash_secret,
    new_key_text,
    parse_key_text,
    secret_matches,
    window_bounds,
)
from creditline.domain.errors import (
    ApiKeyNotFound,
    AuthenticationFailed,
    InvalidAmount,
    InvalidSetting,
    InvalidTime,
    OrganizationNotFound,
)
from creditline.domain.event_limits import id_problem
from creditline.domain.organizations import require_name
from creditline.domain.time import Clock, require_aware
from creditline.services.ports.unit_of_work import UnitOfWork

__all__ = [
    "TOUCH_EVERY",
    "CreateApiKey",
    "authenticate",
    "create_api_key",
    "get_api_key",
    "with_spending",
    "list_api_keys",
    "revoke_api_key",
    "touch_api_key",
]

TOUCH_EVERY = timedelta(minutes=1)
"""How stale a key's ``last_used_at`` may be before a request writes it again."""


@dataclass(frozen=True, slots=True)
class CreateApiKey:
    """Make a key of ``role``: an operator key has no ``org_id``; the others need one.

    An organization's key may be limited: ``cap`` micro-credits a ``cap_window`` (a UTC
    ``day`` or ``month``), and only the ``operations`` listed.
    """

    role: Role | str
    org_id: str | None
    name: str
    expires_at: datetime | None = None
    cap: int | None = None
    cap_window: CapWindow | str | None = None
    operations: tuple[str, ...] | None = None


_Limits = tuple[int | None, CapWindow | None, tuple[str, ...] | None]


def _limits(cmd: CreateApiKey, role: Role) -> _Limits:
    """A new key's checked cap, window and operations."""
    cap, window, operations = cmd.cap, cmd.cap_window, cmd.operations
    if cap is None and window is not None:
        raise InvalidSetting("cap_window", window, "a window needs a cap")
    if cap is None and operations is None:
        return None, None, None
    if role is not Role.ORG:
        raise InvalidSetting(
            "cap", cap, "only an organization's key that may write has a cap or operations"
        )
    return (
        _cap(cap, window),
        (None if cap is None else CapWindow(window or "day")),
        (None if operations is None else _operations(operations)),
    )


def _cap(cap: int | None, window: CapWindow | str | None) -> int | None:
    if cap is not None and (isinstance(cap, bool) or not isinstance(cap, int) or cap <= 0):
        raise InvalidAmount(cap, "a cap is a whole number of micro-credits > 0")
    if window is not None and window not in {w.value for w in CapWindow}:
        raise InvalidSetting("cap_window", window, "day or month")
    return cap


def _operations(operations: tuple[str, ...]) -> tuple[str, ...]:
    found = tuple(dict.fromkeys(operations))
    if not found:
        raise InvalidSetting("operations", [], "at least one operation (or none: any)")
    for op in found:
        problem = id_problem(op)
        if problem is not None:
            raise InvalidSetting("operations", op, problem)
    return found


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
    cap, window, operations = _limits(cmd, role)
    prefix, text = new_key_text()
    key = ApiKey(
        f"key_{prefix}", cmd.org_id, role, name, prefix, now, expires_at,
        cap_micros=cap, cap_window=window, operations=operations,
        used_micros=None if cap is None else 0,
    )  # fmt: skip
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
        revoked = None if revoked is None else with_spending([revoked], uow, clock.now())[0]
        uow.commit()
    assert revoked is not None
    return revoked


def list_api_keys(
    org_id: str | None, uow: UnitOfWork, clock: Clock, include_revoked: bool = True
) -> list[ApiKey]:
    """Keys (never their secrets), oldest first: of an organization, or all; each capped
    one with what it spent in its current window."""
    with uow:
        if org_id is not None and uow.orgs.get(org_id) is None:
            raise OrganizationNotFound(org_id)
        return with_spending(uow.api_keys.of(org_id, include_revoked), uow, clock.now())


def get_api_key(key_id: str, uow: UnitOfWork, clock: Clock) -> ApiKey:
    """One key, with what it spent in its current window when capped."""
    with uow:
        key = uow.api_keys.get(key_id)
        if key is None:
            raise ApiKeyNotFound(key_id)
        return with_spending([key], uow, clock.now())[0]


def with_spending(keys: list[ApiKey], uow: UnitOfWork, now: datetime) -> list[ApiKey]:
    """``keys``, each capped one with what it spent (or holds) in its window holding
    ``now`` (``used_micros``), inside the caller's transaction."""
    slots = {}
    for key in keys:
        if key.cap_window is not None:
            slots[key.id] = (key.id, window_bounds(key.cap_window, now)[0])
    if not slots:
        return keys
    used = uow.charging.key_used(sorted(slots.values()))
    return [replace(k, used_micros=used.get(slots[k.id], 0)) if k.id in slots else k for k in keys]
