"""Heartbeats and increases of a hold through the client answer as the library does: the
same reservations, the same refusals (past the plan's longest hold, a settled hold, a
missing one, credits short)."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from creditline import Creditline, credits
from creditline.client import Client
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER

pytestmark = SERVER

HOUR = timedelta(hours=1)
ONE = credits(1)
INSTANT = re.compile(r"\d{4}-\d\d-\d\dT[\d:.]+\+00:00")


class Timeless(Canon):
    """Instants named in messages (the limit of a refused heartbeat) aside, too; a
    refused time-to-live comes back over the wire as its text."""

    def __call__(self, value: Any) -> Any:
        if isinstance(value, timedelta):
            value = repr(value)
        if isinstance(value, str):
            value = INSTANT.sub("<time>", value)
        return super().__call__(value)


def script(cl: Any) -> list[Any]:
    cl.put_plan({"name": "day-runs", "max_hold_hours": 24})
    org = cl.create_org("Runs")
    cl.assign_plan(org.id, "day-runs")
    cl.grant(org.id, credits(50), "prepaid")
    hold = cl.reserve(org.id, credits(10), ttl=2 * HOUR)
    return [
        outcome(lambda: cl.extend_reservation(org.id, hold.id, 6 * HOUR)),
        outcome(lambda: cl.extend_reservation(org.id, hold.id, HOUR)),  # never shortens
        outcome(lambda: cl.extend_reservation(org.id, hold.id, 25 * HOUR)),
        outcome(lambda: cl.increase_reservation(org.id, hold.id, credits(5))),
        outcome(lambda: cl.increase_reservation(org.id, hold.id, credits(100))),
        outcome(lambda: cl.increase_reservation(org.id, hold.id, ONE, idempotency_key="g1")),
        outcome(lambda: cl.increase_reservation(org.id, hold.id, ONE, idempotency_key="g1")),
        outcome(lambda: cl.commit(org.id, hold.id, credits(4), final=False)),
        outcome(lambda: cl.commit(org.id, hold.id, credits(4))),
        outcome(lambda: cl.extend_reservation(org.id, hold.id, HOUR)),
        outcome(lambda: cl.increase_reservation(org.id, hold.id, credits(1))),
        outcome(lambda: cl.increase_reservation(org.id, "res_missing", credits(1))),
        outcome(lambda: cl.reservation(org.id, hold.id)),
    ]


def test_heartbeats_and_increases_answer_as_the_library_does(
    embedded: Creditline, client: Client
) -> None:
    here, there = script(embedded), script(client)
    assert Timeless()(there) == Timeless()(here)
    kinds = [type(r).__name__ for r in here]
    assert kinds == [
        "Reservation", "Reservation", "InvalidSetting", "Reservation",
        "InsufficientCredits", "Reservation", "Reservation", "Settlement", "Settlement", "Conflict",
        "Conflict", "ReservationNotFound", "Reservation",
    ]  # fmt: skip
    assert here[0].expires_at == here[1].expires_at
    assert there[0].expires_at == there[1].expires_at
    assert (here[3].amount, here[3].held) == (credits(15), credits(15))
    assert here[5].held == here[6].held == credits(16)  # the keyed retry drew nothing more
    assert (here[-1].amount, here[-1].consumed, here[-1].held) == (credits(16), credits(8), 0)
