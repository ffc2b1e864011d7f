"""``creditline topup``: settings and schedules from the command line, and a crossing
made by ``creditline spend`` charged through Stripe (the fake, over HTTP, as the
environment configures it) before the command ends."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from creditline import Creditline, credits
from creditline.adapters.payments import FakeStripe, FakeStripeServer
from creditline.entrypoints.cli import app
from tests.billing import SECRET, provider
from tests.topups import CATALOGUE, charges, customer_with_card

runner = CliRunner()


@pytest.fixture
def stripe() -> Iterator[tuple[FakeStripe, dict[str, str]]]:
    fake = FakeStripe()
    with FakeStripeServer(fake) as server:
        env = {"CREDITLINE_STRIPE_API_KEY": "sk_test_creditline",
               "CREDITLINE_STRIPE_WEBHOOK_SECRET": SECRET,
               "CREDITLINE_STRIPE_API_BASE": server.url, "CREDITLINE_SMTP_HOST": ""}  # fmt: skip
        yield fake, env


def _cli(db: str, env: dict[str, str], *args: str) -> Result:
    return runner.invoke(app, ["--db", db, *args], catch_exceptions=False, env=env)


def ok(result: Result) -> Any:
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_topup_commands_set_show_run_and_cancel(
    tmp_path: Path, stripe: tuple[FakeStripe, dict[str, str]]
) -> None:
    fake, env = stripe
    db = f"sqlite:///{tmp_path / 'topups.db'}"
    with Creditline.open(db, payments=provider(fake)) as cl:
        cl.load_packs(CATALOGUE)
        org = customer_with_card(cl, fake)
    shown = ok(_cli(db, env, "topup", "show", org, "-f", "json"))
    assert shown == {"auto": None, "recurring": None}
    auto = ok(_cli(db, env, "topup", "set", org, "--threshold", "50", "--pack", "refill",
                   "--currency", "eur", "--monthly-cap", "3000", "-f", "json"))  # fmt: skip
    assert (auto["auto"]["armed"], auto["auto"]["monthly_cap_minor"]) == (True, 3000)
    table = _cli(db, env, "topup", "show", org)
    assert "armed" in table.stdout and "pack 'refill'" in table.stdout

    ok(_cli(db, env, "spend", org, "60", "-f", "json"))  # the crossing, charged on the way out

    (intent,) = charges(fake)
    assert intent["amount"] == 1000
    bought = ok(_cli(db, env, "purchase", "list", org, "-f", "json"))
    assert [(p["trigger"], p["status"]) for p in bought] == [
        ("automatic", "paid"), ("manual", "paid"),
    ]  # fmt: skip
    assert "automatic" in _cli(db, env, "purchase", "list", org).stdout
    with Creditline.open(db) as cl:
        assert cl.balance(org).available == credits(140)

    recurring = ok(_cli(db, env, "topup", "recurring", "set", org, "monthly", "--day", "3",
                        "--currency", "EUR", "-f", "json"))  # fmt: skip
    assert (recurring["day"], recurring["active"]) == (3, True)
    assert ok(_cli(db, env, "topup", "recurring", "cancel", org, "-f", "json"))["active"] is False
    off = ok(_cli(db, env, "topup", "disable", org, "-f", "json"))
    assert off["auto"]["enabled"] is False
    run = ok(_cli(db, env, "topup", "run", "-f", "json"))
    assert run["claimed"] == 0 and run["recurring"] == 0
    refused = _cli(db, env, "topup", "set", org, "--threshold", "50", "--pack", "nope")
    assert refused.exit_code != 0 and "nope" in refused.stderr
