"""Operability: a request id on every request, one JSON log line per request, and
Prometheus metrics.

**Request ids.** A request's ``X-Request-Id`` header is kept when it is 1 to 100 of
``[A-Za-z0-9._:-]``; otherwise a new one is made. It is answered in ``X-Request-Id``,
is the ``instance`` of every problem, and is in every log line of the request.

**Logs.** Logger ``creditline.api`` writes one line per request: method, path, route,
status, duration, request id, the API key's id and organization. Never a header, a
body, a query string or a key's text: anything shaped like a key (``cl_live_...``) in
the path is replaced by ``cl_live_[redacted]``. :data:`LOG_CONFIG` (used by
``creditline serve``) renders every record as one JSON object on stderr.

**Cost.** Request ids, metrics and the log line take a few microseconds a request:
ids are a per-process random prefix and a counter, the metrics' labelled children are
made once, and the log lines are encoded in one step and written together, at most
50 ms after their request (:class:`RequestLog`).

**Metrics** (``GET /metrics``, Prometheus text): ``creditline_http_requests_total``
(method, route, status), ``creditline_http_request_duration_seconds`` (method, route),
``creditline_http_requests_in_progress``, ``creditline_usage_events_total`` (status),
``creditline_credits_consumed_micros_total`` (micro-credits charged by usage, spends
and commits through the API), ``creditline_webhook_failures_total`` (endpoint: webhook
deliveries refused or failed). With several worker processes, set
``PROMETHEUS_MULTIPROC_DIR`` (``creditline serve --workers N`` does) and every worker
answers the sum over all of them.
"""

from __future__ import annotations

import asyncio
import atexit
import itertools
import json
import logging
import os
import re
import secrets
import threading
import time
import traceback
from datetime import UTC, datetime
from typing import Any

import msgspec
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.routing import Match, Mount

from creditline.domain.api_keys import Principal
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.api.asgi import ASGIApp, Message, Receive, Scope, Send, send_json, state
from creditline.entrypoints.api.problems import PROBLEMS, problem_body

__all__ = [
    "LOG_CONFIG",
    "JsonFormatter",
    "Metrics",
    "RequestContextMiddleware",
    "RequestLog",
    "redact",
    "route_label",
    "routes_of",
]

