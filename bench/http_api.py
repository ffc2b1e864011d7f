"""HTTP benchmark: usage ingest and reservations through a live ``creditline serve``, driven
by ``wrk`` (a compiled load generator: the client takes little of the server's CPU).

Run with ``make bench-http`` (or ``.venv/bin/python bench/http_api.py``; ``wrk`` is
Debian's package, which ``make bench-http`` installs). For SQLite (a temp file) and
PostgreSQL (a throw-away schema each; 1 worker, then ``--workers 2`` and ``4``) it starts a
real server process on a free port, makes an operator key with the CLI, then over HTTP
loads the aiXplain rate card, creates an organization priced by it with a large grant
and an organization key, and measures with ``wrk`` (one thread; ``bench/wrk_load.lua``
writes each request's body and unique ids):

- events/s through ``POST /v1/orgs/{org}/usage/batch`` with 1,000 events a request, 1
  connection and 4 connections, every event checked accepted;
- latency p50/p99 and requests/s of ``POST /v1/orgs/{org}/usage`` (one event) and of
  ``POST /v1/orgs/{org}/reservations`` at 1, 16 and 64 connections (each sends its
  next request when it has the answer), and reserves paced at ``--paced-rate`` a second;
- ``GET /healthz`` (no key, no database) at 16 connections.

**Baselines, in the same run, on the same server settings** (uvicorn, httptools,
uvloop, one worker: ``bench/bare_app.py``): a bare Starlette app's trivial route
(``trivial_ratio_to_bare``: creditline's ``/healthz`` over it, measured alternately, two
rounds each) and a bare app that decodes the same 1,000-event body and inserts its rows
raw into the same kind of database (``{db}_http_batch_ratio_to_bare``), and whose
reserve route inserts one row and commits it, a commit a request, at 16 connections
(``{db}_bare_http_reserve_p99_ms_c16``, ``{db}_bare_http_reserves_per_s_c16``). The
machine's speed moves from day to day: the ratios are the figures to compare across runs.

Also, from the server's own log lines (``duration_ms``, from the outermost middleware to
the last byte of the answer) the server-side p50/p99 of the same requests, and the CPU
milliseconds per request of the server's processes (from /proc) and of ``wrk``.

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
import resource
import secrets
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common

ROOT = Path(__file__).resolve().parent.parent
CARD = (ROOT / "examples" / "aixplain" / "ratecard.toml").read_text()
CLI = str(Path(sys.executable).parent / "creditline")
BENCH = Path(__file__).resolve().parent
SCRIPT = BENCH / "wrk_load.lua"
BATCH = 1_000
BATCH_CLIENTS = 4
LEVELS = (1, 16, 64)
TRIVIAL_CLIENTS = 16


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
def started(command: list[str], log: Path, url: str, env: dict[str, str]) -> Iterator[Server]:
    """A server process in a session of its own, once ``/healthz`` answers; stopped after."""
    with log.open("wb") as sink:
        process = subprocess.Popen(
            command, stdout=sink, stderr=sink, env=env, start_new_session=True
        )
    server = Server(url, log, process)
    try:
        deadline = time.monotonic() + 240  # workers start slowly on a busy machine
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"the server exited {process.returncode}: {log.read_text()}")
            try:
                if httpx.get(f"{server.url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"the server did not get ready: {log.read_text()}")
            time.sleep(0.1)
        yield server
    finally:
        _stop(server)


@contextmanager
def live_server(db: str, workers: int, tmp: Path) -> Iterator[Server]:
    port = _free_port()
    env = {**os.environ, "CREDITLINE_API_RATE_PER_SECOND": "0"}
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    if workers > 1:  # else serve makes one in /tmp and leaves it there
        metrics = tmp / f"metrics-{port}"
        metrics.mkdir()
        env["PROMETHEUS_MULTIPROC_DIR"] = str(metrics)
    command = [CLI, "--db", db, "serve", "--host", "127.0.0.1", "--port", str(port)]
    command += ["--tick-every", "0", "--workers", str(workers)]
    url = f"http://127.0.0.1:{port}"
    with started(command, tmp / f"serve-{port}.log", url, env) as server:
        yield server


@contextmanager
def bare_server(db: str | None, tmp: Path) -> Iterator[Server]:
    """``bench/bare_app.py`` on the same server settings as ``creditline serve``."""
    port = _free_port()
    command = [sys.executable, str(BENCH / "bare_app.py"), str(port), *([db] if db else [])]
    url = f"http://127.0.0.1:{port}"
    with started(command, tmp / f"bare-{port}.log", url, dict(os.environ)) as server:
        yield server


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


@dataclass
class Load:
    """What one run of ``wrk`` measured."""

    requests: int
    seconds: float
    p50_ms: float
    p99_ms: float
    server_cpu_ms: float | None
    client_cpu_ms: float
    raw: dict[str, float] = field(default_factory=dict)

    @property
    def per_s(self) -> float:
        return self.requests / self.seconds

    def cpu(self) -> str:
        server = "?" if self.server_cpu_ms is None else f"{self.server_cpu_ms:.2f}"
        return f"CPU/request: server {server} ms, wrk {self.client_cpu_ms:.3f} ms"


def wrk(
    server: Server, kind: str, path: str, key: str | None, *, connections: int,
    seconds: float, phase: str, pace_ms: int = 0,
) -> Load:  # fmt: skip
    """Drive ``server`` with ``wrk`` (one thread) for ``seconds``; fail on any error."""
    run = f"{phase}-{secrets.token_hex(4)}"
    command = [
        WRK, "-t1", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--timeout", "60s",
        "-s", str(SCRIPT), server.url + path, "--",
        kind, path, key or "-", phase, run, str(pace_ms),
    ]  # fmt: skip
    server_before = server_cpu(server)
    children_before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run(
        command, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    children_after = resource.getrusage(resource.RUSAGE_CHILDREN)
    server_after = server_cpu(server)
    line = next((x for x in done.stdout.splitlines() if x.startswith("WRKJSON ")), None)
    if done.returncode != 0 or line is None:
        raise RuntimeError(f"wrk {phase}: exit {done.returncode}: {done.stdout} {done.stderr}")
    raw = json.loads(line.removeprefix("WRKJSON "))
    errors = {k: raw[k] for k in raw if k.endswith(("errors", "timeouts", "batches")) and raw[k]}
    if errors or not raw["requests"]:
        raise RuntimeError(f"wrk {phase}: {errors or 'no request answered'}; see {server.log}")
    count = raw["requests"]
    client = (children_after.ru_utime + children_after.ru_stime) - (
        children_before.ru_utime + children_before.ru_stime
    )
    return Load(
        requests=count,
        seconds=raw["duration_us"] / 1e6,
        p50_ms=raw["p50_us"] / 1000,
        p99_ms=raw["p99_us"] / 1000,
        server_cpu_ms=None
        if server_before is None or server_after is None
        else (server_after - server_before) * 1000 / count,
        client_cpu_ms=client * 1000 / count,
        raw=raw,
    )


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


def run(
    name: str, db: str, workers: int, args: argparse.Namespace, out: dict[str, float],
    *, full: bool,
) -> None:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="creditline-bench-http-") as tmp:
        operator = json.loads(
            _cli(db, "key", "create", "--operator", "--name", "bench", "-f", "json")
        )["key"]
        with live_server(db, workers, Path(tmp)) as server:
            if full:
                bare_db = _bare_database(db, Path(tmp))
                with (
                    bare_server(None, Path(tmp)) as trivial,
                    bare_server(bare_db, Path(tmp)) as bare,
                ):
                    measure(name, server, operator, args, out, trivial=trivial, bare=bare)
            else:
                measure(name, server, operator, args, out, trivial=None, bare=None)
        out[f"{name}_server_exit_code"] = server.exit_code if server.exit_code is not None else -1
        print(f"{name}: server stopped by SIGTERM, exit code {server.exit_code}")


def _bare_database(db: str, tmp: Path) -> str:
    """The bare app's database: a file of its own beside, or the same throw-away schema."""
    return f"sqlite:///{tmp / 'bare.db'}" if db.startswith("sqlite") else db


