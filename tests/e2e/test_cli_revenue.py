"""``creditline report revenue`` on a SQLite file: the operator's month per currency as a
table, CSV and JSON, and its refusals.

The story: in November 2026 Acme buys 10 credits for EUR 100.00 on account and is given
3 credits bought outside at USD 3.33 each and 2 as a gift; it spends 4 (the 3 included
credits first, then 1 prepaid).
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from creditline import CostBasis, Creditline, ManualClock, credits
from creditline.entrypoints.cli import app
from tests.metering import EXAMPLES

NOW = "2026-12-01T00:00:00+00:00"
runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'revenue.db'}"
    with Creditline.open(url, clock=ManualClock(datetime(2026, 11, 2, tzinfo=UTC))) as cl:
        cl.load_packs((EXAMPLES / "otai" / "packs.toml").read_text(encoding="utf-8"))
        org = cl.create_org("Acme").id
        cl.buy_on_account(org, "10-credits", currency="EUR")
        cl.grant(org, credits(3), "included", cost_basis=CostBasis(333, "USD"))
        cl.grant(org, credits(2), "promotional")
        cl.spend(org, credits(4))
    return url


def revenue(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, "--now", NOW, "report", "revenue", *args])


def ok(result: Result) -> str:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return result.stdout


def test_the_table_shows_money_per_currency_and_credits_per_line(db: str) -> None:
    out = ok(revenue(db, "--month", "2026-11"))
    assert "Deferred revenue at cost basis, 2026-11 (UTC)" in out
    eur = next(line for line in out.splitlines() if line.lstrip().startswith("EUR "))
    cells = [cell for cell in eur.split() if cell != "│"]
    assert cells == ["EUR", "0.00", "100.00", "10.00", "0.00", "0.00", "0.00", "90.00"]
    assert "promotional (no cash)" in out


def test_csv_has_a_row_per_line(db: str) -> None:
    rows = list(csv.DictReader(io.StringIO(ok(revenue(db, "--month", "2026-11", "-f", "csv")))))
    assert [(r["section"], r["currency"], r["kind"]) for r in rows] == [
        ("cash", "EUR", ""), ("cash", "USD", ""), ("no_cash", "", "promotional"),
    ]  # fmt: skip
    usd = rows[1]
    assert (usd["sold_minor"], usd["consumed_minor"], usd["closing_minor"]) == ("999", "999", "0")


def test_json_is_the_apis_document(db: str) -> None:
    data = json.loads(ok(revenue(db, "--month", "2026-11", "-f", "json")))
    assert (data["month"], data["since"]) == ("2026-11", "2026-11-01T00:00:00Z")
    eur, usd = data["currencies"]
    assert eur["closing"] == {"credits": "9", "credits_micros": credits(9), "minor": 9000,
                              "money": "EUR 90.00"}  # fmt: skip
    assert usd["recognised_minor"] == 999 and usd["reconciles"] is True
    assert data["no_cash"][0]["granted"]["credits"] == "2" and data["flex"] is None


@pytest.mark.parametrize("month", ["2026-13", "november", "1969-12"])
def test_a_bad_month_is_refused_with_one_line(db: str, month: str) -> None:
    result = revenue(db, "--month", month)
    assert result.exit_code == 2, result.output
    assert result.stderr.startswith("error: ") and "month" in result.stderr
