"""Operability: a request id on every request, one JSON log line per request, and
Prometheus metrics.

**Request ids.** A request's ``X-Request-Id`` header is kept when it is 1 to 100 of
``[A-Za-z0-9._:-]``; otherwise a new one is made. It is answered in ``X-Request-Id``,
is the ``instance`` of every problem, and is in every log line of the request.

**Logs.** Logger ``creditline.api`` writes one line per request: method, path, route,
status, duration, request id, the API key's id and organization. Never a header, a
body, a query string or a key's text. :data:`LOG_CONFIG` (used by ``creditline
serve``) renders every record as one JSON object on stderr.

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

import json
import logging
import os
import re
import time
import traceback
import uuid
from datetime import UTC, datetime
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector

from creditline.domain.api_keys import Principal
from creditline.domain.errors import CreditlineError
from creditline.entrypoints.api.asgi import ASGIApp, Message, Receive, Scope, Send, send_json, state
from creditline.entrypoints.api.problems import PROBLEMS, problem_body

__all__ = ["LOG_CONFIG", "JsonFormatter", "Metrics", "RequestContextMiddleware"]

_log = logging.getLogger("creditline.api")
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,100}$")
_STANDARD = set(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


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


def _route(scope: Scope) -> str:
    """The route's path template (a label of bounded cardinality), also for requests
    answered before routing (401, 413, 429, replays); ``unmatched`` for no route."""
    path = getattr(scope.get("route"), "path", None)
    if isinstance(path, str):
        return path
    app = scope.get("app")
    for route in getattr(getattr(app, "state", None), "routes", ()):
        if scope["method"] in (route.methods or ()) and route.path_regex.match(scope["path"]):
            return str(route.path)
    return "unmatched"


class RequestContextMiddleware:
    """The outermost layer: request id, timing, metrics, the request's log line, and a
    problem-details 500 for anything that escaped every handler."""

    def __init__(self, app: ASGIApp, metrics: Metrics, log_requests: bool = True) -> None:
        self.app = app
        self.metrics = metrics
        self.log_requests = log_requests

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = next(
            (bytes(v).decode("latin-1") for k, v in scope.get("headers", ())
             if k.lower() == b"x-request-id"),
            "",
        )  # fmt: skip
        request_id = given if _REQUEST_ID.match(given) else uuid.uuid4().hex
        state(scope)["request_id"] = request_id
        started = time.perf_counter()
        status = 500
        responded = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, responded
            if message["type"] == "http.response.start":
                status = int(message["status"])
                responded = True
                headers = list(message.get("headers", ()))
                headers.append((b"x-request-id", request_id.encode()))
                message = {**message, "headers": headers}
            await send(message)

        self.metrics.in_progress.inc()
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
            self.metrics.in_progress.dec()
            elapsed = time.perf_counter() - started
            route = _route(scope)
            self.metrics.requests.labels(scope["method"], route, str(status)).inc()
            self.metrics.latency.labels(scope["method"], route).observe(elapsed)
            if self.log_requests:
                self._log(scope, request_id, route, status, elapsed)

    @staticmethod
    def _log(scope: Scope, request_id: str, route: str, status: int, elapsed: float) -> None:
        who = state(scope).get("principal")
        fields: dict[str, Any] = {
            "request_id": request_id,
            "method": scope["method"],
            "path": scope["path"],
            "route": route,
            "status": status,
            "duration_ms": round(elapsed * 1000, 3),
        }
        if isinstance(who, Principal):
            fields["key_id"] = who.key_id
            fields["org_id"] = who.org_id
        level = logging.ERROR if status >= 500 else logging.INFO
        _log.log(level, "request", extra=fields)


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
