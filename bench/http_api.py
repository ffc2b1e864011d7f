"""HTTP benchmark: usage ingest and reservations through a live ``creditline serve``.

Run with ``make bench-http`` (or ``.venv/bin/python bench/http_api.py``). For SQLite (a temp
file) and PostgreSQL (a throw-away schema; one worker, then ``--workers 2``) it starts a
real server process on a free port, makes an operator key with the CLI, then over HTTP
loads the aiXplain rate card, creates an organization priced by it with a large grant
and an organization key, and measures with httpx clients on the same machine:

- events/s through ``POST /v1/orgs/{org}/usage/batch`` with 1,000 events a request
  (``--requests`` of them, one client sending one after the other; then the same with
  4 clients at once), every event checked accepted;
- latency p50/p99 of ``POST /v1/orgs/{org}/usage`` (one event) and of
  ``POST /v1/orgs/{org}/reservations`` at 1, 16 and 64 concurrent clients (each a
  thread with its own connection), and the requests/s they reached;
- requests/s of ``GET /healthz`` (no key, no database) at 16 clients, for comparison;
- from the server's own log lines (``duration_ms``, from the outermost middleware to the
  last byte of the answer) the server-side p50/p99 of the same requests: the rest of the
  client's figure is the client, the socket and uvicorn's HTTP parsing;
- CPU milliseconds per request of the server's processes (from /proc) and of this
  client process: client and server share the machine's cores.

The rate limit is off (``CREDITLINE_API_RATE_PER_SECOND=0``); everything else is the
default configuration, one JSON log line a request included. All requests go to one
organization. Each server is stopped with SIGTERM (its exit code is reported) and
nothing is left running, even on an error. The last line is one JSON object with every
figure. Nothing here asserts on time.

(Not ``bench/http.py``: a script's folder comes first on ``sys.path``, so that name would
hide the standard library's ``http`` from every script in ``bench/``.)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "examples" / "aixplain" / "ratecard.toml").read_text()
CLI = str(Path(sys.executable).parent / "creditline")
BATCH = 1_000
BATCH_CLIENTS = 4
LEVELS = (1, 16, 64)
PER_CLIENT = {1: 200, 16: 50, 64: 20}  # requests per client at each level, x --samples
TRIVIAL_CLIENTS = 16
TRIVIAL_PER_CLIENT = 200


@dataclass
class Server:
    url: str
    log: Path
    process: subprocess.Popen[bytes]
    exit_code: int | None = None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _cli(db: str, *args: str) -> str:
    done = subprocess.run(
        [CLI, "--db", db, *args], capture_output=True, text=True, timeout=120, check=False
    )
    if done.returncode != 0:
        raise RuntimeError(f"creditline {' '.join(args)}: exit {done.returncode}: {done.stderr}")
    return done.stdout


def _stop(server: Server) -> None:
    """SIGTERM, a graceful wait, then SIGKILL to whatever of its group is still there."""
    process = server.process
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    server.exit_code = process.returncode
    try:  # workers of a uvicorn supervisor that died: the session is ours alone
        os.killpg(process.pid, 0)
    except ProcessLookupError:
        return
    os.killpg(process.pid, signal.SIGKILL)


@contextmanager
def live_server(db: str, workers: int, tmp: Path) -> Iterator[Server]:
    port = _free_port()
    env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if workers > 1:  # else serve makes one in /tmp and leaves it there
        metrics = tmp / f"metrics-{port}"
        metrics.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    log = tmp / f"serve-{port}.log"
    command = [
        CLI,
        "--db",
        db,
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--tick-every",
        "0",
    ]
    command += ["--workers", str(workers)]
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=sink, env=env, start_new_session=True
        )
    server = Server(f"http://127.0.0.1:{port}", log, process)
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited {process.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{server.url}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not get ready: {log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(server)


def _ok(answer: httpx.Response, status: int) -> httpx.Response:
    if answer.status_code != status:
        raise RuntimeError(
            f"{answer.request.method} {answer.request.url.path}: "
            f"{answer.status_code} {answer.text[:500]}"
        )
    return answer


def set_up(url: str, operator_key: str) -> tuple[str, str]:
    """The card, an organization priced by it with 100M credits, and its own key."""
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {operator_key}"}, timeout=60
    ) as http:
        _ok(http.post("/v1/rate-cards", json={"toml": CARD}), 201)
        org = _ok(http.post("/v1/orgs", json={"name": "bench-http"}), 201).json()["id"]
        _ok(http.put(f"/v1/orgs/{org}/rate-card", json={"rate_card": "aixplain"}), 200)
        _ok(http.post(f"/v1/orgs/{org}/grants", json={"amount": "100000000"}), 201)
        made = http.post("/v1/api-keys", json={"role": "org", "org_id": org, "name": "bench"})
        return org, _ok(made, 201).json()["key"]


def _event(event_id: str, n: int) -> dict[str, object]:
    """A translate call of a varying size (so no two events price alike)."""
    return {
        "event_id": event_id,
        "operation": "translate",
        "quantities": {"characters": 1_000 + n % 5_000},
        "dimensions": {"model": "azure-translator"},
    }


def _batch_body(first: int) -> bytes:
    events = [_event(f"b-{first + i}", first + i) for i in range(BATCH)]
    return json.dumps({"events": events}).encode()


def batch_rate(
    url: str, key: str, org: str, bodies: list[bytes], *, clients: int, phase: str
) -> float:
    """Events/s of the batches (pre-encoded) sent by ``clients`` at once, each one after
    the other; every event must be accepted."""
    answers: list[bytes] = []
    failures: list[str] = []
    barrier = threading.Barrier(clients + 1)
    headers = {"Authorization": f"Bearer {key}", "Content-Type": "application/json"}

    def client(c: int) -> None:
        with httpx.Client(base_url=url, headers=headers, timeout=300) as http:
            http.get("/healthz")  # connected before the clock starts
            barrier.wait()
            for i, body in enumerate(bodies[c::clients]):
                answer = http.post(
                    f"/v1/orgs/{org}/usage/batch",
                    content=body,
                    headers={"X-Request-Id": f"{phase}.{c}.{i}"},
                )
                if answer.status_code != 200:
                    failures.append(f"{answer.status_code} {answer.text[:500]}")
                answers.append(answer.content)

    elapsed = _run_clients(client, clients, barrier)
    if failures:
        raise RuntimeError(f"batch: {failures[0]}")
    accepted = sum(json.loads(a)["accepted"] for a in answers)
    if accepted != len(bodies) * BATCH:
        raise RuntimeError(f"batch: {accepted} of {len(bodies) * BATCH} events accepted")
    return accepted / elapsed


def _run_clients(client: Callable[[int], None], clients: int, barrier: threading.Barrier) -> float:
    """Seconds from the barrier's release to the last client's end."""
    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(clients)]
    for t in threads:
        t.start()
    barrier.wait()
    began = time.perf_counter()
    for t in threads:
        t.join()
    return time.perf_counter() - began


Request = Callable[[httpx.Client, str, int], httpx.Response]


def load(
    url: str, key: str | None, request: Request, *, clients: int, per_client: int, status: int,
    phase: str, rate: float | None = None,
) -> tuple[list[float], float]:  # fmt: skip
    """Latencies (ms) of ``clients`` threads each making ``per_client`` requests, and the
    requests/s they made together.

    Without ``rate`` each client sends its next request as soon as it has the answer
    (closed loop: the server is saturated, and latency is about clients / throughput).
    With ``rate`` the clients together send ``rate`` requests a second on a fixed
    schedule, staggered, and each latency counts from the request's scheduled time, so
    a late answer also delays (and is charged to) the requests queued behind it."""
    samples: list[float] = []
    failures: list[str] = []
    barrier = threading.Barrier(clients + 1)
    headers = {} if key is None else {"Authorization": f"Bearer {key}"}

    def client(c: int) -> None:
        mine = []
        with httpx.Client(base_url=url, headers=headers, timeout=120) as http:
            request(http, f"{phase}-warm.{c}", 0)  # the connection, before the clock
            barrier.wait()
            origin = time.perf_counter_ns()
            gap = 0 if rate is None else int(clients / rate * 1e9)
            for i in range(per_client):
                started = time.perf_counter_ns()
                if gap:
                    started = origin + (i * clients + c) * gap // clients
                    ahead = started - time.perf_counter_ns()
                    if ahead > 0:
                        time.sleep(ahead / 1e9)
                answer = request(http, f"{phase}.{c}.{i}", i)
                mine.append((time.perf_counter_ns() - started) / 1e6)
                if answer.status_code != status:
                    failures.append(f"{answer.status_code} {answer.text[:500]}")
        samples.extend(mine)

    elapsed = _run_clients(client, clients, barrier)
    if failures:
        raise RuntimeError(f"{phase}: {len(failures)} failed, first: {failures[0]}")
    return samples, clients * per_client / elapsed


def percentiles(samples: list[float]) -> tuple[float, float]:
    """p50 and p99, as bench/common.py computes them."""
    ordered = sorted(samples)
    return statistics.median(ordered), ordered[max(0, int(len(ordered) * 0.99) - 1)]


def server_side(log: Path) -> dict[str, list[float]]:
    """The server's own duration_ms of each request, by phase (the request id's prefix)."""
    found: dict[str, list[float]] = defaultdict(list)
    for line in log.read_text(errors="replace").splitlines():
        if not line.startswith("{"):
            continue
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if record.get("message") == "request" and "duration_ms" in record:
            phase = str(record.get("request_id", "")).split(".")[0]
            found[phase].append(float(record["duration_ms"]))
    return found


def run(name: str, db: str, workers: int, args: argparse.Namespace, out: dict[str, float]) -> None:
    with tempfile.TemporaryDirectory(prefix="creditline-bench-http-") as tmp:
        operator = json.loads(
            _cli(db, "key", "create", "--operator", "--name", "bench", "-f", "json")
        )["key"]
        with live_server(db, workers, Path(tmp)) as server:
            measure(name, server, operator, args, out)
        out[f"{name}_server_exit_code"] = server.exit_code if server.exit_code is not None else -1
        print(f"{name}: server stopped by SIGTERM, exit code {server.exit_code}")


def server_cpu(server: Server) -> float | None:
    """CPU seconds used so far by the server's processes (its session: the supervisor and
    any workers), from /proc; None where there is no /proc."""
    total, found = 0, False
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[3]) == server.process.pid:  # the session id (start_new_session)
            total += int(fields[11]) + int(fields[12])  # utime, stime (clock ticks)
            found = True
    return total / os.sysconf("SC_CLK_TCK") if found else None


@dataclass
class Cost:
    """CPU milliseconds per request of the server and of this (client) process."""

    server_ms: float | None = None
    client_ms: float = 0.0

    def text(self) -> str:
        server = "?" if self.server_ms is None else f"{self.server_ms:.2f}"
        return f"CPU/request: server {server} ms, client {self.client_ms:.2f} ms"


@contextmanager
def costing(server: Server, requests: int) -> Iterator[Cost]:
    cost = Cost()
    server_before, client_before = server_cpu(server), time.process_time()
    yield cost
    server_after = server_cpu(server)
    cost.client_ms = (time.process_time() - client_before) * 1000 / requests
    if server_before is not None and server_after is not None:
        cost.server_ms = (server_after - server_before) * 1000 / requests


def measure(
    name: str, server: Server, operator: str, args: argparse.Namespace, out: dict[str, float]
) -> None:
    url = server.url
    org, key = set_up(url, operator)
    warm = _event("warm-0", 0)
    with httpx.Client(base_url=url, headers={"Authorization": f"Bearer {key}"}) as http:
        _ok(http.post(f"/v1/orgs/{org}/usage/batch", json={"events": [warm]}), 200)

    def keep(label: str, cost: Cost) -> None:
        if cost.server_ms is not None:
            out[f"{name}_server_cpu_ms_per_request_{label}"] = cost.server_ms
        out[f"{name}_client_cpu_ms_per_request_{label}"] = cost.client_ms

    for clients, suffix in ((1, ""), (BATCH_CLIENTS, f"_c{BATCH_CLIENTS}")):
        first = (0 if clients == 1 else args.requests) * BATCH
        bodies = [_batch_body(first + r * BATCH) for r in range(args.requests)]
        with costing(server, len(bodies)) as cost:
            rate = batch_rate(url, key, org, bodies, clients=clients, phase=f"batch{clients}")
        out[f"{name}_http_batch_events_per_s{suffix}"] = rate
        keep(f"batch_c{clients}", cost)
        print(
            f"{name}: batches of {BATCH:,} events, {clients} client(s)  {rate:>8,.0f} events/s"
            f"   {cost.text()}"
        )

    def record(http: httpx.Client, rid: str, n: int) -> httpx.Response:
        return http.post(
            f"/v1/orgs/{org}/usage", json=_event(f"one-{rid}", n), headers={"X-Request-Id": rid}
        )

    def reserve(http: httpx.Client, rid: str, n: int) -> httpx.Response:
        body = {"amount_micros": 1_000_000, "ttl_seconds": 3600}
        return http.post(f"/v1/orgs/{org}/reservations", json=body, headers={"X-Request-Id": rid})

    def healthz(http: httpx.Client, rid: str, n: int) -> httpx.Response:
        return http.get("/healthz", headers={"X-Request-Id": rid})

    runs: list[tuple[str, Request, str | None, int, int]] = [
        (what, request, key, clients, PER_CLIENT[clients])
        for what, request in (("record", record), ("reserve", reserve))
        for clients in LEVELS
    ]
    runs.append(("trivial", healthz, None, TRIVIAL_CLIENTS, TRIVIAL_PER_CLIENT))
    for what, request, auth, clients, count in runs:
        per_client = max(1, round(count * args.samples))
        status = 200 if what == "trivial" else 201
        phase = f"{what}{clients}"
        with costing(server, clients * per_client) as cost:
            samples, rps = load(
                url, auth, request, clients=clients, per_client=per_client, status=status,
                phase=phase,
            )  # fmt: skip
        p50, p99 = percentiles(samples)
        if what == "trivial":
            out[f"{name}_trivial_requests_per_s"] = rps
            out[f"{name}_trivial_p50_ms"], out[f"{name}_trivial_p99_ms"] = p50, p99
            label = "GET /healthz"
        else:
            out[f"{name}_http_{what}_p50_ms_c{clients}"] = p50
            out[f"{name}_http_{what}_p99_ms_c{clients}"] = p99
            out[f"{name}_http_{what}_requests_per_s_c{clients}"] = rps
            label = what
        keep(f"{what}_c{clients}", cost)
        print(
            f"{name}: {label:<12} {clients:>2} clients x {per_client:>3}   p50 {p50:7.2f} ms"
            f"   p99 {p99:7.2f} ms   {rps:>6,.0f} requests/s   {cost.text()}"
        )

    # A platform's backend at a steady pace, below saturation: 16 clients sending
    # PACED_RATE reserves a second together.
    per_client = max(1, round(PER_CLIENT[16] * args.samples))
    samples, rps = load(
        url, key, reserve, clients=16, per_client=per_client, status=201, phase="paced16",
        rate=args.paced_rate,
    )  # fmt: skip
    p50, p99 = percentiles(samples)
    out[f"{name}_http_reserve_p50_ms_c16_paced"] = p50
    out[f"{name}_http_reserve_p99_ms_c16_paced"] = p99
    out[f"{name}_http_reserve_paced_requests_per_s"] = rps
    print(
        f"{name}: reserve      16 clients paced at {args.paced_rate:,.0f}/s   p50 {p50:7.2f} ms"
        f"   p99 {p99:7.2f} ms   {rps:>6,.0f} requests/s"
    )
    verify(url, operator)
    server_side_report(name, server, out)


def verify(url: str, operator: str) -> None:
    with httpx.Client(
        base_url=url, headers={"Authorization": f"Bearer {operator}"}, timeout=300
    ) as http:
        report = _ok(http.get("/v1/verify"), 200).json()
    if not report["ok"]:
        raise RuntimeError(f"verify: {report['problems'][:5]}")


def server_side_report(name: str, server: Server, out: dict[str, float]) -> None:
    time.sleep(0.5)  # the last log lines
    sides = server_side(server.log)
    parts = []
    for phase in ("batch1", *(f"{w}{c}" for w in ("record", "reserve") for c in LEVELS)):
        if sides.get(phase):
            p50, p99 = percentiles(sides[phase])
            out[f"{name}_server_{phase}_p50_ms"], out[f"{name}_server_{phase}_p99_ms"] = p50, p99
            parts.append(f"{phase} {p50:.2f}/{p99:.2f}")
    print(f"{name}: server-side p50/p99 ms (its log): " + ", ".join(parts))


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument(
        "--requests", type=int, default=20, help=f"batch requests of {BATCH:,} events"
    )
    parser.add_argument(
        "--samples", type=float, default=1.0, help="scales the requests per latency client"
    )
    parser.add_argument(
        "--paced-rate", type=float, default=100.0,
        help="reserves a second, all 16 paced clients together",
    )  # fmt: skip
    args = parser.parse_args(argv)
    out: dict[str, float] = {}
    with common.sqlite_database() as db:
        run("sqlite", db, 1, args, out)
    if not args.skip_postgres:
        with common.postgres_database(args.postgres_url) as db:
            run("postgres", db, 1, args, out)
        with common.postgres_database(args.postgres_url) as db:
            run("postgres_w2", db, 2, args, out)
    out["trivial_requests_per_s"] = out["sqlite_trivial_requests_per_s"]
    print(json.dumps({k: round(v, 3) for k, v in out.items()}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
