"""Retries and idempotency keys, with scripted answers (httpx's MockTransport): which
failures are retried, how long the client waits, and that every attempt of a call is the
same request with the same ``Idempotency-Key``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest

from creditline import credits
from creditline.client import (
    AsyncClient,
    Client,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
)
from creditline.domain.errors import (
    InsufficientCredits,
    PaymentProviderError,
    StorageError,
)

BALANCE = {
    "org_id": "org_1", "as_of": "2026-01-01T00:00:00Z", "total": "1", "total_micros": 1_000_000,
    "available": "1", "available_micros": 1_000_000, "pending": "0", "pending_micros": 0,
    "expired_unswept": "0", "expired_unswept_micros": 0, "held": "0", "held_micros": 0,
    "by_kind": {"prepaid": "1"}, "by_kind_micros": {"prepaid": 1_000_000},
}  # fmt: skip
DEBIT = {
    "status": "accepted", "amount": "1", "amount_micros": 1_000_000, "cause": None,
    "replayed": False, "allocations": [{"grant_id": "grt_1", "amount": "1",
                                        "amount_micros": 1_000_000}],
}  # fmt: skip


def problem(status: int, slug: str, detail: str, **members: Any) -> httpx.Response:
    body = {"type": f"urn:creditline:problem:{slug}", "title": slug, "status": status,
            "detail": detail, **members}  # fmt: skip
    return httpx.Response(status, json=body, headers={"content-type": "application/problem+json"})


Answer = httpx.Response | Exception


class Script:
    """Answers the requests in order, and keeps them."""

    def __init__(self, *answers: Answer) -> None:
        self.answers = list(answers)
        self.requests: list[httpx.Request] = []
        self.times: list[float] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        self.times.append(time.monotonic())
        answer = self.answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    def client(self, **options: Any) -> Client:
        return Client("http://credits.test", "cl_live_x", transport=httpx.MockTransport(self),
                      **options)  # fmt: skip


@pytest.fixture
def quick(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Back-offs of a millisecond (Retry-After is still honoured)."""
    from creditline.client import clients

    monkeypatch.setattr(clients, "wait_random_exponential", lambda **_: lambda _: 0.001)
    yield


def test_connection_errors_and_503_are_retried_with_the_same_request(quick: None) -> None:
    script = Script(
        httpx.ConnectError("refused"),
        httpx.Response(503, text="busy"),
        httpx.ReadTimeout("slow"),
        httpx.Response(201, json=DEBIT),
    )
    with script.client() as cl:
        spent = cl.spend("org_1", credits(1))
    assert spent.amount == credits(1) and not spent.replayed
    assert len(script.requests) == 4
    keys = {r.headers["Idempotency-Key"] for r in script.requests}
    bodies = {r.content for r in script.requests}
    assert len(keys) == 1 and len(bodies) == 1
    assert json.loads(bodies.pop()) == {"amount_micros": 1_000_000}
    assert script.requests[0].headers["Authorization"] == "Bearer cl_live_x"


def test_each_call_gets_its_own_key_and_the_callers_key_is_sent_as_is(quick: None) -> None:
    script = Script(*(httpx.Response(201, json=DEBIT) for _ in range(3)),
                    httpx.Response(200, json=BALANCE))  # fmt: skip
    with script.client() as cl:
        cl.spend("org_1", credits(1))
        cl.spend("org_1", credits(1))
        cl.spend("org_1", credits(1), idempotency_key="order-42")
        cl.balance("org_1")
    keys = [r.headers.get("Idempotency-Key") for r in script.requests]
    assert keys[0] != keys[1] and keys[2] == "order-42" and keys[3] is None


def test_a_replayed_answer_is_replayed_only_for_the_callers_key(quick: None) -> None:
    replay = {"idempotent-replayed": "true"}
    script = Script(httpx.Response(201, json=DEBIT, headers=replay),
                    httpx.Response(201, json=DEBIT, headers=replay))  # fmt: skip
    with script.client() as cl:
        assert cl.spend("org_1", credits(1), idempotency_key="order-42").replayed
        # Without a key of the caller's, a replay can only be of this call's own retry.
        assert not cl.spend("org_1", credits(1)).replayed