def measure(
    name: str, server: Server, operator: str, args: argparse.Namespace, out: dict[str, float],
    *, trivial: Server | None, bare: Server | None,
) -> None:  # fmt: skip
    org, key = set_up(server.url, operator)
    seconds = args.seconds
    with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {key}"}) as http:
        warm = {
            "event_id": "warm-0",
            "operation": "translate",
            "quantities": {"characters": 1000},
            "dimensions": {"model": "azure-translator"},
        }
        _ok(http.post(f"/v1/orgs/{org}/usage/batch", json={"events": [warm]}), 200)

    def keep(label: str, load: Load) -> None:
        if load.server_cpu_ms is not None:
            out[f"{name}_server_cpu_ms_per_request_{label}"] = load.server_cpu_ms
        out[f"{name}_client_cpu_ms_per_request_{label}"] = load.client_cpu_ms

    if trivial is not None:
        trivial_ratio(name, server, trivial, seconds, out)

    batch_path = f"/v1/orgs/{org}/usage/batch"
    for clients, suffix in ((1, ""), (BATCH_CLIENTS, f"_c{BATCH_CLIENTS}")):
        load = wrk(server, "batch", batch_path, key, connections=clients, seconds=seconds,
                   phase=f"batch{clients}")  # fmt: skip
        rate = load.per_s * BATCH
        out[f"{name}_http_batch_events_per_s{suffix}"] = rate
        keep(f"batch_c{clients}", load)
        print(f"{name}: batches of {BATCH:,} events, {clients} connection(s)  {rate:>9,.0f} "
              f"events/s   p50 {load.p50_ms:7.2f} ms   {load.cpu()}")  # fmt: skip
    if bare is not None:
        load = wrk(bare, "batch", batch_path, None, connections=1, seconds=seconds,
                   phase="barebatch1")  # fmt: skip
        rate = load.per_s * BATCH
        out[f"{name}_bare_http_batch_events_per_s"] = rate
        out[f"{name}_http_batch_ratio_to_bare"] = out[f"{name}_http_batch_events_per_s"] / rate
        print(f"{name}: bare app, same batches, 1 connection   {rate:>9,.0f} events/s   "
              f"ratio {out[f'{name}_http_batch_ratio_to_bare']:.3f}   {load.cpu()}")  # fmt: skip

    paths = {"record": f"/v1/orgs/{org}/usage", "reserve": f"/v1/orgs/{org}/reservations"}
    if bare is not None:
        load = wrk(bare, "reserve", paths["reserve"], None, connections=16, seconds=seconds,
                   phase="barereserve16")  # fmt: skip
        out[f"{name}_bare_http_reserve_p99_ms_c16"] = load.p99_ms
        out[f"{name}_bare_http_reserves_per_s_c16"] = load.per_s
        print(f"{name}: bare app, a commit a reserve, 16 connections   p50 {load.p50_ms:7.2f} ms"
              f"   p99 {load.p99_ms:7.2f} ms   {load.per_s:>7,.0f} requests/s   "
              f"{load.cpu()}")  # fmt: skip
    kinds = ("record", "reserve") if trivial is not None else ("reserve",)
    for what in kinds:
        for clients in LEVELS if trivial is not None else (16, 64):
            load = wrk(server, what, paths[what], key, connections=clients, seconds=seconds,
                       phase=f"{what}{clients}")  # fmt: skip
            out[f"{name}_http_{what}_p50_ms_c{clients}"] = load.p50_ms
            out[f"{name}_http_{what}_p99_ms_c{clients}"] = load.p99_ms
            out[f"{name}_http_{what}_requests_per_s_c{clients}"] = load.per_s
            keep(f"{what}_c{clients}", load)
            print(f"{name}: {what:<8} {clients:>2} connections   p50 {load.p50_ms:7.2f} ms   "
                  f"p99 {load.p99_ms:7.2f} ms   {load.per_s:>7,.0f} requests/s   "
                  f"{load.cpu()}")  # fmt: skip
    out[f"{name}_http_reserves_per_s_c16"] = out[f"{name}_http_reserve_requests_per_s_c16"]
    if trivial is not None:
        paced(name, server, paths["reserve"], key, args=args, out=out)
    verify(server.url, operator)
    server_side_report(name, server, out)


