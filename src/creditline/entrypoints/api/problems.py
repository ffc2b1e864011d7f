"""Errors as RFC 9457 problem details: one table from error class to status and type.

Every error answer is ``application/problem+json``::

    {"type": "urn:creditline:problem:insufficient-credits", "title": "Insufficient credits",
     "status": 402, "detail": "insufficient credits in org_...: needed ...",
     "needed": "12.5", "needed_micros": 12500000, "available": "3", ...}

- ``type`` is a stable URI per error class, a URN: ``urn:creditline:problem:<slug>``
  (the slug is the class's code, :data:`creditline.domain.errors.ERROR_CODES`);
  ``GET /problems/<slug>`` describes it (``GET /problems`` lists them all). A type never
  changes meaning; new errors get new types.
- ``title`` is the type in words, ``status`` the HTTP status, ``detail`` this
  occurrence's one-line message, ``instance`` the request's id.
- Extension members carry the objects involved: ``needed``/``available`` (402),
  ``plan``/``rule``/``reason`` (403 plan gate), ``errors`` (every problem of a 422, each
  ``{"field", "message"}``), ``retry_after`` (429). Besides, every engine error's own
  attributes are members under their names (:data:`MEMBERS`: ``ident`` of a
  ``*-not-found``, ``name``/``value``/``reason`` of an ``invalid-setting``,
  ``problems`` of a validation error...), so a client rebuilds the error from them, never
  from ``detail``. A ``value`` that JSON has no type for says which it is in
  ``value_type`` (``decimal``: exact text; ``float``; ``datetime``: ISO 8601;
  ``tuple``: an array; ``repr``: its ``repr``).

A class not listed in :data:`PROBLEMS` takes its nearest listed base class's entry.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match, Route

from creditline.domain.amounts import format_credits
from creditline.domain.errors import (
    ERROR_CODES,
    ERROR_MEMBERS,
    AlertRuleNotFound,
    AlreadyExists,
    ApiKeyNotFound,
    AuthenticationFailed,
    BudgetExceeded,
    BudgetNotFound,
    CommitOutcomeUnknown,
    ConfigurationError,
    Conflict,
    CreditlineError,
    GrantNotFound,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidAlertRule,
    InvalidAmount,
    InvalidBudget,
    InvalidGrant,
    InvalidRateCard,
    InvalidSetting,
    InvalidTime,
    InvalidUsage,
    InvoiceNotFound,
    KeyCapExceeded,
    MemberNotFound,
    NoRateCardInForce,
    NotFound,
    NotificationFailed,
    OperationNotAllowed,
    OrganizationNotFound,
    PackNotFound,
    PaymentError,
    PaymentProviderError,
    PaymentsUnavailable,
    PermissionDenied,
    PlanGateRefused,
    PlanNotFound,
    ProjectNotFound,
    PurchaseNotFound,
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    QuoteUsed,
    RateCardNotFound,
    RateCardVersionConflict,
    RefundRefused,
    ReservationNotFound,
    SalesRequestNotFound,
    SelfServeUnavailable,
    StorageError,
    UnknownOperation,
    UsageEventNotFound,
    ValidationError,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
    WebhookRejected,
    WebhookUrlRefused,
    error_members,
)

__all__ = [
    "HTTP_PROBLEMS",
    "MEMBERS",
    "PROBLEMS",
    "PROBLEM_JSON",
    "STATUS",
    "ProblemType",
    "http_problem",
    "install_handlers",
    "problem",
    "problem_body",
    "problem_response",
]

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "urn:creditline:problem:"


@dataclass(frozen=True, slots=True)
class ProblemType:
    """One kind of problem: its HTTP status, its stable slug and its title."""

    status: int
    slug: str
    title: str
    description: str = ""

    @property
    def uri(self) -> str:
        return TYPE_BASE + self.slug


def _p(status: int, slug: str, title: str, description: str = "") -> ProblemType:
    return ProblemType(status, slug, title, description)


def _e(status: int, title: str, description: str = "") -> tuple[int, str, str]:
    return status, title, description


_ANSWERS: dict[type[CreditlineError], tuple[int, str, str]] = {
    CreditlineError: _e(500, "Internal error", "An unexpected failure."),
    ValidationError: _e(422, "Invalid input", "Nothing was changed."),
    InvalidAmount: _e(422, "Invalid amount"),
    InvalidTime: _e(422, "Invalid time"),
    InvalidSetting: _e(422, "Invalid setting"),
    InvalidGrant: _e(422, "Invalid grant"),
    InvalidRateCard: _e(422, "Invalid rate card"),
    InvalidUsage: _e(422, "Usage cannot be priced"),
    UnknownOperation: _e(422, "Unknown operation"),
    InvalidBudget: _e(
        422, "Invalid budget", "The budget breaks one or more rules; every problem is listed."
    ),
    InvalidAlertRule: _e(
        422,
        "Invalid alert rule",
        "The rule breaks one or more rules; `errors` lists every one. Nothing was added.",
    ),
    WebhookRejected: _e(400, "Webhook rejected"),
    WebhookUrlRefused: _e(
        422,
        "Webhook URL refused",
        "The server does not call this URL: only http(s), without a user name or password "
        "or control characters, to a public address (not loopback, private, link-local, "
        "metadata...); `errors` lists every problem. Nothing was added.",
    ),
    NotFound: _e(404, "Not found"),
    OrganizationNotFound: _e(404, "Organization not found"),
    ProjectNotFound: _e(404, "Project not found"),
    MemberNotFound: _e(404, "Member not found"),
    GrantNotFound: _e(404, "Grant not found"),
    ReservationNotFound: _e(404, "Reservation not found"),
    UsageEventNotFound: _e(404, "Usage event not found"),
    PlanNotFound: _e(404, "Plan not found"),
    NoRateCardInForce: _e(404, "No rate card in force"),
    RateCardNotFound: _e(404, "Rate card not found"),
    PackNotFound: _e(404, "Credit pack not found"),
    PurchaseNotFound: _e(404, "Purchase not found"),
    InvoiceNotFound: _e(404, "Invoice not found"),
    ApiKeyNotFound: _e(404, "API key not found"),
    AlertRuleNotFound: _e(404, "Alert rule not found"),
    BudgetNotFound: _e(404, "Budget not found"),
    WebhookEndpointNotFound: _e(404, "Webhook endpoint not found"),
    WebhookDeliveryNotFound: _e(404, "Webhook delivery not found"),
    SalesRequestNotFound: _e(404, "Contact-sales request not found"),
    Conflict: _e(409, "Conflict"),
    AlreadyExists: _e(409, "Already exists"),
    IdempotencyKeyReused: _e(
        409,
        "Idempotency key reused",
        "The same Idempotency-Key was sent with a different request; nothing was done.",
    ),
    IdempotencyKeyInUse: _e(
        409,
        "Idempotency key in use",
        "The first request with this Idempotency-Key is still running; retry later.",
    ),
    RateCardVersionConflict: _e(409, "Rate card version conflict"),
    PlanGateRefused: _e(
        403,
        "Refused by the plan",
        "The organization's plan does not allow this usage (`rule` says which); nothing "
        "was charged.",
    ),
    InsufficientCredits: _e(
        402,
        "Insufficient credits",
        "The credits needed (`needed`) exceed those available (`available`); nothing was written.",
    ),
    KeyCapExceeded: _e(
        402,
        "API key cap exceeded",
        "The charge (`needed`) would take the API key past its spend cap (`cap`) for the "
        "`window` (a UTC day or month): `used` so far, `room` left, all in micro-credits; "
        "nothing was charged.",
    ),
    BudgetExceeded: _e(
        402,
        "Budget exceeded",
        "A hard budget of the project or member (`budget_id`, `scope`) would be passed: "
        "`used` of its `amount` this period, `room` left, `needed` asked; nothing was charged.",
    ),
    PaymentError: _e(409, "Payment cannot go ahead"),
    PaymentsUnavailable: _e(
        403,
        "Payments unavailable",
        "Credits cannot be bought here (no payment provider, or self-serve buying is off): "
        "contact sales.",
    ),
    SelfServeUnavailable: _e(
        403,
        "Self-serve buying unavailable",
        "Credits cannot be bought self-serve in the organization's country: nothing was "
        "asked of the payment provider. Contact sales instead: POST the request to "
        "`contact_sales` (`/v1/orgs/{org_id}/sales-requests`).",
    ),
    RefundRefused: _e(409, "Refund refused"),
    PaymentProviderError: _e(502, "Payment provider error"),
    NotificationFailed: _e(502, "Notification failed"),
    AuthenticationFailed: _e(
        401,
        "Unauthenticated",
        "No API key, or one that is malformed, unknown, expired or revoked. Send "
        "`Authorization: Bearer cl_live_...`.",
    ),
    PermissionDenied: _e(
        403,
        "Permission denied",
        "The API key's role does not allow this request (a read-only key writing, an "
        "organization's key on an operator's route).",
    ),
    OperationNotAllowed: _e(
        403,
        "Operation not allowed for this key",
        "The API key may charge only the operations in `allowed`; this charge names "
        "another (or none). Nothing was charged.",
    ),
    ConfigurationError: _e(500, "Configuration error"),
    StorageError: _e(503, "Storage unavailable"),
    CommitOutcomeUnknown: _e(
        503,
        "Commit outcome unknown",
        "The connection to the database was lost while the request's writes were being "
        "committed: they may or may not be stored. Send the request again with the same "
        "Idempotency-Key (usage: the same event ids); it is applied once either way.",
    ),
    QuoteNotFound: _e(404, "Quote not found"),
    QuoteExpired: _e(
        409,
        "Quote expired",
        "The binding quote's validity ended (`expires_at`); nothing was charged. Ask for a "
        "new quote, or send the usage without one.",
    ),
    QuoteUsed: _e(
        409,
        "Quote used",
        "The binding quote was used already (`used_by`); a quote binds its price once. "
        "Nothing was charged.",
    ),
    QuoteMismatch: _e(
        422,
        "Quote does not match",
        "The usage or hold names a quote that priced another operation, other quantities "
        "or dimensions, or another amount (`reason`); nothing was charged.",
    ),
}
"""Each error class's HTTP status, title and description."""

