"""``Creditline.submit``: write commands answered through futures, once durable."""

from __future__ import annotations

import pytest

from creditline import Creditline, credits
from creditline.domain.errors import InsufficientCredits
from creditline.domain.usage import EventStatus, UsageEvent
from creditline.services.reservations import Reserve, Settle
from creditline.services.spending import Debit, SpendCredits
from creditline.services.usage import RecordUsage
from tests.conftest import T0


def test_submitted_commands_answer_with_what_the_calls_return(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    cl.grant(org.id, credits(10), "prepaid")
    hold = cl.submit(Reserve(org.id, credits(3))).result(timeout=30)
    settled = cl.submit(Settle(org.id, hold.id, credits(2))).result(timeout=30)
    assert (settled.consumed, settled.released) == (credits(2), credits(1))
    (debit,) = cl.submit(SpendCredits(org.id, [Debit(credits(1))])).result(timeout=30)
    assert debit.accepted
    event = UsageEvent("e-1", org.id, "anything", T0, {}, {})
    (result,) = cl.submit(RecordUsage([event])).result(timeout=30)
    assert result.status is EventStatus.REJECTED  # no rate card: bad input, nothing stored
    assert cl.balance(org.id).available == credits(7)
    assert cl.verify().ok


def test_a_refused_command_raises_from_its_future(cl: Creditline) -> None:
    org = cl.create_org("Acme")
    future = cl.submit(Reserve(org.id, credits(1)))
    with pytest.raises(InsufficientCredits):
        future.result(timeout=30)
