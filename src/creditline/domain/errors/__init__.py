"""The one exception tree of creditline.

Every error the engine raises on purpose derives from :class:`CreditlineError` and
carries the objects involved, never a transport status (the HTTP API and the CLI
map classes to statuses and exit codes in one table each)::

    CreditlineError
    ├── ValidationError            bad input; nothing was changed
    │   ├── InvalidAmount
    │   ├── InvalidTime
    │   ├── InvalidSetting
    │   │   └── WebhookUrlRefused  a webhook URL the server must not call (private address...)
    │   ├── InvalidGrant
    │   ├── InvalidRateCard        every problem of a rate card, each with its location
    │   ├── InvalidUsage           quantities or dimensions a price cannot be computed from
    │   ├── UnknownOperation       the rate card does not price this operation
    │   ├── QuoteMismatch          usage naming a quote that priced something else
    │   ├── WebhookRejected        a webhook whose signature or timestamp does not verify
    │   ├── InvalidAlertRule       every problem of an alert rule
    │   └── InvalidBudget          every problem of a budget
    ├── NotFound                   no such thing (or not in this organization)
    │   ├── OrganizationNotFound
    │   ├── ProjectNotFound
    │   ├── MemberNotFound
    │   ├── GrantNotFound
    │   ├── ReservationNotFound
    │   ├── UsageEventNotFound
    │   ├── PlanNotFound
    │   ├── NoRateCardInForce      no version of a rate card is in force at that time
    │   ├── RateCardNotFound       no version of a rate card of that name is loaded
    │   ├── QuoteNotFound          no binding quote of that id in the organization
    │   ├── PackNotFound           no such credit pack (or no pack catalogue is loaded)
    │   ├── PurchaseNotFound
    │   ├── InvoiceNotFound
    │   ├── ApiKeyNotFound
    │   ├── AlertRuleNotFound
    │   ├── WebhookEndpointNotFound
    │   ├── WebhookDeliveryNotFound
    │   ├── SalesRequestNotFound
    │   └── BudgetNotFound
    ├── Conflict                   the request contradicts the stored state
    │   ├── AlreadyExists
    │   ├── IdempotencyKeyReused
    │   ├── IdempotencyKeyInUse    the same idempotency key, its first request still running
    │   ├── RateCardVersionConflict  a loaded version again, with a different document
    │   ├── QuoteExpired           a binding quote past its validity
    │   └── QuoteUsed              a binding quote used already (it binds once)
    ├── PlanGateRefused            the plan does not allow this usage (C4); nothing charged
    ├── InsufficientCredits        a debit that cannot be covered; refused whole
    ├── BudgetExceeded             a project's or member's hard budget would be passed
    ├── PaymentError               buying, refunding or charging cannot go ahead
    │   ├── PaymentsUnavailable    no payment provider: credits come from operator grants
    │   │   └── SelfServeUnavailable  not in the organization's country: contact sales
    │   ├── RefundRefused          the refund policy or the purchase's state forbids it
    │   └── PaymentProviderError   the provider failed or declined; its error is the cause
    ├── NotificationFailed         a message (a receipt e-mail) was not accepted for delivery
    ├── KeyCapExceeded             a charge past the API key's spend cap; nothing charged
    ├── AuthenticationFailed       no API key, or one that is unknown, expired or revoked
    ├── PermissionDenied           the API key's role does not allow this (read-only, org)
    │   └── OperationNotAllowed    the API key may not charge this operation
    ├── ConfigurationError         the engine cannot start as configured
    │   ├── InvalidDatabaseUrl
    │   └── SchemaOutOfDate
    └── StorageError               the database failed in a way retries did not cure
        └── CommitOutcomeUnknown   the connection was lost during a commit: send again
                                   with the same idempotency key or event id

Each family is a module of this package: ``base`` (the four roots), ``validation``,
``not_found`` (the engine's records), ``conflicts``, ``credits`` (gates, insufficient
credits), ``billing`` (packs, purchases, payments, invoices, sales), ``api`` (keys, roles),
``alerts`` (alert rules, outgoing webhooks), ``quotes`` (binding quotes), ``budgets``
(budgets in an organization's pool) and ``system`` (configuration, storage);
:data:`ERROR_CODES`, below, gives each class its stable code.
"""

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
    OperationNotAllowed,
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
from creditline.domain.errors.budgets import BudgetExceeded, BudgetNotFound, InvalidBudget
from creditline.domain.errors.conflicts import (
    AlreadyExists,
    IdempotencyKeyReused,
    RateCardVersionConflict,
)
from creditline.domain.errors.credits import InsufficientCredits, KeyCapExceeded, PlanGateRefused
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
from creditline.domain.errors.quotes import (
    QuoteExpired,
    QuoteMismatch,
    QuoteNotFound,
    QuoteUsed,
)
from creditline.domain.errors.system import (
    CommitOutcomeUnknown,
    ConfigurationError,
    InvalidDatabaseUrl,
    SchemaOutOfDate,
    StorageError,
)
from creditline.domain.errors.validation import (
    InvalidAmount,
    InvalidGrant,
    InvalidRateCard,
    InvalidSetting,
    InvalidTime,
    InvalidUsage,
    UnknownOperation,
)