_log = logging.getLogger("creditline.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}
_JSON = msgspec.json.Encoder()
FLUSH_SECONDS = 0.05
"""How long a request's log line may be held before it is written."""


class Metrics:
    """The service's Prometheus metrics, in a registry of their own (one per app)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.requests = Counter(
            "creditline_http_requests", "HTTP requests answered.",
            ["method", "route", "status"], registry=r,
        )  # fmt: skip
        self.latency = Histogram(
            "creditline_http_request_duration_seconds", "Time to answer an HTTP request.",
            ["method", "route"], registry=r,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )  # fmt: skip
        self.in_progress = Gauge(
            "creditline_http_requests_in_progress", "HTTP requests being answered.",
            registry=r, multiprocess_mode="livesum",
        )  # fmt: skip
        self.events = Counter(
            "creditline_usage_events", "Usage events received, by outcome.", ["status"],
            registry=r,
        )  # fmt: skip
        self.consumed = Counter(
            "creditline_credits_consumed_micros",
            "Micro-credits charged through the API (usage, spends, commits).", registry=r,
        )  # fmt: skip
        self.webhook_failures = Counter(
            "creditline_webhook_failures", "Webhook deliveries refused or failed.",
            ["endpoint"], registry=r,
        )  # fmt: skip

    def render(self) -> tuple[bytes, str]:
        """The exposition text and its content type."""
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            MultiProcessCollector(merged)  # type: ignore[no-untyped-call]
            return generate_latest(merged), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def routes_of(app: Any) -> list[Any]:
    """Every route of ``app`` that has a path, the routers it includes flattened, in the
    order they are matched."""
    found: list[Any] = []

    def walk(routes: Any) -> None:
        for route in routes:
            inner = getattr(route, "original_router", None)  # an included router
            if inner is not None:
                walk(inner.routes)
            elif isinstance(getattr(route, "path", None), str):
                found.append(route)

    walk(getattr(app, "routes", ()))
    return found


def route_label(scope: Scope, routes: list[Any], root_path: str = "") -> str:
    """The route's path template (a label of bounded cardinality), also for requests
    answered before routing (401, 413, 429, replays) and for the framework's own routes
    (``/docs``, ``/openapi.json``, ``/redoc``, static files: ``/static/{path}``);
    ``unmatched`` for no route. ``routes``: :func:`routes_of` the application."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    # As it came in: a mount that answered has moved its prefix into the root path.
    original = {**scope, "root_path": root_path}
    for route in routes:
        try:
            match, _ = route.matches(original)
        except Exception:  # a label is never worth failing a request
            continue
        if match is not Match.NONE:
            label = str(route.path)
            return f"{label}/{{path}}" if isinstance(route, Mount) else label
    return "unmatched"


_API_KEY = re.compile(r"cl_live_[A-Za-z0-9_\-]*")


def redact(text: str) -> str:
    """``text`` with anything shaped like an API key (``cl_live_...``) replaced."""
    if "cl_live_" not in text:
        return text
    return _API_KEY.sub("cl_live_[redacted]", text)


class _RequestIds:
    """Request ids made here: a random prefix of this process (16 hex digits) and a
    counter (``uuid4`` costs a system call per request)."""

    def __init__(self) -> None:
        self._prefix = secrets.token_hex(8)
        self._count = itertools.count(1)

    def __call__(self) -> str:
        return self._prefix + str(next(self._count))


def _given_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == b"x-request-id":
            text = bytes(value).decode("latin-1")
            return text if _REQUEST_ID.match(text) else ""
    return ""


class RequestContextMiddleware:
    """The outermost layer: request id, timing, metrics, the request's log line, and a
    problem-details 500 for anything that escaped every handler."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests
        self._ids = _RequestIds()
        self._log = RequestLog(_log)
        self._routes: list[Any] | None = None  # the app's, once a request has named it
        # The children of the labelled metrics, made once per label set.
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _given_id(scope) or self._ids()
        root_path = scope.get("root_path", "")
        state(scope)["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False
        id_header = (b"x-request-id", request_id.encode())

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = int(message["status"])
                responded = True
                message = {**message, "headers": [*message.get("headers", ()), id_header]}
            await send(message)

        in_progress = self.metrics.in_progress
        in_progress.inc()
        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            _log.error(
                "unhandled error",
                extra={"request_id": request_id, "error": traceback.format_exc(limit=20)},
            )
            if not responded:
                body = problem_body(
                    PROBLEMS[CreditlineError], "an unexpected error; it has been logged", request_id
                )
                await send_json(send_with_id, body)
        finally:
            in_progress.dec()
            try:
                self._account(scope, request_id, root_path, status, started)
            except Exception:  # the answer is out: its bookkeeping must not cut the line
                _log.exception("a request's metrics or log line failed")

    def _account(
        self, scope: Scope, request_id: str, root_path: str, status: int, started: float
    ) -> None:
        elapsed = time.perf_counter() - started
        if self._routes is None:
            self._routes = routes_of(scope.get("app"))
        route = route_label(scope, self._routes, root_path)
        self._observe(scope["method"], route, status, elapsed)
        if self.log_requests:
            self._log.request(scope, request_id, route, status, elapsed)

    def _observe(self, method: str, route: str, status: int, elapsed: float) -> None:
        children = self._children.get((method, route, status))
        if children is None:
            if len(self._children) > 10_000:  # bounded by routes x methods x statuses
                self._children.clear()
            children = (
                self.metrics.requests.labels(method, route, str(status)),
                self.metrics.latency.labels(method, route),
            )
            self._children[(method, route, status)] = children
        children[0].inc()
        children[1].observe(elapsed)


class RequestLog:
    """The request's log line (logger ``creditline.api``, message ``request``).

    When the logger writes through :class:`JsonFormatter` stream handlers only (as
    ``creditline serve`` configures it), the line is encoded here in one step (the same
    JSON object the formatter makes) and held for at most :data:`FLUSH_SECONDS`: the
    lines of that moment are written together, one write instead of one a request.
    Errors (5xx) are written at once, and so is everything held when the process exits.
    Otherwise (tests, a library user's own logging) the line is a log record like any
    other."""

    def __init__(self, logger: logging.Logger) -> None:
        self._logger = logger
        handlers: list[logging.Handler] = []
        current: logging.Logger | None = logger
        while current is not None:  # the handlers a record of the logger reaches
            handlers.extend(current.handlers)
            current = current.parent if current.propagate else None
        self._streams = [
            h for h in handlers
            if type(h) is logging.StreamHandler and isinstance(h.formatter, JsonFormatter)
        ]  # fmt: skip
        self._fast = bool(handlers) and len(self._streams) == len(handlers)
        self._second = -1
        self._second_text = ""
        self._held: list[tuple[int, str]] = []
        self._lock = threading.Lock()
        self._scheduled = False
        if self._fast:
            atexit.register(self.flush)

    def request(
        self, scope: Scope, request_id: str, route: str, status: int, elapsed: float
    ) -> None:
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope["method"],
            "path": redact(scope["path"]),
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
        }
        who = state(scope).get("principal")
        if isinstance(who, Principal):
            fields["key_id"] = who.key_id
            fields["org_id"] = who.org_id
        level = logging.ERROR if status >= 500 else logging.INFO
        if not self._fast or not self._logger.isEnabledFor(level):
            self._logger.log(level, "request", extra=fields)
            return
        line = _encode_line(
            {
                "time": self._now(),
                "level": "error" if level == logging.ERROR else "info",
                "logger": self._logger.name,
                "message": "request",
                **fields,
            }
        )
        with self._lock:
            self._held.append((level, line))
            schedule = not self._scheduled
            self._scheduled = True
        if level >= logging.ERROR:
            self.flush()
        elif schedule:
            try:
                asyncio.get_running_loop().call_later(FLUSH_SECONDS, self.flush)
            except RuntimeError:  # no event loop here: at once
                self.flush()

    def _now(self) -> str:
        """Now, as :class:`JsonFormatter` writes a record's time (the second's text is
        made once a second)."""
        now = time.time()
        second = int(now)
        if second != self._second:
            self._second_text = datetime.fromtimestamp(second, UTC).strftime("%Y-%m-%dT%H:%M:%S")
            self._second = second
        return f"{self._second_text}.{int((now - second) * 1e6):06d}+00:00"

    def flush(self) -> None:
        """Write the lines held so far."""
        with self._lock:
            held, self._held = self._held, []
            self._scheduled = False
        if not held:
            return
        for handler in self._streams:
            lines = [line for level, line in held if level >= handler.level]
            handler.acquire()
            try:
                for chunk in _chunks(lines):
                    handler.stream.write(chunk)
                    handler.flush()
            except (OSError, ValueError):  # a closed stream: as logging, go on
                pass
            finally:
                handler.release()


def _chunks(lines: list[str], size: int = 4000) -> list[str]:
    """Whole lines in writes of at most ``size`` bytes (a longer line alone): a write to
    a pipe up to 4 KiB is never interleaved with another process's (workers share
    stderr)."""
    chunks: list[str] = []
    current: list[str] = []
    length = 0
    for line in lines:
        if current and length + len(line) > size:
            chunks.append("".join(current))
            current, length = [], 0
        current.append(line)
        length += len(line)
    if current:
        chunks.append("".join(current))
    return chunks


def _encode_line(data: dict[str, Any]) -> str:
    return _JSON.encode(data).decode() + "\n"


class JsonFormatter(logging.Formatter):
    """One JSON object per record: time, level, logger, message and the record's extra
    fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        data.update(
            {
                k: v
                for k, v in record.__dict__.items()
                if k not in _STANDARD and k != "color_message"
            }
        )
        if record.exc_info:
            data["error"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str, ensure_ascii=False)


LOG_CONFIG: dict[str, Any] = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"json": {"()": JsonFormatter}},
    "handlers": {
        "stderr": {
            "class": "logging.StreamHandler",
            "formatter": "json",
            "stream": "ext://sys.stderr",
        }
    },
    "loggers": {
        "creditline": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn": {"handlers": ["stderr"], "level": "INFO", "propagate": False},
        "uvicorn.error": {"level": "INFO"},
        "uvicorn.access": {"handlers": [], "level": "WARNING", "propagate": False},
    },
}
"""The logging configuration of ``creditline serve``: every record one JSON line."""
