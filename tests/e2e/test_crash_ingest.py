"""Crashes during single-event ingest lose no acknowledged event (RELIABILITY rule 11).

A live ``creditline serve`` takes ``POST /v1/orgs/{org}/usage`` from 16 concurrent
clients and is killed with SIGKILL while they send, 10 times, restarted in between.
Afterwards every event any client was answered for (201, or 200 for a duplicate) is
stored exactly once, and ``verify`` is clean. The same run against the deliberately
broken writer (it answers before its commit: ``CREDITLINE_TEST_ANSWER_BEFORE_COMMIT=1``)
must lose some acknowledged event, which shows that the crashes land where it matters.
"""

from __future__ import annotations

import os
import random
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

from sqlalchemy import func, select

from creditline import Creditline, credits
from creditline.adapters.db import tables as t
from creditline.bootstrap import ANSWER_BEFORE_COMMIT_ENV
from tests.e2e.test_serve import _free_port
from tests.live import wait_ready
from tests.metering import card_doc

CLI = [str(Path(sys.executable).parent / "creditline")]
CLIENTS = 16
KILLS = 10

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("concurrency")]


@dataclass
class Acknowledged:
    events: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


@dataclass
class Target:
    """Where the clients send, and what they were answered for."""

    db_url: str
    org: str
    key: str
    env: dict[str, str]
    acks: Acknowledged = field(default_factory=Acknowledged)


def _setup(db_url: str) -> tuple[str, str]:
    with Creditline.open(db_url) as cl:
        cl.load_rate_card(card_doc())
        org = cl.create_org("Crashy").id
        cl.grant(org, credits(1_000_000))
        key = cl.create_api_key("org", org, name="ingest").secret
    return org, key


def _send(target: Target, url: str, name: str, stop: threading.Event) -> None:
    headers = {"Authorization": f"Bearer {target.key}"}
    acks = target.acks
    with httpx.Client(base_url=url, headers=headers, timeout=10) as http:
        n = 0
        while not stop.is_set():
            event_id = f"{name}-{n}"
            n += 1
            try:
                answer = http.post(f"/v1/orgs/{target.org}/usage",
                                   json={"event_id": event_id, "operation": "ping"})  # fmt: skip
            except httpx.TransportError:
                return  # the server is gone
            if answer.status_code in (200, 201):
                with acks.lock:
                    acks.events.add(event_id)


def _round(target: Target, index: int, rng: random.Random) -> None:
    port = _free_port()
    process = subprocess.Popen(
        [*CLI, "--db", target.db_url, "serve", "--port", str(port), "--tick-every", "0"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True, env=target.env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    stop = threading.Event()
    acks = target.acks
    try:
        wait_ready(process, url)
        before = len(acks.events)
        clients = [
            threading.Thread(target=_send, args=(target, url, f"r{index}-c{c}", stop))
            for c in range(CLIENTS)
        ]
        for client in clients:
            client.start()
        deadline = time.monotonic() + 60
        # Kill once ingest is well under way: a few answers per client, then a random
        # moment later.
        while len(acks.events) - before < 2 * CLIENTS and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(rng.uniform(0.05, 0.4))
        process.kill()  # SIGKILL: no shutdown, no flush
        process.wait(30)
        stop.set()
        for client in clients:
            client.join(30)
    finally:
        stop.set()
        if process.poll() is None:
            process.kill()
        process.communicate()


def _lost(db_url: str, *, broken: bool) -> list[str]:
    """Run the kills; the acknowledged events not stored exactly once. The broken
    variant stops at the first round that lost one."""
    env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
    env.pop(ANSWER_BEFORE_COMMIT_ENV, None)
    if broken:
        env[ANSWER_BEFORE_COMMIT_ENV] = "1"
    org_id, key = _setup(db_url)
    target = Target(db_url, org_id, key, env)
    rng = random.Random(11)
    lost: list[str] = []
    for index in range(KILLS):
        _round(target, index, rng)
        lost = _check(target)
        if broken and lost:
            break
    if not broken:
        assert len(target.acks.events) >= KILLS * 2 * CLIENTS
    return lost


def _check(target: Target) -> list[str]:
    with Creditline.open(target.db_url, migrate=False) as cl:
        report = cl.verify()
        assert report.ok, report.problems
        with cl._engine.connect() as conn:
            stored = dict(
                conn.execute(
                    select(t.usage_events.c.event_id, func.count())
                    .where(t.usage_events.c.org_id == target.org)
                    .group_by(t.usage_events.c.event_id)
                ).all()
            )
    return sorted(e for e in target.acks.events if stored.get(e) != 1)


def test_killed_during_ingest_every_acknowledged_event_is_stored_once(db_url: str) -> None:
    assert _lost(db_url, broken=False) == []


def test_the_crash_test_catches_a_writer_that_answers_before_its_commit(db_url: str) -> None:
    lost = _lost(db_url, broken=True)
    assert lost, "the broken writer lost no acknowledged event: the crashes missed the window"
