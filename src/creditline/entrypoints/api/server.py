"""Running the HTTP API under uvicorn: ``creditline serve``.

:func:`serve` brings the schema up to date once, then starts uvicorn with
:func:`app_from_env` as its application factory, in one process or ``workers``
processes (PostgreSQL only: SQLite serializes every write on one file lock, so several
processes would only queue on it). Each worker opens its own engine on
``CREDITLINE_DATABASE_URL`` and reads the ``CREDITLINE_API_*`` settings.

**Graceful shutdown** is uvicorn's: on SIGTERM or SIGINT it stops accepting
connections, lets the requests in flight finish (up to ``graceful_timeout`` seconds),
runs the application's shutdown (which closes the engine) and exits 0.

Logs are JSON lines on stderr (:data:`~.observability.LOG_CONFIG`); uvicorn's own
access log is off (the API logs each request itself, without headers).
"""

from __future__ import annotations

import gc
import os
import signal
import socket
import tempfile
from collections.abc import Mapping
from pathlib import Path
from types import FrameType

import uvicorn
from fastapi import FastAPI
from uvicorn.config import STARTUP_FAILURE
from uvicorn.supervisors import Multiprocess

from creditline.adapters.notify.addresses import allow_networks_from_env
from creditline.bootstrap import Creditline, mailer_from_env, payments_from_env
from creditline.domain.errors import ConfigurationError
from creditline.entrypoints.api.app import create_app
from creditline.entrypoints.api.limits import SharedTokenBuckets
from creditline.entrypoints.api.observability import LOG_CONFIG
from creditline.entrypoints.api.settings import ApiSettings

__all__ = ["DATABASE_URL_ENV", "app_from_env", "serve"]

DATABASE_URL_ENV = "CREDITLINE_DATABASE_URL"
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
TICK_ENV = "CREDITLINE_API_TICK_SECONDS"
RATE_FILE_ENV = "CREDITLINE_API_RATE_FILE"


def app_from_env(environ: Mapping[str, str] | None = None) -> FastAPI:
    """The application of one worker process, configured by the environment.

    Raises:
        ConfigurationError: no ``CREDITLINE_DATABASE_URL``, or a bad setting.
        SchemaOutOfDate: the schema is behind the code (``serve`` migrates first).
    """
    env = os.environ if environ is None else environ
    url = env.get(DATABASE_URL_ENV, "").strip()
    if not url:
        raise ConfigurationError(f"{DATABASE_URL_ENV} is not set")
    cl = Creditline.open(
        url, migrate=False, payments=payments_from_env(env), mailer=mailer_from_env(env),
        webhook_allow_networks=[str(n) for n in allow_networks_from_env(env)],
    )  # fmt: skip
    app = create_app(cl, settings=ApiSettings.from_env(env), close_on_shutdown=True)
    # Everything made so far (modules, the app, the engine) lives as long as the process:
    # move it out of the collector's sight, so that the frequent young-generation
    # collections of a busy server do not keep walking it.
    gc.collect()
    gc.freeze()
    return app


def _stopped(signum: int, frame: FrameType | None) -> None:
    """A stop signal after uvicorn's graceful shutdown: nothing left to do."""


def serve(
    url: str,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    workers: int = 1,
    graceful_timeout: int = 30,
    tick_every: float = 0.0,
) -> None:
    """Migrate, then serve the API until SIGTERM or SIGINT; each process runs the
    scheduler every ``tick_every`` seconds (0: leave ``CREDITLINE_API_TICK_SECONDS`` as
    it is).

    Raises:
        ConfigurationError: several workers on SQLite; a database that cannot be opened.
    """
    with Creditline.open(url, migrate=True) as cl:
        dialect = cl.dialect
    if workers > 1 and dialect != "postgresql":
        raise ConfigurationError(
            f"{workers} workers need PostgreSQL: on {dialect} every write takes one file "
            "lock, so serve it with one worker"
        )
    os.environ[DATABASE_URL_ENV] = url
    if tick_every > 0:
        os.environ[TICK_ENV] = str(tick_every)
    if workers > 1 and not os.environ.get(RATE_FILE_ENV):
        # One rate-limit table for every worker: a key's rate does not grow with them.
        rate_file = Path(tempfile.mkdtemp(prefix="creditline-rates-")) / "buckets"
        SharedTokenBuckets.create(rate_file)
        os.environ[RATE_FILE_ENV] = str(rate_file)
    if workers > 1 and not os.environ.get(MULTIPROC_ENV):
        # Metrics summed over the workers (prometheus_client's multiprocess mode).
        os.environ[MULTIPROC_ENV] = tempfile.mkdtemp(prefix="creditline-metrics-")
    # uvicorn handles SIGTERM and SIGINT itself, then re-raises the signal to the handler
    # that was there before it: make that one a no-op, so a stop is a clean exit 0.
    for stop in (signal.SIGTERM, signal.SIGINT):
        signal.signal(stop, _stopped)
    config = uvicorn.Config(
        "creditline.entrypoints.api.server:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_config=LOG_CONFIG,
        access_log=False,
        timeout_graceful_shutdown=max(1, graceful_timeout),
        lifespan="on",
        server_header=False,
    )
    if workers == 1:
        server = uvicorn.Server(config)
        server.run()
        if not server.started:
            raise SystemExit(STARTUP_FAILURE)
        return
    sock = config.bind_socket()
    # The workers accept on this socket, made with protocol 0: asyncio then leaves
    # Nagle's algorithm on for the connections (it only turns it off for sockets made as
    # IPPROTO_TCP), and every small response waits ~40 ms for the client's delayed ACK.
    # Accepted connections inherit the option from the listening socket.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    Multiprocess(config, sockets=[sock]).run()
