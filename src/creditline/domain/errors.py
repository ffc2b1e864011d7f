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
    │   ├── WebhookRejected        a webhook whose signature or timestamp does not verify
    │   └── InvalidAlertRule       every problem of an alert rule
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
    │   ├── PackNotFound           no such credit pack (or no pack catalogue is loaded)
    │   ├── PurchaseNotFound
    │   ├── InvoiceNotFound
    │   ├── ApiKeyNotFound
    │   ├── AlertRuleNotFound
    │   ├── WebhookEndpointNotFound
    │   ├── WebhookDeliveryNotFound
    │   └── SalesRequestNotFound
    ├── Conflict                   the request contradicts the stored state
    │   ├── AlreadyExists
    │   ├── IdempotencyKeyReused
    │   ├── IdempotencyKeyInUse    the same idempotency key, its first request still running
    │   └── RateCardVersionConflict  a loaded version again, with a different document
    ├── PlanGateRefused            the plan does not allow this usage (C4); nothing charged
    ├── InsufficientCredits        a debit that cannot be covered; refused whole
    ├── PaymentError               buying, refunding or charging cannot go ahead
    │   ├── PaymentsUnavailable    no payment provider: credits come from operator grants
    │   │   └── SelfServeUnavailable  not in the organization's country: contact sales
    │   ├── RefundRefused          the refund policy or the purchase's state forbids it
    │   └── PaymentProviderError   the provider failed or declined; its error is the cause
    ├── NotificationFailed         a message (a receipt e-mail) was not accepted for delivery
    ├── AuthenticationFailed       no API key, or one that is unknown, expired or revoked
    ├── PermissionDenied           the API key's role does not allow this (read-only, org)
    ├── ConfigurationError         the engine cannot start as configured
    │   ├── InvalidDatabaseUrl
    │   └── SchemaOutOfDate
    └── StorageError               the database failed in a way retries did not cure
"""

from __future__ import annotations

from datetime import datetime

from creditline.domain.event_limits import shown

__all__ = [
    "ERROR_CODES",
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
    "PermissionDenied",
]


class CreditlineError(Exception):
    """The root of every error creditline raises on purpose."""


class ValidationError(CreditlineError):
    """The input is malformed or breaks a rule; nothing was changed."""


class InvalidAmount(ValidationError):
    """An amount is not an exact, positive (where required), representable number."""

    def __init__(self, value: object, reason: str) -> None:
        self.value = value
        self.reason = reason
        super().__init__(f"invalid amount {value!r}: {reason}")


class InvalidTime(ValidationError):
    """A time is naive (no time zone) or out of order (expiry before effective time)."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class InvalidSetting(ValidationError):
    """A setting (consumption order, kind, name) has a value the engine does not accept."""

    def __init__(self, name: str, value: object, reason: str) -> None:
        self.name = name
        self.value = value
        self.reason = reason
        super().__init__(f"invalid {name} {value!r}: {reason}")


class InvalidGrant(ValidationError):
    """A grant breaks one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid grant: " + "; ".join(problems))


class InvalidRateCard(ValidationError):
    """A rate card breaks one or more rules; ``problems`` lists every one of them.

    Each problem starts with where it is, as a path into the card's document
    (``operations.train.matrix.Maximum.Fast: must not be negative``).
    """

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid rate card: " + "; ".join(problems))


class InvalidUsage(ValidationError):
    """Usage that an operation's price cannot be computed from.

    A missing, negative or inexact (float) quantity, a missing dimension or an unknown
    dimension value, a value outside every multiplier band, pipeline steps that are
    missing or not allowed. ``problems`` lists every one, each naming its field
    (``quantities.attributes: 250 is outside every band (1..5, 6..20, ...)``).
    """

    def __init__(self, operation: str, problems: list[str]) -> None:
        self.operation = operation
        self.problems = problems
        super().__init__(f"cannot price {shown(operation)}: " + "; ".join(problems))


class UnknownOperation(ValidationError):
    """The rate card in force has no price for the operation asked about.

    Attributes:
        operation: the operation asked about.
        card: the rate card's name and version (``"otai 2026-01"``).
        known: the operations the card does price, sorted.
    """

    def __init__(self, operation: str, card: str, known: list[str]) -> None:
        self.operation = operation
        self.card = card
        self.known = known
        super().__init__(
            f"rate card {card} has no operation {operation!r} (it prices: {', '.join(known)})"
        )


class NotFound(CreditlineError):
    """The thing does not exist, or does not belong to the organization asked about."""

    kind = "resource"

    def __init__(self, ident: str) -> None:
        self.ident = ident
        super().__init__(f"{self.kind} {ident!r} not found")


class OrganizationNotFound(NotFound):
    kind = "organization"


class ProjectNotFound(NotFound):
    kind = "project"


class MemberNotFound(NotFound):
    kind = "member"


class GrantNotFound(NotFound):
    kind = "grant"


class ReservationNotFound(NotFound):
    kind = "reservation"


class UsageEventNotFound(NotFound):
    kind = "usage event"


class PlanNotFound(NotFound):
    kind = "plan"


class NoRateCardInForce(NotFound):
    """No version of the rate card was in force at that time (it is before the first)."""

    kind = "rate card"

    def __init__(self, name: str, at: datetime) -> None:
        self.name = name
        self.at = at
        CreditlineError.__init__(
            self, f"no version of rate card {name!r} is in force at {at.isoformat()}"
        )
        self.ident = name


class RateCardNotFound(NotFound):
    """No version of a rate card of that name has been loaded."""

    kind = "rate card"


class Conflict(CreditlineError):
    """The request contradicts what is stored."""


class AlreadyExists(Conflict):
    def __init__(self, kind: str, ident: str) -> None:
        self.kind = kind
        self.ident = ident
        super().__init__(f"{kind} {ident!r} already exists")


class IdempotencyKeyReused(Conflict):
    """The same idempotency key was sent with a different request."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"idempotency key {key!r} was already used for a different request")


