"""Keys with a cap through the HTTP client answer as the library does: the capped key is
made, charges with it are refused past its cap (``KeyCapExceeded`` rebuilt with its
members) or outside its operations, and the key lists with what it used."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

from creditline import Creditline, credits
from creditline.client import Client
from creditline.domain.api_keys import ApiKey, IssuedKey
from creditline.domain.errors import KeyCapExceeded, OperationNotAllowed
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER, Server

pytestmark = SERVER

As = Callable[[IssuedKey], Any]
"""The engine to charge with as a key: the library itself, or a client holding the key."""


def _plain(key: ApiKey) -> ApiKey:
    """A key without what differs between engines by chance (its prefix, its last use)."""
    return replace(key, prefix="", last_used_at=None)


def _run(cl: Any, as_key: As) -> list[Any]:
    org = cl.create_org("Capped").id
    cl.grant(org, credits(10))
    issued = cl.create_api_key("org", org, name="agent", cap=credits(2), operations=["ping"])
    agent, key_id = as_key(issued), issued.key.id
    done = [
        outcome(lambda: _plain(issued.key)),
        outcome(lambda: agent.record(org, "a", "ping", key_id=key_id)),
        outcome(lambda: agent.reserve(org, credits(1), operation="ping", key_id=key_id)),
        outcome(lambda: agent.spend(org, credits(1), operation="ping", key_id=key_id)),
        outcome(lambda: agent.record(org, "c", "ping", key_id=key_id)),
        outcome(lambda: agent.spend(org, credits(1), operation="nope", key_id=key_id)),
        outcome(lambda: [_plain(k) for k in cl.api_keys(org) if k.id == key_id]),
    ]
    return done


def test_capped_keys_answer_as_the_library_does(
    embedded: Creditline, client: Client, server: Server
) -> None:
    here = _run(embedded, lambda issued: embedded)
    opened: list[Client] = []

    def as_client(issued: IssuedKey) -> Client:
        opened.append(Client(server.url, issued.secret))
        return opened[-1]

    try:
        there = _run(client, as_client)
    finally:
        for agent in opened:
            agent.close()
    assert Canon()(there) == Canon()(here)
    assert isinstance(here[3], KeyCapExceeded) and here[3].room == 0
    assert isinstance(there[3], KeyCapExceeded) and there[3].cap == credits(2)
    assert isinstance(there[4].error, KeyCapExceeded)
    assert isinstance(there[5], OperationNotAllowed) and there[5].allowed == ("ping",)
    (listed,) = there[6]
    assert (listed.used_micros, listed.room_micros) == (credits(2), 0)
