"""Grace through the HTTP client: the client answers as the library does (the state,
the terms, the transitions with their causes), and a refusal while read-only comes back
as the same typed error, naming the state."""

from __future__ import annotations

from typing import Any

import pytest

from creditline import Cause, CauseType, Creditline, credits
from creditline.client import Client
from creditline.domain.errors import InsufficientCredits
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER

pytestmark = SERVER

PLAN = {
    "name": "graceful-parity",
    "depletion": "pause",
    "grace_credits": "2",
    "grace_billing": "write_off",
    "read_only_hours": 24,
}


def script(cl: Any) -> tuple[list[Any], InsufficientCredits]:
    cl.put_plan(PLAN)
    org = cl.create_org("Grace parity").id
    cl.assign_plan(org, PLAN["name"])
    cl.grant(org, credits(1))
    seen = [outcome(lambda: cl.grace(org)), outcome(lambda: cl.plan(PLAN["name"]))]
    cl.spend(org, credits(2), cause=Cause(CauseType.DEBIT, "d-1"))  # grace: 1 written off
    seen.append(outcome(lambda: cl.grace(org)))
    cl.spend(org, credits(1), cause=Cause(CauseType.DEBIT, "d-2"))  # the last: read-only
    seen.append(outcome(lambda: cl.grace(org, limit=1)))
    with pytest.raises(InsufficientCredits) as refused:
        cl.spend(org, credits(1))
    seen.append(outcome(lambda: cl.grace("org_aaaaaaaaaaaaaaaaaaaaaaaa")))
    return seen, refused.value


def test_the_client_answers_grace_as_the_library_does(embedded: Creditline, client: Client) -> None:
    here, mine = script(embedded)
    there, theirs = script(client)
    assert Canon()(there) == Canon()(here)
    assert (theirs.grace_state, theirs.needed, theirs.available) == ("read_only", credits(1), 0)
    assert (mine.grace_state, mine.needed, mine.available) == ("read_only", credits(1), 0)
    assert theirs.grace_since is not None and "read-only since" in str(theirs)
