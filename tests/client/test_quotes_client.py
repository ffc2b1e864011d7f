"""Binding quotes through the client: the errors of a quote that cannot be used come
back as the library's, with their members (``expires_at`` a datetime, ``used_by``), and
a commit at a quote's price captures it."""

from __future__ import annotations

import time
from datetime import timedelta

from creditline import credits
from creditline.client import Client
from creditline.domain.errors import QuoteExpired, QuoteNotFound, QuoteUsed
from tests.client.conftest import SERVER

pytestmark = SERVER


def test_quote_refusals_come_back_as_the_librarys_errors(client: Client) -> None:
    org = client.create_org("Quoted").id
    client.grant(org, credits(10))
    quote = client.issue_quote(org, "ping")
    assert client.record(org, "q-1", "ping", quote_id=quote.id).cost == quote.total
    used = client.record(org, "q-2", "ping", quote_id=quote.id).error
    assert isinstance(used, QuoteUsed) and used.used_by == "usage_event:q-1"
    short = client.issue_quote(org, "ping", valid_for=timedelta(seconds=1))
    time.sleep(1.1)
    expired = client.record(org, "q-3", "ping", quote_id=short.id).error
    assert isinstance(expired, QuoteExpired) and expired.expires_at == short.expires_at
    missing = client.record(org, "q-4", "ping", quote_id="qt_missing").error
    assert isinstance(missing, QuoteNotFound)
    hold = client.reserve(org, credits(3), operation="ping")
    bound = client.issue_quote(org, "ping")
    settled = client.commit(org, hold.id, quote_id=bound.id)
    assert (settled.consumed, settled.released) == (bound.total, credits(3) - bound.total)
    assert client.binding_quote(org, bound.id).used_by == f"reservation:{hold.id}"
