"""A revoked API key stops working in every server process within a second: two
``creditline serve`` processes on one PostgreSQL database, each holding the key checked
in memory; the key is revoked through one of them. The one that revoked it refuses it
at once; the other, once a second has passed, refuses it too (its memory of the key
rests on a check that began less than a second before it is used)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import pytest

from creditline import Creditline, credits
from creditline.services.key_cache import MAX_AGE
from tests.databases import postgres_schema
from tests.live import httpx, wait_ready

CLI = str(Path(sys.executable).parent / "creditline")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@contextmanager
def serving(db: str, log: Path) -> Iterator[str]:
    port = _free_port()
    env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
    with log.open("wb") as sink:
        process = subprocess.Popen(
            [CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
            stdout=sink,
            stderr=sink,
            env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.mark.postgres
def test_a_key_revoked_in_one_process_is_refused_by_another_within_a_second(
    tmp_path: Path,
) -> None:
    with ExitStack() as stack:
        db = stack.enter_context(postgres_schema())
        with Creditline.open(db) as cl:
            org = cl.create_org("Acme").id
            cl.grant(org, credits(10))
            operator = cl.create_api_key("operator", name="ops").secret
            issued = cl.create_api_key("org", org, name="backend")
        one = stack.enter_context(serving(db, tmp_path / "one.log"))
        two = stack.enter_context(serving(db, tmp_path / "two.log"))
        path = f"/v1/orgs/{org}/balance"
        headers = {"Authorization": f"Bearer {issued.secret}"}
        for url in (one, two):  # each process checks the key, and keeps it
            for _ in range(3):
                assert httpx.get(url + path, headers=headers).status_code == 200
        revoked = httpx.post(
            f"{one}/v1/api-keys/{issued.key.id}/revoke",
            headers={"Authorization": f"Bearer {operator}"},
        )
        assert revoked.status_code == 200, revoked.text
        at_once = httpx.get(one + path, headers=headers)
        assert at_once.status_code == 401
        assert at_once.json()["detail"] == "the API key has been revoked"
        time.sleep(MAX_AGE)  # the bound itself, not a measurement
        later = httpx.get(two + path, headers=headers)
        assert later.status_code == 401, later.text
        assert later.json()["detail"] == "the API key has been revoked"
        assert httpx.get(two + path, headers=headers).status_code == 401
