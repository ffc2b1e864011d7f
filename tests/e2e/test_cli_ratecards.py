"""``creditline ratecard``, ``quote`` and ``examples``, driven for real on a SQLite file.

Figures are checked exactly, in credits and in micro-credits, against the seed prices
of examples/otai and examples/aixplain.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.domain.pricing.ratecard_format import parse_ratecard
from creditline.entrypoints.cli import app

T0 = "2026-01-01T00:00:00+00:00"
FEB = "2026-02-01T00:00:00+00:00"
MARCH = "2026-03-01T00:00:00+00:00"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OTAI = EXAMPLES / "otai" / "ratecard.toml"
AIXPLAIN = EXAMPLES / "aixplain" / "ratecard.toml"

BAD_CARD = """\
name = "bad"
version = "1"
effective_from = "yesterday"
colour = "red"

[operations.train]
flat = -1

[operations.translate]
per_unit = { credits = 1 }
"""
BAD_PROBLEMS = [
    "colour: unknown key (known: format, name, version, effective_from, description, "
    "rounding, off_peak, operations)",
    "operations.translate.per_unit.quantity: missing",
    "effective_from: must be a date and time with a time zone (2026-01-01T00:00:00Z), "
    "got 'yesterday'",
    "operations.train.flat: must not be negative, got -1",
]

runner = CliRunner()


def cli(db: str, *args: str, now: str | None = T0) -> Result:
    argv = ["--db", db, *(["--now", now] if now else []), *args]
    return runner.invoke(app, argv, catch_exceptions=False)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def refused(result: Result, code: int) -> str:
    """The one error line of a refused command (which printed nothing else)."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    assert result.stderr.startswith("error: ")
    assert result.stderr.count("\n") == 1, result.stderr
    return result.stderr.strip()


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'cards.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


@pytest.fixture
def bad_card(tmp_path: Path) -> Path:
    path = tmp_path / "bad.toml"
    path.write_text(BAD_CARD, encoding="utf-8")
    return path


def write_card(tmp_path: Path, version: str, effective_from: str, credits: str) -> Path:
    path = tmp_path / f"default-{version}.json"
    document = {
        "name": "default",
        "version": version,
        "effective_from": effective_from,
        "operations": {"ping": {"flat": credits}},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return path


# -- validate -----------------------------------------------------------------------------


def test_validate_a_good_file_says_ok_with_its_operations(db: str) -> None:
    shown = cli(db, "ratecard", "validate", str(AIXPLAIN))
    assert shown.exit_code == 0, shown.output
    assert f"OK: {AIXPLAIN} is rate card aixplain 2023-10" in shown.stdout
    assert "with 7 operations" in shown.stdout
    data = ok(cli(db, "ratecard", "validate", str(OTAI), "-f", "json"))
    assert data == {
        "file": str(OTAI),
        "valid": True,
        "name": "otai",
        "version": "2026-01",
        "effective_from": T0,
        "operations": ["train"],
    }


def test_validate_a_bad_file_lists_every_problem_and_exits_2(bad_card: Path) -> None:
    # Validating needs no database.
    result = runner.invoke(app, ["ratecard", "validate", str(bad_card)])
    assert result.exit_code == 2
    assert result.stdout.splitlines() == [
        f"{bad_card}: 4 problems",
        *[f"  {problem}" for problem in BAD_PROBLEMS],
    ]
    assert result.stderr == f"error: {bad_card} is not a valid rate card: 4 problems\n"

    as_json = runner.invoke(app, ["ratecard", "validate", str(bad_card), "-f", "json"])
    assert as_json.exit_code == 2
    assert json.loads(as_json.stdout) == {
        "file": str(bad_card),
        "valid": False,
        "problems": BAD_PROBLEMS,
    }


def test_validate_reads_json_by_its_suffix_or_by_syntax(tmp_path: Path) -> None:
    document = parse_ratecard(OTAI.read_text(encoding="utf-8")).to_dict()
    as_json = tmp_path / "otai.json"
    as_json.write_text(json.dumps(document), encoding="utf-8")
    assert runner.invoke(app, ["ratecard", "validate", str(as_json)]).exit_code == 0
    renamed = tmp_path / "otai.card"
    renamed.write_text(json.dumps(document), encoding="utf-8")
    assert runner.invoke(app, ["ratecard", "validate", str(renamed)]).exit_code == 2
    read = runner.invoke(app, ["ratecard", "validate", str(renamed), "--syntax", "json"])
    assert read.exit_code == 0, read.output


def test_validate_a_missing_file_is_a_usage_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["ratecard", "validate", str(tmp_path / "nothing.toml")])
    assert result.exit_code == 2
    assert "does not exist" in result.stderr