__all__ = [
    "ERROR_CODES",
    "ERROR_MEMBERS",
    "AlreadyExists",
    "ConfigurationError",
    "Conflict",
    "CreditlineError",
    "GrantNotFound",
    "ReservationNotFound",
    "UsageEventNotFound",
    "PlanNotFound",
    "IdempotencyKeyReused",
    "InsufficientCredits",
    "InvalidAmount",
    "InvalidDatabaseUrl",
    "InvalidGrant",
    "InvalidRateCard",
    "InvalidSetting",
    "InvalidTime",
    "InvalidUsage",
    "MemberNotFound",
    "NoRateCardInForce",
    "NotFound",
    "OrganizationNotFound",
    "PlanGateRefused",
    "ProjectNotFound",
    "RateCardNotFound",
    "RateCardVersionConflict",
    "SchemaOutOfDate",
    "StorageError",
    "CommitOutcomeUnknown",
    "UnknownOperation",
    "ValidationError",
    # billing: packs, purchases, refunds, invoices, webhooks
    "InvoiceNotFound",
    "NotificationFailed",
    "PackNotFound",
    "PaymentError",
    "PaymentProviderError",
    "PaymentsUnavailable",
    "PurchaseNotFound",
    "RefundRefused",
    "WebhookRejected",
    "WebhookUrlRefused",
    # country gating and contact sales
    "SalesRequestNotFound",
    "SelfServeUnavailable",
    # the HTTP API: keys and their roles
    "ApiKeyNotFound",
    "AuthenticationFailed",
    "IdempotencyKeyInUse",
    "KeyCapExceeded",
    "OperationNotAllowed",
    "PermissionDenied",
    # alerts and outgoing webhooks
    "AlertRuleNotFound",
    "InvalidAlertRule",
    "WebhookDeliveryNotFound",
    "WebhookEndpointNotFound",
    # binding quotes
    "QuoteExpired",
    "QuoteMismatch",
    "QuoteNotFound",
    "QuoteUsed",
    # budgets inside an organization's pool
    "BudgetExceeded",
    "BudgetNotFound",
    "InvalidBudget",
    "error_members",
]

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
    InvalidBudget: "invalid-budget",
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
    BudgetNotFound: "budget-not-found",
    Conflict: "conflict",
    AlreadyExists: "already-exists",
    IdempotencyKeyReused: "idempotency-key-reused",
    IdempotencyKeyInUse: "idempotency-key-in-use",
    RateCardVersionConflict: "rate-card-version-conflict",
    PlanGateRefused: "plan-gate-refused",
    InsufficientCredits: "insufficient-credits",
    BudgetExceeded: "budget-exceeded",
    PaymentError: "payment-error",
    PaymentsUnavailable: "payments-unavailable",
    SelfServeUnavailable: "self-serve-unavailable",
    RefundRefused: "refund-refused",
    PaymentProviderError: "payment-provider-error",
    NotificationFailed: "notification-failed",
    AuthenticationFailed: "authentication-failed",
    PermissionDenied: "permission-denied",
    OperationNotAllowed: "operation-not-allowed",
    KeyCapExceeded: "key-cap-exceeded",
    ConfigurationError: "configuration-error",
    StorageError: "storage-error",
    CommitOutcomeUnknown: "commit-outcome-unknown",
    QuoteNotFound: "quote-not-found",
    QuoteExpired: "quote-expired",
    QuoteUsed: "quote-used",
    QuoteMismatch: "quote-mismatch",
}
"""Each error class's stable code: the API answers it as the problem type
``urn:creditline:problem:<code>``, and the HTTP client turns the code back into the class.
A class not listed answers as its nearest listed base class."""