PROBLEMS: dict[type[Exception], ProblemType] = {
    cls: ProblemType(status, ERROR_CODES[cls], title, description)
    for cls, (status, title, description) in _ANSWERS.items()
}
"""The one table from error class to HTTP status, problem type and title."""

HTTP_PROBLEMS: dict[str, ProblemType] = {
    p.slug: p
    for p in (
        _p(400, "malformed-request", "Malformed request", "The body is not valid JSON."),
        _p(
            422,
            "invalid-request",
            "Invalid request",
            "The request does not match its schema; `errors` lists every field's problem. "
            "Unknown fields are refused.",
        ),
        _p(
            400,
            "invalid-events",
            "Invalid events",
            "One or more CloudEvents sent to `/api/v1/events` are invalid; `errors` names "
            "each (`index`, `event_id`, `message`). `recorded` counts the others recorded: "
            "none when an event breaks the CloudEvents spec or the field limits.",
        ),
        _p(404, "route-not-found", "No such route"),
        _p(405, "method-not-allowed", "Method not allowed"),
        _p(413, "request-too-large", "Request too large"),
        _p(415, "unsupported-media-type", "Unsupported media type"),
        _p(
            429,
            "rate-limited",
            "Too many requests",
            "The API key's request rate is over its limit, in this process; retry after "
            "`Retry-After` seconds.",
        ),
    )
}
"""Problems of the HTTP layer itself, by slug."""

