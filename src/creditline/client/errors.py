"""The service's problems (RFC 9457) back into the library's own error classes.

:data:`PROBLEM_CLASSES` is the inverse of the service's table
(:data:`creditline.entrypoints.api.problems.PROBLEMS`): each problem ``type`` names the
error class the engine raised, and :func:`error_from_problem` builds that class again
with its attributes (``InsufficientCredits.needed``, ``PlanGateRefused.rule``,
``InvalidUsage.problems``...) from the problem's members, or from its ``detail`` for
the classes whose message carries them. So ``except InsufficientCredits`` works the same
against an embedded :class:`~creditline.Creditline` and a
:class:`~creditline.client.Client`.

Problems of the HTTP layer itself have classes of their own here, each a
:class:`~creditline.domain.errors.CreditlineError`:

- :class:`InvalidRequest` (a :class:`~creditline.domain.errors.ValidationError`): the
  request does not match its schema (422 ``invalid-request``, ``errors`` lists every
  field) or is not JSON (400);
- :class:`RateLimited`: 429 still, after the retries;
- :class:`ServiceUnavailable`: the service cannot be reached (after the retries), or
  answers 502/503 without a problem of the engine's;
- :class:`ServiceError`: anything else (an unknown problem type, a route the service
  does not have, an answer that is not a problem at all), with its status and detail.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

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

__all__ = [
    "PROBLEM_CLASSES",
    "TYPE_BASE",
    "InvalidRequest",
    "RateLimited",
    "ServiceError",
    "ServiceUnavailable",
    "error_from_problem",
]

TYPE_BASE = "urn:creditline:problem:"


class ServiceError(CreditlineError):
    """An answer of the service that is no error of the engine's: an unknown problem
    type, an internal error, a route the service does not have, a body that is not a
    problem.

    Attributes:
        status: the HTTP status (0: no answer at all).
        type: the problem type (``urn:creditline:problem:...``), or ``None``.
        title, detail: the problem's, or the status and the body's start.
        instance: the request's id at the service (its logs name it), if given.
        problem: the whole problem document (``{}`` when the body was not one).
    """

    def __init__(
        self,
        status: int,
        detail: str,
        *,
        type: str | None = None,
        title: str | None = None,
        instance: str | None = None,
        problem: Mapping[str, Any] | None = None,
    ) -> None:
        self.status = status
        self.type = type
        self.title = title
        self.detail = detail
        self.instance = instance
        self.problem = dict(problem or {})
        super().__init__(f"{status} {title or 'error'}: {detail}" if status else detail)


class ServiceUnavailable(ServiceError, StorageError):
    """The service could not be reached or answered 502/503, on every attempt. A
    :class:`~creditline.domain.errors.StorageError` too, as the library's error when its
    database cannot be reached, so code that handles one handles the other."""


class RateLimited(ServiceError):
    """The API key is over its request rate (429), on every attempt.

    Attributes:
        retry_after: seconds the service asked to wait, if it said.
    """

    def __init__(
        self, status: int, detail: str, *, retry_after: float | None = None, **kwargs: Any
    ) -> None:
        super().__init__(status, detail, **kwargs)
        self.retry_after = retry_after


class InvalidRequest(ValidationError):
    """The request does not match the service's schema (422) or is not JSON (400);
    nothing was done.

    Attributes:
        errors: every problem, each ``{"field": ..., "message": ..., "code": ...}``.
        status: 422 or 400.
    """

    def __init__(self, detail: str, errors: list[dict[str, Any]], status: int = 422) -> None:
        self.errors = errors
        self.status = status
        listed = "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors)
        super().__init__(f"{detail}: {listed}" if listed else detail)


# -- parsing what the messages carry ----------------------------------------------------

_LIT = r"('(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\")"
"""A Python string literal (what ``{value!r}`` of a ``str`` writes)."""


_DECIMAL = re.compile(r"^Decimal\('([-+0-9.eEinfaINFAN]+)'\)$")


def _literal(text: str) -> Any:
    """A value from its ``repr``: a Python literal, or a ``Decimal``."""
    decimal = _DECIMAL.match(text)
    if decimal:
        return Decimal(decimal[1])
    return ast.literal_eval(text)


_NOT_LITERAL = (ValueError, SyntaxError, TypeError, MemoryError, RecursionError, ArithmeticError)


def _split_value(text: str) -> tuple[Any, str] | None:
    """``"{value!r}: {reason}"`` back into the value and the reason, if the value's
    text is a literal."""
    at = text.find(": ")
    while at != -1:
        try:
            return _literal(text[:at]), text[at + 2 :]
        except _NOT_LITERAL:
            at = text.find(": ", at + 1)
    return None


def _value_and_reason(text: str) -> tuple[Any, str]:
    """As :func:`_split_value`; a value that is no literal is kept as its text."""
    found = _split_value(text)
    if found is not None:
        return found
    value, _, reason = text.partition(": ")
    return value, reason


def _problems(body: Mapping[str, Any], detail: str, prefix: str) -> list[str]:
    """The problems of a validation error: its ``errors`` members, else its detail."""
    errors = body.get("errors")
    if isinstance(errors, list) and errors:
        found = []
        for e in errors:
            if not isinstance(e, Mapping):
                continue
            field, message = e.get("field"), str(e.get("message", ""))
            found.append(f"{field}: {message}" if field else message)
        return found
    rest = detail[len(prefix) :] if detail.startswith(prefix) else detail
    return rest.split("; ")


def bare(cls: type[CreditlineError], detail: str, **attributes: Any) -> CreditlineError:
    """An error of class ``cls`` whose message is ``detail``, with ``attributes`` set,
    made without its constructor (for a message that cannot be taken apart)."""
    error = cls.__new__(cls)
    Exception.__init__(error, detail)
    for name, value in attributes.items():
        setattr(error, name, value)
    return error


Build = Callable[[type[CreditlineError], str, Mapping[str, Any], str | None], CreditlineError]
"""``(class, detail, problem members, the call's organization) -> the error``."""


def _message(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return bare(cls, detail)


def _service(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return ServiceError(
        int(body.get("status") or 500),
        detail,
        type=body.get("type"),
        title=body.get("title"),
        instance=body.get("instance"),
        problem=body,
    )


def _insufficient(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    if isinstance(body.get("needed_micros"), int) and isinstance(body.get("available_micros"), int):
        limit, used = body.get("flex_limit_micros"), body.get("flex_used_micros")
        return InsufficientCredits(
            str(body.get("org_id") or org or ""), body["needed_micros"], body["available_micros"],
            flex_limit=limit if isinstance(limit, int) else None,
            flex_used=used if isinstance(used, int) else None,
        )  # fmt: skip
    found = re.match(
        r"^insufficient credits in (\S+): needed (-?\d+) micro-credits, "
        r"(-?\d+) available$",
        detail,
    )
    if found:
        return InsufficientCredits(found[1], int(found[2]), int(found[3]))
    return bare(cls, detail, org_id=org, needed=None, available=None)


def _gate(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    if all(isinstance(body.get(k), str) for k in ("plan", "rule", "reason")):
        return PlanGateRefused(body["plan"], body["rule"], body["reason"])
    found = re.match(rf"^refused by plan {_LIT}, rule (.+?): (.*)$", detail, re.DOTALL)
    if found:
        return PlanGateRefused(_literal(found[1]), found[2], found[3])
    return bare(cls, detail, plan=None, rule=None, reason=detail)


def _amount(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    value, reason = _value_and_reason(detail.removeprefix("invalid amount "))
    return InvalidAmount(value, reason)


def _setting(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    errors = body.get("errors")
    name = None
    if isinstance(errors, list) and errors and isinstance(errors[0], Mapping):
        name = errors[0].get("field")
    if isinstance(name, str) and detail.startswith(f"invalid {name} "):
        value, reason = _value_and_reason(detail[len(f"invalid {name} ") :])
        return InvalidSetting(name, value, reason)
    rest = detail.removeprefix("invalid ")
    at = rest.find(" ") if name is None and detail.startswith("invalid ") else -1
    while at != -1:  # the name is not given: the first split whose value is a literal
        found = _split_value(rest[at + 1 :])
        if found is not None:
            return InvalidSetting(rest[:at], *found)
        at = rest.find(" ", at + 1)
    return bare(cls, detail, name=name, value=None, reason=detail)


def _time(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return InvalidTime(detail)


def _grant(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return InvalidGrant(_problems(body, detail, "invalid grant: "))


def _rate_card(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return InvalidRateCard(_problems(body, detail, "invalid rate card: "))


def _alert_rule(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return InvalidAlertRule(_problems(body, detail, "invalid alert rule: "))


def _usage(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^cannot price {_LIT}: ", detail, re.DOTALL)
    operation = _literal(found[1]) if found else ""
    prefix = found[0] if found else ""
    return InvalidUsage(operation, _problems(body, detail, prefix))


def _unknown_operation(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^rate card (.+) has no operation {_LIT} \(it prices: (.*)\)$", detail)
    if found:
        known = found[3].split(", ") if found[3] else []
        return UnknownOperation(_literal(found[2]), found[1], known)
    return bare(cls, detail, operation=None, card=None, known=[])


def _webhook(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    provider, _, reason = detail.partition(" webhook rejected: ")
    return WebhookRejected(provider, reason)


def _url_refused(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^webhook URL {_LIT} refused: ", detail, re.DOTALL)
    url = _literal(found[1]) if found else ""
    return WebhookUrlRefused(url, _problems(body, detail, found[0] if found else ""))


def _not_found(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    kind = getattr(cls, "kind", "resource")
    found = re.match(rf"^{re.escape(kind)} {_LIT} not found$", detail)
    if found:
        return cls(_literal(found[1]))
    return bare(cls, detail, ident=detail)


def _no_card(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^no version of rate card {_LIT} is in force at (\S+)$", detail)
    if found:
        try:
            return NoRateCardInForce(_literal(found[1]), datetime.fromisoformat(found[2]))
        except ValueError:
            pass
    return bare(cls, detail, ident=None, name=None, at=None)


def _exists(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^(.*) {_LIT} already exists$", detail)
    if found:
        return AlreadyExists(found[1], _literal(found[2]))
    return bare(cls, detail, kind=None, ident=None)


def _key_reused(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^idempotency key {_LIT} was already used", detail)
    return IdempotencyKeyReused(_literal(found[1])) if found else bare(cls, detail, key=None)


def _key_in_use(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^a request with idempotency key {_LIT} is still", detail)
    return IdempotencyKeyInUse(_literal(found[1])) if found else bare(cls, detail, key=None)


def _version_conflict(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^rate card {_LIT} version {_LIT} is already loaded", detail)
    if found:
        return RateCardVersionConflict(_literal(found[1]), _literal(found[2]))
    return bare(cls, detail, name=None, version=None)


def _payments_unavailable(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(r"^credits cannot be bought here: (.*); ask an operator", detail)
    if found:
        return PaymentsUnavailable(org or "", found[1])
    return bare(cls, detail, org_id=org, reason=detail)


def _self_serve(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    country = body.get("country")
    return SelfServeUnavailable(
        str(body.get("org_id") or org or ""), country if isinstance(country, str) else None
    )


def _refund(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(r"^purchase (\S+) cannot be refunded: (.*)$", detail)
    if found:
        return RefundRefused(found[1], found[2])
    return bare(cls, detail, purchase_id=None, reason=detail)


def _provider(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(r"^([^:\s]+): (.*?)(?: \(([\w.-]+)\))?$", detail)
    if found:
        return PaymentProviderError(found[1], found[2], found[3])
    return bare(cls, detail, provider=None, reason=detail, code=None)


def _notification(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    channel, _, reason = detail.partition(" not sent: ")
    return NotificationFailed(channel, reason)


def _authentication(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    return AuthenticationFailed(detail)


def _permission(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    found = re.match(rf"^a key with role {_LIT} cannot do this: it needs (.*)$", detail)
    if found:
        return PermissionDenied(_literal(found[1]), found[2])
    return bare(cls, detail, role=None, needed=None)


def _invalid_request(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    errors = body.get("errors")
    listed = [dict(e) for e in errors if isinstance(e, Mapping)] if isinstance(errors, list) else []
    return InvalidRequest(detail, listed, int(body.get("status") or 422))


def _rate_limited(
    cls: type[CreditlineError], detail: str, body: Mapping[str, Any], org: str | None
) -> CreditlineError:
    after = body.get("retry_after")
    return RateLimited(
        429,
        detail,
        retry_after=None if after is None else float(after),
        type=body.get("type"),
        title=body.get("title"),
        instance=body.get("instance"),
        problem=body,
    )


_BUILDERS: dict[type[CreditlineError], Build] = {
    # the engine's errors, by class; their codes are domain.errors.ERROR_CODES
    ValidationError: _message,
    InvalidAmount: _amount,
    InvalidTime: _time,
    InvalidSetting: _setting,
    InvalidGrant: _grant,
    InvalidRateCard: _rate_card,
    InvalidUsage: _usage,
    UnknownOperation: _unknown_operation,
    InvalidAlertRule: _alert_rule,
    WebhookRejected: _webhook,
    WebhookUrlRefused: _url_refused,
    NotFound: _not_found,
    OrganizationNotFound: _not_found,
    ProjectNotFound: _not_found,
    MemberNotFound: _not_found,
    GrantNotFound: _not_found,
    ReservationNotFound: _not_found,
    UsageEventNotFound: _not_found,
    PlanNotFound: _not_found,
    NoRateCardInForce: _no_card,
    RateCardNotFound: _not_found,
    PackNotFound: _not_found,
    PurchaseNotFound: _not_found,
    InvoiceNotFound: _not_found,
    ApiKeyNotFound: _not_found,
    AlertRuleNotFound: _not_found,
    WebhookEndpointNotFound: _not_found,
    WebhookDeliveryNotFound: _not_found,
    SalesRequestNotFound: _not_found,
    Conflict: _message,
    AlreadyExists: _exists,
    IdempotencyKeyReused: _key_reused,
    IdempotencyKeyInUse: _key_in_use,
    RateCardVersionConflict: _version_conflict,
    PlanGateRefused: _gate,
    InsufficientCredits: _insufficient,
    PaymentError: _message,
    PaymentsUnavailable: _payments_unavailable,
    SelfServeUnavailable: _self_serve,
    RefundRefused: _refund,
    PaymentProviderError: _provider,
    NotificationFailed: _notification,
    AuthenticationFailed: _authentication,
    PermissionDenied: _permission,
    ConfigurationError: _message,
    StorageError: _message,
}

PROBLEM_CLASSES: dict[str, tuple[type[CreditlineError], Build]] = {
    **{ERROR_CODES[cls]: (cls, build) for cls, build in _BUILDERS.items()},
    # the root: an unexpected failure of the service
    ERROR_CODES[CreditlineError]: (ServiceError, _service),
    # the HTTP layer's own problems
    "malformed-request": (InvalidRequest, _invalid_request),
    "invalid-request": (InvalidRequest, _invalid_request),
    "invalid-events": (InvalidRequest, _invalid_request),
    "rate-limited": (RateLimited, _rate_limited),
    "route-not-found": (ServiceError, _service),
    "method-not-allowed": (ServiceError, _service),
    "request-too-large": (ServiceError, _service),
    "unsupported-media-type": (ServiceError, _service),
}
"""Problem slug (the ``type`` after ``urn:creditline:problem:``) to the error class it
stands for and how to build it. A type not listed answers as :class:`ServiceError`."""


def error_class(problem_type: str | None) -> type[CreditlineError]:
    """The error class a problem type stands for (:class:`ServiceError` if unknown)."""
    slug = (problem_type or "").removeprefix(TYPE_BASE)
    return PROBLEM_CLASSES.get(slug, (ServiceError, _service))[0]


def error_from_problem(
    problem: Mapping[str, Any], status: int | None = None, org_id: str | None = None
) -> CreditlineError:
    """The error a problem document stands for, with its attributes.

    ``org_id`` is the organization of the call, for the errors whose problem does not
    carry it (:class:`~creditline.domain.errors.PaymentsUnavailable`).
    """
    kind = problem.get("type")
    slug = kind.removeprefix(TYPE_BASE) if isinstance(kind, str) else ""
    detail = str(problem.get("detail") or problem.get("title") or "")
    body = dict(problem)
    if status is not None and "status" not in body:
        body["status"] = status
    cls, build = PROBLEM_CLASSES.get(slug, (ServiceError, _service))
    try:
        error = build(cls, detail, body, org_id)
    except (ValueError, TypeError, SyntaxError, KeyError):  # a message of another shape
        error = bare(cls, detail)
    instance = problem.get("instance")
    if isinstance(instance, str) and instance:
        error.add_note(f"the service's request id: {instance}")
    return error