class RateCardVersionConflict(Conflict):
    """A rate card version that is already loaded, loaded again with different prices.

    A stored version never changes (usage it priced keeps its price); new prices are a
    new version, with a new label and an effective time from now on.
    """

    def __init__(self, name: str, version: str) -> None:
        self.name = name
        self.version = version
        super().__init__(
            f"rate card {name!r} version {version!r} is already loaded with a different "
            "document; a loaded version never changes: give new prices a new version"
        )


class PlanGateRefused(CreditlineError):
    """The organization's plan does not allow this usage; nothing was charged.

    Attributes:
        plan: the plan's name.
        rule: the rule that refused it (``dimensions.mode``).
        reason: why, in words.
    """

    def __init__(self, plan: str, rule: str, reason: str) -> None:
        self.plan = plan
        self.rule = rule
        self.reason = reason
        super().__init__(f"refused by plan {plan!r}, rule {rule}: {reason}")


class InsufficientCredits(CreditlineError):
    """A debit needs more than the organization can spend; nothing was written.

    Attributes:
        org_id: the organization.
        needed: micro-credits the debit needed.
        available: micro-credits that were spendable at that moment (with the flex
            room left, on a flex plan).
        flex_limit, flex_used: on a flex plan at its limit, the plan's monthly flex
            limit and the flex used this month (``flex_room`` is what is left); else
            ``None``.
        overdue_invoice: the invoice (``INV-000042``) the organization is suspended for
            after its last payment retry failed: nothing is spendable until it is paid.
    """

    def __init__(
        self,
        org_id: str,
        needed: int,
        available: int,
        *,
        flex_limit: int | None = None,
        flex_used: int | None = None,
        overdue_invoice: str | None = None,
    ) -> None:
        self.org_id = org_id
        self.needed = needed
        self.available = available
        self.flex_limit = flex_limit
        self.flex_used = flex_used
        self.overdue_invoice = overdue_invoice
        message = (
            f"insufficient credits in {org_id}: needed {needed} micro-credits, "
            f"{available} available"
        )
        if overdue_invoice is not None:
            message += f"; suspended until invoice {overdue_invoice} is paid"
        if flex_limit is not None:
            message += (
                f"; flex limit {flex_limit} micro-credits a month: {flex_used or 0} used "
                f"this month, {self.flex_room} left"
            )
        super().__init__(message)

    @property
    def flex_room(self) -> int | None:
        """Flex micro-credits left this month under the limit (``None``: no flex limit)."""
        if self.flex_limit is None:
            return None
        return max(0, self.flex_limit - (self.flex_used or 0))


class ConfigurationError(CreditlineError):
    """The engine cannot start as configured."""


class InvalidDatabaseUrl(ConfigurationError):
    def __init__(self, url: str, reason: str) -> None:
        self.url = url
        self.reason = reason
        super().__init__(f"invalid database URL {url!r}: {reason}")


class SchemaOutOfDate(ConfigurationError):
    def __init__(self, current: str | None, head: str) -> None:
        self.current = current
        self.head = head
        super().__init__(
            f"database schema is at {current or 'nothing'}, the code needs {head}: "
            "run `creditline init`"
        )


class StorageError(CreditlineError):
    """The database failed and retrying did not help."""


# -- billing (packs, purchases, refunds, invoices, webhooks) ------------------------------


class WebhookRejected(ValidationError):
    """A payment provider's webhook that does not verify: no or a malformed signature
    header, a signature that does not match the raw body under the endpoint's secret,
    or a timestamp outside the tolerance (either way). Nothing was done.

    Attributes:
        provider: the provider it claimed to come from (``"stripe"``).
        reason: why it was refused.
    """

    def __init__(self, provider: str, reason: str) -> None:
        self.provider = provider
        self.reason = reason
        super().__init__(f"{provider} webhook rejected: {reason}")


class PackNotFound(NotFound):
    kind = "credit pack"


class PurchaseNotFound(NotFound):
    kind = "purchase"


class InvoiceNotFound(NotFound):
    kind = "invoice"


class PaymentError(CreditlineError):
    """Buying credits, refunding a purchase or charging an invoice cannot go ahead."""


