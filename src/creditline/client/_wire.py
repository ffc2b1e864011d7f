"""The client's plumbing, without any I/O: what a request is (:class:`Call`), what comes
back (:class:`Reply`), exact JSON both ways, and :class:`Op`, the descriptor that turns
one operation, written once as a generator of calls, into a method of the synchronous
:class:`~creditline.client.Client` and a coroutine method of the
:class:`~creditline.client.AsyncClient`.

An operation is a generator: it yields each :class:`Call` it needs, is sent the
:class:`Reply` (or has the mapped error thrown into it), and returns the result::

    @op
    def balance(self, org_id: str) -> Flow[Balance]:
        reply = yield get(f"/v1/orgs/{seg(org_id)}/balance")
        return decode.balance(reply.json())
"""

from __future__ import annotations

import inspect
import json
import math
from collections.abc import Callable, Coroutine, Generator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, Concatenate, Generic, ParamSpec, TypeVar, overload
from urllib.parse import quote

__all__ = [
    "AsyncRunner",
    "Call",
    "Flow",
    "Op",
    "Reply",
    "SyncRunner",
    "dumps",
    "get",
    "loads",
    "op",
    "patch",
    "post",
    "put",
    "seg",
]

P = ParamSpec("P")
T = TypeVar("T")

Params = Sequence[tuple[str, str]]


@dataclass(frozen=True, slots=True)
class Call:
    """One HTTP request of an operation.

    Attributes:
        method, path: ``POST``, ``/v1/orgs/org_1/grants`` (relative to the base URL).
        params: the query, in order (a name may repeat).
        body: the JSON body (encoded exactly by :func:`dumps`), or ``None``.
        idempotency_key: the caller's key for a POST; ``None``: a fresh one per call.
        org_id: the organization the call is about (errors that do not say it use it).
        problems_ok: answer a problem (4xx) as a :class:`Reply` instead of raising.
    """

    method: str
    path: str
    params: Params = ()
    body: Any = None
    idempotency_key: str | None = None
    org_id: str | None = None
    problems_ok: bool = False


@dataclass(frozen=True, slots=True)
class Reply:
    """An answer: its status, headers and body."""

    status: int
    headers: Mapping[str, str]
    content: bytes
    replayed: bool = False
    """``Idempotent-Replayed: true``: the stored answer of an earlier request with the
    caller's own idempotency key."""
    _json: list[Any] = field(default_factory=list, repr=False, compare=False)

    def json(self) -> Any:
        if not self._json:
            self._json.append(loads(self.content))
        return self._json[0]

    @property
    def text(self) -> str:
        return self.content.decode("utf-8")

    @property
    def is_problem(self) -> bool:
        return self.status >= 400


Flow = Generator[Call, Reply, T]
"""An operation: yields calls, is sent their replies, returns its result."""


def get(path: str, params: Params = (), *, org_id: str | None = None) -> Call:
    return Call("GET", path, params, org_id=org_id)


def post(
    path: str,
    body: Any = None,
    *,
    key: str | None = None,
    params: Params = (),
    org_id: str | None = None,
    problems_ok: bool = False,
) -> Call:
    return Call("POST", path, params, body, key, org_id, problems_ok)


def put(path: str, body: Any, *, org_id: str | None = None) -> Call:
    return Call("PUT", path, (), body, org_id=org_id)


def patch(path: str, body: Any, *, org_id: str | None = None) -> Call:
    return Call("PATCH", path, (), body, org_id=org_id)


def seg(value: str) -> str:
    """A path segment: ``/`` and every other reserved character escaped."""
    return quote(str(value), safe="")


# -- exact JSON --------------------------------------------------------------------------


def dumps(value: Any) -> bytes:
    """JSON with exact numbers: ``Decimal("0.5")`` is the number ``0.5`` (the service
    reads numbers exactly), datetimes are ISO 8601 text, tuples are arrays.

    Raises:
        TypeError: a value JSON cannot carry; ValueError: NaN or an infinity.
    """
    out: list[str] = []
    _write(value, out)
    return "".join(out).encode("utf-8")


def _write(value: Any, out: list[str]) -> None:
    if isinstance(value, Mapping):
        out.append("{")
        for i, (key, item) in enumerate(value.items()):
            out.append("," if i else "")
            out.append(json.dumps(str(key), ensure_ascii=False) + ":")
            _write(item, out)
        out.append("}")
    elif isinstance(value, list | tuple):
        out.append("[")
        for i, item in enumerate(value):
            out.append("," if i else "")
            _write(item, out)
        out.append("]")
    else:
        out.append(_scalar(value))


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(str(value), ensure_ascii=False)
    if isinstance(value, int):
        return str(int(value))
    if isinstance(value, Decimal | float):
        if not (value.is_finite() if isinstance(value, Decimal) else math.isfinite(value)):
            raise ValueError(f"{value} is not a number JSON allows")
        return format(value, "f") if isinstance(value, Decimal) else repr(value)
    if isinstance(value, datetime):
        return json.dumps(value.isoformat())
    raise TypeError(f"{type(value).__name__} cannot be sent as JSON: {value!r}")


def loads(content: bytes | str) -> Any:
    """JSON as the service sends it, numbers exact (``Decimal``, never ``float``)."""
    return json.loads(content, parse_float=Decimal)


# -- operations as methods of both clients -----------------------------------------------


class SyncRunner:
    """What runs each operation to its result (:class:`~creditline.client.Client`): an
    :class:`Op` read on it is a plain method. The clients depend on this module, never
    the other way round."""


class AsyncRunner:
    """What runs each operation as a coroutine (:class:`~creditline.client.AsyncClient`):
    an :class:`Op` read on it is a coroutine method."""


class Op(Generic[P, T]):
    """An operation (a :data:`Flow` generator function) as a method: on a
    :class:`~creditline.client.Client` it runs the calls and returns the result; on an
    :class:`~creditline.client.AsyncClient` it returns a coroutine of it."""

    def __init__(self, flow: Callable[Concatenate[Any, P], Flow[T]]) -> None:
        self.flow = flow
        self.__name__ = flow.__name__
        self.__qualname__ = flow.__qualname__
        self.__doc__ = flow.__doc__
        self.__module__ = flow.__module__
        self.__wrapped__ = flow
        parameters = list(inspect.signature(flow).parameters.values())[1:]
        self.signature = inspect.Signature(parameters)

    @overload
    def __get__(self, obj: None, owner: type[Any]) -> Op[P, T]: ...

    @overload
    def __get__(self, obj: SyncRunner, owner: type[Any]) -> Callable[P, T]: ...

    @overload
    def __get__(
        self, obj: AsyncRunner, owner: type[Any]
    ) -> Callable[P, Coroutine[Any, Any, T]]: ...

    def __get__(self, obj: Any, owner: type[Any]) -> Any:
        if obj is None:
            return self
        bound: Callable[..., Any] = obj._bind(self)
        bound.__name__ = self.flow.__name__
        bound.__qualname__ = f"{type(obj).__qualname__}.{self.flow.__name__}"
        bound.__doc__ = self.flow.__doc__
        bound.__signature__ = self.signature  # type: ignore[attr-defined]
        return bound


def op(flow: Callable[Concatenate[Any, P], Flow[T]]) -> Op[P, T]:
    """Make an operation a method of both clients (see :class:`Op`)."""
    return Op(flow)
