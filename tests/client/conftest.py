"""The client tests' world: one real ``creditline serve`` process per xdist worker (on a
free port, a SQLite file, an operator key made with the CLI, the small rate card and a
gated plan loaded), and an embedded engine on its own database set up the same way, to
compare the two."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from creditline import Creditline
from creditline.client import Client
from tests.live import server_env, wait_ready
from tests.metering import card_doc

CLI = [str(Path(sys.executable).parent / "creditline")]

# A plan whose gate refuses the small card's `render` in `max` mode.
GATED_PLAN: dict[str, Any] = {"name": "starter", "gates": {"allow": {"mode": ["basic", "pro"]}}}

# Every test that talks to the server runs on one xdist worker (--dist loadgroup), so one
# server serves them all.
SERVER = pytest.mark.xdist_group("client-server")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(db: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*CLI, "--db", db, *args], capture_output=True, text=True, timeout=60, check=False
    )


@dataclass
class Server:
    url: str
    key: str
    process: subprocess.Popen[str]

    def client(self, **options: Any) -> Client:
        return Client(self.url, self.key, **options)


def setup_catalogue(cl: Any) -> None:
    """What both the server and the embedded engine start with (works on either)."""
    cl.load_rate_card(card_doc())
    cl.put_plan(GATED_PLAN)


@pytest.fixture(scope="session")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    folder = tmp_path_factory.mktemp("served")
    db = f"sqlite:///{folder / 'served.db'}"
    made = _cli(db, "key", "create", "--operator", "--name", "client-tests", "-f", "json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    port = _free_port()
    log = (folder / "server.log").open("w")
    env = server_env(CREDITLINE_API_RATE_PER_SECOND="0")
    process = subprocess.Popen(
        [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
        stdout=log,
        stderr=log,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(process, url, folder / "server.log")
        served = Server(url, key, process)
        with served.client() as cl:
            setup_catalogue(cl)
        yield served
    finally:
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        log.close()


@pytest.fixture
def client(server: Server) -> Iterator[Client]:
    with server.client() as cl:
        yield cl


@pytest.fixture
def embedded(tmp_path: Path) -> Iterator[Creditline]:
    """An engine in this process on its own SQLite file, set up as the server is."""
    cl = Creditline.open(f"sqlite:///{tmp_path / 'embedded.db'}")
    try:
        setup_catalogue(cl)
        yield cl
    finally:
        cl.close()
