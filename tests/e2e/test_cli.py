"""The ``creditline`` command, driven for real on a SQLite file.

Most tests go through typer's CliRunner on the app; the last ones run the installed
``creditline`` executable in a subprocess. Every refused input must exit with its
code from the one table, print one ``error:`` line on stderr, and change nothing.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app

T0 = "2026-01-01T00:00:00+00:00"
DAY_2 = "2026-01-02T00:00:00+00:00"
AFTER_EXPIRY = "2026-01-11T00:00:00+00:00"
EXPIRES = "2026-01-10T00:00:00+00:00"

runner = CliRunner()


def cli(db: str, *args: str, now: str | None = None, env: dict[str, Any] | None = None) -> Result:
    argv = ["--db", db, *(["--now", now] if now else []), *args]
    return runner.invoke(app, argv, catch_exceptions=False, env=env)


def ok(result: Result) -> Any:
    """The JSON a successful command printed."""
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def refused(result: Result, code: int) -> str:
    """The one error line of a refused command."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    return result.stderr.strip()


def state(db: str, org: str) -> tuple[Any, ...]:
    """Everything a refused command must leave as it was."""
    return (
        ok(cli(db, "balance", org, "-f", "json", now=DAY_2)),
        ok(cli(db, "grants", org, "-f", "json")),
        ok(cli(db, "history", org, "-f", "json")),
        ok(cli(db, "org", "list", "-f", "json")),
    )


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    """An organization with 10.5 included credits (expiring) and 2.25 prepaid."""
    made = ok(cli(db, "org", "create", "Acme", "--external-ref", "acme", "-f", "json", now=T0))
    org_id: str = made["id"]
    ok(
        cli(
            db,
            "grant",
            org_id,
            "10.5",
            "--kind",
            "included",
            "--expires",
            EXPIRES,
            "-f",
            "json",
            now=T0,
        )
    )
    ok(cli(db, "grant", org_id, "2.25", "-f", "json", now=T0))
    return org_id


# -- the happy paths ----------------------------------------------------------------------


