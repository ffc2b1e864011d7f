"""The application factory: the HTTP API over one :class:`creditline.Creditline`.

``create_app(creditline, settings=...)`` wires, from the outside in:

1. :class:`~.observability.RequestContextMiddleware`: request id, metrics, the request's
   JSON log line, a problem-details 500 for anything unexpected;
2. :class:`~.limits.BodyLimitMiddleware`: 413 past the body limit;
3. :class:`~.security.AuthMiddleware`: the API key (401 when it does not verify; 429
   for an address that sent too many keys that did not);
4. :class:`~.limits.RateLimitMiddleware`: 429 with ``Retry-After`` per key;
5. :class:`~.idempotency.IdempotencyMiddleware`: ``Idempotency-Key`` on POST;
6. the routes (:mod:`.routes`), thin: parse, call the engine, render. The engine's
   errors become problem details in one table (:mod:`.problems`).

The OpenAPI document (``GET /openapi.json``, browsable offline at ``/docs`` and
``/redoc``: :mod:`.docs`) describes every route, its body (with examples), its answers
and, as ``default``, the problem details of every error.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from creditline import Creditline, __version__
from creditline.entrypoints.api.docs import install_docs
from creditline.entrypoints.api.express import express_routes
from creditline.entrypoints.api.idempotency import UNKEYED, IdempotencyMiddleware
from creditline.entrypoints.api.limits import (
    BodyLimitMiddleware,
    Buckets,
    RateLimitMiddleware,
    SharedTokenBuckets,
    TokenBuckets,
)
from creditline.entrypoints.api.observability import Metrics, RequestContextMiddleware
from creditline.entrypoints.api.problems import PROBLEM_JSON, install_handlers
from creditline.entrypoints.api.routes import ROUTERS
from creditline.entrypoints.api.scheduler import background_ticks
from creditline.entrypoints.api.schemas.common import (
    ProblemOut,
)
from creditline.entrypoints.api.schemas.events import (
    UsageBatchIn,
)
from creditline.entrypoints.api.security import AuthMiddleware
from creditline.entrypoints.api.settings import ApiSettings
from creditline.entrypoints.web import WebSettings, install_web

__all__ = ["create_app"]

DESCRIPTION = """\
The credits engine over HTTP.

**Keys.** Every `/v1` route needs `Authorization: Bearer cl_live_...`. An *operator* key
may do everything; an *org* key only its own organization's things (spend, record usage,
reserve, buy, read), an *org_read* key only read them. Anything of another organization
answers **404**, exactly as if it did not exist.

**Amounts** are exact: each credit amount is answered as a decimal string of credits
(`"amount": "12.5"`) and as integer micro-credits (`"amount_micros": 12500000`). A
request gives one of the two. Money is integer minor units and a currency. JSON numbers
are read exactly (`0.5` is the decimal 0.5), never as floats.

