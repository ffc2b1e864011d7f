"""Where a request's CPU goes in a live ``creditline serve``: py-spy on the server process
while ``wrk`` drives one kind of request (``bench/wrk_load.lua``).

Run: ``.venv/bin/python bench/profile_http.py reserve`` (or ``batch``, ``record``,
``healthz``; ``--postgres`` for PostgreSQL). It needs ``py-spy`` (``pip install py-spy``)
and ``wrk``. It starts a server on SQLite (or a throw-away PostgreSQL schema), sets up
the bench organization as ``bench/http_api.py`` does, samples the server for
``--seconds`` with py-spy (every thread; waiting threads left out), and prints the share
of the busy samples in each part of the stack (named by the innermost frame of a known
library), and the CPU per request, so a share is also milliseconds of a request; the
folded stacks can be kept for a flame graph (``--keep``). Nothing here asserts on time.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import common
import http_api

# The first match, innermost frame first, names the part a sample belongs to.
PARTS = (
    ("engine: domain", "creditline/domain/"),
    ("engine: services", "creditline/services/"),
    ("engine: storage", "creditline/adapters/"),
    ("engine: facade", "creditline/bootstrap.py"),
    ("engine: facade", "creditline/facade/"),
    ("database driver", "sqlalchemy/"),
    ("database driver", "psycopg/"),
    ("database driver", "sqlite3/"),
    ("retries", "tenacity/"),
    ("http: creditline", "creditline/entrypoints/"),
    ("http: pydantic", "pydantic"),
    ("http: fastapi", "fastapi/"),
    ("http: starlette", "starlette/"),
    ("http: uvicorn", "uvicorn/"),
    ("metrics", "prometheus_client/"),
    ("logging", "logging/"),
    ("event loop, threads", "asyncio/"),
    ("event loop, threads", "concurrent/"),
    ("event loop, threads", "threading.py"),
    ("event loop, threads", "anyio/"),
)


# Innermost frames of a thread that waits: the event loop polling (in C, under
# ``Runner.run``), idle worker threads, sleeps. py-spy cannot always tell them idle.
WAITING = ("Runner.run", "_worker", "Condition.wait", "Event.wait", "sleep", "select")


def part_of(stack: str) -> str:
    frames = stack.split(";")
    if frames[-1].split(" (")[0].rsplit(".", 1)[-1] in {w.rsplit(".", 1)[-1] for w in WAITING}:
        return "waiting"
    for frame in reversed(frames):
        for name, marker in PARTS:
            if marker in frame:
                return name
    return "other"


def summarize(folded: Path) -> list[tuple[str, float]]:
    counts: collections.Counter[str] = collections.Counter()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if stack and count.isdigit() and part_of(stack) != "waiting":
            counts[part_of(stack)] += int(count)
    total = sum(counts.values()) or 1
    return [(name, n / total) for name, n in counts.most_common()]


def main(argv: list[str] | None = None) -> int:
    parser = common.parser(__doc__ or "")
    parser.add_argument("kind", choices=("reserve", "batch", "record", "healthz"))
    parser.add_argument("--postgres", action="store_true")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--keep", type=Path, help="write the folded stacks here")
    args = parser.parse_args(argv)
    spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    database = (
        common.postgres_database(args.postgres_url) if args.postgres else common.sqlite_database()
    )
    with database as db, tempfile.TemporaryDirectory(prefix="creditline-profile-") as tmp:
        operator = http_api.json.loads(
            http_api._cli(db, "key", "create", "--operator", "--name", "p", "-f", "json")
        )["key"]
        with http_api.live_server(db, 1, Path(tmp)) as server:
            org, key = http_api.set_up(server.url, operator)
            kind, path, auth = {
                "reserve": ("reserve", f"/v1/orgs/{org}/reservations", key),
                "batch": ("batch", f"/v1/orgs/{org}/usage/batch", key),
                "record": ("record", f"/v1/orgs/{org}/usage", key),
                "healthz": ("get", "/healthz", None),
            }[args.kind]
            folded = Path(tmp) / "folded.txt"
            record = [
                spy, "record", "--pid", str(server.process.pid), "--format", "raw",
                "--duration", str(round(args.seconds)), "--rate", "250", "--threads",
                "--nonblocking", "--output", str(folded),
            ]  # fmt: skip
            sampler = threading.Thread(
                target=subprocess.run, args=(record,), kwargs={"capture_output": True}
            )
            sampler.start()
            load = http_api.wrk(
                server, kind, path, auth, connections=args.connections,
                seconds=args.seconds, phase=f"profile{args.kind}",
            )  # fmt: skip
            sampler.join()
            print(f"{args.kind}: {load.per_s:,.0f} requests/s, {load.cpu()}")
            for name, share in summarize(folded):
                print(f"  {name:<22} {share:6.1%}")
            if args.keep:
                shutil.copy(folded, args.keep)
    return 0


if __name__ == "__main__":
    sys.exit(main())