def test_init_reports_the_database_and_is_safe_to_repeat(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"
    first = ok(cli(url, "init", "-f", "json"))
    assert first == {"database": url, "dialect": "sqlite", "schema": "current"}
    assert ok(cli(url, "init", "-f", "json")) == first
    table = cli(url, "init")
    assert table.exit_code == 0
    assert "schema is up to date" in table.stdout


def test_a_bare_file_path_is_a_sqlite_database(tmp_path: Path) -> None:
    path = tmp_path / "plain.db"
    shown = ok(cli(str(path), "init", "-f", "json"))
    assert shown["database"] == f"sqlite:///{path}"
    assert path.exists()


def test_org_create_then_list_returns_it_with_its_consumption_order(db: str) -> None:
    made = ok(
        cli(
            db,
            "org",
            "create",
            "Acme",
            "--external-ref",
            "acme-1",
            "--consumption-order",
            "prepaid,included",
            "-f",
            "json",
            now=T0,
        )
    )
    assert made["name"] == "Acme"
    assert made["external_ref"] == "acme-1"
    assert made["consumption_order"] == [
        "prepaid",
        "included",
        "promotional",
        "refund",
        "adjustment",
        "flex",
    ]
    assert made["created_at"] == T0
    assert ok(cli(db, "org", "list", "-f", "json")) == [made]
    table = cli(db, "org", "list")
    assert made["id"] in table.stdout
    assert "Acme" in table.stdout


def test_grant_spend_balance_and_history_agree_to_the_micro_credit(db: str, org: str) -> None:
    project = ok(cli(db, "project", "create", org, "chatbot", "-f", "json"))["id"]
    member = ok(cli(db, "member", "add", org, "Ada", "--email", "ada@example.com", "-f", "json"))[
        "id"
    ]

    debit = ok(
        cli(
            db,
            "spend",
            org,
            "3.000001",
            "--project",
            project,
            "--member",
            member,
            "--cause-ref",
            "job-42",
            "-f",
            "json",
            now=DAY_2,
        )
    )

    assert debit["status"] == "accepted"
    assert debit["amount_micros"] == 3_000_001
    assert debit["cause"] == {"type": "debit", "ref": "job-42"}
    assert len(debit["allocations"]) == 1
    assert debit["allocations"][0]["amount"] == "3.000001"
    balance = ok(cli(db, "balance", org, "-f", "json", now=DAY_2))
    assert balance["total"] == "9.749999"
    assert balance["available_micros"] == 9_749_999
    assert balance["by_kind"] == {"included": "7.499999", "prepaid": "2.25"}
    assert balance["by_kind_micros"] == {"included": 7_499_999, "prepaid": 2_250_000}
    newest, *older = ok(cli(db, "history", org, "-f", "json"))
    assert newest["type"] == "consume"
    assert newest["amount_micros"] == -3_000_001
    assert newest["cause"] == {"type": "debit", "ref": "job-42"}
    assert (newest["project_id"], newest["member_id"]) == (project, member)
    assert newest["occurred_at"] == DAY_2
    assert [e["type"] for e in older] == ["grant", "grant"]
    assert ok(cli(db, "verify", "-f", "json"))["ok"] is True


def test_a_debit_larger_than_one_grant_draws_the_rest_from_the_next_kind(db: str, org: str) -> None:
    debit = ok(cli(db, "spend", org, "11", "-f", "json", now=DAY_2))

    assert [a["amount"] for a in debit["allocations"]] == ["10.5", "0.5"]
    balance = ok(cli(db, "balance", org, "-f", "json", now=DAY_2))
    assert balance["by_kind"] == {"prepaid": "1.75"}


def test_a_retried_spend_with_the_same_key_is_answered_not_spent_again(db: str, org: str) -> None:
    first = ok(cli(db, "spend", org, "1", "--idempotency-key", "k1", "-f", "json", now=DAY_2))
    again = ok(cli(db, "spend", org, "1", "--idempotency-key", "k1", "-f", "json", now=DAY_2))

    assert (first["replayed"], again["replayed"]) == (False, True)
    assert again["allocations"] == first["allocations"]
    assert ok(cli(db, "balance", org, "-f", "json", now=DAY_2))["total"] == "11.75"


def test_history_pages_with_before_and_filters_by_type(db: str, org: str) -> None:
    for amount in ("1", "2", "3"):
        ok(cli(db, "spend", org, amount, "-f", "json", now=DAY_2))

    page = ok(cli(db, "history", org, "--limit", "2", "--type", "consume", "-f", "json"))
    rest = ok(
        cli(db, "history", org, "--before", str(page[-1]["id"]), "--type", "consume", "-f", "json")
    )
    grants = ok(cli(db, "history", org, "--type", "grant", "-f", "json"))

    assert [e["amount"] for e in page + rest] == ["-3", "-2", "-1"]
    assert [e["amount"] for e in grants] == ["2.25", "10.5"]


def test_expire_with_now_takes_what_is_left_of_a_due_grant_once(db: str, org: str) -> None:
    ok(cli(db, "spend", org, "4", "-f", "json", now=DAY_2))

    early = ok(cli(db, "expire", "-f", "json", now=DAY_2))
    due = ok(cli(db, "expire", "-f", "json", now=AFTER_EXPIRY))
    again = ok(cli(db, "expire", "-f", "json", now=AFTER_EXPIRY))

    assert early == {"grants": 0, "amount": "0", "amount_micros": 0, "organizations": []}
    assert due["grants"] == 1
    assert due["amount"] == "6.5"
    assert due["organizations"] == [
        {"org_id": org, "grants": 1, "amount": "6.5", "amount_micros": 6_500_000}
    ]
    assert again["grants"] == 0
    balance = ok(cli(db, "balance", org, "-f", "json", now=AFTER_EXPIRY))
    assert (balance["total"], balance["available"]) == ("2.25", "2.25")
    (entry,) = ok(cli(db, "history", org, "--type", "expire", "-f", "json"))
    assert entry["amount_micros"] == -6_500_000
    assert entry["occurred_at"] == EXPIRES
    assert entry["cause"]["type"] == "expiry"


def test_table_output_shows_credits_not_micro_credits(db: str, org: str) -> None:
    shown = cli(db, "balance", org, now=DAY_2)

    assert shown.exit_code == 0
    assert "12.75" in shown.stdout
    assert "12750000" not in shown.stdout
    grants = cli(db, "grants", org)
    assert "2026-01-10 00:00:00" in grants.stdout
    assert "included" in grants.stdout


def test_verify_prints_ok_on_a_sound_ledger(db: str, org: str) -> None:
    shown = cli(db, "verify")

    assert shown.exit_code == 0
    assert shown.stdout.startswith("OK")
    assert ok(cli(db, "verify", "-f", "json")) == {
        "ok": True,
        "organizations": 1,
        "grants": 2,
        "problems": [],
    }


def test_verify_exits_8_and_lists_every_problem_when_a_cache_disagrees(
    db: str, org: str, tmp_path: Path
) -> None:
    with sqlite3.connect(tmp_path / "cli.db") as conn:
        conn.execute("UPDATE grants SET remaining_micros = remaining_micros - 1")
    conn.close()

    shown = cli(db, "verify", "-f", "json")

    assert shown.exit_code == 8
    report = json.loads(shown.stdout)
    assert report["ok"] is False
    assert len(report["problems"]) >= 2
    assert shown.stderr == f"error: verification found {len(report['problems'])} problems\n"


DEMO_NOW = "2026-03-15T12:00:00+00:00"


def test_demo_plays_four_months_up_to_now_and_a_rerun_adds_nothing(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'var' / 'demo.db'}"

    first = ok(cli(url, "demo", "-f", "json", now=DEMO_NOW))
    second = ok(cli(url, "demo", "-f", "json", now=DEMO_NOW))

    assert (first["reused"], second["reused"]) == (False, True)
    assert first["organization"]["name"] == "Demo AI Lab"
    assert first["organization"]["external_ref"] == "demo"
    assert (first["started_at"], first["ended_at"]) == ("2025-11-15T09:00:00+00:00", DEMO_NOW)
    assert [p["name"] for p in first["projects"]] == [
        "doc-pipeline",
        "eval-pipeline",
        "support-bot",
    ]
    assert len(first["members"]) == 5
    assert (first["events"], first["spent"]) == (3792, "5417.318694")
    # the plan's grant in November (cycle 0) and each month after, through March
    assert first["renewals"] == 5
    assert [(p["pack"], p["status"]) for p in first["purchases"]] == [
        ("growth", "paid"),  # the top-up, when the balance fell below the alert threshold
        ("starter", "refunded"),  # bought by mistake
        ("starter", "paid"),
    ]
    assert first["expired_total"] == "496.320686"
    assert first["balance"]["as_of"] == DEMO_NOW
    assert first["balance"]["total"] == "5086.36062"
    assert first["balance"]["by_kind"] == {"prepaid": "4961.285609", "included": "125.075011"}
    assert len(first["history"]) == 15
    assert all(e["cause"]["ref"] for e in first["history"])
    assert first["verify"] == {"ok": True, "organizations": 1, "grants": 8, "problems": []}
    for part in ("organization", "events", "purchases", "balance", "grants", "history", "expired"):
        assert second[part] == first[part], part
    assert ok(cli(url, "org", "list", "-f", "json")) == [first["organization"]]


def test_demo_run_later_resumes_the_story_up_to_the_new_now(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'demo.db'}"
    first = ok(cli(url, "demo", "-f", "json", now=DEMO_NOW))

    later = ok(cli(url, "demo", "-f", "json", now="2026-04-02T18:00:00+00:00"))

    assert later["reused"] is True
    assert later["started_at"] == first["started_at"]
    assert later["events"] > first["events"]
    assert later["renewals"] == first["renewals"] + 1  # April's grant
    assert later["history"][0]["recorded_at"] <= "2026-04-02T18:00:00+00:00"
    assert later["verify"]["ok"] is True


def test_demo_prints_balance_grants_history_and_verify_as_tables(tmp_path: Path) -> None:
    shown = cli(str(tmp_path / "demo.db"), "demo", now=DEMO_NOW)

    assert shown.exit_code == 0, shown.output
    for heading in ("Demo AI Lab", "Balance", "Grants", "Last 15 ledger entries", "OK"):
        assert heading in shown.stdout
    assert "usage_event:evt_demo_20260315_" in shown.stdout
    assert "Grace Hopper" in shown.stdout
    assert "growth (5000 credits, paid)" in shown.stdout


def test_demo_refuses_a_database_holding_other_organizations(db: str, org: str) -> None:
    before = state(db, org)

    message = refused(cli(db, "demo"), 6)

    assert "other organizations" in message
    assert state(db, org) == before


def test_the_database_url_can_come_from_the_environment(db: str, org: str) -> None:
    shown = runner.invoke(
        app,
        ["org", "list", "-f", "json"],
        env={"CREDITLINE_DATABASE_URL": db},
        catch_exceptions=False,
    )

    assert [o["id"] for o in ok(shown)] == [org]


# -- refused inputs -----------------------------------------------------------------------


def test_spend_beyond_balance_exits_5_and_changes_nothing(db: str, org: str) -> None:
    before = state(db, org)

    message = refused(cli(db, "spend", org, "12.750001", now=DAY_2), 5)

    assert message == (
        f"error: insufficient credits in {org}: needed 12.750001 credits, 12.75 available"
    )
    assert state(db, org) == before


@pytest.mark.parametrize("amount", ["0", "-5", "-0.5", "0.0000001", "1.0000005", "abc", "NaN"])
@pytest.mark.parametrize("command", ["spend", "grant"])
def test_an_amount_that_is_not_a_positive_micro_credit_multiple_exits_2_and_changes_nothing(
    db: str, org: str, command: str, amount: str
) -> None:
    before = state(db, org)

    message = refused(cli(db, command, org, amount, now=DAY_2), 2)

    assert message.startswith(f"error: invalid amount {amount!r}")
    assert state(db, org) == before


def test_more_precision_than_a_micro_credit_is_named_in_the_error(db: str, org: str) -> None:
    message = refused(cli(db, "spend", org, "0.0000001", now=DAY_2), 2)

    assert message == (
        "error: invalid amount '0.0000001': more precise than one micro-credit (0.000001)"
    )


@pytest.mark.parametrize(
    "args",
    [
        ["spend", "org_missing", "1"],
        ["grant", "org_missing", "1"],
        ["balance", "org_missing"],
        ["grants", "org_missing"],
        ["history", "org_missing"],
        ["project", "create", "org_missing", "p"],
        ["member", "add", "org_missing", "m"],
    ],
)
def test_an_unknown_org_exits_3_and_changes_nothing(db: str, org: str, args: list[str]) -> None:
    before = state(db, org)

    message = refused(cli(db, *args, now=DAY_2), 3)

    assert message == "error: organization 'org_missing' not found"
    assert state(db, org) == before


def test_an_unknown_project_exits_3_and_changes_nothing(db: str, org: str) -> None:
    before = state(db, org)

    message = refused(cli(db, "spend", org, "1", "--project", "prj_missing", now=DAY_2), 3)

    assert message == "error: project 'prj_missing' not found"
    assert state(db, org) == before


def test_expiry_before_effective_time_exits_2_and_changes_nothing(db: str, org: str) -> None:
    before = state(db, org)

    message = refused(
        cli(
            db,
            "grant",
            org,
            "5",
            "--effective",
            "2026-03-01T00:00:00Z",
            "--expires",
            "2026-02-01T00:00:00Z",
            now=DAY_2,
        ),
        2,
    )

    assert message == "error: invalid grant: expiry time must be after the effective time"
    assert state(db, org) == before


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--expires", "2026-02-01T00:00:00"),
        ("--effective", "2026-02-01"),
        ("--expires", "next tuesday"),
    ],
)
def test_a_grant_time_without_a_zone_or_not_iso_exits_2_and_changes_nothing(
    db: str, org: str, option: str, value: str
) -> None:
    before = state(db, org)

    message = refused(cli(db, "grant", org, "5", option, value, now=DAY_2), 2)

    assert option in message
    assert state(db, org) == before