# -- load, show, list -------------------------------------------------------------------


def test_load_prints_the_stored_card_and_loading_again_changes_nothing(db: str) -> None:
    loaded = ok(cli(db, "ratecard", "load", str(OTAI), "-f", "json"))
    assert loaded == parse_ratecard(OTAI.read_text(encoding="utf-8")).to_dict()
    assert loaded["operations"]["train"]["matrix"]["Maximum"] == {"Standard": "12", "Fast": "18"}
    again = ok(cli(db, "ratecard", "load", str(OTAI), "-f", "json", now=MARCH))
    assert again == loaded
    assert ok(cli(db, "ratecard", "show", "otai", "-f", "json")) == loaded
    listed = ok(cli(db, "ratecard", "list", "-f", "json"))
    assert listed == [
        {
            "name": "otai",
            "versions": [
                {
                    "name": "otai",
                    "version": "2026-01",
                    "effective_from": T0,
                    "operations": ["train"],
                }
            ],
        }
    ]
    table = cli(db, "ratecard", "show", "otai")
    assert table.exit_code == 0
    assert "Maximum: {Standard: 12, Fast: 18}" in table.stdout


def test_load_refuses_a_bad_file_with_every_problem_on_one_line(db: str, bad_card: Path) -> None:
    line = refused(cli(db, "ratecard", "load", str(bad_card)), 2)
    assert line == "error: invalid rate card: " + "; ".join(BAD_PROBLEMS)
    assert ok(cli(db, "ratecard", "list", "-f", "json")) == []


def test_versions_are_shown_by_the_time_asked_about(db: str, tmp_path: Path) -> None:
    ok(cli(db, "ratecard", "load", str(write_card(tmp_path, "v1", T0, "1")), "-f", "json"))
    ok(cli(db, "ratecard", "load", str(write_card(tmp_path, "v2", FEB, "2")), "-f", "json"))
    assert ok(cli(db, "ratecard", "show", "-f", "json"))["version"] == "v1"
    shown = ok(cli(db, "ratecard", "show", "default", "--at", FEB, "-f", "json"))
    assert shown["version"] == "v2"
    assert ok(cli(db, "ratecard", "show", "-f", "json", now=MARCH))["version"] == "v2"
    listed = ok(cli(db, "ratecard", "list", "-f", "json"))
    assert [v["version"] for v in listed[0]["versions"]] == ["v1", "v2"]
    before = "2025-12-31T00:00:00+00:00"
    line = refused(cli(db, "ratecard", "show", "--at", before), 3)
    assert line == f"error: no version of rate card 'default' is in force at {before}"


def test_a_version_before_now_or_changed_prices_are_refused(db: str, tmp_path: Path) -> None:
    ok(cli(db, "ratecard", "load", str(write_card(tmp_path, "v1", T0, "1")), "-f", "json"))
    past = refused(
        cli(db, "ratecard", "load", str(write_card(tmp_path, "v2", T0, "2")), now=FEB), 2
    )
    assert "is before now" in past
    changed = write_card(tmp_path, "v1", T0, "3")
    assert refused(cli(db, "ratecard", "load", str(changed)), 4) == (
        "error: rate card 'default' version 'v1' is already loaded with a different "
        "document; a loaded version never changes: give new prices a new version"
    )
    assert refused(cli(db, "ratecard", "show", "missing"), 3) == (
        "error: rate card 'missing' not found"
    )


# -- quote ------------------------------------------------------------------------------


