"""Liveness, readiness, metrics, and the problem types' documentation: no key needed."""

from __future__ import annotations

from typing import Any

from fastapi import Response
from fastapi.responses import JSONResponse

from creditline.domain.errors import CreditlineError, NotFound
from creditline.entrypoints.api.problems import all_types
from creditline.entrypoints.api.routes.common import Engine, Meter, make_router
from creditline.entrypoints.api.schemas.admin import (
    HealthOut,
)

router = make_router("operations")

__all__ = ["router"]


_OK = b'{"status":"ok"}'


@router.get("/healthz", summary="Liveness: the process answers", response_model=HealthOut)
async def healthz() -> Any:
    return Response(_OK, media_type="application/json")


@router.get(
    "/readyz",
    summary="Readiness: the database answers",
    response_model=HealthOut,
    responses={503: {"model": HealthOut, "description": "The database does not answer."}},
)
def readyz(*, cl: Engine) -> Any:
    try:
        cl.ping()
    except CreditlineError:
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return HealthOut(status="ok")


@router.get(
    "/metrics",
    summary="Prometheus metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format."}},
)
def metrics(*, meter: Meter) -> Response:
    body, content_type = meter.render()
    return Response(body, media_type=content_type)


@router.get("/problems", summary="Every problem type the API answers with")
def problem_types() -> list[dict[str, Any]]:
    return [
        {"type": p.uri, "status": p.status, "title": p.title, "description": p.description}
        for p in all_types()
    ]


@router.get("/problems/{slug}", summary="One problem type")
def problem_type(*, slug: str) -> dict[str, Any]:
    for p in all_types():
        if p.slug == slug:
            return {
                "type": p.uri,
                "status": p.status,
                "title": p.title,
                "description": p.description,
            }
    raise NotFound(slug)
