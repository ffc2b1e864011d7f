"""What every route module shares: the engine, the metrics, exact JSON, the
``Idempotency-Key`` passed down to the engine.

The dependencies are coroutines: FastAPI runs a plain function dependency in a worker
thread, a hop that costs a request more than the work it does here."""

from __future__ import annotations

import json
from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.routing import APIRoute

from creditline.bootstrap import Creditline
from creditline.entrypoints.api.codec import decode
from creditline.entrypoints.api.idempotency import engine_key
from creditline.entrypoints.api.observability import Metrics
from creditline.entrypoints.bodies import BodyTooDeep

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
    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def exact(request: Request) -> Response:
            return await handler(ExactRequest(request.scope, request.receive))

        return exact


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