STATUS: dict[type[Exception], int] = {cls: p.status for cls, p in PROBLEMS.items()}
"""Error class to HTTP status (derived from :data:`PROBLEMS`)."""

_FIELD = re.compile(r"^([A-Za-z_][\w.\[\]-]*): (.+)$", re.DOTALL)


def problem_type(exc: Exception) -> ProblemType:
    return next(PROBLEMS[c] for c in type(exc).__mro__ if c in PROBLEMS)


def _field_errors(problems: list[str]) -> list[dict[str, Any]]:
    errors = []
    for text in problems:
        match = _FIELD.match(text)
        field, message = (match.group(1), match.group(2)) if match else (None, text)
        errors.append({"field": field, "message": message})
    return errors


def _flex(exc: InsufficientCredits) -> dict[str, Any]:
    """At a flex limit: the limit, the flex used this month and the room left."""
    if exc.flex_limit is None:
        return {}
    used, room = exc.flex_used or 0, exc.flex_room or 0
    return {
        "flex_limit": format_credits(exc.flex_limit), "flex_limit_micros": exc.flex_limit,
        "flex_used": format_credits(used), "flex_used_micros": used,
        "flex_room": format_credits(room), "flex_room_micros": room,
    }  # fmt: skip


MEMBERS = ERROR_MEMBERS
"""The attributes of each error class sent as members of its problem (the domain's
table, :data:`creditline.domain.errors.ERROR_MEMBERS`)."""

