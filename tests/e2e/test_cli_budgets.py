"""The ``creditline budget`` commands, driven through typer's CliRunner on a SQLite file:
a project's daily budget made, counted, refusing a spend past it (exit 5, in credits),
listed and deleted; a bad budget exits 2 naming every problem."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app

runner = CliRunner()
ENV = {"CREDITLINE_STRIPE_API_KEY": "", "CREDITLINE_SMTP_HOST": ""}


def cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, *args], catch_exceptions=False, env=ENV)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'budgets.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


def test_a_daily_project_budget_refuses_a_spend_past_it_and_can_be_deleted(db: str) -> None:
    org = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    bot = ok(cli(db, "project", "create", org, "bot", "-f", "json"))["id"]
    ok(cli(db, "grant", org, "100", "-f", "json"))
    made = ok(cli(db, "budget", "create", org, "5", "--project", bot, "--period", "day",
                  "--alert", "80", "-f", "json"))  # fmt: skip
    assert (made["scope"], made["scope_id"], made["amount"], made["period"], made["mode"]) == (
        "project", bot, "5", "day", "hard",
    )  # fmt: skip
    ok(cli(db, "spend", org, "4", "--project", bot, "-f", "json"))
    refused = cli(db, "spend", org, "2", "--project", bot)
    assert refused.exit_code == 5, refused.output
    assert f"budget {made['id']} of project {bot} exceeded: needed 2 credits" in refused.stderr
    assert "4 of 5 used this period, 1 left" in refused.stderr
    (listed,) = ok(cli(db, "budget", "list", org, "-f", "json"))
    assert (listed["consumed"], listed["room"], listed["percent"]) == ("4", "1", 80)
    assert "80%" in cli(db, "budget", "list", org).stdout
    ok(cli(db, "budget", "delete", org, made["id"], "-f", "json"))
    assert ok(cli(db, "budget", "list", org, "-f", "json")) == []
    ok(cli(db, "spend", org, "2", "--project", bot, "-f", "json"))


def test_a_bad_budget_exits_2_naming_every_problem(db: str) -> None:
    org = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    bot = ok(cli(db, "project", "create", org, "bot", "-f", "json"))["id"]
    bad = cli(db, "budget", "create", org, "5", "--project", bot, "--period", "week",
              "--alert", "0")  # fmt: skip
    assert bad.exit_code == 2, bad.output
    assert "period: 'week'" in bad.stderr and "got 0" in bad.stderr
    missing = cli(db, "budget", "delete", org, "bgt_nope")
    assert missing.exit_code == 3, missing.output
