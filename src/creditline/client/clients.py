"""The two clients: :class:`Client` (``httpx.Client``) and :class:`AsyncClient`
(``httpx.AsyncClient``), each running the operations of
:class:`~creditline.client.operations.Operations` over HTTP.

**Retries.** A request that cannot connect, times out, or is answered 429, 502 or 503
(or 409 ``idempotency-key-in-use``: its first attempt is still running) is sent again,
``retries`` times at most, after the ``Retry-After`` the service asked for, else after a
short random exponential back-off. A ``Retry-After`` longer than ``max_retry_wait``
is not waited for: the error is raised at once. A 502 that is the engine's own answer
(the payment provider declined) is not retried.

**Idempotency.** Every POST carries an ``Idempotency-Key``: the caller's
``idempotency_key`` when the method takes one, else a fresh UUID per call, the same
for every retry of that call, so a retry after a lost answer gets the first answer and
never repeats the effect.
"""

from __future__ import annotations

import email.utils
import time
import uuid
from collections.abc import Callable, Coroutine, Mapping
from datetime import UTC, datetime
from types import TracebackType
from typing import Any, NoReturn, Self, TypeVar, cast

import httpx
from tenacity import (
    AsyncRetrying,
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_random_exponential,
)

from creditline.client._wire import AsyncRunner, Call, Flow, Op, Reply, SyncRunner, dumps, loads
from creditline.client.errors import (
    TYPE_BASE,
    RateLimited,
    ServiceError,
    ServiceUnavailable,
    error_from_problem,
)
from creditline.client.operations import Operations
from creditline.domain.errors import CreditlineError

__all__ = ["DEFAULT_TIMEOUT", "AsyncClient", "Client"]

T = TypeVar("T")

DEFAULT_TIMEOUT = 30.0
"""Seconds a request may take (connect, send, wait, read), each attempt."""
USER_AGENT = "creditline-client/0.1.0"
RETRY_STATUSES = frozenset({429, 502, 503})
FINAL_PROBLEMS = frozenset({"payment-provider-error", "notification-failed"})
"""Problems answered with 502 that are the engine's final word: not retried."""
_TRANSIENT = (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError)


class _Retry(Exception):
    """An attempt worth repeating: the error to raise if it is the last one."""

    def __init__(self, error: CreditlineError, retry_after: float | None = None) -> None:
        super().__init__(str(error))
        self.error = error
        self.retry_after = retry_after


def _retry_after(value: str | None, problem: Mapping[str, Any] | None) -> float | None:
    """Seconds to wait: ``Retry-After`` (seconds or an HTTP date), or the problem's
    ``retry_after``."""
    if value:
        try:
            return max(0.0, float(value))
        except ValueError:
            try:
                moment = email.utils.parsedate_to_datetime(value)
            except (TypeError, ValueError):
                moment = None
            if moment is not None:
                if moment.tzinfo is None:
                    moment = moment.replace(tzinfo=UTC)
                return max(0.0, (moment - datetime.now(UTC)).total_seconds())
    after = problem.get("retry_after") if problem else None
    return float(after) if isinstance(after, int | float) else None


def _problem(response: httpx.Response) -> dict[str, Any] | None:
    """The problem document of an answer, if it is one."""
    kind = response.headers.get("content-type", "")
    if "json" not in kind:
        return None
    try:
        body = loads(response.content)
    except ValueError:
        return None
    if isinstance(body, dict) and isinstance(body.get("type"), str):
        return body
    return None


class _Base(Operations):
    """What both clients share: the settings, building requests, reading answers."""

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        max_retry_wait: float = 30.0,
    ) -> None:
        if retries < 0:
            raise ValueError("retries must be 0 or more")
        self.base_url = base_url
        self.retries = retries
        self.max_retry_wait = max_retry_wait
        self._timeout = timeout
        self._headers = {
            "Authorization": f"Bearer {api_key}",
            "Accept": "application/json, application/problem+json",
            "User-Agent": USER_AGENT,
        }

    def __repr__(self) -> str:  # never the key
        return f"{type(self).__name__}({self.base_url!r})"

    # -- requests -------------------------------------------------------------------------

    def _request(self, call: Call) -> dict[str, Any]:
        """The arguments of ``httpx.Client.request`` for a call (the same for each retry:
        a POST's idempotency key is chosen once, here)."""
        headers: dict[str, str] = {}
        content = None
        if call.body is not None:
            content = dumps(call.body)
            headers["Content-Type"] = "application/json"
        if call.method == "POST":
            headers["Idempotency-Key"] = call.idempotency_key or str(uuid.uuid4())
        return {
            "method": call.method,
            "url": call.path,
            "params": list(call.params),
            "content": content,
            "headers": headers,
        }

    def _retrying(self) -> dict[str, Any]:
        """The retry policy (for tenacity's ``Retrying`` and ``AsyncRetrying``)."""
        backoff = wait_random_exponential(multiplier=0.2, max=5)

        def wait(state: RetryCallState) -> float:
            error = state.outcome.exception() if state.outcome else None
            if isinstance(error, _Retry) and error.retry_after is not None:
                return error.retry_after
            return float(backoff(state))

        def worth_it(error: BaseException) -> bool:
            if not isinstance(error, _Retry):
                return False
            return error.retry_after is None or error.retry_after <= self.max_retry_wait

        return {
            "retry": retry_if_exception(worth_it),
            "stop": stop_after_attempt(self.retries + 1),
            "wait": wait,
            "reraise": True,
        }

    @staticmethod
    def _unreachable(call: Call, error: httpx.HTTPError) -> _Retry | ServiceUnavailable:
        failed = ServiceUnavailable(
            0, f"{call.method} {call.path}: {type(error).__name__}: {error}"
        )
        if isinstance(error, _TRANSIENT):
            return _Retry(failed)
        return failed

    @staticmethod
    def _reply(call: Call, response: httpx.Response) -> Reply:
        """The reply to a call, or the error it stands for (a :class:`_Retry` when
        another attempt may succeed)."""
        status = response.status_code
        replayed = response.headers.get("idempotent-replayed", "").lower() == "true"
        reply = Reply(status, dict(response.headers), response.content, replayed)
        if status < 400:
            return reply
        problem = _problem(response)
        slug = str(problem["type"]).removeprefix(TYPE_BASE) if problem else ""
        error: CreditlineError
        if problem is not None:
            error = error_from_problem(problem, status, call.org_id)
        else:
            text = response.text[:300].strip() or response.reason_phrase
            if status == 429:
                error = RateLimited(status, text)
            elif status in RETRY_STATUSES or status == 504:
                error = ServiceUnavailable(status, text, title=response.reason_phrase)
            else:
                error = ServiceError(status, text, title=response.reason_phrase)
        after = _retry_after(response.headers.get("retry-after"), problem)
        if isinstance(error, RateLimited) and error.retry_after is None:
            error.retry_after = after
        if (status in RETRY_STATUSES and slug not in FINAL_PROBLEMS) or (
            slug == "idempotency-key-in-use"
        ):
            raise _Retry(error, after)
        if call.problems_ok and problem is not None:
            return reply
        raise error