def test_a_naive_now_is_refused_with_exit_2(db: str, org: str) -> None:
    message = refused(cli(db, "balance", org, now="2026-01-02T00:00:00"), 2)

    assert message == "error: --now must carry a time zone (got a naive datetime)"


def test_a_reused_external_ref_exits_4_and_changes_nothing(db: str, org: str) -> None:
    before = state(db, org)

    message = refused(cli(db, "org", "create", "Other", "--external-ref", "acme"), 4)

    assert message == "error: organization 'acme' already exists"
    assert state(db, org) == before


def test_an_idempotency_key_reused_for_another_amount_exits_4(db: str, org: str) -> None:
    ok(cli(db, "spend", org, "1", "--idempotency-key", "k1", "-f", "json", now=DAY_2))
    before = state(db, org)

    message = refused(cli(db, "spend", org, "2", "--idempotency-key", "k1", now=DAY_2), 4)

    assert "k1" in message
    assert state(db, org) == before


def test_a_cost_basis_needs_both_price_and_currency(db: str, org: str) -> None:
    before = state(db, org)

    refused(cli(db, "grant", org, "5", "--currency", "EUR", now=DAY_2), 2)

    assert state(db, org) == before
    made = ok(
        cli(
            db,
            "grant",
            org,
            "5",
            "--unit-price-minor",
            "2",
            "--currency",
            "EUR",
            "--source-type",
            "purchase",
            "--source-ref",
            "pur_1",
            "-f",
            "json",
        )
    )
    assert made["cost_basis"] == {"unit_price_minor": 2, "currency": "EUR"}
    assert made["source"] == {"type": "purchase", "ref": "pur_1"}


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("postgresql://", "no database name"),
        ("mysql://x/y", "unsupported database 'mysql'"),
        ("sqlite://", "SQLite needs a file path"),
        ("postgres:", "expected a file path or a scheme://... URL"),
    ],
)
def test_a_malformed_database_url_exits_6_and_creates_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, url: str, reason: str
) -> None:
    monkeypatch.chdir(tmp_path)

    message = refused(cli(url, "init"), 6)

    assert message.startswith("error: invalid database URL")
    assert reason in message
    assert list(tmp_path.iterdir()) == []