def trivial_ratio(
    name: str, server: Server, bare: Server, seconds: float, out: dict[str, float]
) -> None:
    """``GET /healthz`` of creditline and of the bare app, alternately, two rounds each."""
    ours, theirs = [], []
    for round_ in range(2):
        theirs.append(wrk(bare, "get", "/healthz", None, connections=TRIVIAL_CLIENTS,
                          seconds=seconds / 2, phase=f"baretrivial{round_}"))  # fmt: skip
        ours.append(wrk(server, "get", "/healthz", None, connections=TRIVIAL_CLIENTS,
                        seconds=seconds / 2, phase=f"trivial{round_}"))  # fmt: skip
    rate = sum(x.requests for x in ours) / sum(x.seconds for x in ours)
    bare_rate = sum(x.requests for x in theirs) / sum(x.seconds for x in theirs)
    out[f"{name}_trivial_requests_per_s"] = rate
    out[f"{name}_trivial_p50_ms"] = statistics.mean(x.p50_ms for x in ours)
    out[f"{name}_trivial_p99_ms"] = max(x.p99_ms for x in ours)
    out[f"{name}_bare_trivial_requests_per_s"] = bare_rate
    out[f"{name}_trivial_ratio_to_bare"] = rate / bare_rate
    cpu = [x.server_cpu_ms for x in ours if x.server_cpu_ms is not None]
    bare_cpu = [x.server_cpu_ms for x in theirs if x.server_cpu_ms is not None]
    if cpu and bare_cpu:
        out[f"{name}_server_cpu_ms_per_request_trivial"] = statistics.mean(cpu)
        out[f"{name}_bare_server_cpu_ms_per_request_trivial"] = statistics.mean(bare_cpu)
    print(f"{name}: GET /healthz  {TRIVIAL_CLIENTS} connections   {rate:>7,.0f} requests/s; "
          f"bare app {bare_rate:>7,.0f}/s; ratio {rate / bare_rate:.3f}")  # fmt: skip


