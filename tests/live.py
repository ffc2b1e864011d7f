"""Live servers in tests: waiting until a ``creditline serve`` process answers."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path
from typing import Any

try:
    import httpx2 as httpx  # Starlette 1.x's TestClient client
except ModuleNotFoundError:  # pragma: no cover - older Starlette uses httpx
    import httpx  # type: ignore[no-redef]

__all__ = ["wait_ready"]


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
