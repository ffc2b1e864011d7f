"""Country gating's commands (``org create --country``, ``org update``, ``sales``), driven
through typer's CliRunner on a SQLite file, with the self-serve countries from the
environment (``CREDITLINE_SELF_SERVE_COUNTRIES``), as a deployment sets them."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app
from tests.billing import EXAMPLES

runner = CliRunner()
ENV = {
    "CREDITLINE_STRIPE_API_KEY": "",
    "CREDITLINE_SMTP_HOST": "",
    "CREDITLINE_SELF_SERVE_COUNTRIES": "US,CA",
}


def cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, *args], catch_exceptions=False, env=ENV)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'sales.db'}"
    ok(cli(url, "init", "-f", "json"))
    ok(cli(url, "pack", "load", str(EXAMPLES / "datarobot" / "packs.toml"), "-f", "json"))
    return url


def test_a_gated_purchase_exits_10_naming_the_contact_sales_command(db: str) -> None:
    org = ok(cli(db, "org", "create", "Acme GmbH", "--country", "de", "-f", "json"))
    assert org["country"] == "DE"
    refused = cli(db, "purchase", "create", org["id"], "explorer")
    assert refused.exit_code == 10, refused.output
    assert refused.stderr.count("\n") == 1
    assert "self-serve buying is not available in DE" in refused.stderr
    assert f"creditline sales request {org['id']}" in refused.stderr
    check = ok(cli(db, "sales", "check", org["id"], "-f", "json"))
    assert check == {
        "org_id": org["id"], "country": "DE", "available": False, "countries": ["CA", "US"],
    }  # fmt: skip
    assert "through sales" in cli(db, "sales", "check", org["id"]).stdout


def test_a_request_is_recorded_and_listed(db: str) -> None:
    org = ok(cli(db, "org", "create", "Acme GmbH", "--country", "DE", "-f", "json"))["id"]
    made = ok(
        cli(db, "sales", "request", org, "--amount", "750", "--message", "Invoice us",
            "--email", "cfo@acme.example", "-f", "json")
    )  # fmt: skip
    assert (made["org_id"], made["country"], made["credits"], made["credits_micros"]) == (
        org, "DE", "750", 750_000_000,
    )  # fmt: skip
    assert (made["message"], made["email"], made["source"]) == (
        "Invoice us",
        "cfo@acme.example",
        "api",
    )
    listed = ok(cli(db, "sales", "list", "-f", "json"))
    assert [r["id"] for r in listed] == [made["id"]]
    assert ok(cli(db, "sales", "list", org, "-f", "json")) == listed
    assert ok(cli(db, "sales", "show", made["id"], "-f", "json")) == made
    table = cli(db, "sales", "list").stdout
    assert made["id"] in table and "750 credits" in table
    unknown = cli(db, "sales", "request", org, "--pack", "platinum")
    assert unknown.exit_code == 3 and unknown.stderr.startswith("error: ")
    both = cli(db, "sales", "request", org, "--pack", "explorer", "--amount", "5")
    assert both.exit_code == 2
    assert len(ok(cli(db, "sales", "list", "-f", "json"))) == 1


def test_org_update_sets_and_clears_the_country(db: str) -> None:
    org = ok(cli(db, "org", "create", "Maple", "-f", "json"))["id"]
    moved = ok(cli(db, "org", "update", org, "--country", "ca", "-f", "json"))
    assert moved["country"] == "CA"
    assert ok(cli(db, "sales", "check", org, "-f", "json"))["available"] is True
    renamed = ok(cli(db, "org", "update", org, "--name", "Maple Inc", "--no-country", "-f", "json"))
    assert (renamed["name"], renamed["country"]) == ("Maple Inc", None)
    bad = cli(db, "org", "update", org, "--country", "UK")
    assert bad.exit_code == 2 and "ISO 3166-1" in bad.stderr
    assert "CA" not in cli(db, "org", "list").stdout.split(org)[1].split("\n")[0]