**Errors** are RFC 9457 `application/problem+json` with a stable `type` per error class
(`urn:creditline:problem:insufficient-credits`; `GET /problems` lists them): 402
insufficient credits (`needed`, `available`), 403 a plan gate (`rule`) or a key's role,
404 not found, 409 a conflict, 413 a body too large, 422 invalid input (`errors` lists
every field's problem; unknown fields are refused), 429 a key over its rate
(`Retry-After`).

**Idempotency.** Every POST but Stripe's webhook (deduplicated by its event id) takes
an `Idempotency-Key` header: the same key and body replay the first answer; the same
key with another body is 409. Unknown query parameters are refused (422).

**Pagination.** Lists that page answer `{"items": [...], "next_cursor": ...}`; pass
`cursor=<next_cursor>` for the next page (`null`: no more).
"""

TAGS = [
    {"name": "organizations", "description": "Organizations, projects, members."},
    {"name": "credits", "description": "Grants, spends, the balance and the ledger."},
    {"name": "usage", "description": "Usage events, CloudEvents ingest, quotes, reports."},
    {"name": "reservations", "description": "Two-phase holds for long operations."},
    {
        "name": "budgets",
        "description": "Budgets of projects and members inside the organization's pool: "
        "hard (refused past them) or soft (alerts only), with their consumption.",
    },
    {"name": "catalogue", "description": "Rate cards, plans, credit packs."},
    {"name": "billing", "description": "Purchases, refunds, invoices, the Stripe webhook."},
    {
        "name": "sales",
        "description": "Country gating: an organization's country, whether it buys "
        "self-serve, and its contact-sales requests.",
    },
    {
        "name": "alerts",
        "description": "Alert rules on credits, the webhook endpoints that receive them "
        "(signed per Standard Webhooks), the delivery log.",
    },
    {"name": "operations", "description": "Health, metrics, keys, the scheduler."},
]

_IDEMPOTENCY_PARAMETER = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "description": "Makes the request exactly-once: a retry with the same key and body gets "
    "the first answer; the same key with another body, 409.",
    "schema": {"type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[!-~]+$"},
}


EXPRESS = (
    ("POST", "/v1/orgs/{org_id}/usage"),
    ("POST", "/v1/orgs/{org_id}/usage/batch"),
    ("POST", "/v1/orgs/{org_id}/spend"),
    ("POST", "/v1/orgs/{org_id}/reservations"),
    ("POST", "/v1/orgs/{org_id}/reservations/{reservation_id}/commit"),
    ("POST", "/v1/orgs/{org_id}/reservations/{reservation_id}/release"),
)
"""The routes every request of a busy platform goes through: served by the express lane
(:mod:`.express`), documented and checked by their FastAPI routes."""

READ_BY_THEMSELVES = (UsageBatchIn,)
"""Request bodies of routes that read their body themselves (``openapi_extra`` names
them): their schemas are added to the document's components."""


def _openapi(app: FastAPI) -> Callable[[], dict[str, Any]]:
    def build() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = get_openapi(
            title=app.title,
            version=app.version,
            description=app.description,
            routes=app.routes,
            tags=app.openapi_tags,
        )
        components = schema.setdefault("components", {}).setdefault("schemas", {})
        components["Problem"] = ProblemOut.model_json_schema(
            ref_template="#/components/schemas/{model}"
        )
        for model in READ_BY_THEMSELVES:
            found = model.model_json_schema(ref_template="#/components/schemas/{model}")
            for name, nested in found.pop("$defs", {}).items():
                components.setdefault(name, nested)
            components.setdefault(model.__name__, found)
        problem = {
            "description": "A problem (RFC 9457): see `type`.",
            "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
        }
        for route, path in schema.get("paths", {}).items():
            for method, operation in path.items():
                _complete(method, operation, problem, keyed=not route.startswith(UNKEYED))
        for name in ("HTTPValidationError", "ValidationError"):
            components.pop(name, None)
        app.openapi_schema = schema
        return schema

    return build


def _complete(
    method: str, operation: dict[str, Any], problem: dict[str, Any], *, keyed: bool
) -> None:
    responses = operation.setdefault("responses", {})
    responses.pop("422", None)
    responses["default"] = problem
    for parameter in operation.get("parameters", []):  # an empty segment is another URL
        if parameter.get("in") == "path":
            parameter.setdefault("schema", {}).setdefault("minLength", 1)
    if method == "post" and keyed:
        parameters = operation.setdefault("parameters", [])
        if not any(p.get("name") == "Idempotency-Key" for p in parameters):
            parameters.append(_IDEMPOTENCY_PARAMETER)


async def _alive(request: Request) -> Response:
    return Response(b'{"status":"ok"}', media_type="application/json")


def _buckets(shared_file: str, rate: float, burst: int) -> Buckets | None:
    """Token buckets of ``rate`` a second (none for 0), shared through ``shared_file``
    when one is named (the keys of different limits never collide in it)."""
    if rate <= 0:
        return None
    if shared_file:
        return SharedTokenBuckets(shared_file, rate, burst)
    return TokenBuckets(rate, burst)


def create_app(
    creditline: Creditline,
    *,
    settings: ApiSettings | None = None,
    close_on_shutdown: bool = False,
    web: WebSettings | None = None,
) -> FastAPI:
    """The HTTP API over ``creditline`` (which holds the payment provider it verifies
    webhooks with: ``Creditline.open(url, payments=StripeProvider(...))``).

    Args:
        settings: limits and logging (default: :class:`ApiSettings` defaults).
        close_on_shutdown: close ``creditline`` when the server shuts down.
        web: the dashboard's settings (default: :meth:`WebSettings.from_env`); the
            customer portal (``/portal``) and the operator console (``/console``) are
            served with the API, their assets at ``/static``.
    """
    settings = settings or ApiSettings()
    metrics = Metrics()

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        with background_ticks(creditline, settings.tick_seconds):
            yield
        if close_on_shutdown:
            creditline.close()

    app = FastAPI(
        title="creditline",
        version=__version__,
        description=DESCRIPTION,
        openapi_tags=TAGS,
        lifespan=lifespan,
        docs_url=None,  # served by install_docs, from the package's own copies
        redoc_url=None,
    )
    app.state.creditline = creditline
    app.state.settings = settings
    app.state.metrics = metrics
    install_handlers(app)
    install_docs(app)
    for router in ROUTERS:
        app.include_router(router)
    # Liveness answers ahead of the routes, as a plain route: it needs none of FastAPI's
    # per-route work (dependencies, validation), and probes call it often. Its FastAPI
    # declaration (routes/health.py) still documents it; every middleware still runs.
    app.router.routes.insert(0, Route("/healthz", _alive, methods=["GET"]))
    # The hot write routes, ahead of FastAPI's own: see :mod:`.express`.
    api_routes = [route for router in ROUTERS for route in router.routes]
    app.router.routes[1:1] = express_routes(api_routes, EXPRESS)
    # Every API route, for the ``Allow`` header of a 405 (problems.http_error_response).
    # (FastAPI 0.16x wraps an included router in one route of its own: its routes are
    # read from the routers themselves.)
    app.state.routes = [
        r
        for r in (*app.router.routes, *(route for router in ROUTERS for route in router.routes))
        if isinstance(r, Route)
    ]
    # The web dashboard: cookie sessions, no API key (the middlewares below act on a
    # request only when it carries an Authorization or Idempotency-Key header).
    install_web(app, web or WebSettings.from_env())
    buckets = _buckets(settings.rate_file, settings.rate_per_second, settings.rate_burst)
    failures = _buckets(
        settings.rate_file, settings.bad_key_rate_per_second, settings.bad_key_burst
    )
    # Added innermost first: each add_middleware wraps the ones before it.
    app.add_middleware(
        IdempotencyMiddleware, creditline=creditline, max_length=settings.idempotency_key_length
    )
    app.add_middleware(RateLimitMiddleware, buckets=buckets)
    app.add_middleware(AuthMiddleware, creditline=creditline, failures=failures)
    app.add_middleware(BodyLimitMiddleware, max_body_bytes=settings.max_body_bytes)
    app.add_middleware(
        RequestContextMiddleware, metrics=metrics, log_requests=settings.log_requests
    )
    app.openapi = _openapi(app)  # type: ignore[method-assign]
    return app
