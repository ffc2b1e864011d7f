"""The baselines of ``bench/http_api.py``: bare Starlette apps on the same server, with the
same settings as ``creditline serve`` (uvicorn, httptools, uvloop, one worker, no access
log).

- ``GET /healthz``: the trivial route (JSON ``{"status": "ok"}``);
- ``POST /v1/orgs/{org}/usage/batch``: the body decoded once (msgspec, numbers exact) and
  its events inserted raw, one ``executemany`` and one commit a request, into a table of
  the same kind of database (SQLite with WAL and ``synchronous=FULL``, or PostgreSQL):
  what a request of 1,000 events costs with no engine at all;
- ``POST /v1/orgs/{org}/reservations``: the body decoded and one row inserted and
  committed (one commit a request, one writer at a time): a durable write per request
  with no engine and no group commit.

Run: ``python bench/bare_app.py PORT [DATABASE_URL]`` (no URL: the trivial route only).
"""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import sys
import threading
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import msgspec
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

_decode = msgspec.json.Decoder(float_hook=Decimal).decode
_encode = msgspec.json.encode


def _text(value: object) -> str:
    return _encode(value or {}).decode()


TABLE = """CREATE TABLE IF NOT EXISTS bare_events (
    org_id TEXT NOT NULL, event_id TEXT NOT NULL, operation TEXT NOT NULL,
    occurred_at TEXT NOT NULL, quantities TEXT NOT NULL, dimensions TEXT NOT NULL,
    PRIMARY KEY (org_id, event_id))"""
HOLDS = """CREATE TABLE IF NOT EXISTS bare_holds (
    id TEXT PRIMARY KEY, org_id TEXT NOT NULL, amount_micros BIGINT NOT NULL,
    expires_at TEXT NOT NULL)"""


class Rows:
    """One connection, one writer at a time."""

    def __init__(self, url: str) -> None:
        self._lock = threading.Lock()
        self.sqlite = url.startswith("sqlite")
        if self.sqlite:
            self._conn: Any = sqlite3.connect(
                url.split(":///", 1)[1], check_same_thread=False, isolation_level=None
            )
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=FULL")
            self._conn.execute(TABLE)
            self._conn.execute(HOLDS)
            self._insert = "INSERT INTO bare_events VALUES (?, ?, ?, ?, ?, ?)"
            self._hold = "INSERT INTO bare_holds VALUES (?, ?, ?, ?)"
        else:
            import psycopg

            plain, _, options = url.replace("postgresql+psycopg", "postgresql").partition("?")
            schema = options.split("search_path%3D", 1)[-1] if options else ""
            self._conn = psycopg.connect(plain)
            if schema:
                self._conn.execute(f'SET search_path TO "{schema}"')
            self._conn.execute(TABLE)
            self._conn.execute(HOLDS)
            self._conn.commit()
            self._insert = "INSERT INTO bare_events VALUES (%s, %s, %s, %s, %s, %s)"
            self._hold = "INSERT INTO bare_holds VALUES (%s, %s, %s, %s)"

    def add(self, rows: list[tuple[str, ...]]) -> None:
        self._commit(self._insert, rows)

    def hold(self, row: tuple[object, ...]) -> None:
        self._commit(self._hold, [row])

    def _commit(self, statement: str, rows: list[Any]) -> None:
        """Insert ``rows`` and commit, one writer at a time."""
        with self._lock:
            if self.sqlite:
                self._conn.execute("BEGIN IMMEDIATE")
                self._conn.executemany(statement, rows)
                self._conn.execute("COMMIT")
            else:
                with self._conn.cursor() as cursor:
                    cursor.executemany(statement, rows)
                self._conn.commit()


def app(url: str | None) -> Starlette:
    rows = Rows(url) if url else None
    ids = itertools.count(1)

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    async def batch(request: Request) -> Response:
        assert rows is not None
        org = request.path_params["org"]
        events = _decode(await request.body())["events"]
        now = datetime.now(UTC).isoformat()
        made = [
            (org, e["event_id"], e["operation"], e.get("occurred_at") or now,
             _text(e.get("quantities")), _text(e.get("dimensions")))
            for e in events
        ]  # fmt: skip
        await asyncio.to_thread(rows.add, made)
        return Response(_encode({"accepted": len(made)}), media_type="application/json")

    async def reserve(request: Request) -> Response:
        assert rows is not None
        body = _decode(await request.body())
        held = (
            f"res_{next(ids)}", request.path_params["org"], int(body["amount_micros"]),
            (datetime.now(UTC) + timedelta(seconds=int(body["ttl_seconds"]))).isoformat(),
        )  # fmt: skip
        await asyncio.to_thread(rows.hold, held)
        return Response(
            _encode({"id": held[0], "amount_micros": held[2], "expires_at": held[3]}),
            status_code=201,
            media_type="application/json",
        )

    return Starlette(
        routes=[
            Route("/healthz", healthz),
            Route("/v1/orgs/{org}/usage/batch", batch, methods=["POST"]),
            Route("/v1/orgs/{org}/reservations", reserve, methods=["POST"]),
        ]
    )


if __name__ == "__main__":
    port = int(sys.argv[1])
    uvicorn.run(
        app(sys.argv[2] if len(sys.argv) > 2 else None),
        host="127.0.0.1",
        port=port,
        # What ``creditline serve`` runs on where they are installed (it names them); "auto"
        # keeps the two on the same settings when the bench measures an older creditline.
        loop="auto",
        http="auto",
        access_log=False,
        server_header=False,
        lifespan="on",
        log_level="warning",
    )