ERROR_MEMBERS: dict[type[CreditlineError], tuple[str, ...]] = {
    InvalidAmount: ("value", "reason"),
    InvalidTime: ("reason",),
    InvalidSetting: ("name", "value", "reason"),
    InvalidGrant: ("problems",),
    InvalidRateCard: ("problems",),
    InvalidUsage: ("operation", "problems"),
    UnknownOperation: ("operation", "card", "known"),
    InvalidAlertRule: ("problems",),
    InvalidBudget: ("problems",),
    WebhookRejected: ("provider", "reason"),
    WebhookUrlRefused: ("url", "problems"),
    NotFound: ("ident",),
    # An unknown organization and another tenant's answer alike: no member names it.
    OrganizationNotFound: (),
    NoRateCardInForce: ("name", "at"),
    AlreadyExists: ("kind", "ident"),
    IdempotencyKeyReused: ("key",),
    IdempotencyKeyInUse: ("key",),
    RateCardVersionConflict: ("name", "version"),
    PlanGateRefused: ("plan", "rule", "reason"),
    InsufficientCredits: ("org_id", "overdue_invoice"),
    BudgetExceeded: ("budget_id", "scope", "amount", "used", "needed"),
    PaymentsUnavailable: ("org_id", "reason"),
    SelfServeUnavailable: ("org_id", "country"),
    RefundRefused: ("purchase_id", "reason"),
    PaymentProviderError: ("provider", "reason", "code"),
    NotificationFailed: ("channel", "reason"),
    AuthenticationFailed: ("reason",),
    PermissionDenied: ("role", "needed"),
    OperationNotAllowed: ("key_id", "operation", "allowed"),
    KeyCapExceeded: ("key_id", "cap", "used", "needed", "window"),
    QuoteExpired: ("quote_id", "expires_at"),
    QuoteUsed: ("quote_id", "used_by"),
    QuoteMismatch: ("quote_id", "reason"),
    CommitOutcomeUnknown: ("reason",),
}
"""The attributes of each error class sent as members of its problem, by name: its
constructor's arguments, in their order, which the HTTP client calls it with again (a
class not listed takes its nearest listed base class's, :func:`error_members`). But
``OrganizationNotFound`` sends none (the client reads it from its message), and the
amounts of ``InsufficientCredits`` keep the members they have always had
(``needed_micros``, ``available_micros``...), which the client reads on their own."""


def error_members(cls: type[CreditlineError]) -> tuple[str, ...] | None:
    """The attributes of ``cls`` that travel with it (:data:`ERROR_MEMBERS`), ``None``
    for an error that carries only its message."""
    return next((ERROR_MEMBERS[c] for c in cls.__mro__ if c in ERROR_MEMBERS), None)
