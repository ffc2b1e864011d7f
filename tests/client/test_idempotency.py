"""Exactly once over HTTP: the caller's idempotency key makes a repeated call one effect,
as in the library; a lost answer is retried with the same key and does not repeat the
effect; and the service's own errors come back as the library's classes."""

from __future__ import annotations

import httpx
import pytest

from creditline import credits
from creditline.client import Client, InvalidRequest
from creditline.domain.errors import (
    AuthenticationFailed,
    IdempotencyKeyReused,
    OrganizationNotFound,
    PermissionDenied,
    ValidationError,
)
from tests.client.conftest import SERVER, Server

pytestmark = SERVER


class LosingTransport(httpx.BaseTransport):
    """Sends every request, but loses the answer to the first attempt of each POST, as a
    network that fails after the service has done the work."""

    def __init__(self) -> None:
        self.inner = httpx.HTTPTransport()
        self.seen: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.seen.append(request)
        response = self.inner.handle_request(request)
        response.read()
        key = request.headers.get("Idempotency-Key")
        if (
            request.method == "POST"
            and [r.headers.get("Idempotency-Key") for r in self.seen].count(key) == 1
        ):
            response.close()
            raise httpx.ReadError("connection reset after the request was sent")
        return response

    def close(self) -> None:
        self.inner.close()


def test_the_same_idempotency_key_twice_is_one_effect(client: Client) -> None:
    org = client.create_org("Once")
    first = client.grant(org.id, credits(10), idempotency_key="grant-once")
    assert client.grant(org.id, credits(10), idempotency_key="grant-once") == first
    spent = client.spend(org.id, credits(2), idempotency_key="spend-once")
    again = client.spend(org.id, credits(2), idempotency_key="spend-once")
    assert not spent.replayed and again.replayed  # as the library's second answer
    assert again._replace(replayed=False) == spent
    hold = client.reserve(org.id, credits(3), idempotency_key="hold-once")
    assert client.reserve(org.id, credits(3), idempotency_key="hold-once") == hold
    taken = client.adjust(org.id, -credits(1), "fix", idempotency_key="adjust-once")
    assert client.adjust(
        org.id, -credits(1), "fix", idempotency_key="adjust-once"
    ) == taken._replace(replayed=True)
    balance = client.balance(org.id)
    assert (balance.total, balance.held) == (credits(4), credits(3))
    assert len(client.grants(org.id)) == 1
    with pytest.raises(IdempotencyKeyReused):
        client.spend(org.id, credits(1), idempotency_key="spend-once")


def test_a_lost_answer_is_retried_without_repeating_the_effect(server: Server) -> None:
    transport = LosingTransport()
    with Client(server.url, server.key, transport=transport) as cl:
        org = cl.create_org("Lost Answers")
        cl.grant(org.id, credits(10))
        spent = cl.spend(org.id, credits(3))
        assert not spent.replayed  # the retry of this call's own request
        event = cl.record(org.id, "lost-1", "ping")
        assert event.cost == credits(1)
        assert cl.balance(org.id).total == credits(6)
        assert [o.name for o in cl.list_orgs(10_000)].count("Lost Answers") == 1
    posts = [r for r in transport.seen if r.method == "POST"]
    assert len(posts) == 8  # four calls, each sent twice with its key and body
    for first, retry in zip(posts[::2], posts[1::2], strict=True):
        assert first.headers["Idempotency-Key"] == retry.headers["Idempotency-Key"]
        assert first.content == retry.content
    assert len({r.headers["Idempotency-Key"] for r in posts}) == 4


def test_the_services_own_refusals_are_the_librarys_errors(client: Client, server: Server) -> None:
    org = client.create_org("Guarded")
    reader = client.create_api_key("org_read", org.id, name="dashboard")
    with Client(server.url, reader.secret) as read_only:
        assert read_only.balance(org.id).total == 0
        with pytest.raises(PermissionDenied) as denied:
            read_only.spend(org.id, credits(1))
        assert (denied.value.role, denied.value.needed) == ("org_read", "a key that may write")
        with pytest.raises(OrganizationNotFound):  # another organization does not exist
            read_only.balance(client.create_org("Elsewhere").id)
    with Client(server.url, "cl_live_nonsense") as stranger, pytest.raises(AuthenticationFailed):
        stranger.balance(org.id)
    with pytest.raises(InvalidRequest) as invalid:
        client.grant(org.id, 0)
    assert isinstance(invalid.value, ValidationError)
    assert [e["field"] for e in invalid.value.errors] == ["body.amount_micros"]
    client.revoke_api_key(reader.key.id)
    assert client.api_key(reader.key.id).revoked_at is not None
