"""``creditline usage``, ``reserve``/``commit``/``release``, ``plan`` and ``org status``,
driven for real on a SQLite file.

Prices are the seed's (examples/otai, examples/aixplain): an OTAI training run in
Business/Standard with 3 attributes costs 3 x 0.5 = 1.5, rounded up to 2 credits; with
10 attributes 3 credits; Basic/Standard with 10 attributes 1; Basic/Fast with 7
attributes 2; Maximum/Fast with 25 attributes 18 x 2 = 36. aiXplain: 1M characters
translated by Azure cost 10 credits, a minute transcribed by AWS 0.024.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app
from creditline.entrypoints.cli import usage as cli_module

NOW = "2026-01-02T00:00:00+00:00"
EARLIER = "2026-01-01T10:00:00+00:00"
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
OTAI = EXAMPLES / "otai" / "ratecard.toml"
OTAI_PLANS = EXAMPLES / "otai" / "plans.toml"
AIXPLAIN = EXAMPLES / "aixplain" / "ratecard.toml"
BUSINESS = ["-d", "mode=Business", "-d", "delivery=Standard"]

runner = CliRunner()


def cli(db: str, *args: str, now: str = NOW, stdin: str | None = None) -> Result:
    return runner.invoke(
        app, ["--db", db, "--now", now, *args], input=stdin, catch_exceptions=False
    )


def ok(result: Result) -> Any:
    """The JSON a successful command printed."""
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def refused(result: Result, code: int) -> str:
    """The one error line of a command that printed nothing else."""
    assert result.exit_code == code, result.output
    assert result.stdout == ""
    return error_line(result)


def error_line(result: Result) -> str:
    assert result.stderr.startswith("error: "), result.output
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.output
    return result.stderr.strip()


def outcome(result: Result, code: int) -> tuple[Any, str]:
    """A command that printed its outcome as JSON and then exited ``code`` with one
    error line."""
    assert result.exit_code == code, result.output
    return json.loads(result.stdout), error_line(result)


def available(db: str, org: str) -> str:
    found: str = ok(cli(db, "balance", org, "-f", "json"))["available"]
    return found


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'usage.db'}"
    ok(cli(url, "init", "-f", "json"))
    ok(cli(url, "ratecard", "load", str(OTAI), "-f", "json"))
    ok(cli(url, "ratecard", "load", str(AIXPLAIN), "-f", "json"))
    return url


def new_org(db: str, name: str, card: str, credits: str) -> str:
    org: str = ok(cli(db, "org", "create", name, "-f", "json"))["id"]
    ok(cli(db, "grant", org, credits, "-f", "json"))
    ok(cli(db, "org", "set-rate-card", org, card, "-f", "json"))
    return org


@pytest.fixture
def org(db: str) -> str:
    """An OTAI organization with 10 prepaid credits."""
    return new_org(db, "Trainer", "otai", "10")


@pytest.fixture
def other(db: str) -> str:
    """An aiXplain organization with 20 prepaid credits."""
    return new_org(db, "Pipelines", "aixplain", "20")


# -- usage record -------------------------------------------------------------------------


def test_record_prices_charges_and_replays_an_event(db: str, org: str) -> None:
    args = ("usage", "record", org, "run-1", "train", "-q", "attributes=3", *BUSINESS)
    assert ok(cli(db, *args, "-f", "json")) == {
        "event_id": "run-1",
        "status": "accepted",
        "cost": "2",
        "cost_micros": 2_000_000,
        "reason": None,
        "rate_card": "otai@2026-01",
        "components": [],
    }
    assert available(db, org) == "8"
    again = ok(cli(db, *args, "-f", "json"))
    assert (again["status"], again["cost_micros"]) == ("duplicate", 2_000_000)
    assert available(db, org) == "8"
    shown = cli(db, *args)
    assert shown.exit_code == 0, shown.output
    assert "duplicate" in shown.stdout
    assert "otai@2026-01" in shown.stdout


def test_a_refused_event_exits_5_and_its_replay_too(db: str, org: str) -> None:
    args = ("usage", "record", org, "big", "train", "-q", "attributes=25")
    args += ("-d", "mode=Maximum", "-d", "delivery=Fast", "-f", "json")
    data, error = outcome(cli(db, *args), 5)
    assert (data["status"], data["cost"]) == ("refused", "0")
    assert data["reason"] == (
        f"insufficient credits in {org}: needed 36000000 micro-credits, 10000000 available"
    )
    assert error == f"error: insufficient credits in {org}: needed 36 credits, 10 available"
    data, error = outcome(cli(db, *args), 5)
    assert data["status"] == "duplicate"
    assert error == f"error: event 'big' was refused when first recorded: {data['reason']}"
    assert available(db, org) == "10"


def test_a_rejected_event_exits_by_its_error_class(db: str, org: str) -> None:
    data, error = outcome(cli(db, "usage", "record", org, "r", "fly", "-f", "json"), 2)
    assert data["status"] == "rejected"
    assert error == "error: rate card otai 2026-01 has no operation 'fly' (it prices: train)"
    data, error = outcome(cli(db, "usage", "record", "org_none", "r", "train", "-f", "json"), 3)
    assert error == "error: organization 'org_none' not found"
    base = ("usage", "record", org, "same", "train", *BUSINESS, "-f", "json")
    ok(cli(db, *base, "-q", "attributes=3"))
    data, error = outcome(cli(db, *base, "-q", "attributes=4"), 4)
    assert data["status"] == "rejected"
    assert error == "error: idempotency key 'same' was already used for a different request"
    assert available(db, org) == "8"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["-q", "attributes"], "error: invalid --quantity 'attributes': expected NAME=VALUE"),
        (
            ["--at", "2026-01-01T00:00:00"],
            "error: --at must carry a time zone (got a naive datetime)",
        ),
        (["--step", ";q=a=1"], "error: invalid --step ';q=a=1': expected "
         "OPERATION;q=NAME=VALUE,...;d=NAME=VALUE,..."),
    ],
)  # fmt: skip
def test_bad_record_arguments_exit_2_before_recording(
    db: str, org: str, args: list[str], message: str
) -> None:
    assert refused(cli(db, "usage", "record", org, "x", "train", *args), 2) == message
    assert ok(cli(db, "usage", "list", org, "-f", "json")) == []


def test_record_a_pipeline_with_exact_decimal_quantities(db: str, other: str) -> None:
    result = ok(
        cli(
            db, "usage", "record", other, "pipe-1", "pipeline",
            "--step", "translate;q=characters=1000000;d=model=azure-translator",
            "--step", "transcribe;q=minutes=0.5;d=model=aws-transcribe",
            "--at", EARLIER, "-f", "json",
        )
    )  # fmt: skip
    assert (result["status"], result["cost"]) == ("accepted", "10.012")
    assert result["components"] == [
        {"operation": "translate", "cost": "10", "cost_micros": 10_000_000},
        {"operation": "transcribe", "cost": "0.012", "cost_micros": 12_000},
    ]
    assert available(db, other) == "9.988"
    shown = ok(cli(db, "usage", "show", other, "pipe-1", "-f", "json"))
    assert shown["timestamp"] == EARLIER
    assert shown["steps"][1] == {
        "operation": "transcribe",
        "quantities": {"minutes": "0.5"},
        "dimensions": {"model": "aws-transcribe"},
    }


# -- list, show, amend, void ------------------------------------------------------------


def test_list_show_amend_and_void(db: str, org: str) -> None:
    project = ok(cli(db, "project", "create", org, "Vision", "-f", "json"))["id"]
    ok(cli(db, "usage", "record", org, "e1", "train", "-q", "attributes=3", *BUSINESS,
           "--project", project, "-f", "json"))  # fmt: skip
    ok(cli(db, "usage", "record", org, "e2", "train", "-q", "attributes=10",
           "-d", "mode=Basic", "-d", "delivery=Standard", "-f", "json"))  # fmt: skip
    listed = ok(cli(db, "usage", "list", org, "-f", "json"))
    assert [(e["event_id"], e["status"], e["cost"]) for e in listed] == [
        ("e2", "accepted", "1"),
        ("e1", "accepted", "2"),
    ]
    latest = ok(cli(db, "usage", "list", org, "--limit", "1", "-f", "json"))
    assert [e["event_id"] for e in latest] == ["e2"]
    (grant,) = ok(cli(db, "grants", org, "-f", "json"))
    shown = ok(cli(db, "usage", "show", org, "e1", "-f", "json"))
    assert shown["project_id"] == project
    assert shown["quantities"] == {"attributes": "3"}
    assert shown["allocations"] == [
        {"grant_id": grant["id"], "amount": "2", "amount_micros": 2_000_000}
    ]
    table = cli(db, "usage", "show", org, "e1")
    assert table.exit_code == 0, table.output
    assert "Paid by" in table.stdout
    assert grant["id"] in table.stdout

    amended = ok(cli(db, "usage", "amend", org, "e1", "-q", "attributes=10", "-f", "json"))
    assert (amended["status"], amended["cost"]) == ("accepted", "3")
    assert amended["quantities"] == {"attributes": "10"}
    assert available(db, org) == "6"  # 10 - 3 - 1

    voided = ok(cli(db, "usage", "void", org, "e1", "-f", "json"))
    assert (voided["status"], voided["cost"], voided["allocations"]) == ("voided", "0", [])
    assert available(db, org) == "9"
    assert ok(cli(db, "usage", "void", org, "e1", "-f", "json"))["status"] == "voided"
    assert available(db, org) == "9"
    history = ok(cli(db, "history", org, "--type", "void", "-f", "json"))
    assert sum(e["amount_micros"] for e in history) == 3_000_000

    assert refused(cli(db, "usage", "amend", org, "e1", "-q", "attributes=3"), 2) == (
        "error: cannot price 'train': status: a voided event"
    )
    assert refused(cli(db, "usage", "show", org, "nope"), 3) == (
        "error: usage event 'nope' not found"
    )
    assert refused(cli(db, "usage", "list", "org_none"), 3) == (
        "error: organization 'org_none' not found"
    )


# -- import -------------------------------------------------------------------------------


def exact(document: dict[str, Any]) -> str:
    """A JSON line with decimal numbers written as such: ``"#0.5"`` becomes ``0.5``."""
    return re.sub(r'"#([0-9.]+)"', r"\1", json.dumps(document))


def lines(org: str, other: str) -> list[str]:
    """Four good events (own form, CloudEvents, exact decimals), two bad lines, a blank."""
    return [
        json.dumps({"id": "i-1", "org": org, "operation": "train", "timestamp": EARLIER,
                    "quantities": {"attributes": 3},
                    "dimensions": {"mode": "Business", "delivery": "Standard"}}),
        '{"id": "i-2", "org": ',
        json.dumps({"specversion": "1.0", "id": "ce-1", "source": "/trainer", "type": "train",
                    "subject": org, "time": EARLIER, "traceparent": "00-ab",
                    "data": {"quantities": {"attributes": "7"},
                             "dimensions": {"mode": "Basic", "delivery": "Fast"}}}),
        "",
        json.dumps({"id": "i-3", "org": org, "timestamp": "2026-01-01",
                    "quantities": {"attributes": -1}, "colour": "red"}),
        exact({"id": "i-4", "org": org, "operation": "train", "timestamp": EARLIER,
               "quantities": {"attributes": 10},
               "dimensions": {"mode": "Basic", "delivery": "Standard"},
               "metadata": {"ratio": "#0.25"}}),
        exact({"id": "i-5", "org": other, "operation": "transcribe", "timestamp": EARLIER,
               "quantities": {"minutes": "#0.5"}, "dimensions": {"model": "aws-transcribe"}}),
    ]  # fmt: skip


LINE_5 = [
    "colour: unknown field (known: id, org, operation, timestamp, quantities, dimensions, "
    "project, member, parent, steps, metadata, quote)",
    "operation: missing",
    "timestamp: '2026-01-01' needs a time zone (2026-01-05T10:00:00Z)",
    "quantities.attributes: must be a finite number >= 0, got -1",
]
BAD_LINES = [
    {"line": 2, "problems": ["not JSON: Expecting value (column 22)"]},
    {"line": 5, "problems": LINE_5},
]


def write(tmp_path: Path, rows: list[str]) -> str:
    path = tmp_path / "events.jsonl"
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return str(path)


def test_import_with_bad_lines_records_nothing_and_lists_every_one(
    db: str, org: str, other: str, tmp_path: Path
) -> None:
    path = write(tmp_path, lines(org, other))
    data, error = outcome(cli(db, "usage", "import", path, "-f", "json"), 2)
    assert data == {"file": path, "lines": 6, "recorded": False, "bad_lines": BAD_LINES}
    assert error == (
        f"error: {path}: 2 bad lines; nothing was recorded (--skip-bad records the good lines)"
    )
    table = cli(db, "usage", "import", path)
    assert table.exit_code == 2
    assert table.stdout.splitlines()[:2] == [
        f"{path}: 2 bad lines of 6",
        "  line 2: not JSON: Expecting value (column 22)",
    ]
    assert "line 5: colour: unknown field" in table.stdout
    assert ok(cli(db, "usage", "list", org, "-f", "json")) == []
    assert ok(cli(db, "usage", "list", other, "-f", "json")) == []
    assert (available(db, org), available(db, other)) == ("10", "20")


def test_import_skip_bad_records_the_good_lines(
    db: str, org: str, other: str, tmp_path: Path
) -> None:
    path = write(tmp_path, lines(org, other))
    args = ("usage", "import", path, "--skip-bad", "--batch-size", "2", "-f", "json")
    data, error = outcome(cli(db, *args), 2)
    assert data == {
        "file": path,
        "lines": 6,
        "recorded": True,
        "sent": 4,
        "accepted": 4,
        "refused": 0,
        "rejected": 0,
        "duplicate": 0,
        "skipped": 2,
        "charged": "5.012",  # 2 + 2 + 1 + 0.5 x 0.024
        "charged_micros": 5_012_000,
        "bad_lines": BAD_LINES,
        "not_accepted": [],
    }
    assert error == f"error: {path}: 2 bad lines skipped"
    listed = ok(cli(db, "usage", "list", org, "-f", "json"))
    assert [(e["event_id"], e["cost"]) for e in listed] == [("i-4", "1"), ("ce-1", "2"),
                                                            ("i-1", "2")]  # fmt: skip
    assert (available(db, org), available(db, other)) == ("5", "19.988")
    cloud = ok(cli(db, "usage", "show", org, "ce-1", "-f", "json"))
    assert (cloud["timestamp"], cloud["quantities"]) == (EARLIER, {"attributes": "7"})
    assert cloud["metadata"] == {"cloudevents": {"source": "/trainer", "traceparent": "00-ab"}}
    exact = ok(cli(db, "usage", "show", org, "i-4", "-f", "json"))
    assert exact["metadata"] == {"ratio": "0.25"}
    transcribed = ok(cli(db, "usage", "show", other, "i-5", "-f", "json"))
    assert transcribed["quantities"] == {"minutes": "0.5"}

    # Run again: every event is a duplicate, nothing is charged twice.
    again, _ = outcome(cli(db, *args), 2)
    assert (again["duplicate"], again["accepted"], again["charged"]) == (4, 0, "0")
    assert (available(db, org), available(db, other)) == ("5", "19.988")


def event(org: str, ident: str, attributes: int, mode: str = "Basic") -> str:
    return json.dumps({"id": ident, "org": org, "operation": "train", "timestamp": EARLIER,
                       "quantities": {"attributes": attributes},
                       "dimensions": {"mode": mode, "delivery": "Standard"}})  # fmt: skip


def test_import_a_clean_file_in_batches_exits_0(db: str, org: str, tmp_path: Path) -> None:
    rows = [event(org, f"b-{i}", 10) for i in range(5)] + [event(org, "b-0", 10)]
    path = write(tmp_path, rows)
    shown = cli(db, "usage", "import", path, "--batch-size", "2")
    assert shown.exit_code == 0, shown.output
    assert shown.stderr == ""
    assert " ".join(shown.stdout.split()) == (
        f"{path}: 6 events sent from 6 lines: 5 accepted, 0 refused, 0 rejected, "
        "1 duplicate; 5 credits charged"
    )
    assert available(db, org) == "5"


def test_import_reports_refused_and_rejected_events_by_line(
    db: str, org: str, tmp_path: Path
) -> None:
    rows = [
        event(org, "a", 10, "Maximum"),  # 12 credits: more than the 10 there are
        event(org, "b", 10),
        event("org_none", "c", 10),
    ]
    path = write(tmp_path, rows)
    data, error = outcome(cli(db, "usage", "import", path, "-f", "json"), 2)
    assert (data["accepted"], data["refused"], data["rejected"], data["charged"]) == (
        1, 1, 1, "1",
    )  # fmt: skip
    assert [(e["line"], e["event_id"], e["status"]) for e in data["not_accepted"]] == [
        (1, "a", "refused"),
        (3, "c", "rejected"),
    ]
    assert data["not_accepted"][1]["reason"] == "organization 'org_none' not found"
    assert error == f"error: {path}: 1 event rejected, 1 event refused"
    only_refused = write(tmp_path, [event(org, "a", 10, "Maximum")])
    data, error = outcome(cli(db, "usage", "import", only_refused, "-f", "json"), 5)
    assert (data["duplicate"], data["not_accepted"][0]["status"]) == (1, "duplicate")
    assert error == f"error: {only_refused}: 1 event refused"


def test_import_reads_standard_input(db: str, org: str) -> None:
    stdin = event(org, "s-1", 3, "Business") + "\n\n" + event(org, "s-2", 10) + "\n"
    data = ok(cli(db, "usage", "import", "-", "-f", "json", stdin=stdin))
    assert (data["file"], data["lines"], data["accepted"], data["charged"]) == ("-", 2, 2, "3")


def test_import_draws_a_progress_bar_only_for_a_person(
    db: str, org: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, [event(org, f"p-{i}", 10) for i in range(3)])
    monkeypatch.setattr(cli_module, "_interactive", lambda: True)
    shown = cli(db, "usage", "import", path, "--batch-size", "1")
    assert shown.exit_code == 0, shown.output
    assert "3 accepted" in shown.stdout
    assert "3/3" in shown.stderr
    again = ok(cli(db, "usage", "import", path, "-f", "json"))  # JSON: no bar
    assert again["duplicate"] == 3


GOOD = {"id": "g", "org": "org_x", "operation": "train", "timestamp": EARLIER}
CLOUD = {"specversion": "1.0", "id": "c", "source": "/s", "type": "train", "subject": "org_x",
         "time": EARLIER}  # fmt: skip


@pytest.mark.parametrize(
    ("line", "problems"),
    [
        (b"\xff{}", ["not UTF-8 text (byte 1)"]),
        (b"[1, 2]", ["must be a JSON object, got a list"]),
        (b'{"id": NaN}', ["not JSON: NaN is not a number JSON allows"]),
        (json.dumps({**GOOD, "quantities": {"a": True, "b": None, "c": "x"}}).encode(),
         ["quantities.a: must be a number", "quantities.b: must be a number",
          "quantities.c: 'x' is not a number"]),
        (json.dumps({**GOOD, "id": "", "org": 7, "dimensions": {"mode": 1}}).encode(),
         ["org: must be a string, got a number", "id: must be 1 to 200 characters",
          "dimensions.mode: must be a non-empty string"]),
        (json.dumps({**GOOD, "timestamp": "2026-01-03T00:00:00Z"}).encode(),
         ["timestamp: 2026-01-03T00:00:00+00:00 is in the future"]),
        (json.dumps({**GOOD, "steps": [{"operation": 3, "q": 1}, 5], "metadata": []}).encode(),
         ["steps[0].q: unknown field (known: operation, quantities, dimensions)",
          "steps[0].operation: must be a string, got a number",
          "steps[1]: must be an object, got a number",
          "metadata: must be an object, got a list"]),
        (json.dumps({**CLOUD, "specversion": "0.3", "subject": None}).encode(),
         ["specversion: must be \"1.0\", got '0.3'", "subject: missing"]),
        (json.dumps({**CLOUD, "data": {"quantities": {"a": -1}, "extra": 1}}).encode(),
         ["data.extra: unknown field (known: quantities, dimensions, project, member, parent, "
          "steps, metadata)", "data.quantities.a: must be a finite number >= 0, got -1"]),
    ],
)  # fmt: skip
def test_each_bad_line_is_reported_with_every_problem(
    db: str, tmp_path: Path, line: bytes, problems: list[str]
) -> None:
    path = tmp_path / "one.jsonl"
    path.write_bytes(b"\r\n" + line + b"\r\n")
    data, _ = outcome(cli(db, "usage", "import", str(path), "-f", "json"), 2)
    assert data["bad_lines"] == [{"line": 2, "problems": problems}]


def test_import_of_a_missing_file_exits_2(db: str, tmp_path: Path) -> None:
    missing = tmp_path / "none.jsonl"
    assert refused(cli(db, "usage", "import", str(missing)), 2) == (
        f"error: invalid events file '{missing}': No such file or directory"
    )


# -- reservations -------------------------------------------------------------------------


def test_reserve_commit_in_steps_and_release(db: str, org: str) -> None:
    held = ok(cli(db, "reserve", org, "4", "--ttl", "30m", "--key", "job-1", "-f", "json"))
    res = held["id"]
    assert (held["status"], held["amount"], held["held"]) == ("open", "4", "4")
    assert held["expires_at"] == "2026-01-02T00:30:00+00:00"
    assert (
        ok(cli(db, "reserve", org, "4", "--ttl", "30m", "--key", "job-1", "-f", "json"))["id"]
        == res
    )
    assert available(db, org) == "6"

    step = ok(cli(db, "commit", org, res, "3", "--step", "-f", "json"))
    assert (step["consumed"], step["released"], step["shortfall"]) == ("3", "0", "0")
    assert (step["reservation"]["status"], step["reservation"]["held"]) == ("open", "1")
    final = ok(cli(db, "commit", org, res, "0.5", "-f", "json"))
    assert (final["consumed"], final["released"], final["replayed"]) == ("0.5", "0.5", False)
    assert final["reservation"]["status"] == "committed"
    assert final["reservation"]["consumed_micros"] == 3_500_000
    assert available(db, org) == "6.5"
    replay = ok(cli(db, "release", org, res, "-f", "json"))
    assert (replay["replayed"], replay["reservation"]["status"]) == (True, "committed")
    assert available(db, org) == "6.5"

    other = ok(cli(db, "reserve", org, "2", "-f", "json"))["id"]
    assert available(db, org) == "4.5"
    still_open = ok(cli(db, "reservations", org, "--status", "open", "-f", "json"))
    assert [r["id"] for r in still_open] == [other]
    released = ok(cli(db, "release", org, other, "-f", "json"))
    assert (released["released"], released["reservation"]["status"]) == ("2", "released")
    assert available(db, org) == "6.5"
    listed = ok(cli(db, "reservations", org, "-f", "json"))
    assert sorted(r["status"] for r in listed) == ["committed", "released"]
    table = cli(db, "commit", org, res, "1")
    assert table.exit_code == 0, table.output
    assert "replayed" in table.stdout


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["reserve", "{org}", "100"], 5,
         "error: insufficient credits in {org}: needed 100 credits, 10 available"),
        (["reserve", "{org}", "1", "--ttl", "1y"], 2,
         "error: invalid --ttl '1y': a whole number and a unit: 90s, 30m, 1h, 2d"),
        (["reserve", "{org}", "1", "--ttl", "31d"], 2,
         "error: invalid time-to-live datetime.timedelta(days=31): must be above zero and "
         "at most 30 days, 0:00:00"),
        (["reserve", "{org}", "-1"], 2, "error: invalid amount '-1': must be greater than zero"),
        (["commit", "{org}", "res_none", "1"], 3, "error: reservation 'res_none' not found"),
        (["commit", "{org}", "res_none", "-1"], 2,
         "error: invalid amount '-1': must not be negative"),
        (["release", "{org}", "res_none"], 3, "error: reservation 'res_none' not found"),
        (["reservations", "org_none"], 3, "error: organization 'org_none' not found"),
    ],
)  # fmt: skip
def test_bad_reservations_exit_by_error_class(
    db: str, org: str, args: list[str], code: int, message: str
) -> None:
    argv = [a.format(org=org) for a in args]
    assert refused(cli(db, *argv), code) == message.format(org=org)
    assert available(db, org) == "10"


# -- plans and org status -----------------------------------------------------------------


def test_plans_gate_usage_and_org_status_shows_metering(db: str, org: str) -> None:
    loaded = ok(cli(db, "plan", "load", str(OTAI_PLANS), "-f", "json"))
    assert [p["name"] for p in loaded] == ["community", "pro", "enterprise"]
    assert ok(cli(db, "plan", "show", "pro", "-f", "json")) == {
        "name": "pro",
        "depletion": "pause",
        "flex_enabled": True,
        "flex_limit_micros": None,
        "max_open_reservations": None,
        "gates": {"forbid_operations": [], "allow": {"mode": ["Basic", "Business"]}, "max": {}},
        "interval": "monthly",
        "anchor": "signup",
        "time_zone": "UTC",
        "signup_grant": {"credits": "100", "kind": "included"},
        "cycle_grant": {"credits": "50", "kind": "included"},
        "grant_expiry": "never",
        "extra_signup_grants": [  # the onboarding guarantee: training runs only
            {"credits": "10", "kind": "included",
             "scope": [{"operation": "train", "dimensions": {"mode": "any"}}]},
        ],
        "fee": {"prices_minor": {"EUR": 49900}, "currency": "EUR", "billed": "in_advance",
                "on_change": "none"},  # ILLUSTRATIVE
        "dunning": {"retry_after_days": [1, 3, 7], "suspend": "pause"},
    }  # fmt: skip
    status = ok(cli(db, "org", "status", org, "-f", "json"))
    assert {k: status[k] for k in ("plan", "rate_card", "depletion", "flex_enabled")} == {
        "plan": "default", "rate_card": "otai", "depletion": "pause", "flex_enabled": True,
    }  # fmt: skip
    assigned = ok(cli(db, "plan", "assign", org, "pro", "--depletion", "read_only",
                      "--no-flex", "-f", "json"))  # fmt: skip
    assert (assigned["plan"], assigned["depletion"], assigned["flex_enabled"]) == (
        "pro", "read_only", False,
    )  # fmt: skip

    data, error = outcome(cli(db, "usage", "record", org, "max", "train", "-q", "attributes=10",
                              "-d", "mode=Maximum", "-d", "delivery=Standard", "-f", "json"),
                          5)  # fmt: skip
    assert data["status"] == "refused"
    assert error == (
        "error: refused by plan 'pro', rule dimensions.mode: 'Maximum' is not available on "
        "this plan"
    )
    ok(cli(db, "spend", org, "9", "-f", "json"))
    status = ok(cli(db, "org", "status", org, "-f", "json"))
    assert (status["plan"], status["read_only"], status["balance"]["available"]) == (
        "pro", False, "1",
    )  # fmt: skip
    ok(cli(db, "usage", "record", org, "last", "train", "-q", "attributes=3",
           "-d", "mode=Basic", "-d", "delivery=Standard", "-f", "json"))  # fmt: skip
    status = ok(cli(db, "org", "status", org, "-f", "json"))
    assert (status["read_only"], status["balance"]["available_micros"]) == (True, 0)
    table = cli(db, "org", "status", org)
    assert table.exit_code == 0, table.output
    assert "read-only" in table.stdout
    data, error = outcome(cli(db, "usage", "record", org, "more", "train", "-q",
                              "attributes=3", *BUSINESS, "-f", "json"), 5)  # fmt: skip
    assert data["reason"].endswith("; the organization is read-only until credits are bought")


def test_bad_plans_exit_by_error_class(db: str, org: str, tmp_path: Path) -> None:
    bad = tmp_path / "plans.toml"
    bad.write_text('[[plans]]\nname = "x"\ndepletion = "never"\n', encoding="utf-8")
    assert refused(cli(db, "plan", "load", str(bad)), 2) == (
        "error: invalid plans '[[plans]]': plans[0] (x): depletion: one of pause, read_only, "
        "flex, unlimited"
    )
    assert refused(cli(db, "plan", "show", "x"), 3) == "error: plan 'x' not found"
    assert refused(cli(db, "plan", "assign", org, "x"), 3) == "error: plan 'x' not found"
    assert refused(cli(db, "org", "status", "org_none"), 3) == (
        "error: organization 'org_none' not found"
    )
    wrong = cli(db, "plan", "assign", org, "x", "--depletion", "never")
    assert wrong.exit_code == 2  # click's own usage error


def test_record_twice_without_a_time_answers_duplicate_the_second_time(db: str, org: str) -> None:
    args = ("usage", "record", org, "run-1", "train", "-q", "attributes=3", *BUSINESS)
    first = ok(cli(db, *args, "-f", "json", now="2026-01-02T00:00:00+00:00"))
    again = ok(cli(db, *args, "-f", "json", now="2026-01-02T00:07:00+00:00"))
    assert (first["status"], again["status"]) == ("accepted", "duplicate")
    assert again["cost_micros"] == first["cost_micros"]
    assert available(db, org) == "8"
