"""The service's problem types back into error classes: :data:`PROBLEM_CLASSES`, the
inverse of the service's table (:data:`creditline.entrypoints.api.problems.PROBLEMS`),
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
    AlertRuleNotFound,
    AlreadyExists,
    ApiKeyNotFound,
    AuthenticationFailed,
    ConfigurationError,
    Conflict,
    CreditlineError,
    GrantNotFound,
    IdempotencyKeyInUse,
    IdempotencyKeyReused,
    InsufficientCredits,
    InvalidAlertRule,
    InvalidAmount,
    InvalidGrant,
    InvalidRateCard,
    InvalidSetting,
    InvalidTime,
    InvalidUsage,
    InvoiceNotFound,
    MemberNotFound,
    NoRateCardInForce,
    NotFound,
    NotificationFailed,
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
)

__all__ = ["PROBLEM_CLASSES", "error_class", "error_from_problem"]

_ENGINE: tuple[type[CreditlineError], ...] = (
    # the engine's errors; their codes are domain.errors.ERROR_CODES
    InvalidAmount, InvalidTime, InvalidSetting, InvalidGrant, InvalidRateCard,
    InvalidUsage, UnknownOperation, InvalidAlertRule, WebhookRejected, WebhookUrlRefused,
    NotFound, OrganizationNotFound, ProjectNotFound, MemberNotFound, GrantNotFound,
    ReservationNotFound, UsageEventNotFound, PlanNotFound, NoRateCardInForce,
    RateCardNotFound, PackNotFound, PurchaseNotFound, InvoiceNotFound, ApiKeyNotFound,
    AlertRuleNotFound, WebhookEndpointNotFound, WebhookDeliveryNotFound,
    SalesRequestNotFound, AlreadyExists, IdempotencyKeyReused, IdempotencyKeyInUse,
    RateCardVersionConflict, PlanGateRefused, PaymentsUnavailable, SelfServeUnavailable,
    RefundRefused, PaymentProviderError, NotificationFailed, AuthenticationFailed,
    PermissionDenied,
)  # fmt: skip
_MESSAGE_ONLY = (ValidationError, Conflict, PaymentError, ConfigurationError, StorageError)
"""Errors whose only attribute is their message."""

_BUILDERS: dict[type[CreditlineError], Build] = {
    **dict.fromkeys(_ENGINE, rebuilt),
    **dict.fromkeys(_MESSAGE_ONLY, message),
    InsufficientCredits: insufficient,
}

PROBLEM_CLASSES: dict[str, tuple[type[CreditlineError], Build]] = {
    **{ERROR_CODES[cls]: (cls, build) for cls, build in _BUILDERS.items()},
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
