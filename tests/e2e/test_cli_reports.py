"""``creditline report usage`` on a SQLite file: usage by project, operation, member and
day, ISO week or month, as a table, CSV (E4) and JSON, and its refusals.

The story (the small card: ping 1 credit, render pro 3, translate 10 a million
characters): in January 2026 project "bot" pings on Monday the 5th and Sunday the 11th
(ISO week 2), renders on Monday the 12th (week 3) and translates 1.5M characters (15
credits) without a project on Saturday the 31st; a ping on 1 February; one voided ping.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline import Creditline, ManualClock
from creditline.entrypoints.cli import app
from tests.metering import card_doc

NOW = "2026-02-02T00:00:00+00:00"
runner = CliRunner()


def at(day: int, month: int = 1) -> datetime:
    return datetime(2026, month, day, 12, tzinfo=UTC)


@pytest.fixture
def story(tmp_path: Path) -> tuple[str, str, str]:
    """(database URL, organization id, project id)."""
    db = f"sqlite:///{tmp_path / 'reports.db'}"
    clock = ManualClock(at(5))
    with Creditline.open(db, clock=clock) as cl:
        cl.load_rate_card(card_doc())
        org = cl.create_org("Acme").id
        bot = cl.create_project(org, "bot").id
        cl.grant(org, 1_000_000_000, "prepaid")
        for day, event_id, op, quantities, dimensions in [
            (5, "p-1", "ping", {}, {}),
            (11, "p-2", "ping", {}, {}),
            (12, "r-1", "render", {}, {"mode": "pro"}),
            (12, "p-void", "ping", {}, {}),
        ]:
            clock.set(at(day))
            cl.record(org, event_id, op, quantities, dimensions, project_id=bot)
        cl.void_event(org, "p-void")
        clock.set(at(31))
        cl.record(org, "t-1", "translate", {"characters": 1_500_000})
        clock.set(at(1, 2))
        cl.record(org, "p-3", "ping", project_id=bot)
    return db, org, bot


def report(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, "--now", NOW, "report", "usage", *args])


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def test_json_report_by_project_and_iso_week(story: tuple[str, str, str]) -> None:
    db, org, bot = story
    data: dict[str, Any] = json.loads(
        ok(report(db, org, "--by", "project", "--period", "week", "--since", "2026-01-01",
                  "--until", "2026-02-01", "-f", "json"))
    )  # fmt: skip
    assert data["group_by"] == ["project"] and data["period"] == "week"
    assert data["since"] == "2026-01-01T00:00:00+00:00"
    rows = [(r["project_id"], r["project_name"], r["period"], r["events"], r["cost"],
             r["cost_micros"]) for r in data["rows"]]  # fmt: skip
    assert rows == [
        (bot, "bot", "2026-W02", 2, "2", 2_000_000),
        (bot, "bot", "2026-W03", 1, "3", 3_000_000),
        (None, None, "2026-W05", 1, "15", 15_000_000),
    ]
    assert (data["events"], data["cost"], data["cost_micros"]) == (4, "20", 20_000_000)


def test_csv_report_names_projects_beside_their_ids_and_leaves_no_project_empty(
    story: tuple[str, str, str],
) -> None:
    db, org, bot = story
    out = ok(report(db, org, "--by", "project,operation", "--period", "month",
                    "--since", "2026-01-01", "-f", "csv"))  # fmt: skip
    assert list(csv.reader(io.StringIO(out))) == [
        ["project_id", "project_name", "operation", "period", "events", "cost", "cost_micros"],
        [bot, "bot", "ping", "2026-01", "2", "2", "2000000"],
        [bot, "bot", "ping", "2026-02", "1", "1", "1000000"],
        [bot, "bot", "render", "2026-01", "1", "3", "3000000"],
        ["", "", "translate", "2026-01", "1", "15", "15000000"],
    ]


def test_the_cli_and_the_api_write_one_csv(story: tuple[str, str, str]) -> None:
    from fastapi.testclient import TestClient

    from creditline.entrypoints.api import create_app

    db, org, _ = story
    cli_csv = ok(report(db, org, "--by", "project,operation", "--period", "week",
                        "--since", "2026-01-01", "--until", "2026-02-02", "-f", "csv"))  # fmt: skip
    with Creditline.open(db, clock=ManualClock(at(2, 2))) as cl:
        key = cl.create_api_key("operator", name="csv").secret
        with TestClient(create_app(cl)) as client:
            api = client.get(
                f"/v1/orgs/{org}/reports/usage?group_by=project&group_by=operation&period=week"
                "&since=2026-01-01T00:00:00Z&until=2026-02-02T00:00:00Z&format=csv",
                headers={"Authorization": f"Bearer {key}"},
            )
    assert api.status_code == 200, api.text
    assert api.text == cli_csv


def test_table_report_shows_groups_credits_and_the_total(story: tuple[str, str, str]) -> None:
    db, org, _ = story
    out = ok(report(db, org, "--by", "operation", "--since", "2026-01-12T00:00:00Z"))
    lines = [" ".join(line.replace("│", " ").split()) for line in out.splitlines()]
    assert lines[:2] == [f"Usage of {org}", "2026-01-12 00:00:00 to 2026-02-02 00:00:00 UTC"]
    assert "ping 1 1" in lines and "render 1 3" in lines and "translate 1 15" in lines
    assert "total 3 19" in lines


def test_default_window_is_the_last_30_days_and_a_day_report_names_days(
    story: tuple[str, str, str],
) -> None:
    db, org, _ = story
    data = json.loads(ok(report(db, org, "--by", "member", "--period", "day", "-f", "json")))
    assert [(r["member_id"], r["period"], r["events"]) for r in data["rows"]] == [
        (None, "2026-01-05", 1),
        (None, "2026-01-11", 1),
        (None, "2026-01-12", 1),
        (None, "2026-01-31", 1),
        (None, "2026-02-01", 1),
    ]


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--by", "colour"], 2, "group_by"),
        (["--since", "2026-02-01", "--until", "2026-01-01"], 2, "until must be after since"),
        (["--since", "yesterday"], 2, "--since"),
        (["--period", "year"], 2, "year"),
    ],
)
def test_bad_reports_are_refused_with_one_line(
    story: tuple[str, str, str], args: list[str], code: int, message: str
) -> None:
    db, org, _ = story
    result = report(db, org, *args)
    assert result.exit_code == code, result.output
    assert result.stdout == "" and message in result.stderr


def test_unknown_organization_exits_3(story: tuple[str, str, str]) -> None:
    db, _, _ = story
    result = report(db, "org_missing")
    assert result.exit_code == 3 and result.stderr.startswith("error: ")