_VALUE_TYPES: tuple[tuple[type, str], ...] = (
    (bool, ""), (int, ""), (str, ""), (Decimal, "decimal"), (float, "float"),
    (datetime, "datetime"),
)  # fmt: skip


def _plain(value: Any) -> tuple[Any, str]:
    """A member's value as JSON carries it, and the type it stands for when JSON has
    none (``""``: the JSON value is the value)."""
    if value is None:
        return None, ""
    if isinstance(value, list | tuple):
        items = [_plain(v) for v in value]
        if any(kind for _, kind in items):
            return repr(value), "repr"
        return [v for v, _ in items], "tuple" if isinstance(value, tuple) else ""
    kind = next((k for t, k in _VALUE_TYPES if isinstance(value, t)), "repr")
    if kind == "decimal":
        return str(value), kind
    if kind == "datetime":
        return value.isoformat(), kind
    if kind == "repr":
        return repr(value), kind
    return value, kind


def _members(exc: CreditlineError) -> dict[str, Any]:
    """The error's own attributes (:data:`MEMBERS`), as JSON."""
    found: dict[str, Any] = {}
    for name in error_members(type(exc)) or ():
        found[name], kind = _plain(getattr(exc, name, None))
        if kind:
            found[f"{name}_type"] = kind
    return found


def _extensions(exc: CreditlineError) -> dict[str, Any]:
    return {**_members(exc), **_described(exc)}


def _grace(exc: InsufficientCredits) -> dict[str, Any]:
    if exc.grace_state is None:
        return {}
    return {"grace_state": exc.grace_state, "grace_since": exc.grace_since}


def _described(exc: CreditlineError) -> dict[str, Any]:
    """The members problems have always had (their names, meaning and shape stay)."""
    if isinstance(exc, InsufficientCredits):
        return {
            "org_id": exc.org_id,
            "needed": format_credits(exc.needed),
            "needed_micros": exc.needed,
            "available": format_credits(exc.available),
            "available_micros": exc.available,
            **_flex(exc),
            **({} if exc.overdue_invoice is None else {"overdue_invoice": exc.overdue_invoice}),
            **_grace(exc),
        }
    if isinstance(exc, SelfServeUnavailable):
        return {
            "org_id": exc.org_id,
            "country": exc.country,
            "contact_sales": f"/v1/orgs/{exc.org_id}/sales-requests",
        }
    if isinstance(exc, KeyCapExceeded):
        return {"room": exc.room}
    if isinstance(exc, PlanGateRefused):
        return {"plan": exc.plan, "rule": exc.rule, "reason": exc.reason}
    if isinstance(exc, BudgetExceeded):
        return {"room": exc.room, "room_credits": format_credits(exc.room)}
    problems = getattr(exc, "problems", None)
    if isinstance(exc, ValidationError):
        if isinstance(problems, list):
            return {"errors": _field_errors([str(p) for p in problems])}
        return {"errors": [{"field": getattr(exc, "name", None), "message": str(exc)}]}
    return {}


def problem_body(
    kind: ProblemType, detail: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": kind.uri,
        "title": kind.title,
        "status": kind.status,
        "detail": " ".join(detail.split()),
    }
    if instance:
        body["instance"] = instance
    body.update(extensions)
    return body


