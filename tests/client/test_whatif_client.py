"""What-if pricing through the client answers as the library does: the same report, the
same errors."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from creditline import Creditline, credits
from creditline.client import Client
from creditline.domain.whatif import WhatIf
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER
from tests.metering import card_doc

pytestmark = SERVER


def script(cl: Any) -> list[Any]:
    now = datetime.now(UTC).replace(microsecond=0)
    draft = card_doc(version="whatif", effective_from=now + timedelta(days=30), ping="3")
    org = cl.create_org("What if")
    cl.grant(org.id, credits(10))
    for n in range(5):
        cl.record(org.id, f"w-{n}", "ping")
    period = {"since": now - timedelta(hours=1), "until": now + timedelta(hours=1)}
    report = outcome(lambda: cl.what_if(draft, org_id=org.id, **period))
    bad = outcome(lambda: cl.what_if({**draft, "operations": {}}, org_id=org.id, **period))
    missing = outcome(lambda: cl.what_if(draft, org_id="org_aaaaaaaaaaaaaaaaaaaaaaaa", **period))
    return [report, bad, missing]


def test_what_if_answers_as_the_library_does(embedded: Creditline, client: Client) -> None:
    here, there = script(embedded), script(client)
    assert Canon()(there) == Canon()(here)
    report = here[0]
    assert isinstance(report, WhatIf) and report.events == 5
    assert (report.charged, report.repriced) == (credits(5), credits(15))
    assert len(report.run_outs) == 1 and report.run_outs[0].short == credits(2)
    assert type(here[1]).__name__ == "InvalidRateCard"
    assert type(here[2]).__name__ == "OrganizationNotFound"
