"""The client against a real ``creditline serve``: a platform's story, synchronously and
asynchronously, answered with the library's own types and exact amounts."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import httpx
import pytest

from creditline import (
    Balance,
    Cause,
    CauseType,
    Creditline,
    DebitResult,
    DebitStatus,
    EntryType,
    Grant,
    GrantKind,
    LedgerEntry,
    Organization,
    Quote,
    credits,
)
from creditline.client import AsyncClient, Client, OrgPlan
from creditline.domain.errors import InsufficientCredits
from creditline.domain.pricing import RateCard
from creditline.domain.reservations import Reservation, ReservationStatus
from creditline.domain.usage import EventResult, EventStatus, Metering, StoredUsage
from creditline.entrypoints.api import ApiSettings, create_app
from creditline.services.reservations import Settlement
from tests.client.conftest import SERVER, Server

pytestmark = SERVER


def test_a_platform_story_over_http(client: Client) -> None:
    org = client.create_org("Acme", metadata={"tier": "gold"})
    assert isinstance(org, Organization) and org.metadata == {"tier": "gold"}
    assert client.get_org(org.id) == org
    project = client.create_project(org.id, "bot")
    member = client.add_member(org.id, "Ada", "ada@acme.example")
    assert client.projects(org.id) == [project] and client.members(org.id) == [member]

    grant = client.grant(org.id, credits(20), "prepaid", idempotency_key="seed-acme")
    assert isinstance(grant, Grant) and grant.kind is GrantKind.PREPAID
    assert (grant.amount, grant.remaining) == (20_000_000, 20_000_000)

    quote = client.quote(org.id, "render", dimensions={"mode": "max"})
    assert isinstance(quote, Quote) and quote.total == credits(12)
    assert quote.base == Decimal(12_000_000) and quote.card == "default"

    event = {"dimensions": {"mode": "pro"}, "occurred_at": datetime.now(UTC),
             "project_id": project.id, "member_id": member.id}  # fmt: skip
    used = client.record(org.id, "evt-1", "render", **event)
    assert isinstance(used, EventResult)
    assert used.status is EventStatus.ACCEPTED and used.cost == credits(3)
    again = client.record(org.id, "evt-1", "render", **event)
    assert again.status is EventStatus.DUPLICATE and again.cost == credits(3)
    stored = client.usage_event(org.id, "evt-1")
    assert isinstance(stored, StoredUsage) and stored.event.project_id == project.id
    assert [s.event_id for s in client.usage_events(org.id)] == ["evt-1"]

    hold = client.reserve(org.id, credits(10), ttl=timedelta(minutes=30))
    assert isinstance(hold, Reservation) and hold.status is ReservationStatus.OPEN
    assert client.balance(org.id).held == credits(10)
    settled = client.commit(org.id, hold.id, credits(8))
    assert isinstance(settled, Settlement)
    assert (settled.consumed, settled.released, settled.replayed) == (credits(8), credits(2), False)
    assert client.commit(org.id, hold.id, credits(8)).replayed  # settled once

    spent = client.spend(org.id, credits("0.5"), cause=Cause(CauseType.DEBIT, "manual-1"))
    assert isinstance(spent, DebitResult) and spent.status is DebitStatus.ACCEPTED
    assert spent.allocations == ((grant.id, 500_000),)

    balance = client.balance(org.id)
    assert isinstance(balance, Balance)
    assert (balance.total, balance.available, balance.held) == (8_500_000, 8_500_000, 0)
    assert balance.by_kind == {GrantKind.PREPAID: 8_500_000}

    history = client.history(org.id)
    assert all(isinstance(e, LedgerEntry) for e in history)
    assert [e.type for e in history] == [
        EntryType.CONSUME, EntryType.RELEASE, EntryType.CONSUME, EntryType.RELEASE,
        EntryType.RESERVE, EntryType.CONSUME, EntryType.GRANT,
    ]  # fmt: skip
    assert sum(e.amount for e in history) == balance.total
    assert client.history(org.id, 2, types=["grant"]) == [history[-1]]
    assert client.grants(org.id) == [client.grants(org.id)[0]]
    assert client.verify().ok


def test_history_and_org_lists_page_past_the_service_page_size(client: Client) -> None:
    org = client.create_org("Pager")
    client.grant(org.id, credits(1000))
    for i in range(30):
        client.spend(org.id, credits(1), idempotency_key=f"pager-{i}")
    every = client.history(org.id, 10_000)
    assert len(every) == 31
    from creditline.client.operations import reading as operations

    page, operations.HISTORY_PAGE = operations.HISTORY_PAGE, 7
    try:
        assert client.history(org.id, 20) == every[:20]
        assert client.history(org.id, 10_000) == every
        assert client.history(org.id, 5, before_id=every[4].id) == every[5:10]
    finally:
        operations.HISTORY_PAGE = page


def test_plans_rate_cards_and_packs(client: Client, server: Server) -> None:
    org = client.create_org("Planned")
    metering = client.assign_plan(org.id, "starter")
    assert isinstance(metering, Metering)
    assert metering.plan == client.plan("starter") and metering.order == org.consumption_order
    assert client.metering(org.id) == metering and not client.is_read_only(org.id)
    assigned = client.subscribe(org.id, "starter")
    assert isinstance(assigned, OrgPlan) and assigned.change is not None
    assert assigned.subscription is not None and assigned.subscription.plan == "starter"
    assert client.org_plan(org.id).subscription == assigned.subscription
    assert "starter" in [p.name for p in client.plans()]

    card = client.rate_card()
    assert isinstance(card, RateCard) and set(card.operations) >= {"ping", "render"}
    assert [h.name for h in client.rate_cards()] == ["default"]
    assert client.rate_card_history("default").versions == (card,)
    assert client.org_rate_card(org.id) == "default"
    assert client.set_rate_card(org.id, "default") == "default"
    # A quote without an organization is priced here by the card the service has.
    assert client.quote(None, "render", dimensions={"mode": "max"}).total == credits(12)


def test_the_async_client_tells_the_same_story(server: Server) -> None:
    async def story() -> None:
        async with AsyncClient(server.url, server.key) as cl:
            org = await cl.create_org("Async Acme")
            await cl.grant(org.id, credits(5))
            quote = await cl.quote(org.id, "render", dimensions={"mode": "pro"})
            assert quote.total == credits(3)
            result = await cl.record(org.id, "a-1", "render", dimensions={"mode": "pro"})
            assert result.status is EventStatus.ACCEPTED
            hold = await cl.reserve(org.id, credits(1))
            await cl.commit(org.id, hold.id, credits(1))
            assert (await cl.balance(org.id)).available == credits(1)
            with pytest.raises(InsufficientCredits) as refused:
                await cl.spend(org.id, credits(2))
            assert (refused.value.needed, refused.value.available) == (credits(2), credits(1))
            many = await asyncio.gather(*(cl.balance(org.id) for _ in range(5)))
            assert {b.available for b in many} == {credits(1)}
            assert len(await cl.history(org.id)) == 5

    asyncio.run(story())


def test_the_async_client_runs_the_service_in_process(embedded: Creditline) -> None:
    key = embedded.create_api_key("operator", name="ops").secret
    app = create_app(embedded, settings=ApiSettings(rate_per_second=0, log_requests=False))

    async def run() -> None:
        transport = httpx.ASGITransport(app=app)
        async with AsyncClient("http://in-process", key, transport=transport) as cl:
            org = await cl.create_org("In process")
            grant = await cl.grant(org.id, credits(2), "promotional")
            assert [grant] == embedded.grants(org.id)
            assert (await cl.get_org(org.id)) == embedded.get_org(org.id)
            assert (await cl.balance(org.id)).available == embedded.balance(org.id).available

    asyncio.run(run())
