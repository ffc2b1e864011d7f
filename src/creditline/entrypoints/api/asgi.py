"""Small ASGI helpers shared by the service's middleware: answering a problem before the
application runs, reading and replaying a request body, the request's state."""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from creditline.entrypoints.api.problems import PROBLEM_JSON

__all__ = ["ASGIApp", "Message", "Receive", "Scope", "Send", "replay", "send_json", "state"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def state(scope: Scope) -> dict[str, Any]:
    """The request's state (``request.state`` in routes), made if missing."""
    found: dict[str, Any] = scope.setdefault("state", {})
    return found


def header(scope: Scope, name: bytes) -> str | None:
    """A request header's value (latin-1), or ``None``."""
    for key, value in scope.get("headers", ()):
        if key.lower() == name:
            return bytes(value).decode("latin-1")
    return None


async def send_json(
    send: Send,
    body: dict[str, Any],
    status: int | None = None,
    headers: list[tuple[bytes, bytes]] | None = None,
    media_type: str = PROBLEM_JSON,
) -> None:
    """Answer with a JSON body (problem details by default)."""
    data = json.dumps(body, separators=(",", ":")).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status or int(body["status"]),
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(data)).encode()),
                *(headers or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": data})


def replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives ``body`` whole, then defers to the real one (disconnects)."""
    sent = False

    async def receive_again() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return receive_again
