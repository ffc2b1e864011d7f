"""The usage page's CSV export (E4) holds exactly the report's numbers: for every
grouping and period its credits (exact decimals and micro-credits) and events sum to
the engine's usage report over the same window, and a filtered export to the filtered
usage."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal

from creditline import credits
from creditline.domain.reports import GROUPS, PERIODS
from tests.web.conftest import Site

SINCE = datetime(2026, 1, 1, tzinfo=UTC)
UNTIL = datetime(2026, 2, 4, tzinfo=UTC)  # the last day shown, 2026-02-03, included
WINDOW = "since=2026-01-01&until=2026-02-03"


def _rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_every_export_sums_to_the_usage_report_of_its_window(site: Site) -> None:
    cl, a = site.cl, site.a
    cl.record(a.org, "late", "translate", {"characters": 123_457}, member_id=a.ids["member_id"])
    browser = site.portal(a.org)
    for group in GROUPS:
        for period in PERIODS:
            exported = browser.get(f"/portal/usage.csv?group={group}&period={period}&{WINDOW}")
            assert exported.status_code == 200
            assert exported.headers["content-type"].startswith("text/csv")
            assert "attachment" in exported.headers["content-disposition"]
            rows = _rows(exported.text)
            report = cl.usage_report(a.org, [group], SINCE, UNTIL, period=period)
            assert sum(int(r["cost_micros"]) for r in rows) == report.cost, (group, period)
            assert sum(credits(Decimal(r["cost"])) for r in rows) == report.cost
            assert sum(int(r["events"]) for r in rows) == report.events
            assert len(rows) == len(report.rows)
    # the late event: 123,457 characters at 10 credits per million, exactly
    (row,) = [r for r in _rows(browser.get(f"/portal/usage.csv?group=operation&{WINDOW}").text)
              if r["operation"] == "translate"]  # fmt: skip
    assert (row["cost"], row["cost_micros"]) == ("1.23457", "1234570")


def test_a_filtered_export_sums_to_the_filtered_usage(site: Site) -> None:
    cl, a = site.cl, site.a
    project = a.ids["project_id"]
    browser = site.portal(a.org)
    exported = browser.get(
        f"/portal/usage.csv?group=operation&period=day&project={project}&{WINDOW}"
    )
    rows = _rows(exported.text)
    by_project = cl.usage_report(a.org, ["project"], SINCE, UNTIL)
    (mine,) = [r for r in by_project.rows if r.keys == (project,)]
    assert sum(int(r["cost_micros"]) for r in rows) == mine.cost
    assert sum(int(r["events"]) for r in rows) == mine.events
    assert {r["operation"] for r in rows} == {"ping", "pipeline"}
    assert list(rows[0]) == [
        "operation",
        "period",
        "events",
        "cost",
        "cost_micros",
    ]
    none = _rows(browser.get(f"/portal/usage.csv?group=member&project=-&{WINDOW}").text)
    assert [(r["member_id"], r["member_name"], r["cost"]) for r in none] == [("", "", "1")]
