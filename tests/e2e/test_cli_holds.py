"""``creditline extend`` (a hold's heartbeat) and ``creditline increase``, beside
``reserve``/``commit``/``release``: a multi-day hold kept alive, grown, captured in steps,
and the refusals' exit codes."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_cli_usage import available, cli, ok, refused

PLANS = """
[[plans]]
name = "runs"
max_hold_hours = 48
"""


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'holds.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    """An organization with 10 prepaid credits."""
    made: str = ok(cli(db, "org", "create", "Trainer", "-f", "json"))["id"]
    ok(cli(db, "grant", made, "10", "-f", "json"))
    return made


def test_a_hold_is_kept_alive_grown_and_captured_in_steps(db: str, org: str) -> None:
    res = ok(cli(db, "reserve", org, "4", "--ttl", "6h", "-f", "json"))["id"]
    beat = ok(cli(db, "extend", org, res, "--ttl", "6h", "-f", "json", now="2026-01-02T04:00:00Z"))
    assert (beat["status"], beat["expires_at"]) == ("open", "2026-01-02T10:00:00+00:00")
    same = ok(cli(db, "extend", org, res, "--ttl", "1h", "-f", "json", now="2026-01-02T05:00:00Z"))
    assert same["expires_at"] == "2026-01-02T10:00:00+00:00"  # never shortened
    grown = ok(cli(db, "increase", org, res, "2.5", "--key", "g1", "-f", "json"))
    assert (grown["amount"], grown["held"]) == ("6.5", "6.5")
    retried = ok(cli(db, "increase", org, res, "2.5", "--key", "g1", "-f", "json"))
    assert retried["held"] == "6.5"  # drawn once
    assert available(db, org) == "3.5"
    step = ok(cli(db, "commit", org, res, "3", "--step", "-f", "json"))
    assert step["reservation"]["held"] == "3.5"
    table = cli(db, "extend", org, res, "--ttl", "2h", now="2026-01-02T09:00:00Z")
    assert table.exit_code == 0 and res in table.stdout and "2026-01-02 11:00" in table.stdout
    final = ok(cli(db, "commit", org, res, "1", "-f", "json"))
    assert (final["consumed"], final["released"]) == ("1", "2.5")
    assert available(db, org) == "6"
    assert "error: reservation" in refused(cli(db, "extend", org, res, "--ttl", "1h"), 4)
    assert "committed" in refused(cli(db, "increase", org, res, "1"), 4)


def test_a_hold_missing_its_heartbeats_is_released_by_the_expiry_run(db: str, org: str) -> None:
    res = ok(cli(db, "reserve", org, "4", "--ttl", "1h", "-f", "json"))["id"]
    ok(cli(db, "extend", org, res, "--ttl", "2h", "-f", "json", now="2026-01-02T00:30:00Z"))
    ok(cli(db, "expire", "-f", "json", now="2026-01-02T02:00:00Z"))
    assert ok(cli(db, "reservations", org, "-f", "json"))[0]["status"] == "open"
    ok(cli(db, "expire", "-f", "json", now="2026-01-02T02:30:00Z"))
    assert ok(cli(db, "reservations", org, "-f", "json"))[0]["status"] == "expired"
    assert available(db, org) == "10"


def test_a_plans_longest_hold_bounds_the_heartbeats(db: str, org: str, tmp_path: Path) -> None:
    plans = tmp_path / "plans.toml"
    plans.write_text(PLANS, encoding="utf-8")
    ok(cli(db, "plan", "load", str(plans), "-f", "json"))
    assert ok(cli(db, "plan", "show", "runs", "-f", "json"))["max_hold_hours"] == 48
    shown = cli(db, "plan", "show", "runs")
    assert shown.exit_code == 0 and "longest hold (hours)" in shown.stdout
    ok(cli(db, "plan", "assign", org, "runs", "-f", "json"))
    res = ok(cli(db, "reserve", org, "1", "--ttl", "1d", "-f", "json"))["id"]
    message = refused(cli(db, "extend", org, res, "--ttl", "2d", now="2026-01-02T23:00:00Z"), 2)
    assert "plan 'runs' holds credits at most 48 hours" in message
    assert "(max_hold_hours 48)" in message


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["extend", "{org}", "res_none", "--ttl", "1h"], 3,
         "error: reservation 'res_none' not found"),
        (["increase", "{org}", "res_none", "1"], 3, "error: reservation 'res_none' not found"),
        (["extend", "{org}", "res_none", "--ttl", "1y"], 2,
         "error: invalid --ttl '1y': a whole number and a unit: 90s, 30m, 1h, 2d"),
        (["increase", "{org}", "res_none", "0"], 2,
         "error: invalid amount '0': must be greater than zero"),
        (["increase", "{org}", "res_none", "-1"], 2,
         "error: invalid amount '-1': must be greater than zero"),
    ],
)  # fmt: skip
def test_bad_heartbeats_and_increases_exit_by_error_class(
    db: str, org: str, args: list[str], code: int, message: str
) -> None:
    argv = [a.format(org=org) for a in args]
    assert refused(cli(db, *argv), code) == message.format(org=org)
    assert available(db, org) == "10"


def test_an_increase_beyond_the_credits_exits_5_and_changes_nothing(db: str, org: str) -> None:
    res = ok(cli(db, "reserve", org, "4", "-f", "json"))["id"]
    message = refused(cli(db, "increase", org, res, "7"), 5)
    assert message == f"error: insufficient credits in {org}: needed 7 credits, 6 available"
    assert ok(cli(db, "reservations", org, "-f", "json"))[0]["held"] == "4"
    assert available(db, org) == "6"
