"""``creditline key create --cap ... --window ... --operation ...`` on a SQLite file: the
key is made with its limits, ``key list`` shows its cap, used and room, bad limits exit
2 with one line, and a charge refused by a key's cap exits 5."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline import Creditline, ManualClock, credits
from creditline.domain.errors import KeyCapExceeded, OperationNotAllowed
from creditline.entrypoints.cli import app
from creditline.entrypoints.cli.errors import describe, exit_code
from tests.metering import card_doc

NOW = "2026-03-01T12:00:00+00:00"
runner = CliRunner()


def cli(db: str, *args: str) -> Result:
    return runner.invoke(app, ["--db", db, "--now", NOW, *args], catch_exceptions=False)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


@pytest.fixture
def db(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'keys.db'}"
    ok(cli(url, "init", "-f", "json"))
    return url


def test_a_capped_key_is_made_and_listed_with_its_cap_used_and_room(db: str) -> None:
    org = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    made = ok(cli(db, "key", "create", "--org", org, "--name", "agent", "--cap", "2.5",
                  "--window", "month", "--operation", "ping", "-f", "json"))  # fmt: skip
    assert (made["cap"], made["cap_window"], made["operations"]) == ("2.5", "month", ["ping"])
    assert (made["used"], made["room"]) == ("0", "2.5")
    with Creditline.open(db, clock=ManualClock(datetime.fromisoformat(NOW))) as cl:
        cl.load_rate_card(card_doc())
        cl.grant(org, credits(10))
        cl.record(org, "e1", "ping", key_id=made["id"])
    (listed,) = [k for k in ok(cli(db, "key", "list", "--org", org, "-f", "json"))]
    assert (listed["used"], listed["room"]) == ("1", "1.5")
    table = cli(db, "key", "list", "--org", org)
    assert "2.5/month, used 1, room 1.5; only ping" in " ".join(table.stdout.split())


@pytest.mark.parametrize(
    "limits",
    [
        ["--cap", "0"],
        ["--cap", "ten"],
        ["--window", "month"],
        ["--read-only", "--cap", "1"],
    ],
)
def test_bad_limits_exit_2_with_one_line(db: str, limits: list[str]) -> None:
    org = ok(cli(db, "org", "create", "Acme", "-f", "json"))["id"]
    refused = cli(db, "key", "create", "--org", org, *limits)
    assert refused.exit_code == 2, refused.output
    assert ok(cli(db, "key", "list", "-f", "json")) == []


def test_a_charge_refused_by_a_key_exits_5_and_says_the_room_in_credits() -> None:
    capped = KeyCapExceeded("key_x", credits(5), credits(4), credits(2), "day")
    assert exit_code(capped) == 5 and exit_code(OperationNotAllowed("key_x", "a", ("b",))) == 5
    assert describe(capped) == (
        "API key key_x is capped at 5 credits a day: 4 used, 1 left, the charge needs 2"
    )