class PaymentsUnavailable(PaymentError):
    """No payment provider is configured: credits come from operator grants only, and a
    self-serve purchase is refused (the platform offers "contact sales" instead).

    Attributes:
        org_id: the organization that asked to buy.
    """

    def __init__(self, org_id: str, reason: str = "no payment provider is configured") -> None:
        self.org_id = org_id
        self.reason = reason
        super().__init__(
            f"credits cannot be bought here: {reason}; ask an operator to grant them "
            "(contact sales)"
        )


class SelfServeUnavailable(PaymentsUnavailable):
    """Self-serve buying is not available in the organization's country (D8): no
    checkout is opened; the organization is to ask sales instead, with a contact-sales
    request (``Creditline.contact_sales``, ``POST /v1/orgs/{org}/sales-requests``,
    ``creditline sales request``, the portal's buy page).

    Attributes:
        org_id: the organization that asked to buy.
        country: its country (``None``: not given, while the platform lists countries).
    """

    def __init__(self, org_id: str, country: str | None) -> None:
        where = f"in {country}" if country else "without a country on record"
        self.org_id = org_id
        self.country = country
        self.reason = f"self-serve buying is not available {where}"
        CreditlineError.__init__(
            self,
            f"organization {org_id} cannot buy credits self-serve: {self.reason}; contact "
            "sales instead (a contact-sales request)",
        )


class RefundRefused(PaymentError):
    """A refund the platform's policy or the purchase's state does not allow.

    Attributes:
        purchase_id: the purchase.
        reason: why, in words ("purchases are final and non-refundable").
    """

    def __init__(self, purchase_id: str, reason: str) -> None:
        self.purchase_id = purchase_id
        self.reason = reason
        super().__init__(f"purchase {purchase_id} cannot be refunded: {reason}")


class PaymentProviderError(PaymentError):
    """The payment provider failed or declined (a card declined, the API unreachable).

    The provider's own exception is the ``__cause__``; nothing of it leaks further.

    Attributes:
        provider: ``"stripe"``.
        reason: the provider's message.
        code: the provider's error code when it gave one (``"card_declined"``).
    """

    def __init__(self, provider: str, reason: str, code: str | None = None) -> None:
        self.provider = provider
        self.reason = reason
        self.code = code
        super().__init__(f"{provider}: {reason}" + (f" ({code})" if code else ""))


class NotificationFailed(CreditlineError):
    """A message (a receipt e-mail) was not accepted for delivery; what it reports stands.

    Attributes:
        channel: ``"email"``.
        reason: the mail server's or the network's words.
    """

    def __init__(self, channel: str, reason: str) -> None:
        self.channel = channel
        self.reason = reason
        super().__init__(f"{channel} not sent: {reason}")


# -- the HTTP API: API keys, their roles, idempotent requests ------------------------------


class ApiKeyNotFound(NotFound):
    kind = "API key"


class AuthenticationFailed(CreditlineError):
    """A request without a usable API key: none, malformed, unknown, expired or revoked.

    The reason never repeats the key's secret.

    Attributes:
        reason: why, in words ("the API key has expired").
    """

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


class PermissionDenied(CreditlineError):
    """The API key is valid but its role does not allow the request: a read-only key
    that writes, an organization's key on an operator's route.

    Attributes:
        role: the key's role (``org_read``).
        needed: what the request needs (``operator``, ``write``).
    """

    def __init__(self, role: str, needed: str) -> None:
        self.role = role
        self.needed = needed
        super().__init__(f"a key with role {role!r} cannot do this: it needs {needed}")


class IdempotencyKeyInUse(Conflict):
    """A request with this idempotency key is still being answered; retry it later."""

    def __init__(self, key: str) -> None:
        self.key = key
        super().__init__(f"a request with idempotency key {key!r} is still in progress")


# -- alerts and outgoing webhooks ---------------------------------------------------------


class InvalidAlertRule(ValidationError):
    """An alert rule breaks one or more rules; ``problems`` lists every one of them."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid alert rule: " + "; ".join(problems))


class WebhookUrlRefused(InvalidSetting):
    """A webhook endpoint URL the server must not call: not http(s), with a user name or
    password, control characters, or a host that is not a public address (loopback,
    private, link-local, metadata...) or resolves to one (see
    :mod:`creditline.domain.webhook_urls`). Nothing was added; at delivery time, nothing
    was sent.

    Attributes:
        url: the URL (the message quotes at most its first 100 characters).
        problems: every problem found, each starting with where it is (``url:``,
            ``host:``).
    """

    def __init__(self, url: str, problems: list[str]) -> None:
        self.url = url
        self.problems = problems
        self.name, self.value, self.reason = "webhook URL", url, "; ".join(problems)
        shown = url if len(url) <= 100 else url[:100] + "..."
        ValidationError.__init__(self, f"webhook URL {shown!r} refused: " + "; ".join(problems))


class AlertRuleNotFound(NotFound):
    kind = "alert rule"


class WebhookEndpointNotFound(NotFound):
    kind = "webhook endpoint"


class WebhookDeliveryNotFound(NotFound):
    kind = "webhook delivery"


class SalesRequestNotFound(NotFound):
    kind = "contact-sales request"


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
