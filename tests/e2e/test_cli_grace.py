"""``creditline plan create --grace-...``, ``plan show`` and ``grace show``, driven for real
on a SQLite file: a plan with grace, an organization that runs out, uses its grace, goes
read-only (a spend refused, exit 5, naming the state), is paused by ``tick`` two days
later, and is active again after a grant."""

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_cli_cycles import cli, ok, refused

T0 = "2026-01-05T09:00:00+00:00"
LATER = "2026-01-08T09:00:00+00:00"


def test_grace_from_the_command_line(tmp_path: Path) -> None:
    db = f"sqlite:///{tmp_path / 'grace.db'}"
    ok(cli(db, "init", "-f", "json"))
    grace = ["--grace-credits", "2", "--grace-hours", "24", "--grace-billing", "write_off"]
    plan = ok(cli(db, "plan", "create", "team", *grace, "--read-only-hours", "48", "-f", "json"))
    assert (plan["grace_credits"], plan["grace_hours"], plan["read_only_hours"]) == ("2", 24, 48)
    shown = cli(db, "plan", "show", "team")
    assert "24 hours or 2 credits, write_off; then read-only 48 hours, then paused" in " ".join(
        shown.stdout.split()
    )
    bad = refused(cli(db, "plan", "create", "bad", "--grace-credits", "lots"), 2)
    assert "grace_credits" in bad

    org = ok(cli(db, "org", "create", "Acme", "-f", "json", now=T0))["id"]
    ok(cli(db, "plan", "assign", org, "team", "-f", "json", now=T0))
    ok(cli(db, "grant", org, "1", "-f", "json", now=T0))
    ok(cli(db, "spend", org, "3", "-f", "json", now=T0))  # 1 from credits, 2 from grace
    error = refused(cli(db, "spend", org, "1", now=T0), 5)
    assert "read-only since 2026-01-05T09:00:00+00:00" in error

    state = ok(cli(db, "grace", "show", org, "-f", "json", now=T0))
    assert (state["state"], state["until"]) == ("read_only", "2026-01-07T09:00:00+00:00")
    assert [t["to"] for t in state["transitions"]] == ["grace", "read_only"]

    ok(cli(db, "tick", "-f", "json", now=LATER))
    paused = cli(db, "grace", "show", org, now=LATER)
    assert paused.exit_code == 0 and "paused" in paused.stdout
    assert "time read_only_hours" in paused.stdout
    assert "no limit" not in paused.stdout  # grace left is shown in grace only: "-" here

    ok(cli(db, "grant", org, "5", "-f", "json", now=LATER))
    assert ok(cli(db, "grace", "show", org, "-f", "json", now=LATER))["state"] == "active"
