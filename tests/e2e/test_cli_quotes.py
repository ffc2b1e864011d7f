"""``creditline quote --valid-for`` (a binding quote), ``quotes``, ``usage record --quote``
and ``commit --quote``: a price held through a rate card change, used once, and the
refusals' exit codes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.test_cli_usage import available, cli, ok, outcome, refused


def _card(tmp_path: Path, version: str, effective_from: str, ping: str) -> str:
    path = tmp_path / f"card-{version}.json"
    document = {
        "name": "default",
        "version": version,
        "effective_from": effective_from,
        "operations": {"ping": {"flat": ping}},
    }
    path.write_text(json.dumps(document), encoding="utf-8")
    return str(path)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'quotes.db'}"
    ok(cli(url, "init", "-f", "json"))
    card = _card(tmp_path, "v1", "2026-01-01T00:00:00Z", "10")
    ok(cli(url, "ratecard", "load", card, "--syntax", "json", "-f", "json"))
    return url


@pytest.fixture
def org(db: str) -> str:
    made: str = ok(cli(db, "org", "create", "Quoted", "-f", "json"))["id"]
    ok(cli(db, "grant", made, "100", "-f", "json"))
    return made


def test_a_binding_quote_holds_its_price_through_a_new_version_once(
    db: str, org: str, tmp_path: Path
) -> None:
    quote = ok(cli(db, "quote", "ping", "--org", org, "--valid-for", "15m", "-f", "json"))
    assert (quote["total"], quote["state"]) == ("10", "issued")
    assert quote["expires_at"] == "2026-01-02T00:15:00+00:00"
    table = cli(db, "quote", "ping", "--org", org, "--valid-for", "15m")
    assert table.exit_code == 0 and "10 credits for ping (default v1), issued" in table.stdout
    rise = _card(tmp_path, "v2", "2026-01-02T00:01:00Z", "15")
    ok(cli(db, "ratecard", "load", rise, "--syntax", "json", "-f", "json"))
    later = "2026-01-02T00:05:00Z"
    used = ok(cli(db, "usage", "record", org, "e-1", "ping", "--quote", quote["id"], "-f",
                  "json", now=later))  # fmt: skip
    assert used["cost"] == "10"
    result, line = outcome(
        cli(db, "usage", "record", org, "e-2", "ping", "--quote", quote["id"], "-f", "json",
            now=later),
        4,
    )  # fmt: skip
    assert result["status"] == "rejected" and "already used by usage_event:e-1" in line
    listed = ok(cli(db, "quotes", org, "-f", "json", now=later))
    assert {q["id"]: q["state"] for q in listed}[quote["id"]] == "used"
    shown = ok(cli(db, "quotes", org, quote["id"], "-f", "json", now=later))
    assert shown["used_by"] == "usage_event:e-1"
    table = cli(db, "quotes", org, now=later)
    assert table.exit_code == 0 and "issued" in table.stdout and "used" in table.stdout
    assert available(db, org) == "90"


def test_a_commit_takes_the_quoted_price_and_an_expired_quote_exits_4(db: str, org: str) -> None:
    quote = ok(cli(db, "quote", "ping", "--org", org, "--valid-for", "90s", "-f", "json"))
    hold = ok(cli(db, "reserve", org, "12", "--operation", "ping", "-f", "json"))["id"]
    settled = ok(cli(db, "commit", org, hold, "--quote", quote["id"], "-f", "json"))
    assert (settled["consumed"], settled["released"]) == ("10", "2")
    late = ok(cli(db, "quote", "ping", "--org", org, "--valid-for", "90s", "-f", "json"))
    _, line = outcome(
        cli(db, "usage", "record", org, "e-9", "ping", "--quote", late["id"], "-f", "json",
            now="2026-01-02T00:02:00Z"),
        4,
    )  # fmt: skip
    assert "expired at 2026-01-02T00:01:30" in line
    assert "not found" in refused(cli(db, "quotes", org, "qt_missing"), 3)
    assert "1 second to 86400" in refused(
        cli(db, "quote", "ping", "--org", org, "--valid-for", "2d"), 2
    )
    assert "--valid-for" in refused(cli(db, "quote", "ping", "--valid-for", "15m"), 2)


def test_an_imported_line_names_its_quote(db: str, org: str, tmp_path: Path) -> None:
    quote = ok(cli(db, "quote", "ping", "--org", org, "--valid-for", "15m", "-f", "json"))
    rise = _card(tmp_path, "v2", "2026-01-02T00:01:00Z", "15")
    ok(cli(db, "ratecard", "load", rise, "--syntax", "json", "-f", "json"))
    line = {"id": "i-1", "org": org, "operation": "ping", "timestamp": "2026-01-02T00:02:00Z",
            "quote": quote["id"]}  # fmt: skip
    events = tmp_path / "events.jsonl"
    events.write_text(json.dumps(line) + "\n", encoding="utf-8")
    done = cli(db, "usage", "import", str(events), "-f", "json", now="2026-01-02T00:03:00Z")
    assert done.exit_code == 0, done.output
    assert available(db, org) == "90"
    shown = ok(cli(db, "quotes", org, quote["id"], "-f", "json", now="2026-01-02T00:03:00Z"))
    assert shown["used_by"] == "usage_event:i-1"
