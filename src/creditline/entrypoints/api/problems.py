"""Errors as RFC 9457 problem details: one table from error class to HTTP status.

A response is ``application/problem+json`` with ``type`` (a URN naming the error
class: ``urn:creditline:problem:webhook-rejected``), ``title`` (the class in words),
``status`` and ``detail`` (the error's own one-line message). A class not in
:data:`STATUS` takes its nearest listed base class's status.
"""

from __future__ import annotations

import re
from typing import Any

from fastapi import Request
from fastapi.responses import JSONResponse

from creditline.domain.errors import (
    ConfigurationError,
    Conflict,
    CreditlineError,
    InsufficientCredits,
    NotFound,
    PaymentProviderError,
    PaymentsUnavailable,
    PlanGateRefused,
    RefundRefused,
    StorageError,
    ValidationError,
    WebhookRejected,
)

__all__ = ["PROBLEM_JSON", "STATUS", "problem", "problem_response"]

PROBLEM_JSON = "application/problem+json"

STATUS: dict[type[Exception], int] = {
    CreditlineError: 500,
    ValidationError: 422,
    WebhookRejected: 400,
    NotFound: 404,
    Conflict: 409,
    RefundRefused: 409,
    InsufficientCredits: 402,
    PlanGateRefused: 403,
    PaymentsUnavailable: 501,
    PaymentProviderError: 502,
    ConfigurationError: 500,
    StorageError: 503,
}
"""The one table from error class to HTTP status."""


def _status(exc: Exception) -> int:
    return next(STATUS[c] for c in type(exc).__mro__ if c in STATUS)


def _words(name: str) -> list[str]:
    return re.findall(r"[A-Z][a-z0-9]*", name) or [name]


def problem(exc: CreditlineError) -> dict[str, Any]:
    """The problem details of an engine error."""
    words = _words(type(exc).__name__)
    return {
        "type": "urn:creditline:problem:" + "-".join(w.lower() for w in words),
        "title": " ".join([words[0], *(w.lower() for w in words[1:])]),
        "status": _status(exc),
        "detail": " ".join(str(exc).split()),
    }


async def problem_response(request: Request, exc: Exception) -> JSONResponse:
    """The exception handler of every :class:`CreditlineError`."""
    assert isinstance(exc, CreditlineError)
    body = problem(exc)
    return JSONResponse(body, status_code=body["status"], media_type=PROBLEM_JSON)