def test_a_database_url_error_never_shows_the_password(tmp_path: Path) -> None:
    message = refused(cli("postgresql://user:hunter2@localhost", "init"), 6)

    assert "hunter2" not in message
    assert "no database name" in message


def test_commands_before_init_exit_6_and_ask_for_init(tmp_path: Path) -> None:
    message = refused(cli(f"sqlite:///{tmp_path / 'empty.db'}", "org", "list"), 6)

    assert "run `creditline init`" in message


# -- the installed executable -------------------------------------------------------------


def _creditline(*args: str) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).parent / "creditline"
    return subprocess.run(
        [str(exe), *args], capture_output=True, text=True, timeout=120, check=False
    )


def test_the_installed_creditline_command_grants_spends_and_refuses(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'exe.db'}"
    assert _creditline("--db", db, "init").returncode == 0
    made = _creditline("--db", db, "org", "create", "Acme", "--format", "json")
    org = json.loads(made.stdout)["id"]
    assert _creditline("--db", db, "grant", org, "5", "--kind", "promotional").returncode == 0
    assert _creditline("--db", db, "spend", org, "1.5").returncode == 0

    short = _creditline("--db", db, "spend", org, "4")
    balance = json.loads(_creditline("--db", db, "balance", org, "--format", "json").stdout)

    assert short.returncode == 5
    assert short.stderr == (
        f"error: insufficient credits in {org}: needed 4 credits, 3.5 available\n"
    )
    assert balance["available"] == "3.5"
    assert _creditline("--db", "mysql://x/y", "org", "list").returncode == 6


def test_the_installed_demo_runs_twice_on_a_fresh_directory(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'var' / 'demo.db'}"

    first = _creditline("--db", db, "--now", DEMO_NOW, "demo")
    second = _creditline("--db", db, "--now", DEMO_NOW, "demo")

    assert (first.returncode, second.returncode) == (0, 0), first.stderr + second.stderr
    assert "OK" in second.stdout
    assert first.stdout.replace("created", "") == second.stdout.replace(
        "resumed from an earlier run", ""
    )


def test_the_installed_demo_plays_up_to_the_real_time_by_default(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'demo.db'}"
    before = datetime.now(UTC)

    shown = _creditline("--db", db, "demo", "-f", "json")

    assert shown.returncode == 0, shown.stderr
    ended = datetime.fromisoformat(json.loads(shown.stdout)["ended_at"])
    assert before <= ended <= datetime.now(UTC)
    balance = json.loads(
        _creditline(
            "--db", db, "balance", json.loads(shown.stdout)["organization"]["id"], "-f", "json"
        ).stdout
    )
    assert balance["available_micros"] > 0