def test_quote_gives_the_seed_figures_exactly(db: str) -> None:
    ok(cli(db, "ratecard", "load", str(OTAI), "-f", "json"))
    ok(cli(db, "ratecard", "load", str(AIXPLAIN), "-f", "json"))
    otai = ["quote", "--rate-card", "otai", "train", "-f", "json"]
    business = ok(
        cli(db, *otai, "-q", "attributes=3", "-d", "mode=Business", "-d", "delivery=Standard")
    )
    assert business == {
        "operation": "train",
        "card": "otai",
        "version": "2026-01",
        "total": "2",
        "total_micros": 2_000_000,
        "base": "3",
        "multiplier": "0.5",
        "multipliers": [{"reason": "attributes 3 in 1..5", "factor": "0.5"}],
        "exact": "1.5",
        "rounding": {"mode": "up", "increment": "1"},
        "adjustment": "0.5",
        "components": [{"label": "Business x Standard: 3 credits per call", "credits": "3"}],
        "steps": [],
        "selection": {"mode": "Business", "delivery": "Standard"},
        "supplier": None,
    }
    maximum = ok(cli(db, *otai, "-q", "attributes=60", "-d", "mode=Maximum", "-d", "delivery=Fast"))
    assert (maximum["total"], maximum["total_micros"]) == ("72", 72_000_000)

    aix = ["quote", "--rate-card", "aixplain", "-f", "json"]
    translate = ok(
        cli(db, *aix, "translate", "-q", "characters=1000000", "-d", "model=azure-translator")
    )
    assert (translate["total"], translate["total_micros"], translate["supplier"]) == (
        "10",
        10_000_000,
        "Azure",
    )
    transcribe = ok(cli(db, *aix, "transcribe", "-q", "minutes=40", "-d", "model=aws-transcribe"))
    assert (transcribe["total"], transcribe["total_micros"]) == ("0.96", 960_000)


def test_quote_prints_the_breakdown_for_people(db: str) -> None:
    ok(cli(db, "ratecard", "load", str(OTAI), "-f", "json"))
    args = ["-q", "attributes=3", "-d", "mode=Business", "-d", "delivery=Standard"]
    shown = cli(db, "quote", "--rate-card", "otai", "train", *args)
    assert shown.exit_code == 0, shown.output
    assert shown.stdout.splitlines() == [
        "train: 2 credits (otai 2026-01)",
        "  Business x Standard: 3 credits per call = 3",
        "  x0.5 attributes 3 in 1..5",
        "  exact 1.5, rounded up to 1 credit: +0.5",
    ]


def test_quote_a_pipeline_by_its_steps(db: str) -> None:
    ok(cli(db, "ratecard", "load", str(AIXPLAIN), "-f", "json"))
    quote = ok(
        cli(
            db,
            "quote",
            "--rate-card",
            "aixplain",
            "pipeline",
            "--step",
            "translate;q=characters=1000000;d=model=azure-translator",
            "--step",
            "transcribe;q=minutes=40;d=model=aws-transcribe",
            "-f",
            "json",
        )
    )
    assert (quote["total"], quote["total_micros"]) == ("10.96", 10_960_000)
    assert [(s["operation"], s["total"]) for s in quote["steps"]] == [
        ("translate", "10"),
        ("transcribe", "0.96"),
    ]
    benchmark = ok(
        cli(
            db,
            "quote",
            "--rate-card",
            "aixplain",
            "benchmark",
            "--step",
            "benchmark_model;q=model_params_b=7,dataset_samples=5000",
            "-f",
            "json",
        )
    )
    assert benchmark["total"] == "0.17"  # the example's own (illustrative) figure


