"""Who a request acts as, and what it may touch: API keys and tenancy.

The :class:`AuthMiddleware` checks the
``Authorization: Bearer cl_live_...`` header of every request before anything else
runs (a malformed, unknown, expired or revoked key is a 401 at once) and leaves the
key's :class:`~creditline.domain.api_keys.Principal` in the request's state. Routes
then ask for it through one of these dependencies:

- :data:`AnyKey`: any valid key (the platform's catalogue: plans, rate cards, packs);
- :data:`OperatorKey`: an operator key, else 403;
- :data:`OrgReader`, :data:`OrgWriter`, :data:`OrgOperator`: a route under
  ``/v1/orgs/{org_id}``. Tenancy is checked first, by :func:`org_scope`, the one helper
  every organization route goes through: a key of another organization gets **404**, the
  same answer as for an organization that does not exist, so it learns nothing. Only
  then is the role checked (a read-only key writing: 403).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from creditline.bootstrap import Creditline
from creditline.domain.api_keys import Principal, Role
from creditline.domain.errors import (
    AuthenticationFailed,
    CreditlineError,
    OrganizationNotFound,
    PermissionDenied,
)
from creditline.entrypoints.api.asgi import ASGIApp, Receive, Scope, Send, header, send_json, state
from creditline.entrypoints.api.limits import Buckets
from creditline.entrypoints.api.problems import http_problem, problem

__all__ = [
    "AnyKey",
    "AuthMiddleware",
    "OperatorKey",
    "OrgOperator",
    "OrgReader",
    "OrgScope",
    "OrgWriter",
    "org_scope",
    "principal",
]

PRINCIPAL = "principal"

_bearer = HTTPBearer(
    auto_error=False,
    scheme_name="ApiKey",
    description="An API key: `Authorization: Bearer cl_live_<prefix>_<secret>`.",
)


async def principal(
    request: Request,
    _credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)] = None,
) -> Principal:
    """The request's principal (set by the authentication middleware), else 401."""
    found = request.scope.get("state", {}).get(PRINCIPAL)
    if not isinstance(found, Principal):
        raise AuthenticationFailed("no API key: send Authorization: Bearer cl_live_...")
    return found


AnyKey = Annotated[Principal, Depends(principal)]


async def _operator(who: AnyKey) -> Principal:
    if not who.is_operator:
        raise PermissionDenied(who.role.value, "an operator key")
    return who


OperatorKey = Annotated[Principal, Depends(_operator)]


@dataclass(frozen=True, slots=True)
class OrgScope:
    """An organization a request may act on, and who acts."""

    org_id: str
    principal: Principal


def org_scope(who: Principal, org_id: str) -> OrgScope:
    """The one tenancy check: ``org_id`` as seen by ``who``; another organization's is
    not found (404), exactly like one that does not exist."""
    if not who.can_see(org_id):
        raise OrganizationNotFound(org_id)
    return OrgScope(org_id, who)


OrgId = Annotated[str, Path(min_length=1, max_length=40, description="The organization's id.")]


async def _reader(who: AnyKey, org_id: OrgId) -> OrgScope:
    return org_scope(who, org_id)


async def _writer(who: AnyKey, org_id: OrgId) -> OrgScope:
    scope = org_scope(who, org_id)
    if who.role is Role.ORG_READ:
        raise PermissionDenied(who.role.value, "a key that may write")
    return scope


async def _org_operator(who: AnyKey, org_id: OrgId) -> OrgScope:
    scope = org_scope(who, org_id)
    if not who.is_operator:
        raise PermissionDenied(who.role.value, "an operator key")
    return scope


OrgReader = Annotated[OrgScope, Depends(_reader)]
OrgWriter = Annotated[OrgScope, Depends(_writer)]
OrgOperator = Annotated[OrgScope, Depends(_org_operator)]


class AuthMiddleware:
    """Checks the ``Authorization`` header of every request, before anything else runs:
    a key that does not verify is answered 401 at once; a valid one leaves its
    principal in the request's state. Without the header the request goes on (public
    routes; the others answer 401 through :func:`principal`). The key's text is never
    logged or stored.

    Keys are checked from memory where the engine checked them within the last second
    (:meth:`Creditline.cached_api_key`), else against the database in a worker thread.
    Keys that do not check out count against their client address (``failures``: a
    token bucket per address): once its bucket is empty, the address's requests with
    keys not already checked are answered 429 without being looked up."""

    def __init__(
        self, app: ASGIApp, creditline: Creditline, failures: Buckets | None = None
    ) -> None:
        self.app = app
        self.creditline = creditline
        self.failures = failures

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        raw = header(scope, b"authorization") if scope["type"] == "http" else None
        if raw is None:
            await self.app(scope, receive, send)
            return
        scheme, _, token = raw.partition(" ")
        token = token.strip()
        address = f"bad-key:{(scope.get('client') or ('unknown', 0))[0]}"
        try:
            if scheme.lower() != "bearer" or not token:
                raise AuthenticationFailed("the Authorization header must be: Bearer cl_live_...")
            key = self.creditline.cached_api_key(token)
            if key is None:
                wait = 0.0 if self.failures is None else self.failures.peek(address)
                if wait > 0:
                    await self._too_many(scope, send, wait)
                    return
                key = await run_in_threadpool(self.creditline.authenticate, token)
        except CreditlineError as exc:
            if isinstance(exc, AuthenticationFailed) and self.failures is not None:
                self.failures.take(address)
            body = problem(exc, state(scope).get("request_id"))
            await send_json(send, body, headers=[(b"www-authenticate", b"Bearer")])
            return
        state(scope)[PRINCIPAL] = key.principal
        await self.app(scope, receive, send)

    async def _too_many(self, scope: Scope, send: Send, wait: float) -> None:
        assert self.failures is not None
        retry_after = max(1, math.ceil(wait))
        body = http_problem(
            "rate-limited",
            f"over {self.failures.burst} requests with keys that are not valid from this "
            f"address (then {self.failures.rate:g} a second)",
            state(scope).get("request_id"),
            retry_after=retry_after,
        )
        await send_json(send, body, headers=[(b"retry-after", str(retry_after).encode())])
