"""``creditline serve`` for real: a server process on a free port and a SQLite file, a
short story over HTTP, then SIGTERM and a clean exit. Also the CLI's ``key`` commands."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

from tests.databases import postgres_schema
from tests.live import wait_ready
from tests.metering import card_doc

CLI = [str(Path(sys.executable).parent / "creditline")]


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
    process: subprocess.Popen[str]
    url: str
    key: str


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    db = f"sqlite:///{tmp_path / 'served.db'}"
    made = _cli(db, "key", "create", "--operator", "--name", "e2e", "-f", "json")
    assert made.returncode == 0, made.stderr
    key = json.loads(made.stdout)["key"]
    port = _free_port()
    env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
    process = subprocess.Popen(
        [*CLI, "--db", db, "serve", "--port", str(port), "--tick-every", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    url = f"http://127.0.0.1:{port}"
    wait_ready(process, url)
    try:
        yield Server(process, url, key)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_serve_tells_a_story_and_stops_cleanly_on_sigterm(server: Server) -> None:
    headers = {"Authorization": f"Bearer {server.key}"}
    with httpx.Client(base_url=server.url, headers=headers) as http:
        org_key = _story(http, server.url)
    server.process.send_signal(signal.SIGTERM)
    _, stderr = server.process.communicate(timeout=30)
    assert server.process.returncode == 0, stderr
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    requests = [line for line in lines if line.get("message") == "request"]
    assert requests and all(r["request_id"] for r in requests)
    assert {"method", "route", "status", "duration_ms"} <= set(requests[-1])
    assert server.key not in stderr and org_key not in stderr


def test_key_commands_create_list_and_revoke(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'keys.db'}"
    assert _cli(db, "init").returncode == 0
    assert _cli(db, "org", "create", "Acme", "-f", "json").returncode == 0
    org = json.loads(_cli(db, "org", "list", "-f", "json").stdout)[0]["id"]
    made = _cli(db, "key", "create", "--org", org, "--read-only", "--expires", "30d", "-f", "json")
    assert made.returncode == 0, made.stderr
    issued = json.loads(made.stdout)
    assert issued["role"] == "org_read" and issued["expires_at"]
    listed = json.loads(_cli(db, "key", "list", "-f", "json").stdout)
    assert [k["id"] for k in listed] == [issued["id"]]
    assert issued["key"] not in json.dumps(listed)
    revoked = json.loads(_cli(db, "key", "revoke", issued["id"], "-f", "json").stdout)
    assert revoked["revoked_at"]
    assert json.loads(_cli(db, "key", "list", "--active", "-f", "json").stdout) == []
    both = _cli(db, "key", "create", "--operator", "--org", org)
    assert both.returncode == 2 and both.stderr.startswith("error: ")
    missing = _cli(db, "key", "revoke", "key_nothing")
    assert missing.returncode == 3


def test_serve_refuses_several_workers_on_sqlite(tmp_path: Path) -> None:
    refused = _cli(f"sqlite:///{tmp_path / 'w.db'}", "serve", "--workers", "2")
    assert refused.returncode == 6
    assert "PostgreSQL" in refused.stderr


def _story(http: httpx.Client, url: str) -> str:
    """Operator sets up; the organization's own key uses credits until they run out."""
    load = http.post("/v1/rate-cards", json={"document": card_doc()})
    assert load.status_code == 201, load.text
    org: str = http.post("/v1/orgs", json={"name": "Served"}).json()["id"]
    made = http.post("/v1/api-keys", json={"role": "org", "org_id": org, "name": "app"})
    grant = http.post(
        f"/v1/orgs/{org}/grants", json={"amount": "20"}, headers={"Idempotency-Key": "g"}
    )
    assert grant.status_code == 201, grant.text
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {made.json()['key']}"}
    ) as app:
        quote = app.post(
            f"/v1/orgs/{org}/quote", json={"operation": "render", "dimensions": {"mode": "max"}}
        )
        assert quote.json()["total"] == "12"
        event = {"event_id": "e-1", "operation": "render", "dimensions": {"mode": "pro"}}
        used = app.post(f"/v1/orgs/{org}/usage", json=event)
        assert used.status_code == 201 and used.json()["cost"] == "3"
        hold = app.post(f"/v1/orgs/{org}/reservations", json={"amount": "10"}).json()
        done = app.post(f"/v1/orgs/{org}/reservations/{hold['id']}/commit", json={"amount": "8"})
        assert done.status_code == 200 and done.json()["released"] == "2"
        assert app.get(f"/v1/orgs/{org}/balance").json()["available"] == "9"
        event = {"event_id": "e-2", "operation": "render", "dimensions": {"mode": "max"}}
        refused = app.post(f"/v1/orgs/{org}/usage", json=event)
        assert refused.status_code == 402, refused.text
        assert refused.json()["needed"] == "12" and refused.json()["available"] == "9"
        assert "creditline_http_requests_total" in app.get("/metrics").text
    return made.json()["key"]


@pytest.mark.postgres
def test_several_workers_serve_one_postgresql_database(tmp_path: Path) -> None:
    with postgres_schema() as db:
        made = _cli(db, "key", "create", "--operator", "--name", "e2e", "-f", "json")
        assert made.returncode == 0, made.stderr
        headers = {"Authorization": f"Bearer {json.loads(made.stdout)['key']}"}
        port = _free_port()
        env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
        env.pop("PROMETHEUS_MULTIPROC_DIR", None)
        log = tmp_path / "serve.log"
        with log.open("w") as sink:
            process = subprocess.Popen(
                [*CLI, "--db", db, "serve", "--port", str(port), "--workers", "2"],
                stdout=sink,
                stderr=sink,
                env=env,
                start_new_session=True,  # the workers too are stopped if the test fails
            )
        try:
            url = f"http://127.0.0.1:{port}"
            wait_ready(process, url, log)
            with httpx.Client(base_url=url, headers=headers) as http:
                org = http.post("/v1/orgs", json={"name": "Shared"}).json()["id"]
                for i in range(20):  # each key twice: the second answer is replayed
                    answer = http.post(
                        f"/v1/orgs/{org}/grants",
                        json={"amount": "1"},
                        headers={"Idempotency-Key": f"g{i % 10}"},
                    )
                    assert answer.status_code == 201, answer.text
                assert http.get(f"/v1/orgs/{org}/balance").json()["total"] == "10"
                metrics = http.get("/metrics").text
                assert 'route="/v1/orgs/{org_id}/grants",status="201"} 20.0' in metrics, metrics
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=60) == 0, log.read_text()
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait()
