"""The client's problem table is the inverse of the service's: every error the engine
raises comes back from its problem details as the same class, message and attributes."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest

from creditline.client import InvalidRequest, RateLimited, ServiceError, error_from_problem
from creditline.client.errors import PROBLEM_CLASSES, error_class
from creditline.domain import errors as e
from creditline.entrypoints.api.problems import HTTP_PROBLEMS, PROBLEMS, problem

SAMPLES: list[e.CreditlineError] = [
    e.ValidationError("the body is wrong"),
    e.InvalidAmount(Decimal("-1.5"), "must be positive"),
    e.InvalidAmount(0, "an adjustment is a non-zero integer of micro-credits"),
    e.InvalidTime("expiry time must be after the effective time"),
    e.InvalidSetting("limit", 0, "must be between 1 and 10000"),
    e.InvalidSetting("grant kind", "gold", "one of included, prepaid"),
    e.InvalidSetting("group", ["nope", 1], "one of project, operation, member"),
    e.InvalidGrant(["amount must be greater than zero", "effective time: naive"]),
    e.InvalidRateCard(["operations.render.matrix.max: must not be negative", "version: text"]),
    e.InvalidUsage("render", ["dimensions.mode: missing", "quantities.n: must be a number"]),
    e.UnknownOperation("nope", "default v1", ["ping", "render"]),
    e.WebhookRejected("stripe", "the signature does not match"),
    e.WebhookUrlRefused("http://0x7f000001:8101/hooks", ["host: 127.0.0.1 is a loopback address"]),
    e.NotFound("thing"),
    e.OrganizationNotFound("org_1"),
    e.ProjectNotFound("prj_1"),
    e.MemberNotFound("mem_1"),
    e.GrantNotFound("grt_1"),
    e.ReservationNotFound("res_1"),
    e.UsageEventNotFound("evt 'quoted' \"twice\""),
    e.PlanNotFound("pro"),
    e.NoRateCardInForce("default", datetime(2020, 1, 1, tzinfo=UTC)),
    e.RateCardNotFound("special"),
    e.PackNotFound("catalogue"),
    e.PurchaseNotFound("pur_1"),
    e.InvoiceNotFound("inv_1"),
    e.ApiKeyNotFound("key_1"),
    e.Conflict("the request contradicts the state"),
    e.AlreadyExists("plan", "starter"),
    e.IdempotencyKeyReused("http:key_abc:k-1"),
    e.IdempotencyKeyInUse("k-2"),
    e.RateCardVersionConflict("default", "v1"),
    e.PlanGateRefused("starter", "dimensions.mode", "mode 'max' is not in the plan"),
    e.InsufficientCredits("org_1", 12_000_000, 3_000_000),
    e.PaymentError("no saved payment method"),
    e.PaymentsUnavailable("org_1"),
    e.RefundRefused("pur_1", "purchases are final and non-refundable"),
    e.PaymentProviderError("stripe", "Your card was declined.", "card_declined"),
    e.PaymentProviderError("stripe", "the API is unreachable"),
    e.NotificationFailed("email", "connection refused"),
    e.AuthenticationFailed("the API key has expired"),
    e.PermissionDenied("org_read", "a key that may write"),
    e.ConfigurationError("no payment provider"),
    e.StorageError("the database is unreachable"),
    e.CommitOutcomeUnknown("server closed the connection unexpectedly"),
]

# Errors whose message alone (a batch result's `reason`, with its problem type) carries
# every attribute.
FROM_MESSAGE = (
    e.InsufficientCredits,
    e.PlanGateRefused,
    e.InvalidUsage,
    e.UnknownOperation,
    e.InvalidSetting,
    e.NotFound,
    e.IdempotencyKeyReused,
)


def _attributes(error: BaseException) -> dict[str, Any]:
    return {k: v for k, v in vars(error).items() if k != "__notes__"}


def test_the_table_is_the_inverse_of_the_services() -> None:
    for cls, kind in PROBLEMS.items():
        expected = ServiceError if cls is e.CreditlineError else cls
        assert PROBLEM_CLASSES[kind.slug][0] is expected, kind.slug
        assert error_class(kind.uri) is expected
    assert set(HTTP_PROBLEMS) <= set(PROBLEM_CLASSES)
    assert set(PROBLEM_CLASSES) == {p.slug for p in PROBLEMS.values()} | set(HTTP_PROBLEMS)
    assert error_class("urn:creditline:problem:from-the-future") is ServiceError


@pytest.mark.parametrize("error", SAMPLES, ids=lambda x: type(x).__name__)
def test_every_error_comes_back_as_itself(error: e.CreditlineError) -> None:
    body = problem(error, "req_42")
    back = error_from_problem(body, body["status"], "org_1")
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert _attributes(back) == _attributes(error)
    assert back.__notes__ == ["the service's request id: req_42"]


@pytest.mark.parametrize(
    "error", [s for s in SAMPLES if isinstance(s, FROM_MESSAGE)], ids=lambda x: type(x).__name__
)
def test_a_batch_results_type_and_reason_are_enough(error: e.CreditlineError) -> None:
    kind = problem(error)["type"]
    back = error_from_problem({"type": kind, "detail": str(error)})
    assert type(back) is type(error)
    assert str(back) == str(error)
    assert _attributes(back) == _attributes(error)


def test_problems_of_the_http_layer_and_unknown_ones() -> None:
    invalid = error_from_problem(
        {
            "type": "urn:creditline:problem:invalid-request",
            "status": 422,
            "detail": "1 problem in the request",
            "errors": [{"field": "body.amount_micros", "message": "too small", "code": "x"}],
        }
    )
    assert isinstance(invalid, InvalidRequest) and isinstance(invalid, e.ValidationError)
    assert invalid.errors[0]["field"] == "body.amount_micros" and "too small" in str(invalid)
    limited = error_from_problem(
        {
            "type": "urn:creditline:problem:rate-limited",
            "status": 429,
            "detail": "slow down",
            "retry_after": 2,
        }
    )
    assert isinstance(limited, RateLimited) and limited.retry_after == 2
    odd = error_from_problem(
        {
            "type": "urn:creditline:problem:from-the-future",
            "status": 418,
            "title": "Teapot",
            "detail": "short and stout",
            "instance": "req_1",
        }
    )
    assert isinstance(odd, ServiceError) and isinstance(odd, e.CreditlineError)
    assert (odd.status, odd.type, odd.detail, odd.instance) == (
        418, "urn:creditline:problem:from-the-future", "short and stout", "req_1",
    )  # fmt: skip
    # A message of another shape still gives the class, with the message.
    strange = error_from_problem(
        {"type": "urn:creditline:problem:insufficient-credits", "detail": "no credits"}
    )
    assert isinstance(strange, e.InsufficientCredits) and str(strange) == "no credits"
