"""What ``creditline`` says to a person: help that reads as sentences, and a sentence for
what a command did, also when it did nothing."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
import typer.main
from typer.testing import CliRunner, Result

from creditline.entrypoints.cli import app

runner = CliRunner()


def _commands() -> list[tuple[list[str], Any]]:
    """Every command and group, with its path (typer's own click, so no click types)."""
    found: list[tuple[list[str], Any]] = []

    def walk(command: Any, path: list[str]) -> None:
        found.append((path, command))
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                walk(sub, [*path, name])

    walk(typer.main.get_command(app), [])
    return found


def _flat(text: str) -> str:
    """Words joined by one space; a word wrapped at its hyphen ("top-" / "up") made whole."""
    return " ".join(re.sub(r"(?<=\w-)\n\s*(?=\w)", "", text).split())


def _cli(db: Path, *args: str, now: str | None = None) -> Result:
    argv = ["--db", f"sqlite:///{db}", *(["--now", now] if now else []), *args]
    result = runner.invoke(app, argv, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def test_every_help_shows_no_type_for_a_flag_and_whole_sentences() -> None:
    commands = _commands()
    assert len(commands) > 60
    for path, command in commands:
        shown = runner.invoke(app, [*path, "--help"], env={"COLUMNS": "80"})
        assert shown.exit_code == 0, (path, shown.output)
        assert "<bool>" not in shown.output, path
        assert "--help  " in shown.output or "--help\n" in shown.output, path
        # The docstring's first paragraph, re-wrapped but whole (no cut, no markup eaten).
        doc = inspect.cleandoc(command.help or "").split("\n\n")[0]
        assert _flat(doc) in _flat(shown.output), path
        if hasattr(command, "commands"):
            for name, sub in command.commands.items():
                first = _flat(inspect.cleandoc(sub.help or "").split("\n\n")[0])
                assert first in _flat(shown.output), (path, name)


def test_a_help_keeps_square_brackets_and_joins_lines_of_one_sentence() -> None:
    grant = runner.invoke(app, ["grant", "--help"], env={"COLUMNS": "80"}).output
    assert "First instant it is spendable [now]." in _flat(grant)
    demo = runner.invoke(app, ["--help"], env={"COLUMNS": "80"}).output
    assert "on a database of its own, then show it." in _flat(demo)


def test_plan_assign_says_what_happened_to_the_billing(tmp_path: Path) -> None:
    db = tmp_path / "plans.db"
    _cli(db, "init")
    org = _cli(db, "org", "create", "Acme", "-f", "json").stdout.split('"id": "')[1][:28]
    _cli(db, "examples", "load", "otai")
    metering_only = _cli(db, "plan", "assign", org, "pro").stdout
    assert "No billing: the plan sets the gates and the depletion policy" in _flat(metering_only)
    assert "granted 0" not in metering_only and "billing none" not in metering_only
    started = _cli(db, "plan", "assign", org, "pro", "--subscribe").stdout
    assert "Billing started: its first cycle begins now; granted 100 credits." in _flat(started)
    again = _cli(db, "plan", "assign", org, "pro").stdout
    assert "Already subscribed to this plan: its billing cycle runs on." in _flat(again)
    changed = _cli(db, "plan", "assign", org, "enterprise").stdout
    assert "Plan changed: a new billing cycle begins now; granted" in _flat(changed)


@pytest.mark.parametrize("due", [False, True], ids=["nothing-due", "one-grant-due"])
def test_expire_says_in_a_sentence_what_it_expired(tmp_path: Path, due: bool) -> None:
    db = tmp_path / "expiry.db"
    _cli(db, "init")
    org = _cli(db, "org", "create", "Acme", "-f", "json").stdout.split('"id": "')[1][:28]
    if due:
        _cli(db, "grant", org, "5", "--expires", "2026-01-02T00:00:00Z",
             now="2026-01-01T00:00:00Z")  # fmt: skip
    said = _cli(db, "expire", now="2026-01-03T00:00:00Z").stdout
    if due:
        assert said.startswith("Expired 5 credits from 1 grant in 1 organization.\n")
        assert org in said
    else:
        assert said == (
            "Nothing to expire: no grant past its expiry holds credits, no hold is overdue.\n"
        )
