"""The request path's own CPU, in process: microseconds a request spends in the ASGI
application (middleware, routing, the route), with no server and no socket.

Run with ``.venv/bin/python bench/middleware.py``. It calls the application directly
(``await app(scope, receive, send)``) in one event loop, many times, and reports CPU
microseconds per request (``time.process_time``) of:

- ``bare``: a bare Starlette app's trivial route (``GET /healthz`` answering JSON);
- ``context``: the same bare app behind creditline's outermost layer alone (request id,
  metrics, the request's JSON log line, written as ``creditline serve`` writes it, to
  ``/dev/null``): what operability costs a request;
- ``healthz``: creditline's whole application, ``GET /healthz`` (no key, no database);
- ``authed``: the same ``GET /healthz`` with a valid organization key: the key's check
  (from memory where the engine keeps checked keys) and the rate limit added.

The last JSON line holds every figure. Nothing here asserts on time.
"""

from __future__ import annotations

import argparse
import asyncio
import copy
import json
import logging
import logging.config
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from creditline import Creditline
from creditline.entrypoints.api import ApiSettings, create_app
from creditline.entrypoints.api.observability import LOG_CONFIG, Metrics, RequestContextMiddleware

Scope = MutableMapping[str, Any]
App = Callable[[Scope, Any, Any], Awaitable[None]]


async def _trivial(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def bare_app() -> Starlette:
    return Starlette(routes=[Route("/healthz", _trivial)])


def _scope(path: str, headers: list[tuple[bytes, bytes]]) -> Scope:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"127.0.0.1"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8080),
        "state": {},
    }


async def _receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def per_request_us(
    app: App, path: str, count: int, headers: list[tuple[bytes, bytes]] | None = None
) -> float:
    statuses: list[int] = []

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"] == "http.response.start":
            statuses.append(int(message["status"]))

    for _ in range(200):  # warm: caches, the key check, lazily made objects
        await app(_scope(path, headers or []), _receive, send)
    statuses.clear()
    began = time.process_time()
    for _ in range(count):
        await app(_scope(path, headers or []), _receive, send)
    spent = time.process_time() - began
    if set(statuses) != {200}:
        raise RuntimeError(f"{path}: statuses {sorted(set(statuses))}")
    return spent / count * 1e6


async def lifespan(app: App) -> Callable[[], Awaitable[None]]:
    """Start ``app``'s lifespan; the function that ends it."""
    queue: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
    await queue.put({"type": "lifespan.startup"})
    started = asyncio.Event()

    async def receive() -> dict[str, Any]:
        return await queue.get()

    async def send(message: MutableMapping[str, Any]) -> None:
        if message["type"].startswith("lifespan.startup"):
            started.set()

    task = asyncio.ensure_future(app({"type": "lifespan", "state": {}}, receive, send))
    await started.wait()

    async def stop() -> None:
        await queue.put({"type": "lifespan.shutdown"})
        await task

    return stop


async def measure(count: int, out: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory(prefix="creditline-bench-mw-") as tmp:
        cl = Creditline.open(f"sqlite:///{Path(tmp) / 'bench.db'}")
        try:
            org = cl.create_org("bench").id
            key = cl.create_api_key("org", org, name="bench").secret
            app = create_app(cl, settings=ApiSettings(rate_per_second=100_000))
            stop = await lifespan(app)
            auth = [(b"authorization", f"Bearer {key}".encode())]
            figures = {
                "bare": (bare_app(), []),
                "context": (RequestContextMiddleware(bare_app(), metrics=Metrics()), []),
                "healthz": (app, []),
                "authed": (app, auth),
            }
            for _ in range(2):  # the best of two rounds, interleaved
                for name, (target, headers) in figures.items():
                    us = await per_request_us(target, "/healthz", count, headers)
                    out[f"{name}_us"] = min(out.get(f"{name}_us", us), us)
            await stop()
        finally:
            cl.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args(argv)
    config = copy.deepcopy(LOG_CONFIG)
    config["handlers"]["stderr"]["stream"] = "ext://sys.stdout"
    devnull = open("/dev/null", "w")  # noqa: SIM115 - lives as long as the run
    logging.config.dictConfig(config)
    for handler in logging.getLogger("creditline").handlers:
        if isinstance(handler, logging.StreamHandler):
            handler.setStream(devnull)
    out: dict[str, float] = {}
    asyncio.run(measure(args.requests, out))
    out["context_overhead_us"] = out["context_us"] - out["bare_us"]
    out["healthz_overhead_us"] = out["healthz_us"] - out["bare_us"]
    for name in ("bare", "context", "healthz", "authed"):
        print(f"{name:<8} {out[f'{name}_us']:8.1f} us CPU a request")
    print(f"creditline's outermost layer (id, metrics, log line): "
          f"{out['context_overhead_us']:.1f} us; the whole stack over bare: "
          f"{out['healthz_overhead_us']:.1f} us")  # fmt: skip
    print(json.dumps({k: round(v, 2) for k, v in out.items()}, sort_keys=True))
    devnull.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