def paced(
    name: str, server: Server, path: str, key: str, *, args: argparse.Namespace,
    out: dict[str, float],
) -> None:  # fmt: skip
    """A platform's backend at a steady pace, below saturation: 16 connections sending
    ``--paced-rate`` reserves a second together."""
    pace_ms = max(1, round(16 / args.paced_rate * 1000))
    load = wrk(server, "reserve", path, key, connections=16, seconds=args.seconds,
               phase="paced16", pace_ms=pace_ms)  # fmt: skip
    out[f"{name}_http_reserve_p50_ms_c16_paced"] = load.p50_ms
    out[f"{name}_http_reserve_p99_ms_c16_paced"] = load.p99_ms
    out[f"{name}_http_reserve_paced_requests_per_s"] = load.per_s
    print(f"{name}: reserve  16 connections paced at {args.paced_rate:,.0f}/s   "
          f"p50 {load.p50_ms:7.2f} ms   p99 {load.p99_ms:7.2f} ms   "
          f"{load.per_s:>6,.0f} requests/s")  # fmt: skip


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


WRK = shutil.which("wrk") or "/usr/bin/wrk"


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long each wrk run lasts")
    parser.add_argument(
        "--paced-rate", type=float, default=100.0,
        help="reserves a second, all 16 paced connections together",
    )  # fmt: skip
    parser.add_argument(
        "--workers", default="1,2,4", help="PostgreSQL's worker counts (1: the full set)"
    )
    args = parser.parse_args(argv)
    if not Path(WRK).exists():
        raise SystemExit("wrk is missing: `make bench-http` installs it (Debian's wrk)")
    out: dict[str, float] = {}
    with common.sqlite_database() as db:
        run("sqlite", db, 1, args, out, full=True)
    if not args.skip_postgres:
        for workers in (int(w) for w in args.workers.split(",")):
            name = "postgres" if workers == 1 else f"postgres_w{workers}"
            with common.postgres_database(args.postgres_url) as db:
                if workers == 1:
                    run(name, db, workers, args, out, full=True)
                    continue
                try:  # the other figures stand without these
                    run(name, db, workers, args, out, full=False)
                except RuntimeError as exc:
                    print(f"{name}: not measured: {str(exc)[:300]}")
    out["trivial_requests_per_s"] = out["sqlite_trivial_requests_per_s"]
    out["trivial_ratio_to_bare"] = out["sqlite_trivial_ratio_to_bare"]
    print(json.dumps({k: round(v, 3) for k, v in out.items()}, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main())
