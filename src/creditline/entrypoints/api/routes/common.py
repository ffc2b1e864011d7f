"""What every route module shares: the engine, the metrics, exact JSON, the
``Idempotency-Key`` passed down to the engine."""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Header, HTTPException, Request, Response
from fastapi.routing import APIRoute

from creditline.bootstrap import Creditline
from creditline.entrypoints import bodies
from creditline.entrypoints.api.idempotency import engine_key
from creditline.entrypoints.api.observability import Metrics

__all__ = ["Engine", "EngineKey", "ExactRequest", "ExactRoute", "Meter", "make_router"]


class ExactRequest(Request):
    """A request whose JSON numbers are read exactly: integers as ``int``, the others
    as ``Decimal`` (never ``float``); ``NaN`` and ``Infinity`` are refused; a body
    nested deeper than :data:`~creditline.entrypoints.bodies.MAX_DEPTH` is a 400."""

    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            body = await self.body()
            try:
                self._json = bodies.loads(body)
            except bodies.BodyTooDeep as exc:
                raise HTTPException(400, f"the body is {exc}") from exc
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


def _engine(request: Request) -> Creditline:
    engine: Creditline = request.app.state.creditline
    return engine


def _metrics(request: Request) -> Metrics:
    metrics: Metrics = request.app.state.metrics
    return metrics


def _engine_key(
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
