"""The revenue report through the client answers as the library does: the same lines,
the same errors. The served database is shared by the session's tests, so the script
sells in a currency no other test uses and compares that line."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from creditline import CostBasis, Creditline, credits
from creditline.client import Client
from creditline.domain.revenue import CurrencyLine, Flow
from tests.client.compare import Canon, outcome
from tests.client.conftest import SERVER

pytestmark = SERVER


def script(cl: Any) -> list[Any]:
    now = datetime.now(UTC)
    org = cl.create_org("Revenue")
    cl.grant(org.id, credits(3), cost_basis=CostBasis(1234, "NOK"))
    cl.spend(org.id, credits(1))
    report = cl.revenue_report(now)
    nok = [line for line in report.lines if line.currency == "NOK"]
    empty = outcome(lambda: cl.revenue_report("2001-02"))
    bad = outcome(lambda: cl.revenue_report("2026-13"))
    ancient = outcome(lambda: cl.revenue_report("1969-12"))
    return [report.month, nok, empty, bad, ancient]


def test_the_revenue_report_answers_as_the_library_does(
    embedded: Creditline, client: Client
) -> None:
    here, there = script(embedded), script(client)
    assert Canon()(there) == Canon()(here)
    (line,) = here[1]
    assert line == CurrencyLine(
        "NOK",
        opening=Flow(),
        sold=Flow(credits(3), 3702),
        consumed=Flow(credits(1), 1234),
        expired=Flow(),
        refunded=Flow(),
        adjusted=Flow(),
        closing=Flow(credits(2), 2468),
    )
    assert here[2].lines == () and here[2].month == "2001-02"
    assert [type(e).__name__ for e in here[3:]] == ["InvalidSetting", "InvalidSetting"]
