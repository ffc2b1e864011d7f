"""Scoped grants (B7) through ``creditline``, driven for real on a SQLite file: OTAI's
onboarding guarantee at sign-up, the balance showing scoped credits apart, ``grant
--scope``, ``spend``/``reserve --operation``, and ``usage credit-back`` (seed 003)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app

NOW = "2026-01-02T00:00:00+00:00"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "otai"
FAST = ["-d", "mode=Basic", "-d", "delivery=Fast"]  # with 10 attributes: 2 credits

runner = CliRunner()


def cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, "--now", NOW, *args], catch_exceptions=False)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def balance(db: str, org: str) -> dict[str, Any]:
    found: dict[str, Any] = ok(cli(db, "balance", org, "-f", "json"))
    return found


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'scoped.db'}"
    ok(cli(url, "init", "-f", "json"))
    ok(cli(url, "ratecard", "load", str(EXAMPLES / "ratecard.toml"), "-f", "json"))
    ok(cli(url, "plan", "load", str(EXAMPLES / "plans.toml"), "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    """An OTAI Community organization: 6 credits and the onboarding guarantee's 4."""
    org: str = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    ok(cli(db, "org", "set-rate-card", org, "otai", "-f", "json"))
    ok(cli(db, "plan", "assign", org, "community", "--subscribe", "-f", "json"))
    return org


def test_the_onboarding_guarantee_pays_for_training_and_a_fee_is_credited_back(
    db: str, org: str
) -> None:
    b = balance(db, org)
    assert (b["available"], b["general"], b["scoped"]) == ("10", "6", "4")
    (onboarding,) = b["scoped_grants"]
    assert onboarding["scope"] == [{"operation": "train", "dimensions": {"mode": "any"}}]
    shown = cli(db, "balance", org)
    assert "available for some operations" in shown.stdout and "train (mode: any)" in shown.stdout

    for run in ("run-1", "run-2"):  # the training run and its improvement iteration
        args = ("usage", "record", org, run, "train", "-q", "attributes=10", *FAST, "-f", "json")
        assert ok(cli(db, *args))["cost"] == "2"
    b = balance(db, org)
    assert (b["general"], b["scoped"], b["scoped_grants"]) == ("6", "0", [])

    credit = ok(cli(db, "usage", "credit-back", org, "run-2", "-f", "json"))
    assert (credit["kind"], credit["amount"], credit["scope"]) == ("refund", "2", None)
    assert credit["source"] == {"type": "refund", "ref": "run-2"}
    (entry,) = ok(cli(db, "history", org, "--limit", "1", "-f", "json"))
    assert entry["cause"] == {"type": "usage_event", "ref": "run-2"}
    again = ok(cli(db, "usage", "credit-back", org, "run-2", "-f", "json"))
    assert again["id"] == credit["id"]  # once per run
    assert balance(db, org)["general"] == "8"
    assert ok(cli(db, "verify", "-f", "json"))["ok"] is True


def test_grant_scope_spend_and_reserve_for_an_operation(db: str, org: str) -> None:
    made = ok(cli(db, "grant", org, "3", "--kind", "promotional",
                  "--scope", "train:mode=Basic|Business", "-f", "json"))  # fmt: skip
    assert made["scope"] == [{"operation": "train", "dimensions": {"mode": ["Basic", "Business"]}}]
    table = cli(db, "grants", org)
    assert "for (scoped)" in table.stdout and "anything" in table.stdout

    # Not for an operation: the general credits only (6), never the scoped 7.
    refused = cli(db, "spend", org, "7", "-f", "json")
    assert refused.exit_code == 5 and "needed 7 credits, 6 available" in refused.stderr
    debit = ok(cli(db, "spend", org, "5", "--operation", "train", "-d", "mode=Basic",
                   "-f", "json"))  # fmt: skip
    # the scoped grants paid, in the usual order among them: included 4, promotional 1
    assert [a["amount"] for a in debit["allocations"]] == ["4", "1"]
    b = balance(db, org)
    assert (b["general"], b["scoped"]) == ("6", "2")
    assert [s["grant_id"] for s in b["scoped_grants"]] == [made["id"]]

    held = ok(cli(db, "reserve", org, "2", "--operation", "train", "-d", "mode=Business",
                  "-f", "json"))  # fmt: skip
    assert (held["operation"], held["dimensions"]) == ("train", {"mode": "Business"})
    assert balance(db, org)["scoped"] == "0"
    ok(cli(db, "release", org, held["id"], "-f", "json"))
    assert balance(db, org)["scoped"] == "2"  # back to the grant it came from
    assert ok(cli(db, "verify", "-f", "json"))["ok"] is True


def test_bad_scopes_are_refused_with_a_clear_error_and_change_nothing(db: str, org: str) -> None:
    before = balance(db, org)
    unknown = cli(db, "grant", org, "3", "--scope", "trian")
    assert unknown.exit_code != 0
    assert "'trian' is not an operation of rate card 'otai' (it has: train)" in unknown.stderr
    value = cli(db, "grant", org, "3", "--scope", "train:mode=Basik")
    assert "'Basik' is not a value of 'mode'" in value.stderr
    no_op = cli(db, "spend", org, "1", "-d", "mode=Basic")
    assert no_op.exit_code != 0 and "needs --operation" in no_op.stderr
    bad_json = cli(db, "grant", org, "3", "--scope", "[{")
    assert bad_json.exit_code != 0 and "not JSON" in bad_json.stderr
    missing = cli(db, "usage", "credit-back", org, "nope")
    assert missing.exit_code != 0 and "nope" in missing.stderr
    assert balance(db, org) == before
