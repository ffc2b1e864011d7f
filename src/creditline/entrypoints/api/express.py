"""The express lane: the hot write routes answered without FastAPI's per-request work.

A reserve, a commit, a spend or one usage event is a few hundred microseconds of the
engine's work; FastAPI's dependency resolution, parameter checks and request wrapping
cost a request as much again. For these routes an express route, placed ahead of
FastAPI's, does what those dependencies do in a few lines (the principal set by
:class:`~.security.AuthMiddleware`, the one tenancy check :func:`~.security.org_scope`,
the engine's idempotency key, the body read exactly and validated by the route's own
pydantic model) and calls the route's own endpoint function. So the rules, the answers
and the OpenAPI document stay those of the FastAPI route: nothing is written twice.

Only a request that is plainly well-formed takes the lane. Anything else (a query
string, a body that is not JSON or does not validate, a key that may not write, an
organization it may not see, an over-long path segment) is handed, body and all, to the
FastAPI route, which answers it exactly as it always has. Errors the endpoint raises
(insufficient credits, a conflict) reach the application's problem handlers the same
way from both lanes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from fastapi.routing import APIRoute
from pydantic import BaseModel, ValidationError
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Match, Route

from creditline.domain.api_keys import Principal, Role
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.api.asgi import Receive, Scope, Send, header, replay
from creditline.entrypoints.api.codec import decode
from creditline.entrypoints.api.idempotency import engine_key
from creditline.entrypoints.api.security import PRINCIPAL, org_scope

__all__ = ["EXPRESS_ARGUMENTS", "express_routes"]

Endpoint = Callable[..., Awaitable[Any]]

_LONGEST_ORG_ID = 40
"""The organization path parameter's ``max_length`` (:data:`~.security.OrgId`)."""

EXPRESS_ARGUMENTS = frozenset({"body", "scope", "cl", "key", "meter", "request"})
"""The endpoint parameters the lane can give (besides path parameters): the validated
body, the writer's :class:`~.security.OrgScope`, the engine, the engine's idempotency
key, the metrics and the request."""


@dataclass(frozen=True, slots=True)
class _Lane:
    route: APIRoute
    body: type[BaseModel] | None
    takes: frozenset[str]
    path_params: tuple[str, ...]


def express_routes(routes: Iterable[Any], wanted: Sequence[tuple[str, str]]) -> list[Route]:
    """Express routes for the FastAPI routes among ``routes`` named by ``wanted``
    (``(method, path)`` pairs), to be placed ahead of them.

    Raises:
        LookupError: a wanted route is missing, or its endpoint takes a parameter the
            lane cannot give (so a new dependency cannot be skipped silently).
    """
    found = {
        (method, route.path): route
        for route in routes
        if isinstance(route, APIRoute)
        for method in route.methods or ()
    }
    made = []
    for method, path in wanted:
        route = found.get((method, path))
        if route is None:
            raise LookupError(f"no route {method} {path} to take an express lane")
        made.append(Route(path, _Express(_lane(route)), methods=[method]))
    return made


def _lane(route: APIRoute) -> _Lane:
    params = inspect.signature(route.endpoint).parameters
    path_params = tuple(p.name for p in route.dependant.path_params)
    unknown = set(params) - EXPRESS_ARGUMENTS - set(path_params)
    if unknown:
        raise LookupError(f"{route.path} takes {sorted(unknown)}: not in the express lane")
    body: type[BaseModel] | None = None
    if "body" in params:
        annotation = route.dependant.body_params[0].field_info.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, BaseModel)):
            raise LookupError(f"{route.path}: its body is not one model")
        body = annotation
    return _Lane(route, body, frozenset(params), tuple(n for n in path_params if n in params))


class _Express:
    """One express route's ASGI application (a plain function would be taken by
    Starlette for a request-to-response endpoint)."""

    def __init__(self, lane: _Lane) -> None:
        self.lane = lane

    async def _slow(self, scope: Scope, receive: Receive, send: Send) -> None:
        """FastAPI's route, as if the lane were not there."""
        route = self.lane.route
        match, child = route.matches(scope)
        if match is not Match.FULL:  # pragma: no cover - the same path and method
            raise LookupError(route.path)
        scope.update(child)
        await route.handle(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        route = self.lane.route
        scope["route"] = route  # the metrics and logs name FastAPI's route
        if scope.get("query_string"):
            await self._slow(scope, receive, send)
            return
        request = Request(scope, receive)
        raw = await request.body()
        kwargs = _arguments(self.lane, request, raw)
        if kwargs is None:
            await self._slow(scope, replay(raw, receive), send)
            return
        response: Response = await route.endpoint(**kwargs)
        await response(scope, receive, send)


def _arguments(lane: _Lane, request: Request, raw: bytes) -> dict[str, Any] | None:
    """The endpoint's arguments, or ``None`` where FastAPI's route must decide."""
    scope = request.scope
    who = scope.get("state", {}).get(PRINCIPAL)
    org_id = scope["path_params"]["org_id"]
    if not isinstance(who, Principal) or who.role is Role.ORG_READ:
        return None
    if not 0 < len(org_id) <= _LONGEST_ORG_ID:
        return None
    try:
        writer = org_scope(who, org_id)
    except CreditlineError:
        return None
    kwargs: dict[str, Any] = {name: scope["path_params"][name] for name in lane.path_params}
    if lane.body is not None:
        body = _body(lane.body, header(scope, b"content-type"), raw)
        if body is None:
            return None
        kwargs["body"] = body
    state = request.state
    given = {
        "scope": writer,
        "cl": request.app.state.creditline,
        "meter": request.app.state.metrics,
        "request": request,
    }
    for name in lane.takes & given.keys():
        kwargs[name] = given[name]
    if "key" in lane.takes:
        kwargs["key"] = engine_key(state, header(scope, b"idempotency-key"))
    return kwargs


def _body(model: type[BaseModel], content_type: str | None, raw: bytes) -> BaseModel | None:
    """``raw`` read exactly and validated by ``model``, or ``None`` (FastAPI decides)."""
    if not raw or content_type is None:
        return None
    media = content_type.split(";", 1)[0].strip().lower()
    if media != "application/json":
        return None
    try:
        return model.model_validate(decode(raw))
    except (ValueError, ValidationError):  # BodyTooDeep is a ValueError
        return None
