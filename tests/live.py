"""Live servers in tests: their environment, and waiting until a ``creditline serve``
process answers."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path
from typing import Any

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

__all__ = ["ALLOW_NETWORKS_ENV", "LOCAL_NETWORKS", "server_env", "wait_ready"]

ALLOW_NETWORKS_ENV = "CREDITLINE_WEBHOOK_ALLOW_NETWORKS"
LOCAL_NETWORKS = "127.0.0.0/8,::1/128"
"""The networks the tests' webhook receivers listen on: allowed explicitly, since a
server refuses to send webhooks to anything but public addresses by default."""


def server_env(**extra: str) -> dict[str, str]:
    """The environment of a live server or CLI process in tests: this one's, with the
    local receivers' networks allowed for webhooks, and ``extra``."""
    return {**os.environ, ALLOW_NETWORKS_ENV: LOCAL_NETWORKS, **extra}


def wait_ready(
    process: subprocess.Popen[Any], url: str, log: Path | None = None, seconds: float = 60
) -> None:
    """Return once ``url``'s ``/readyz`` answers 200; fail with the server's output (its
    ``log`` file, else its stderr) if it exits or is not ready within ``seconds``."""

    def output() -> str:
        if log is not None:
            return log.read_text()
        if process.poll() is not None:
            return str(process.communicate()[1])
        return "(still running)"

    deadline = time.monotonic() + seconds
    while True:
        assert process.poll() is None, output()
        try:
            if httpx.get(f"{url}/readyz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert time.monotonic() < deadline, "the server did not get ready:\n" + output()
        time.sleep(0.1)
