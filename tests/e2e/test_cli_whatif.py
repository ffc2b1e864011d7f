"""``creditline ratecard whatif``: a draft card file re-prices recorded usage, as a table,
CSV and JSON, exactly; bad input is one error line and nothing is loaded."""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner, Result

from creditline import Creditline, ManualClock, credits
from creditline.entrypoints.cli import app

T0 = datetime(2026, 11, 1, tzinfo=UTC)
AIXPLAIN = Path(__file__).resolve().parents[2] / "examples" / "aixplain" / "ratecard.toml"
# The draft: version "draft", Azure translation at 12 credits per 1M characters, not 10.
DRAFT = (
    AIXPLAIN.read_text()
    .replace('version = "2023-10"', 'version = "draft"')
    .replace("per_unit = { credits = 10, quantity", "per_unit = { credits = 12, quantity")
)

runner = CliRunner()


@pytest.fixture
def db(tmp_path: Path) -> tuple[str, str, Path]:
    """An organization on aiXplain's card, with 10 credits and a November of usage:
    100 translations of 100,000 characters (1 credit each at 10, 1.2 at 12)."""
    url = f"sqlite:///{tmp_path / 'cl.db'}"
    clock = ManualClock(T0)
    with Creditline.open(url, clock=clock) as cl:
        cl.load_rate_card(AIXPLAIN.read_text())
        org = cl.create_org("Translator").id
        cl.set_rate_card(org, "aixplain")
        cl.grant(org, credits(100))
        for n in range(100):
            clock.advance(timedelta(hours=6))
            cl.record(org, f"t{n}", "translate", {"characters": 100_000},
                      {"model": "azure-translator"})  # fmt: skip
    draft = tmp_path / "draft.toml"
    draft.write_text(DRAFT)
    return url, org, draft


def cli(url: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", url, "--now", "2026-12-01T00:00:00Z", *args],
                         catch_exceptions=False)  # fmt: skip


def test_json_gives_every_figure_exactly(db: tuple[str, str, Path]) -> None:
    url, org, draft = db
    result = cli(url, "ratecard", "whatif", str(draft), "--from", "2026-11-01", "-f", "json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.stdout)
    assert (data["card"], data["version"], data["events"]) == ("aixplain", "draft", 100)
    assert (data["charged"], data["repriced"], data["difference"]) == ("100", "120", "20")
    assert data["until"] == "2026-12-01T00:00:00+00:00"
    (row,) = data["operations"]
    assert row["org_id"] == org and row["operation"] == "translate"
    assert row["difference_micros"] == credits(20)
    # 100 credits, 1.2 a call under the draft: the 84th call would have been 0.8 short
    (out,) = data["run_outs"]
    assert out["org_id"] == org and out["short"] == "0.8" and out["ran_out_at"] is None
    assert out["at"] == (T0 + timedelta(hours=6 * 84)).isoformat()


def test_csv_has_a_row_per_organization_and_operation(db: tuple[str, str, Path]) -> None:
    url, org, draft = db
    result = cli(url, "ratecard", "whatif", str(draft), "--from", "2026-11-01",
                 "--to", "2026-11-11", "--org", org, "-f", "csv")  # fmt: skip
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout)))
    assert [(r["operation"], r["events"], r["charged"], r["repriced"]) for r in rows] == [
        ("translate", "39", "39", "46.8")
    ]


def test_the_table_names_the_draft_and_the_difference(db: tuple[str, str, Path]) -> None:
    url, _, draft = db
    result = cli(url, "ratecard", "whatif", str(draft), "--from", "2026-11-01")
    assert result.exit_code == 0, result.output
    assert "What if: aixplain draft" in result.stdout
    assert "+20" in result.stdout and "Would have run out earlier" in result.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["--from", "soon"], 2, "--from 'soon' is not an ISO 8601 timestamp"),
        (["--from", "2026-11-02", "--to", "2026-11-01"], 2, "must end after it starts"),
        (["--from", "2026-11-01", "--org", "org_nobody"], 3, "'org_nobody' not found"),
    ],
)
def test_bad_input_is_one_error_line(
    db: tuple[str, str, Path], args: list[str], code: int, message: str
) -> None:
    url, _, draft = db
    result = cli(url, "ratecard", "whatif", str(draft), *args)
    assert result.exit_code == code, result.output
    assert result.stdout == "" and message in result.stderr


def test_a_draft_with_problems_lists_them_and_loads_nothing(
    db: tuple[str, str, Path], tmp_path: Path
) -> None:
    url, _, _ = db
    bad = tmp_path / "bad.toml"
    bad.write_text(DRAFT.replace("per_unit = { credits = 12", "per_unit = { credits = -1"))
    result = cli(url, "ratecard", "whatif", str(bad), "--from", "2026-11-01")
    assert result.exit_code == 2 and "must not be negative" in result.stderr
    listed = json.loads(cli(url, "ratecard", "list", "-f", "json").stdout)
    assert [v["version"] for c in listed for v in c["versions"]] == ["2023-10"]