def test_retry_after_is_honoured(quick: None) -> None:
    script = Script(
        httpx.Response(429, headers={"Retry-After": "0.3"}, text="slow down"),
        httpx.Response(200, json=BALANCE),
    )
    with script.client() as cl:
        assert cl.balance("org_1").available == credits(1)
    assert script.times[1] - script.times[0] >= 0.3


def test_a_retry_after_beyond_the_limit_is_raised_at_once(quick: None) -> None:
    script = Script(problem(429, "rate-limited", "slow down", retry_after=3600))
    with script.client(max_retry_wait=10) as cl, pytest.raises(RateLimited) as limited:
        cl.balance("org_1")
    assert limited.value.retry_after == 3600 and len(script.requests) == 1


def test_retries_run_out(quick: None) -> None:
    script = Script(*(httpx.ConnectError("refused") for _ in range(3)))
    with script.client(retries=2) as cl, pytest.raises(ServiceUnavailable) as failed:
        cl.balance("org_1")
    assert isinstance(failed.value, StorageError)  # as the library's database outage
    assert isinstance(failed.value.__cause__, httpx.ConnectError)
    assert len(script.requests) == 3
    script = Script(problem(503, "storage-error", "the database is unreachable"))
    with script.client(retries=0) as cl, pytest.raises(StorageError, match="unreachable"):
        cl.balance("org_1")


def test_final_answers_are_not_retried(quick: None) -> None:
    script = Script(
        problem(502, "payment-provider-error", "stripe: Your card was declined. (card_declined)"),
        problem(402, "insufficient-credits", "...", org_id="org_1", needed_micros=5,
                available_micros=3),
        httpx.Response(500, text="Internal Server Error"),
    )  # fmt: skip
    with script.client() as cl:
        with pytest.raises(PaymentProviderError) as declined:
            cl.pay_invoice("org_1", "inv_1")
        assert (declined.value.provider, declined.value.code) == ("stripe", "card_declined")
        with pytest.raises(InsufficientCredits) as refused:
            cl.spend("org_1", 5)
        assert (refused.value.org_id, refused.value.needed, refused.value.available) == (
            "org_1", 5, 3,
        )  # fmt: skip
        with pytest.raises(ServiceError) as broken:
            cl.balance("org_1")
        assert broken.value.status == 500 and "Internal Server Error" in broken.value.detail
    assert len(script.requests) == 3


def test_a_first_attempt_still_running_is_waited_for(quick: None) -> None:
    script = Script(
        problem(409, "idempotency-key-in-use", "a request with idempotency key 'k' is still..."),
        httpx.Response(201, json=DEBIT),
    )
    with script.client() as cl:
        assert cl.spend("org_1", credits(1), idempotency_key="k").amount == credits(1)
    assert len(script.requests) == 2


def test_the_async_client_retries_the_same_way(quick: None) -> None:
    script = Script(httpx.ConnectError("refused"), httpx.Response(503, text="busy"),
                    httpx.Response(201, json=DEBIT))  # fmt: skip

    async def run() -> None:
        transport = httpx.MockTransport(script)
        async with AsyncClient("http://credits.test", "k", transport=transport) as cl:
            assert (await cl.spend("org_1", credits(1))).amount == credits(1)

    asyncio.run(run())
    assert len({r.headers["Idempotency-Key"] for r in script.requests}) == 1
    assert len(script.requests) == 3


def test_methods_carry_the_librarys_names_and_docs() -> None:
    cl = Script().client()
    method: Callable[..., Any] = cl.spend
    assert method.__name__ == "spend" and "consumption order" in (method.__doc__ or "")
    assert repr(cl) == "Client('http://credits.test')"
    assert "cl_live_x" not in repr(cl)
