"""What every route module shares: the engine, the metrics, exact JSON, the
``Idempotency-Key`` passed down to the engine.

The dependencies are coroutines: FastAPI runs a plain function dependency in a worker
thread, a hop that costs a request more than the work it does here."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Coroutine, Sequence
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from creditline.bootstrap import Creditline
from creditline.entrypoints.api.codec import decode
from creditline.entrypoints.api.idempotency import engine_key
from creditline.entrypoints.api.observability import Metrics
from creditline.entrypoints.exact_json import BodyTooDeep

__all__ = ["Engine", "EngineKey", "ExactRequest", "ExactRoute", "Meter", "make_router"]


class ExactRequest(Request):
    """A request whose JSON numbers are read exactly: integers as ``int``, the others
    as ``Decimal`` (never ``float``); ``NaN`` and ``Infinity`` are refused
    (:func:`~creditline.entrypoints.api.codec.decode`)."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = decode(body)
            except BodyTooDeep as exc:
                raise HTTPException(400, f"the body is {exc}") from exc
            except ValueError as exc:
                # FastAPI answers a JSONDecodeError as a body that is not JSON (400).
                raise json.JSONDecodeError(str(exc), body.decode("latin-1"), 0) from exc
        return self._json


class ExactRoute(APIRoute):
    """A route that reads JSON exactly and refuses query parameters it does not take
    (422 ``invalid-request`` naming each one), as it refuses unknown body fields, and a
    parameter of one value given more than once (which value was meant is not known)."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()
        known = _query_names(self.dependant)
        lists = _query_names(self.dependant, lists=True)

        async def exact(request: Request) -> Response:
            if request.scope.get("query_string"):
                given = Counter(name for name, _ in request.query_params.multi_items())
                problems = [_query_problem(n, _UNKNOWN) for n in given if n not in known]
                problems += [
                    _query_problem(n, _REPEATED)
                    for n, times in given.items()
                    if times > 1 and n in known and n not in lists
                ]
                if problems:
                    raise RequestValidationError(problems)
            return await handler(ExactRequest(request.scope, request.receive))

        return exact


def _query_names(dependant: Dependant, *, lists: bool = False) -> frozenset[str]:
    """The query parameters a route takes, its dependencies' included (``lists``: only
    those that take several values)."""
    names = {p.alias for p in dependant.query_params if not lists or _many(p.field_info.annotation)}
    for sub in dependant.dependencies:
        names |= _query_names(sub, lists=lists)
    return frozenset(names)


def _many(annotation: Any) -> bool:
    """Whether a parameter's type takes several values (a list, optional or not)."""
    origin = get_origin(annotation)
    if origin in (list, tuple, set, frozenset, Sequence):
        return True
    if origin in (Union, UnionType):
        return any(_many(arg) for arg in get_args(annotation))
    return False


_UNKNOWN = ("not a query parameter of this route", "extra_forbidden")
_REPEATED = ("given more than once; this parameter takes one value", "repeated")


def _query_problem(name: str, problem: tuple[str, str]) -> dict[str, Any]:
    """A query parameter's problem, as FastAPI's validation errors are shaped."""
    message, kind = problem
    return {"loc": ("query", name), "msg": message, "type": kind, "input": None}


def make_router(tag: str) -> APIRouter:
    """A router of one group of routes (its OpenAPI tag), reading JSON exactly."""
    return APIRouter(tags=[tag], route_class=ExactRoute)


async def _engine(request: Request) -> Creditline:
    engine: Creditline = request.app.state.creditline
    return engine


async def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


async def _engine_key(
    request: Request,
    idempotency_key: Annotated[
        str | None,
        Header(
            alias="Idempotency-Key",
            description="Makes the request exactly-once: a retry with the same key and "
            "body gets the first answer; another body, 409.",
        ),
    ] = None,
) -> str | None:
    return engine_key(request.state, idempotency_key)


Engine = Annotated[Creditline, Depends(_engine)]
Meter = Annotated[Metrics, Depends(_metrics)]
EngineKey = Annotated[str | None, Depends(_engine_key)]