def problem(exc: CreditlineError, instance: str | None = None) -> dict[str, Any]:
    """The problem details of an engine error (its members never replace the standard
    ones: ``AlreadyExists.kind`` is a member, the problem ``type`` stays)."""
    body = problem_body(problem_type(exc), str(exc), instance)
    for name, value in _extensions(exc).items():
        body.setdefault(name, value)
    return body


def http_problem(
    slug: str, detail: str, instance: str | None = None, **extensions: Any
) -> dict[str, Any]:
    """The problem details of one of the HTTP layer's own problems (:data:`HTTP_PROBLEMS`)."""
    return problem_body(HTTP_PROBLEMS[slug], detail, instance, **extensions)


def _request_id(request: Request) -> str | None:
    value = request.scope.get("state", {}).get("request_id")
    return value if isinstance(value, str) else None


def _respond(body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON, headers=headers)


async def problem_response(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler of every :class:`CreditlineError`."""
    assert isinstance(exc, CreditlineError)
    headers = {"WWW-Authenticate": "Bearer"} if isinstance(exc, AuthenticationFailed) else None
    return _respond(problem(exc, _request_id(request)), headers)


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc]
    return ".".join(parts)


async def validation_response(request: Request, exc: Exception) -> JSONResponse:
    """Request validation: every field's problem at once (422), or 400 when the body is
    not JSON at all."""
    assert isinstance(exc, RequestValidationError)
    raw = exc.errors()
    if any(e.get("type") == "json_invalid" for e in raw):
        return _respond(
            http_problem("malformed-request", "the body is not valid JSON", _request_id(request))
        )
    errors = [
        {"field": _location(e.get("loc", ())), "message": str(e.get("msg", "")),
         "code": str(e.get("type", ""))}
        for e in raw
    ]  # fmt: skip
    detail = f"{len(errors)} problem{'' if len(errors) == 1 else 's'} in the request"
    return _respond(http_problem("invalid-request", detail, _request_id(request), errors=errors))


_HTTP_SLUGS = {
    400: "malformed-request",
    404: "route-not-found",
    405: "method-not-allowed",
    413: "request-too-large",
    415: "unsupported-media-type",
    422: "invalid-request",
    429: "rate-limited",
}


async def http_error_response(request: Request, exc: Exception) -> JSONResponse:
    """Starlette's own errors (no such route, a wrong method) as problem details."""
    assert isinstance(exc, StarletteHTTPException)
    slug = _HTTP_SLUGS.get(exc.status_code)
    detail = exc.detail if isinstance(exc.detail, str) else json.dumps(exc.detail)
    if slug is None:
        body = problem_body(
            ProblemType(exc.status_code, "http-error", "HTTP error"), detail, _request_id(request)
        )
    else:
        body = http_problem(slug, detail, _request_id(request))
    headers = dict(exc.headers) if exc.headers else {}
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(_allowed(request))
    return _respond(body, headers or None)


def _allowed(request: Request) -> list[str]:
    """Every method some route answers at the request's path (one route per method is
    what FastAPI makes; Starlette's own ``Allow`` names only the first one's)."""
    matching = [
        route
        for route in getattr(request.app.state, "routes", ())  # every API route (app.py)
        if isinstance(route, Route) and route.matches(request.scope)[0] is not Match.NONE
    ]
    # The path's own routes: /usage/batch is not /usage/{event_id}, which it also matches.
    fewest = min((len(r.param_convertors) for r in matching), default=0)
    methods = {m for r in matching if len(r.param_convertors) == fewest for m in r.methods or ()}
    methods.discard("HEAD")
    return sorted(methods)


def install_handlers(app: Any) -> None:
    """Register the handlers that turn every error into problem details."""
    app.add_exception_handler(CreditlineError, problem_response)
    app.add_exception_handler(RequestValidationError, validation_response)
    app.add_exception_handler(StarletteHTTPException, http_error_response)


def all_types() -> list[ProblemType]:
    """Every problem type the service answers with, by slug."""
    found = {p.slug: p for p in (*PROBLEMS.values(), *HTTP_PROBLEMS.values())}
    return [found[s] for s in sorted(found)]
