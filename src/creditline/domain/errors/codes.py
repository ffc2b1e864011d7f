"""Each error class's stable code, the name the API and the HTTP client know it by."""

from __future__ import annotations

from creditline.domain.errors.alerts import (
    AlertRuleNotFound,
    InvalidAlertRule,
    WebhookDeliveryNotFound,
    WebhookEndpointNotFound,
    WebhookUrlRefused,
)
from creditline.domain.errors.api import (
    ApiKeyNotFound,
    AuthenticationFailed,
    IdempotencyKeyInUse,
    PermissionDenied,
)
from creditline.domain.errors.base import Conflict, CreditlineError, NotFound, ValidationError
from creditline.domain.errors.billing import (
    InvoiceNotFound,
    NotificationFailed,
    PackNotFound,
    PaymentError,
    PaymentProviderError,
    PaymentsUnavailable,
    PurchaseNotFound,
    RefundRefused,
    SalesRequestNotFound,
    SelfServeUnavailable,
    WebhookRejected,
)
from creditline.domain.errors.conflicts import (
    AlreadyExists,
    IdempotencyKeyReused,
    RateCardVersionConflict,
)
from creditline.domain.errors.credits import InsufficientCredits, PlanGateRefused
from creditline.domain.errors.not_found import (
    GrantNotFound,
    MemberNotFound,
    NoRateCardInForce,
    OrganizationNotFound,
    PlanNotFound,
    ProjectNotFound,
    RateCardNotFound,
    ReservationNotFound,
    UsageEventNotFound,
)
from creditline.domain.errors.system import ConfigurationError, StorageError
from creditline.domain.errors.validation import (
    InvalidAmount,
    InvalidGrant,
    InvalidRateCard,
    InvalidSetting,
    InvalidTime,
    InvalidUsage,
    UnknownOperation,
)

__all__ = ["ERROR_CODES"]


ERROR_CODES: dict[type[CreditlineError], str] = {
    CreditlineError: "creditline-error",
    ValidationError: "validation-error",
    InvalidAmount: "invalid-amount",
    InvalidTime: "invalid-time",
    InvalidSetting: "invalid-setting",
    InvalidGrant: "invalid-grant",
    InvalidRateCard: "invalid-rate-card",
    InvalidUsage: "invalid-usage",
    UnknownOperation: "unknown-operation",
    InvalidAlertRule: "invalid-alert-rule",
    WebhookUrlRefused: "webhook-url-refused",
    WebhookRejected: "webhook-rejected",
    NotFound: "not-found",
    OrganizationNotFound: "organization-not-found",
    ProjectNotFound: "project-not-found",
    MemberNotFound: "member-not-found",
    GrantNotFound: "grant-not-found",
    ReservationNotFound: "reservation-not-found",
    UsageEventNotFound: "usage-event-not-found",
    PlanNotFound: "plan-not-found",
    NoRateCardInForce: "no-rate-card-in-force",
    RateCardNotFound: "rate-card-not-found",
    PackNotFound: "pack-not-found",
    PurchaseNotFound: "purchase-not-found",
    InvoiceNotFound: "invoice-not-found",
    ApiKeyNotFound: "api-key-not-found",
    AlertRuleNotFound: "alert-rule-not-found",
    WebhookEndpointNotFound: "webhook-endpoint-not-found",
    WebhookDeliveryNotFound: "webhook-delivery-not-found",
    SalesRequestNotFound: "sales-request-not-found",
    Conflict: "conflict",
    AlreadyExists: "already-exists",
    IdempotencyKeyReused: "idempotency-key-reused",
    IdempotencyKeyInUse: "idempotency-key-in-use",
    RateCardVersionConflict: "rate-card-version-conflict",
    PlanGateRefused: "plan-gate-refused",
    InsufficientCredits: "insufficient-credits",
    PaymentError: "payment-error",
    PaymentsUnavailable: "payments-unavailable",
    SelfServeUnavailable: "self-serve-unavailable",
    RefundRefused: "refund-refused",
    PaymentProviderError: "payment-provider-error",
    NotificationFailed: "notification-failed",
    AuthenticationFailed: "authentication-failed",
    PermissionDenied: "permission-denied",
    ConfigurationError: "configuration-error",
    StorageError: "storage-error",
}
"""Each error class's stable code: the API answers it as the problem type
``urn:creditline:problem:<code>``, and the HTTP client turns the code back into the class.
A class not listed answers as its nearest listed base class."""