def test_quote_by_an_organizations_card(db: str) -> None:
    ok(cli(db, "examples", "load", "otai", "-f", "json"))
    org = ok(cli(db, "org", "create", "Trainer", "-f", "json"))["id"]
    missing = refused(cli(db, "quote", "--org", org, "train"), 3)
    assert missing == "error: rate card 'default' not found"
    assert ok(cli(db, "org", "set-rate-card", org, "otai", "-f", "json")) == {
        "org_id": org,
        "rate_card": "otai",
    }
    usage = ["-q", "attributes=60", "-d", "mode=Maximum", "-d", "delivery=Fast"]
    quote = ok(cli(db, "quote", "--org", org, "train", *usage, "-f", "json"))
    assert (quote["card"], quote["total_micros"]) == ("otai", 72_000_000)
    assert refused(cli(db, "org", "set-rate-card", org, "nope"), 3) == (
        "error: rate card 'nope' not found"
    )


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["quote", "--rate-card", "otai", "train", "-q", "attributes"], 2),
        (["quote", "--rate-card", "otai", "train", "-q", "a=1", "-q", "a=2"], 2),
        (["quote", "--rate-card", "otai", "train", "-q", "attributes=1.5e3"], 2),
        (["quote", "--rate-card", "otai", "train", "-q", "attributes=3"], 2),
        (["quote", "--rate-card", "otai", "fly"], 2),
        (["quote", "--rate-card", "otai", "--org", "org_x", "train"], 2),
        (["quote", "--rate-card", "otai", "train", "--step", ";q=a=1"], 2),
        (["quote", "--rate-card", "otai", "train", "--step", "x;z=1"], 2),
        (["quote", "--rate-card", "otai", "train", "--at", "2026-01-01"], 2),
        (["quote", "--org", "org_missing", "train"], 3),
    ],
)
def test_quote_refuses_what_it_cannot_price(db: str, args: list[str], code: int) -> None:
    ok(cli(db, "examples", "load", "otai", "-f", "json"))
    refused(cli(db, *args), code)


# -- examples ---------------------------------------------------------------------------


def test_examples_lists_and_loads_each_seed_platform(db: str) -> None:
    listed = ok(cli(db, "examples", "list", "-f", "json"))
    assert listed == {
        "folder": str(EXAMPLES),
        "platforms": ["ai-engine", "aixplain", "datarobot", "otai", "roboflow"],
    }
    for platform in listed["platforms"]:
        loaded = ok(cli(db, "examples", "load", platform, "-f", "json"))
        assert loaded["name"] == platform
        assert ok(cli(db, "examples", "load", platform, "-f", "json")) == loaded
    assert len(ok(cli(db, "ratecard", "list", "-f", "json"))) == 5
    assert refused(cli(db, "examples", "load", "acme"), 2) == (
        "error: invalid platform 'acme': one of ai-engine, aixplain, datarobot, otai, roboflow"
    )


def test_examples_can_come_from_another_folder(db: str, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    (folder / "acme").mkdir(parents=True)
    (folder / "acme" / "ratecard.toml").write_text(
        OTAI.read_text(encoding="utf-8").replace('name = "otai"', 'name = "acme"'),
        encoding="utf-8",
    )
    loaded = ok(cli(db, "examples", "load", "acme", "--dir", str(folder), "-f", "json"))
    assert loaded["name"] == "acme"
    line = refused(cli(db, "examples", "list", "--dir", str(tmp_path / "none")), 6)
    assert line.startswith(f"error: no examples folder at {tmp_path / 'none'}")


def test_the_installed_command_loads_an_example_and_quotes_it(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "creditline"
    db = f"sqlite:///{tmp_path / 'exe.db'}"

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(exe), "--db", db, *args], capture_output=True, text=True, timeout=120, check=False
        )

    assert run("init").returncode == 0
    loaded = run("examples", "load", "aixplain")
    assert loaded.returncode == 0, loaded.stderr
    quote = run(
        "quote", "--rate-card", "aixplain", "transcribe", "-q", "minutes=40",
        "-d", "model=aws-transcribe", "-f", "json",
    )  # fmt: skip
    assert quote.returncode == 0, quote.stderr
    assert json.loads(quote.stdout)["total_micros"] == 960_000


def test_loading_an_example_set_loads_its_plans_too(db: str) -> None:
    loaded = ok(cli(db, "examples", "load", "otai", "-f", "json"))
    assert loaded["plans"] == ["community", "pro", "enterprise"]
    shown = ok(cli(db, "plan", "show", "enterprise", "-f", "json"))
    assert shown["name"] == "enterprise"
