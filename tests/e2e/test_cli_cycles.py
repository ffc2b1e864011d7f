"""``creditline plan create/assign/show``, ``org status``, ``tick`` and ``worker``, driven
for real on a SQLite file; the worker runs as the installed executable in a subprocess
and is stopped by SIGTERM.

Plans are the seed's (examples/otai/plans.toml): Pro grants 100 credits on sign-up and
50 a month, never expiring.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OTAI_PLANS = EXAMPLES / "otai" / "plans.toml"
SIGN_UP = "2026-01-31T09:00:00+00:00"
APRIL = "2026-04-30T12:00:00+00:00"

runner = CliRunner()


def cli(db: str, *args: str, now: str = SIGN_UP) -> Result:
    return runner.invoke(app, ["--db", db, "--now", now, *args], catch_exceptions=False)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def refused(result: Result, code: int) -> str:
    assert result.exit_code == code, result.output
    assert result.stderr.startswith("error: ") and result.stderr.count("\n") == 1
    assert "Traceback" not in result.output
    return result.stderr.strip()


def available(db: str, org: str, now: str = SIGN_UP) -> str:
    """The general credits (OTAI's onboarding guarantee, a scoped grant made at sign-up
    besides the plan's credits, is shown apart)."""
    found: str = ok(cli(db, "balance", org, "-f", "json", now=now))["general"]
    return found


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cycles.db'}"
    ok(cli(url, "init", "-f", "json"))
    ok(cli(url, "plan", "load", str(OTAI_PLANS), "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    made: str = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    return made


def test_subscribing_ticking_and_changing_plan_from_the_command_line(db: str, org: str) -> None:
    assigned = ok(cli(db, "plan", "assign", org, "pro", "--subscribe", "-f", "json"))
    assert assigned["plan"] == "pro"
    billing = assigned["billing"]
    assert (billing["change"], billing["granted"], billing["reset"]) == ("started", "100", "0")
    assert [r["cycle"]["index"] for r in billing["renewals"]] == [0]
    assert billing["subscription"]["next_renewal_at"] == "2026-02-28T09:00:00+00:00"

    ticked = ok(cli(db, "tick", "-f", "json", now=APRIL))
    # Renewals, then expiry, then any other jobs (the flex invoices).
    assert ticked["ok"] and [j["name"] for j in ticked["jobs"]][:2] == ["renewals", "expiry"]
    assert ticked["jobs"][0]["summary"] == {
        "organizations": 1, "cycles": 3, "grants": 3, "amount_micros": 150_000_000, "failed": [],
    }  # fmt: skip
    again = ok(cli(db, "tick", "-f", "json", now=APRIL))
    assert again["jobs"][0]["summary"]["cycles"] == 0
    assert available(db, org, APRIL) == "250"

    status = ok(cli(db, "org", "status", org, "-f", "json", now=APRIL))
    sub = status["subscription"]
    assert (sub["plan"], sub["interval"], sub["anchor"], sub["last_cycle"]) == (
        "pro", "monthly", "signup", 3,
    )  # fmt: skip
    assert sub["cycle"] == {
        "index": 3, "start": "2026-04-30T09:00:00+00:00", "end": "2026-05-31T09:00:00+00:00",
    }  # fmt: skip
    assert sub["next_renewal_at"] == "2026-05-31T09:00:00+00:00"
    table = cli(db, "org", "status", org, now=APRIL)
    assert table.exit_code == 0 and "next renewal" in table.stdout
    assert "2026-05-31 09:00:00" in table.stdout

    # Assigning another plan to a subscribed organization is a plan change (B5).
    changed = ok(cli(db, "plan", "assign", org, "enterprise", "-f", "json", now=APRIL))
    assert (changed["billing"]["change"], changed["billing"]["granted"]) == ("changed", "250")
    assert available(db, org, APRIL) == "500"  # OTAI credits never expire: none reset
    table = cli(db, "plan", "assign", org, "enterprise", now=APRIL)
    assert table.exit_code == 0, table.output
    assert "Already subscribed to this plan: its billing cycle runs on." in table.stdout


def test_plan_assign_without_subscribe_only_meters(db: str, org: str) -> None:
    assigned = ok(cli(db, "plan", "assign", org, "pro", "-f", "json"))
    assert (assigned["billing"]["change"], assigned["billing"]["subscription"]) == ("none", None)
    assert available(db, org) == "0"
    assert ok(cli(db, "org", "status", org, "-f", "json"))["subscription"] is None
    table = cli(db, "org", "status", org)
    assert "none (no plan with billing)" in table.stdout


def test_tick_prints_a_table_and_exits_by_the_first_error(db: str, org: str) -> None:
    ok(cli(db, "plan", "assign", org, "community", "--subscribe", "-f", "json"))
    table = cli(db, "tick", now=APRIL)
    assert table.exit_code == 0, table.output
    assert "renewals" in table.stdout and "cycles=3" in table.stdout and "amount=6" in table.stdout
    assert available(db, org, APRIL) == "12"


def test_plan_create_from_options_and_from_files(db: str, tmp_path: Path) -> None:
    made = ok(cli(db, "plan", "create", "studio", "--interval", "annual", "--anchor",
                  "calendar", "--time-zone", "Europe/Berlin", "--signup-credits", "12",
                  "--cycle-credits", "1200", "--expiry", "rollover 1", "--depletion", "flex",
                  "--allow", "mode=Basic,Business", "--max", "training_data_mb=100",
                  "--forbid", "export", "-f", "json"))  # fmt: skip
    assert {k: made[k] for k in ("interval", "anchor", "time_zone", "depletion")} == {
        "interval": "annual", "anchor": "calendar", "time_zone": "Europe/Berlin",
        "depletion": "flex",
    }  # fmt: skip
    assert (made["signup_grant"], made["cycle_grant"], made["grant_expiry"]) == (
        {"credits": "12", "kind": "included"}, {"credits": "1200", "kind": "included"},
        {"rollover_cycles": 1},
    )  # fmt: skip
    assert made["gates"] == {
        "forbid_operations": ["export"], "allow": {"mode": ["Basic", "Business"]},
        "max": {"training_data_mb": "100"},
    }  # fmt: skip
    assert ok(cli(db, "plan", "show", "studio", "-f", "json")) == made
    shown = cli(db, "plan", "show", "studio")
    assert "rollover_cycles 1" in shown.stdout and "1200 included" in shown.stdout

    toml = tmp_path / "team.toml"
    toml.write_text('name = "team"\ncycle_grant = { credits = 40 }\ngrant_expiry = '
                    '{ after = "6 months" }\n', encoding="utf-8")  # fmt: skip
    from_toml = ok(cli(db, "plan", "create", "--file", str(toml), "-f", "json"))
    assert (from_toml["name"], from_toml["grant_expiry"]) == ("team", {"after": "6 months"})
    as_json = tmp_path / "team.json"
    as_json.write_text(json.dumps({**from_toml, "name": "team-2"}), encoding="utf-8")
    # Options override the file's fields; the name argument its name.
    copied = ok(cli(db, "plan", "create", "team-3", "--file", str(as_json), "--cycle-credits",
                    "2.5", "--grant-kind", "promotional", "-f", "json"))  # fmt: skip
    assert (copied["name"], copied["cycle_grant"]) == (
        "team-3", {"credits": "2.5", "kind": "promotional"},
    )  # fmt: skip

    assert refused(cli(db, "plan", "create", "team", "--file", str(toml)), 4) == (
        "error: plan 'team' already exists"
    )
    replaced = ok(cli(db, "plan", "create", "--file", str(toml), "--replace", "--cycle-credits",
                      "41", "-f", "json"))  # fmt: skip
    assert replaced["cycle_grant"]["credits"] == "41"


def test_bad_plans_are_refused_with_every_problem(db: str, tmp_path: Path) -> None:
    assert refused(
        cli(db, "plan", "create", "x", "--cycle-credits", "-1", "--time-zone", "Mars/Olympus"), 2
    ) == (
        "error: invalid plan 'x': time_zone: must be an IANA time zone name such as 'UTC' or "
        "'Europe/Berlin', got 'Mars/Olympus'; cycle_grant.credits: must be greater than zero "
        "(leave the grant out for none)"
    )
    assert refused(cli(db, "plan", "create", "x", "--expiry", "soon"), 2) == (
        "error: invalid --expiry 'soon': one of never, end_of_cycle, 'after 6 months' or "
        "'rollover 3'"
    )
    assert "name: must be a non-empty string" in refused(cli(db, "plan", "create"), 2)
    several = tmp_path / "several.toml"
    several.write_text('[[plans]]\nname = "a"\n[[plans]]\nname = "b"\n', encoding="utf-8")
    assert "use `plan load`" in refused(cli(db, "plan", "create", "--file", str(several)), 2)
    broken = tmp_path / "broken.json"
    broken.write_text("{", encoding="utf-8")
    assert refused(cli(db, "plan", "create", "--file", str(broken)), 2).startswith(
        "error: invalid plan file"
    )
    assert refused(cli(db, "plan", "assign", "org_none", "pro", "--subscribe"), 3) == (
        "error: organization 'org_none' not found"
    )


# -- the worker, as a real process ---------------------------------------------------------


def _wait_for(path: Path, text: str, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if text in path.read_text(encoding="utf-8"):
            return
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    raise AssertionError(f"no {text!r} in the worker's log:\n{path.read_text(encoding='utf-8')}")


@pytest.mark.skipif(sys.platform == "win32", reason="SIGTERM is POSIX")
def test_the_worker_ticks_until_sigterm_then_exits_cleanly(
    db: str, org: str, tmp_path: Path
) -> None:
    ok(cli(db, "plan", "assign", org, "pro", "--subscribe", "-f", "json"))
    exe = Path(sys.executable).parent / "creditline"
    log, out = tmp_path / "worker.log", tmp_path / "worker.out"
    with log.open("w") as stderr, out.open("w") as stdout:
        proc = subprocess.Popen(
            [str(exe), "--db", db, "--now", APRIL, "worker", "--interval", "0.2", "-f", "json"],
            stdout=stdout, stderr=stderr, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )  # fmt: skip
        try:
            _wait_for(log, "tick at 2026-04-30T12:00:00+00:00", proc)
            proc.send_signal(signal.SIGTERM)
            code = proc.wait(timeout=60)
        finally:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
    logged = log.read_text(encoding="utf-8")
    assert code == 0, logged
    assert "worker started: a tick every 0.2s on sqlite" in logged
    assert "renewals: organizations=1, cycles=3, grants=3, amount=150" in logged
    assert "worker stopped after" in logged and "Traceback" not in logged
    reports = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert reports[0]["jobs"][0]["summary"]["cycles"] == 3
    assert all(r["jobs"][0]["summary"]["cycles"] == 0 for r in reports[1:])
    assert available(db, org, APRIL) == "250"
