"""The service's problem types back into error classes: :data:`PROBLEM_CLASSES`, the
inverse of the engine's error codes (:data:`creditline.domain.errors.ERROR_CODES`),
and :func:`error_from_problem`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from creditline.client.errors.reasons import bare
from creditline.client.errors.rebuild import (
    Build,
    insufficient,
    invalid_request,
    message,
    rate_limited,
    rebuilt,
    service,
)
from creditline.client.errors.service import (
    TYPE_BASE,
    InvalidRequest,
    RateLimited,
    ServiceError,
)
from creditline.domain.errors import (
    ERROR_CODES,
    CreditlineError,
    InsufficientCredits,
    error_members,
)

__all__ = ["PROBLEM_CLASSES", "error_class", "error_from_problem"]


def _build(cls: type[CreditlineError]) -> Build:
    """How to build an engine error from its problem: from its members, or from its
    message alone when it has none."""
    if cls is InsufficientCredits:
        return insufficient
    return message if error_members(cls) is None else rebuilt


PROBLEM_CLASSES: dict[str, tuple[type[CreditlineError], Build]] = {
    # the engine's errors, by their codes
    **{code: (cls, _build(cls)) for cls, code in ERROR_CODES.items()},
    # the root: an unexpected failure of the service
    ERROR_CODES[CreditlineError]: (ServiceError, service),
    # the HTTP layer's own problems
    "malformed-request": (InvalidRequest, invalid_request),
    "invalid-request": (InvalidRequest, invalid_request),
    "invalid-events": (InvalidRequest, invalid_request),
    "rate-limited": (RateLimited, rate_limited),
    "route-not-found": (ServiceError, service),
    "method-not-allowed": (ServiceError, service),
    "request-too-large": (ServiceError, service),
    "unsupported-media-type": (ServiceError, service),
}
"""Problem slug (the ``type`` after ``urn:creditline:problem:``) to the error class it
stands for and how to build it. A type not listed answers as :class:`ServiceError`."""


def error_class(problem_type: str | None) -> type[CreditlineError]:
    """The error class a problem type stands for (:class:`ServiceError` if unknown)."""
    slug = (problem_type or "").removeprefix(TYPE_BASE)
    return PROBLEM_CLASSES.get(slug, (ServiceError, service))[0]


def error_from_problem(
    problem: Mapping[str, Any], status: int | None = None, org_id: str | None = None
) -> CreditlineError:
    """The error a problem document stands for, with its attributes.

    ``org_id`` is the organization of the call, for the errors whose problem does not
    carry it (:class:`~creditline.domain.errors.InsufficientCredits` read from a batch
    result's reason).
    """
    kind = problem.get("type")
    slug = kind.removeprefix(TYPE_BASE) if isinstance(kind, str) else ""
    detail = str(problem.get("detail") or problem.get("title") or "")
    body = dict(problem)
    if status is not None and "status" not in body:
        body["status"] = status
    cls, build = PROBLEM_CLASSES.get(slug, (ServiceError, service))
    try:
        error = build(cls, detail, body, org_id)
    except (ValueError, TypeError, KeyError, ArithmeticError):  # members of another shape
        error = bare(cls, detail)
    instance = problem.get("instance")
    if isinstance(instance, str) and instance:
        error.add_note(f"the service's request id: {instance}")
    return error