def _finish(final: _Retry) -> NoReturn:
    raise final.error from final.__cause__


def _advance(flow: Flow[Any], outcome: Reply | CreditlineError) -> Call:
    """The operation's next call, once it is sent its reply or has its error thrown in
    (``StopIteration`` when it is done)."""
    if isinstance(outcome, CreditlineError):
        return flow.throw(outcome)
    return flow.send(outcome)


class Client(_Base, SyncRunner):
    """The credits engine of a ``creditline serve`` service, with the methods of
    :class:`~creditline.Creditline` (see :mod:`creditline.client`)::

        cl = Client("https://credits.internal", "cl_live_...")
        cl.spend(org_id, credits(2))

    Args:
        base_url: the service's URL (``https://credits.internal``; a path prefix is kept).
        api_key: an API key's text (``cl_live_...``).
        timeout: seconds each attempt may take, or an ``httpx.Timeout``.
        retries: how many times a failed attempt is repeated (see the module docstring).
        max_retry_wait: the longest ``Retry-After`` (seconds) waited for.
        transport: an ``httpx.BaseTransport`` (tests, proxies, unix sockets).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key, timeout=timeout, retries=retries, max_retry_wait=max_retry_wait
        )
        self._http = httpx.Client(
            base_url=base_url, timeout=timeout, transport=transport, headers=self._headers
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _bind(self, operation: Op[Any, Any]) -> Callable[..., Any]:
        def call(*args: Any, **kwargs: Any) -> Any:
            return self._drive(operation.flow(self, *args, **kwargs))

        return call

    def _drive(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    outcome: Reply | CreditlineError = self._exchange(call)
                except CreditlineError as error:
                    outcome = error
                call = _advance(flow, outcome)
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            flow.close()

    def _exchange(self, call: Call) -> Reply:
        request = self._request(call)
        try:
            for attempt in Retrying(sleep=time.sleep, **self._retrying()):
                with attempt:
                    try:
                        response = self._http.request(**request)
                    except httpx.HTTPError as error:
                        raise self._unreachable(call, error) from error
                    return self._reply(call, response)
        except _Retry as final:
            _finish(final)
        raise AssertionError("unreachable")  # pragma: no cover


class AsyncClient(_Base, AsyncRunner):
    """:class:`Client` for ``asyncio`` (or trio): the same methods, each a coroutine::

        async with AsyncClient("https://credits.internal", "cl_live_...") as cl:
            await cl.spend(org_id, credits(2))

    Args: as :class:`Client`'s; ``transport`` is an ``httpx.AsyncBaseTransport``
    (``httpx.ASGITransport(app)`` runs the service in-process).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str,
        *,
        timeout: float | httpx.Timeout = DEFAULT_TIMEOUT,
        retries: int = 3,
        max_retry_wait: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        super().__init__(
            base_url, api_key, timeout=timeout, retries=retries, max_retry_wait=max_retry_wait
        )
        self._http = httpx.AsyncClient(
            base_url=base_url, timeout=timeout, transport=transport, headers=self._headers
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def _bind(self, operation: Op[Any, Any]) -> Callable[..., Coroutine[Any, Any, Any]]:
        async def call(*args: Any, **kwargs: Any) -> Any:
            return await self._drive(operation.flow(self, *args, **kwargs))

        return call

    async def _drive(self, flow: Flow[T]) -> T:
        try:
            call = next(flow)
            while True:
                try:
                    outcome: Reply | CreditlineError = await self._exchange(call)
                except CreditlineError as error:
                    outcome = error
                call = _advance(flow, outcome)
        except StopIteration as done:
            return cast(T, done.value)
        finally:
            flow.close()

    async def _exchange(self, call: Call) -> Reply:
        request = self._request(call)
        try:
            async for attempt in AsyncRetrying(**self._retrying()):
                with attempt:
                    try:
                        response = await self._http.request(**request)
                    except httpx.HTTPError as error:
                        raise self._unreachable(call, error) from error
                    return self._reply(call, response)
        except _Retry as final:
            _finish(final)
        raise AssertionError("unreachable")  # pragma: no cover
